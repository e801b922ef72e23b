"""Database engine, models and the schema migration that two replicas may run at the same moment."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, create_engine, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

log = logging.getLogger("todo_api.db")

# Any constant shared by every replica: pg_advisory_xact_lock serialises the migrations that hold it.
MIGRATION_LOCK_KEY = 0x70D0_0001


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class Todo(Base):
    __tablename__ = "todos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    completed: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False)


def make_engine(url: URL) -> Engine:
    # hide_parameters: an error (and SQL logged at DEBUG) never shows the bound values (emails, password hashes).
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        hide_parameters=True,
        connect_args={"connect_timeout": 3, "application_name": "todo-api"},
    )


def make_probe_engine(url: URL, timeout_seconds: int) -> Engine:
    """A fresh connection per readiness check (no pooled socket to a frozen server to wait on forever)."""
    return create_engine(url, poolclass=NullPool, hide_parameters=True,
                         connect_args={"connect_timeout": timeout_seconds, "application_name": "todo-api-ready"})


def migrate(engine: Engine) -> None:
    """Create the schema once. Every replica runs this at start; the advisory lock makes the second one wait
    for the first to commit, after which it finds the tables there and creates nothing."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        Base.metadata.create_all(conn, checkfirst=True)
    log.info("database schema is up to date")


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
