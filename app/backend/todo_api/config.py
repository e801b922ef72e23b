"""Settings come only from the environment; a missing or invalid one stops the process with one clear line.

The database: DATABASE_HOST, DATABASE_PORT (5432) and DATABASE_NAME (the chart's ConfigMap), DATABASE_USER and
DATABASE_PASSWORD (its Secret). DATABASE_URL, when set, overrides all five. TLS: DATABASE_SSLMODE (libpq's sslmode)
and DATABASE_SSLROOTCERT (a CA file) become the URL's sslmode and sslrootcert; an override URL that already carries
one keeps its own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy.engine import URL, make_url

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DATABASE_PARTS = ("DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD")
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
MIN_JWT_SECRET_BYTES = 32  # HS256's key is 256 bits (RFC 7518 3.2)


class ConfigError(Exception):
    """Raised with a one-line message naming every missing or invalid setting."""


@dataclass(frozen=True)
class Settings:
    database_url: URL = field(repr=False)
    jwt_secret: str = field(repr=False)
    openai_api_key: str = field(default="", repr=False)
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = DEFAULT_OPENAI_BASE_URL
    log_level: str = "INFO"
    app_env: str = "development"
    jwt_expire_minutes: int = 60 * 24
    port: int = 8000
    # Not read from the environment: the bounds the API keeps whatever the deployment (tests may lower them).
    # The largest valid body (a todo of 500 + 10,000 characters), JSON-escaped as \uXXXX pairs: 126,000 bytes.
    max_body_bytes: int = 128 * 1024
    login_failures_per_account: int = 10
    login_failures_per_address: int = 100
    login_window_seconds: float = 15 * 60
    ready_timeout_seconds: float = 2.5

    @property
    def database_target(self) -> str:
        """Where the database is, for logs: host, port and name, never the credentials."""
        url = self.database_url
        return f"{url.host}:{url.port or 5432}/{url.database}"


def _tls_query(env: dict[str, str]) -> dict[str, str]:
    """libpq's sslmode and sslrootcert, checked here so that a typo stops the start instead of every connection."""
    query = {}
    mode = env.get("DATABASE_SSLMODE", "").strip()
    if mode:
        if mode not in SSL_MODES:
            raise ConfigError(f"DATABASE_SSLMODE must be one of {', '.join(SSL_MODES)} (got {mode!r})")
        query["sslmode"] = mode
    root_cert = env.get("DATABASE_SSLROOTCERT", "").strip()
    if root_cert:
        if not (os.path.isfile(root_cert) and os.access(root_cert, os.R_OK)):
            raise ConfigError(f"DATABASE_SSLROOTCERT {root_cert!r} is not a readable file")
        query["sslrootcert"] = root_cert
    return query


def _database_url(env: dict[str, str]) -> URL | None:
    tls = _tls_query(env)
    raw = env.get("DATABASE_URL", "").strip()
    if raw:
        try:
            url = make_url(raw)
        except Exception as exc:  # noqa: BLE001 - the message must not echo the URL (it holds the password)
            raise ConfigError("DATABASE_URL is not a valid database URL") from exc
        if not url.drivername.startswith(("postgresql", "postgres")):
            raise ConfigError("DATABASE_URL must be a postgresql:// URL")
        tls = {key: value for key, value in tls.items() if key not in url.query}
        return url.set(drivername="postgresql+psycopg").update_query_dict(tls)
    if all(env.get(name, "").strip() for name in DATABASE_PARTS):
        port = env.get("DATABASE_PORT", "").strip() or "5432"
        if not port.isdigit():
            raise ConfigError("DATABASE_PORT must be a number")
        return URL.create(
            "postgresql+psycopg",
            username=env["DATABASE_USER"],
            password=env["DATABASE_PASSWORD"],
            host=env["DATABASE_HOST"].strip(),
            port=int(port),
            database=env["DATABASE_NAME"].strip(),
            query=tls,
        )
    return None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    missing = []
    if not env.get("JWT_SECRET", ""):
        missing.append("JWT_SECRET")
    url = _database_url(env)
    if url is None:
        absent = [name for name in DATABASE_PARTS if not env.get(name, "").strip()]
        missing.append(f"{', '.join(absent)} (or DATABASE_URL)")
    if missing:
        raise ConfigError("missing " + " and ".join(missing))
    if len(env["JWT_SECRET"].encode("utf-8", "surrogateescape")) < MIN_JWT_SECRET_BYTES:
        raise ConfigError(f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes")
    port = env.get("PORT", "").strip() or "8000"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ConfigError("PORT must be an integer from 1 to 65535")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
        raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got {log_level!r})")
    return Settings(
        database_url=url,
        jwt_secret=env["JWT_SECRET"],
        openai_api_key=env.get("OPENAI_API_KEY", "").strip(),
        openai_model=env.get("OPENAI_MODEL", "").strip() or "gpt-4o-mini",
        openai_base_url=(env.get("OPENAI_BASE_URL", "").strip() or DEFAULT_OPENAI_BASE_URL).rstrip("/"),
        log_level=log_level,
        app_env=env.get("APP_ENV", "").strip() or "development",
        port=int(port),
    )
