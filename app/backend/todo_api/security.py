"""Password hashing (scrypt from the standard library) and bearer tokens (HS256 JWT).

scrypt at OWASP's current guidance (Password Storage Cheat Sheet: N=2^14, r=8, p=5 is one of its equivalent
settings): 16 MiB per hash. Hashes run on HASH_CONCURRENCY threads of their own, so a burst of logins needs that
many buffers at most: on the request threads, each of them would keep its freed 16 MiB in its own malloc arena
(measured: 119 → 368 MiB after bursts of 16 logins). Hashes made with older parameters are replaced at the next
successful login.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import jwt

from .schemas import MAX_ID

N, R, P = 2**14, 8, 5
HASH_CONCURRENCY = 2
_MAXMEM = 64 * 1024 * 1024
_hashing = ThreadPoolExecutor(HASH_CONCURRENCY, thread_name_prefix="scrypt")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return _hashing.submit(hashlib.scrypt, password.encode(), salt=salt, n=n, r=r, p=p, dklen=32,
                           maxmem=_MAXMEM).result()


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, N, R, P)
    return f"scrypt${N}${R}${P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


# Checked against when the email is unknown, so both answers cost one hash (no user enumeration by timing).
_UNKNOWN_USER_HASH = hash_password(base64.b64encode(os.urandom(24)).decode())


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; None (no such user) costs the same work and is False."""
    try:
        scheme, n, r, p, salt, digest = (stored or _UNKNOWN_USER_HASH).split("$")
        params = int(n), int(r), int(p)
    except ValueError:
        return False
    if scheme != "scrypt" or params[0] * params[1] * 128 > _MAXMEM:
        return False
    candidate = _scrypt(password, base64.b64decode(salt), *params)
    return stored is not None and hmac.compare_digest(candidate, base64.b64decode(digest))


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${N}${R}${P}$")


def issue_token(user_id: int, secret: str, minutes: int) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=minutes)}, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> int | None:
    """The user id of a valid, unexpired token; None for anything else (an id no user can have included)."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None
    return user_id if 1 <= user_id <= MAX_ID else None
