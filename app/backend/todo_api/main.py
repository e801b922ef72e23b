"""The HTTP API: auth, todos of the caller only, health, and chat through the OpenAI API."""

import logging
import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from . import __version__
from .config import Settings
from .db import Todo, User, make_engine, migrate, ping
from .schemas import ChatIn, ChatOut, Credentials, Token, TodoCreate, TodoOut, TodoUpdate, UserOut
from .security import hash_password, issue_token, read_token, verify_password

log = logging.getLogger("todo_api")


class Migrator:
    """Brings the schema up in the background, retrying until the database answers, so the process serves
    /health (liveness) at once and /health/ready only says ready once the schema exists."""

    def __init__(self, engine, retry_seconds: float = 2.0):
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.done = threading.Event()
        self.stop = threading.Event()
        self.last_error = "schema migration has not run yet"
        self.thread = threading.Thread(target=self.run, name="migrator", daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                migrate(self.engine)
                self.done.set()
                return
            except OperationalError as exc:
                self.last_error = f"database unavailable: {type(exc.orig).__name__ if exc.orig else 'error'}"
                log.warning("schema migration waits for the database (%s)", self.last_error)
            self.stop.wait(self.retry_seconds)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    migrator = Migrator(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        log.info("todo-api %s starting (env %s, database %s, chat %s)", __version__, settings.app_env,
                 settings.database_target, "enabled" if settings.openai_api_key else "disabled")
        migrator.thread.start()
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0)) as client:
            app.state.http = client
            yield
        migrator.stop.set()
        engine.dispose()
        log.info("todo-api stopped")

    app = FastAPI(title="todo-api", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.migrator = migrator

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError):
        log.error("database unavailable during %s %s", request.method, request.url.path)
        return JSONResponse(status_code=503, content={"detail": "database unavailable"})

    def db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    DB = Annotated[Session, Depends(db)]

    def current_user(request: Request, session: DB) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        user_id = read_token(token.strip(), settings.jwt_secret) if scheme.lower() == "bearer" else None
        user = session.get(User, user_id) if user_id is not None else None
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated",
                                headers={"WWW-Authenticate": "Bearer"})
        return user

    CurrentUser = Annotated[User, Depends(current_user)]

    def own_todo(todo_id: int, user: User, session: Session) -> Todo:
        todo = session.get(Todo, todo_id)
        if todo is None or todo.owner_id != user.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "todo not found")
        return todo

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/health/ready")
    def ready(response: Response):
        if not migrator.done.is_set():
            response.status_code = 503
            return {"status": "unavailable", "reason": migrator.last_error}
        try:
            ping(engine)
        except OperationalError as exc:
            response.status_code = 503
            return {"status": "unavailable", "reason": f"database unavailable: {type(exc.orig).__name__}"}
        return {"status": "ok"}

    @app.post("/api/auth/register", status_code=201, response_model=UserOut)
    def register(body: Credentials, session: DB):
        user = User(email=body.email, password_hash=hash_password(body.password))
        session.add(user)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise HTTPException(status.HTTP_409_CONFLICT, "email already registered") from None
        log.info("user %s registered", user.id)
        return user

    @app.post("/api/auth/login", response_model=Token)
    def login(body: Credentials, session: DB):
        user = session.scalars(select(User).where(User.email == body.email)).first()
        if user is None or not verify_password(body.password, user.password_hash):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid email or password",
                                headers={"WWW-Authenticate": "Bearer"})
        return Token(access_token=issue_token(user.id, settings.jwt_secret, settings.jwt_expire_minutes))

    @app.get("/api/todos", response_model=list[TodoOut])
    def list_todos(user: CurrentUser, session: DB):
        return session.scalars(select(Todo).where(Todo.owner_id == user.id).order_by(Todo.id)).all()

    @app.post("/api/todos", status_code=201, response_model=TodoOut)
    def create_todo(body: TodoCreate, user: CurrentUser, session: DB):
        todo = Todo(owner_id=user.id, title=body.title, description=body.description)
        session.add(todo)
        session.commit()
        return todo

    @app.get("/api/todos/{todo_id}", response_model=TodoOut)
    def get_todo(todo_id: int, user: CurrentUser, session: DB):
        return own_todo(todo_id, user, session)

    @app.patch("/api/todos/{todo_id}", response_model=TodoOut)
    def update_todo(todo_id: int, body: TodoUpdate, user: CurrentUser, session: DB):
        todo = own_todo(todo_id, user, session)
        for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(todo, name, value)
        session.commit()
        return todo

    @app.delete("/api/todos/{todo_id}", status_code=204)
    def delete_todo(todo_id: int, user: CurrentUser, session: DB):
        session.delete(own_todo(todo_id, user, session))
        session.commit()
        return Response(status_code=204)

    def chat_enabled() -> None:
        if not settings.openai_api_key:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                "chat is disabled: OPENAI_API_KEY is not set on the backend")

    @app.post("/api/chat", response_model=ChatOut, dependencies=[Depends(chat_enabled)])
    async def chat(body: ChatIn, request: Request, user: CurrentUser):
        client: httpx.AsyncClient = request.app.state.http
        try:
            answer = await client.post(
                f"{settings.openai_base_url}/chat/completions",
                headers={"Authorization": f"Bearer {settings.openai_api_key}"},
                json={"model": settings.openai_model, "messages": [
                    {"role": "system", "content": "You are a concise assistant inside a todo-list app."},
                    {"role": "user", "content": body.message}]},
            )
        except httpx.TimeoutException:
            raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, "the OpenAI API did not answer in time") from None
        except httpx.HTTPError as exc:
            log.warning("OpenAI API unreachable: %s", type(exc).__name__)
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the OpenAI API could not be reached") from None
        if answer.status_code != 200:
            log.warning("OpenAI API answered %s", answer.status_code)
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the OpenAI API answered {answer.status_code}")
        try:
            reply = answer.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the OpenAI API answered something unexpected") from None
        return ChatOut(reply=reply, model=settings.openai_model)

    return app
