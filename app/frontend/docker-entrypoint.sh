#!/bin/sh
# Renders nginx's configuration and /config.json from the environment, then runs nginx in the foreground.
#   API_URL        where /api/ goes (default http://todo-list-backend:8000)
#   APP_ENV        shown by the page (default production)
#   FEATURE_FLAGS  JSON object given to the page (default {})
#   LISTEN_PORT    port nginx listens on (default 80; see docs/images.md for non-root on 80)
#   NGINX_RESOLVER DNS server(s) for the backend name (default: the nameservers of /etc/resolv.conf)
set -eu

API_URL="${API_URL:-http://todo-list-backend:8000}"
APP_ENV="${APP_ENV:-production}"
FEATURE_FLAGS="${FEATURE_FLAGS:-}"
[ -n "$FEATURE_FLAGS" ] || FEATURE_FLAGS="{}"
LISTEN_PORT="${LISTEN_PORT:-80}"
RUN_DIR=/tmp/nginx

fail() { echo "todo-frontend: cannot start: $*" >&2; exit 2; }

case "$API_URL" in
  http://*|https://*) ;;
  *) fail "API_URL must start with http:// or https:// (got '$API_URL')" ;;
esac
case "$FEATURE_FLAGS" in
  \{*\}) ;;
  *) fail "FEATURE_FLAGS must be a JSON object (got '$FEATURE_FLAGS')" ;;
esac
case "$LISTEN_PORT" in
  ''|*[!0-9]*) fail "LISTEN_PORT must be a number (got '$LISTEN_PORT')" ;;
esac

# nginx's resolver ignores resolv.conf's search domains: a short Kubernetes Service name (no dot) is made
# fully qualified with the pod's first "*.svc.*" search domain. Elsewhere (docker networks) names stay as given.
scheme="${API_URL%%://*}"
rest="${API_URL#*://}"
hostport="${rest%%/*}"
host="${hostport%%:*}"
port=""
[ "$hostport" != "$host" ] && port=":${hostport#*:}"
case "$host" in
  *.*|\[*) ;;
  *)
    domain=$(awk '$1 == "search" { for (i = 2; i <= NF; i++) if ($i ~ /\.svc\./) { print $i; exit } }' /etc/resolv.conf 2>/dev/null || true)
    [ -n "$domain" ] && host="$host.$domain"
    ;;
esac
API_UPSTREAM="$scheme://$host$port"

if [ -z "${NGINX_RESOLVER:-}" ]; then
  NGINX_RESOLVER=$(awk '$1 == "nameserver" && $2 !~ /%/ { ns = $2; if (ns ~ /:/) ns = "[" ns "]"; printf "%s ", ns }' /etc/resolv.conf 2>/dev/null || true)
fi
[ -n "${NGINX_RESOLVER% }" ] || fail "no nameserver in /etc/resolv.conf: set NGINX_RESOLVER"

mkdir -p "$RUN_DIR/client_body" "$RUN_DIR/proxy" "$RUN_DIR/fastcgi" "$RUN_DIR/uwsgi" "$RUN_DIR/scgi"
export API_UPSTREAM NGINX_RESOLVER LISTEN_PORT
# envsubst's list of the variables to replace: names, for envsubst, not expanded by this shell.
# shellcheck disable=SC2016
envsubst '${API_UPSTREAM} ${NGINX_RESOLVER} ${LISTEN_PORT}' < /etc/todo-frontend/nginx.conf.template > "$RUN_DIR/nginx.conf"
app_env_json=$(printf '%s' "$APP_ENV" | sed 's/\\/\\\\/g; s/"/\\"/g')
printf '{"appEnv": "%s", "featureFlags": %s}\n' "$app_env_json" "$FEATURE_FLAGS" > "$RUN_DIR/config.json"

echo "todo-frontend: serving on :$LISTEN_PORT, /api/ -> $API_UPSTREAM (resolver $NGINX_RESOLVER), APP_ENV=$APP_ENV"
[ "$#" -gt 0 ] && exec "$@"
exec nginx -c "$RUN_DIR/nginx.conf" -g 'daemon off;'
