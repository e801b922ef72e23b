"""Where the database is and how to reach it, from the environment: the chart's parts, or DATABASE_URL overriding them."""
import pytest

from conftest import JWT_SECRET
from todo_api.config import ConfigError, load_settings

PARTS = {"DATABASE_HOST": "db.example.com", "DATABASE_PORT": "5433", "DATABASE_NAME": "todo",
         "DATABASE_USER": "todo_app", "DATABASE_PASSWORD": "p@ss/w:rd", "JWT_SECRET": JWT_SECRET}


def test_settings_from_parts_carry_sslmode_and_sslrootcert_to_libpq(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = load_settings(dict(PARTS, DATABASE_SSLMODE="verify-full", DATABASE_SSLROOTCERT=str(ca)))
    url = settings.database_url
    assert (url.host, url.port, url.database, url.username, url.password) == (
        "db.example.com", 5433, "todo", "todo_app", "p@ss/w:rd")
    assert dict(url.query) == {"sslmode": "verify-full", "sslrootcert": str(ca)}
    assert settings.database_target == "db.example.com:5433/todo", "logged: no credentials, no options"


def test_without_tls_settings_libpq_keeps_its_defaults():
    assert dict(load_settings(PARTS).database_url.query) == {}


def test_database_url_overrides_the_parts():
    url = load_settings(dict(PARTS, DATABASE_URL="postgresql://other:pw@override.example.com/elsewhere")).database_url
    assert (url.host, url.database, url.username) == ("override.example.com", "elsewhere", "other")


def test_tls_settings_complete_an_override_url_and_never_replace_what_it_says(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.touch()
    env = dict(PARTS, DATABASE_URL="postgresql://u:pw@h/d?sslmode=require", DATABASE_SSLMODE="verify-full",
               DATABASE_SSLROOTCERT=str(ca))
    assert dict(load_settings(env).database_url.query) == {"sslmode": "require", "sslrootcert": str(ca)}


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DATABASE_SSLMODE", "verify", "DATABASE_SSLMODE must be one of disable, allow, prefer, require, verify-ca, "
                                   "verify-full (got 'verify')"),
    ("DATABASE_SSLROOTCERT", "/nonexistent/ca.crt", "DATABASE_SSLROOTCERT '/nonexistent/ca.crt' is not a readable file"),
    ("DATABASE_SSLROOTCERT", "/", "DATABASE_SSLROOTCERT '/' is not a readable file"),
])
@pytest.mark.parametrize("override", [False, True], ids=["parts", "url"])
def test_a_bad_tls_setting_is_refused_naming_it(name, value, message, override):
    env = dict(PARTS, **{name: value})
    if override:
        env["DATABASE_URL"] = "postgresql://u:pw@h/d"
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert str(refused.value) == message
