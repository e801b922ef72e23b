#!/bin/sh
# Entry point of todo-k8s/postgres:17, the offline equivalent of the official postgres:17 image:
# same environment contract (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS, PGDATA),
# initdb on first start, scripts in /docker-entrypoint-initdb.d (*.sql, *.sh) run once, uid 999.
set -eu

if [ "${1:-postgres}" != postgres ] && [ "${1#-}" = "${1:-}" ]; then
  exec "$@"  # another command (psql, pg_isready, sh ...)
fi
[ "${1:-}" = postgres ] && shift

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA

if [ "$(id -u)" = 0 ]; then
  # Started as root (docker run --user 0): fix ownership, then continue as postgres like the official image.
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R 999:999 "$PGDATA" /var/run/postgresql
  exec setpriv --reuid=999 --regid=999 --clear-groups "$0" postgres "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres: cannot initialise the database: POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"

  # A private server on the Unix socket only, for POSTGRES_DB and the init scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w -s start
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -q -h /var/run/postgresql -U "$user" -d postgres \
      -c "CREATE DATABASE \"$db\"" >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) psql -v ON_ERROR_STOP=1 -q -h /var/run/postgresql -U "$user" -d "$db" -f "$f" ;;
      *.sh) . "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w -s stop
  echo "postgres: database '$db' initialised in $PGDATA"
elif [ -n "${POSTGRES_PASSWORD:-}" ]; then
  # The password follows POSTGRES_PASSWORD at every start, not only at initdb (unlike the official image): a
  # rotated Secret takes effect on the restart it causes, and a volume kept across a reinstall opens with the
  # Secret it gets. psql reads it from the environment (\getenv), so it is on no command line.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w -s start
  psql -v ON_ERROR_STOP=1 -q -h /var/run/postgresql -U "${POSTGRES_USER:-postgres}" -d postgres >/dev/null <<'SQL'
\getenv password POSTGRES_PASSWORD
ALTER ROLE CURRENT_USER PASSWORD :'password';
SQL
  pg_ctl -D "$PGDATA" -m fast -w -s stop
fi

exec postgres "$@"
