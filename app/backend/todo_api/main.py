"""The HTTP API: auth, todos of the caller only, health, and chat through the OpenAI API."""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from . import __version__
from .config import Settings
from .db import Todo, User, make_engine, make_probe_engine, migrate, ping
from .middleware import BodyLimit, RequestContext
from .schemas import (MAX_ID, ChatIn, ChatOut, Credentials, Health, InvalidRequest, Problem, Token, TodoCreate,
                      TodoOut, TodoUpdate, UserOut)
from .security import hash_password, issue_token, needs_rehash, read_token, verify_password
from .throttle import LoginThrottle

log = logging.getLogger("todo_api")


def unavailable(exc: Exception) -> str:
    """Why the database is not usable, for logs and /health/ready: the driver error's type, never its message."""
    return f"database unavailable: {type(getattr(exc, 'orig', None) or exc).__name__}"


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
                self.last_error = unavailable(exc)
                log.warning("schema migration waits for the database (%s)", self.last_error)
            self.stop.wait(self.retry_seconds)


class Readiness:
    """The database check behind /health/ready: a fresh connection, at most one check in flight, and an answer
    within `timeout` either way, so a frozen database (it accepts connections, never answers) gives a 503 inside
    the probe's timeout and holds one thread, not one more per probe."""

    def __init__(self, engine, timeout: float):
        self.engine = engine
        self.timeout = timeout
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ready")
        self.pending: concurrent.futures.Future | None = None
        self.lock = threading.Lock()

    def _check(self) -> str | None:
        try:
            ping(self.engine)
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; only its type is reported
            return unavailable(exc)
        return None

    async def problem(self) -> str | None:
        with self.lock:
            if self.pending is None or self.pending.done():
                self.pending = self.executor.submit(self._check)
            pending = self.pending
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(pending)), self.timeout)
        except TimeoutError:
            return f"database did not answer within {self.timeout:g} s"


# The chat upstream must answer well inside the 20 s shutdown drain (__main__.py), so a request in flight at
# SIGTERM still gets its answer.
CHAT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

PROBLEM = {"model": Problem}
NEEDS_TOKEN = {401: {**PROBLEM, "description": "No valid bearer token"}}
NEEDS_DATABASE = {503: {**PROBLEM, "description": "The database is unavailable"}}
NOT_YOURS = {404: {**PROBLEM, "description": "No such todo of the caller"}}
EVERY_ROUTE = {400: {**PROBLEM, "description": "The body is not UTF-8 JSON"},
               413: {**PROBLEM, "description": "Request body over the limit"},
               422: {"model": InvalidRequest, "description": "Invalid request (the values sent are not echoed)"}}


