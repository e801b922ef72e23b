"""Request and response bodies of the API contract.

Every string a client sends is `Text`: PostgreSQL cannot store a NUL byte, and a lone surrogate cannot be
encoded as UTF-8, so both are refused here with a 422 naming the field instead of failing later with a 500.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Lower-cased before matching. Local part: anything but "@", whitespace and control characters. Domain: dot-separated
# labels of letters, digits and inner hyphens (no empty label, so "x@y..z" is refused), a top-level label that is
# not all digits (punycode "xn--..." is fine). Internationalised domains must be sent as punycode.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s\x00-\x1f\x7f]{{1,64}}@(?:{_LABEL}\.)+(?=[a-z0-9-]*[a-z])({_LABEL})$")
MAX_ID = 2**31 - 1  # ids are PostgreSQL integers
# A title needs one character that is not ASCII whitespace; only ASCII whitespace is trimmed. (Unicode's spaces are
# kept as sent: Python's str.isspace, Rust's and ECMAScript's \s disagree on them, and so did schemathesis.)
WHITESPACE = " \t\n\v\f\r"


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogate)") from None
    return value


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _title(value: str) -> str:
    return value.strip(WHITESPACE)


def Text(**constraints):
    """A string a client sends. The constraints come first, on the str itself: a constraint put on top of a
    validator is still enforced, but pydantic leaves it out of the OpenAPI schema (the title's pattern was missing,
    and schemathesis rightly sent a whitespace-only title it then saw refused)."""
    return Annotated[str, Field(**constraints), AfterValidator(_storable)]


Email = Annotated[Text(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(_email)]
Password = Text(min_length=8, max_length=256, json_schema_extra={"format": "password"})
Title = Annotated[Text(min_length=1, max_length=500, pattern=r"[^ \t\n\v\f\r]"), AfterValidator(_title)]
Description = Text(max_length=10_000)


class Problem(BaseModel):
    """Every error the API answers itself (4xx, 503) has this body."""
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """422: what was wrong, field by field. The submitted values are never echoed."""
    detail: list[FieldError]


class Request(BaseModel):
    """A request body: a field the API does not know is a 422 (a typo is not silently dropped)."""
    model_config = ConfigDict(extra="forbid")


class Credentials(Request):
    email: Email
    password: Password


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class TodoCreate(Request):
    title: Title
    description: Description = ""


class TodoUpdate(Request):
    title: Title | None = None
    description: Description | None = None
    completed: bool | None = Field(default=None, strict=True)  # "yes" or 1 is a 422, not true


class TodoOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    description: str
    completed: bool
    created_at: datetime
    updated_at: datetime


class ChatIn(Request):
    message: Text(min_length=1, max_length=4000)


class ChatOut(BaseModel):
    reply: str
    model: str


class Health(BaseModel):
    status: str
    reason: str | None = None