def _printable(value):
    return value.encode("utf-8", "replace").decode() if isinstance(value, str) else value


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    migrator = Migrator(engine)
    readiness = Readiness(make_probe_engine(settings.database_url, 2), settings.ready_timeout_seconds)
    throttle = LoginThrottle(settings.login_failures_per_account, settings.login_failures_per_address,
                             settings.login_window_seconds)
    public_docs = settings.app_env != "production"

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        log.info("todo-api %s starting (env %s, database %s, chat %s)", __version__, settings.app_env,
                 settings.database_target, "enabled" if settings.openai_api_key else "disabled")
        migrator.thread.start()
        async with httpx.AsyncClient(timeout=CHAT_TIMEOUT) as client:
            app.state.http = client
            yield
        migrator.stop.set()
        readiness.executor.shutdown(wait=False, cancel_futures=True)
        engine.dispose()
        log.info("todo-api stopped")

    # No /docs, /redoc or /openapi.json in production: the contract is in the repository, not on the internet.
    app = FastAPI(title="todo-api", version=__version__, lifespan=lifespan, responses=EVERY_ROUTE,
                  docs_url="/docs" if public_docs else None, redoc_url="/redoc" if public_docs else None,
                  openapi_url="/openapi.json" if public_docs else None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.migrator = migrator
    app.state.throttle = throttle
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError):
        log.error("request %s: database unavailable during %s %s", request.state.request_id, request.method,
                  request.url.path)
        return JSONResponse(status_code=503, content={"detail": "database unavailable"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        detail = [{"loc": [_printable(part) for part in error["loc"]], "msg": _printable(error["msg"]),
                   "type": error["type"]} for error in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 405:  # Allow: every method of the path, not only those of the first route matched
            allowed = set()
            for route in request.app.router.routes:
                if route.matches(request.scope)[0] is not Match.NONE:
                    allowed |= set(getattr(route, "methods", None) or ())
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(sorted(allowed))})
        return await http_exception_handler(request, exc)

    def db() -> Iterator[Session]:
        with sessions() as session:
            yield session

    DB = Annotated[Session, Depends(db)]
    bearer = HTTPBearer(auto_error=False, description="The access_token from POST /api/auth/login")

    def current_user(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)], session: DB) -> User:
        user_id = read_token(credentials.credentials, settings.jwt_secret) if credentials else None
        user = session.get(User, user_id) if user_id is not None else None
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated",
                                headers={"WWW-Authenticate": "Bearer"})
        return user

    CurrentUser = Annotated[User, Depends(current_user)]
    TodoId = Annotated[int, Path(ge=1, le=MAX_ID)]

    def own_todo(todo_id: int, user: User, session: Session) -> Todo:
        todo = session.get(Todo, todo_id)
        if todo is None or todo.owner_id != user.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "todo not found")
        return todo

    @app.get("/health", response_model=Health, response_model_exclude_none=True)
    def health():
        return {"status": "ok"}

    @app.get("/health/ready", response_model=Health, response_model_exclude_none=True,
             responses={503: {"model": Health, "description": "Not ready, with the reason"}})
    async def ready(response: Response):
        problem = migrator.last_error if not migrator.done.is_set() else await readiness.problem()
        if problem:
            response.status_code = 503
            return {"status": "unavailable", "reason": problem}
        return {"status": "ok"}

    @app.post("/api/auth/register", status_code=201, response_model=UserOut,
              responses={409: {**PROBLEM, "description": "The email is already registered"}, **NEEDS_DATABASE})
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

    @app.post("/api/auth/login", response_model=Token, responses={
        401: {**PROBLEM, "description": "Wrong email or password"},
        429: {**PROBLEM, "description": "Too many failed logins for this account or address; see Retry-After"},
        **NEEDS_DATABASE})
    def login(body: Credentials, request: Request, session: DB):
        address = request.client.host if request.client else "unknown"
        wait = throttle.retry_after(body.email, address)
        if wait is not None:
            log.warning("request %s: login throttled (%s s)", request.state.request_id, wait)
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many failed logins: try again later",
                                headers={"Retry-After": str(wait)})
        user = session.scalars(select(User).where(User.email == body.email)).first()
        if not verify_password(body.password, user.password_hash if user else None):
            throttle.failed(body.email, address)
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid email or password",
                                headers={"WWW-Authenticate": "Bearer"})
        throttle.succeeded(body.email)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(body.password)
            session.commit()
        return Token(access_token=issue_token(user.id, settings.jwt_secret, settings.jwt_expire_minutes))

    @app.get("/api/todos", response_model=list[TodoOut], responses={**NEEDS_TOKEN, **NEEDS_DATABASE})
    def list_todos(user: CurrentUser, session: DB):
        return session.scalars(select(Todo).where(Todo.owner_id == user.id).order_by(Todo.id)).all()

    @app.post("/api/todos", status_code=201, response_model=TodoOut, responses={**NEEDS_TOKEN, **NEEDS_DATABASE})
    def create_todo(body: TodoCreate, user: CurrentUser, session: DB):
        todo = Todo(owner_id=user.id, title=body.title, description=body.description)
        session.add(todo)
        session.commit()
        return todo

    @app.get("/api/todos/{todo_id}", response_model=TodoOut, responses={**NEEDS_TOKEN, **NOT_YOURS, **NEEDS_DATABASE})
    def get_todo(todo_id: TodoId, user: CurrentUser, session: DB):
        return own_todo(todo_id, user, session)

    @app.patch("/api/todos/{todo_id}", response_model=TodoOut,
               responses={**NEEDS_TOKEN, **NOT_YOURS, **NEEDS_DATABASE})
    def update_todo(todo_id: TodoId, body: TodoUpdate, user: CurrentUser, session: DB):
        todo = own_todo(todo_id, user, session)
        for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(todo, name, value)
        session.commit()
        return todo

    @app.delete("/api/todos/{todo_id}", status_code=204, responses={**NEEDS_TOKEN, **NOT_YOURS, **NEEDS_DATABASE})
    def delete_todo(todo_id: TodoId, user: CurrentUser, session: DB):
        session.delete(own_todo(todo_id, user, session))
        session.commit()
        return Response(status_code=204)

    def chat_enabled(user: CurrentUser) -> None:  # the token is checked first: a stranger learns nothing
        if not settings.openai_api_key:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                "chat is disabled: OPENAI_API_KEY is not set on the backend")

    @app.post("/api/chat", response_model=ChatOut, dependencies=[Depends(chat_enabled)], responses={
        **NEEDS_TOKEN, 502: {**PROBLEM, "description": "The OpenAI API failed"},
        503: {**PROBLEM, "description": "Chat is disabled, or the database is unavailable"},
        504: {**PROBLEM, "description": "The OpenAI API did not answer in time"}})
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
        if not isinstance(reply, str):
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the OpenAI API answered something unexpected")
        return ChatOut(reply=reply, model=settings.openai_model)

    return app
