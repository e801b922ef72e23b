"""POST /api/auth/register and /api/auth/login."""
import pytest

from conftest import register_and_login


def test_register_returns_201_with_id_and_email(client):
    answer = client.post("/api/auth/register", json={"email": "Ann@Example.com", "password": "s3cret-pass"})
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"id", "email"}
    assert body["email"] == "ann@example.com"
    assert isinstance(body["id"], int)


def test_register_never_returns_the_password_or_its_hash(client):
    body = client.post("/api/auth/register", json={"email": "b@example.com", "password": "s3cret-pass"}).text
    assert "s3cret-pass" not in body and "scrypt" not in body


def test_register_refuses_an_existing_email_with_409(client):
    client.post("/api/auth/register", json={"email": "c@example.com", "password": "s3cret-pass"})
    again = client.post("/api/auth/register", json={"email": "C@example.com", "password": "other-pass"})
    assert again.status_code == 409


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b", "two@@example.com", "sp ace@example.com"])
def test_register_refuses_an_invalid_email_with_422(client, email):
    assert client.post("/api/auth/register", json={"email": email, "password": "s3cret-pass"}).status_code == 422


def test_register_refuses_a_password_under_8_characters_with_422(client):
    assert client.post("/api/auth/register", json={"email": "d@example.com", "password": "1234567"}).status_code == 422
    assert client.post("/api/auth/register", json={"email": "d@example.com", "password": "12345678"}).status_code == 201


def test_register_refuses_a_body_without_fields_with_422(client):
    assert client.post("/api/auth/register", json={}).status_code == 422


def test_login_returns_a_bearer_token(client):
    client.post("/api/auth/register", json={"email": "e@example.com", "password": "s3cret-pass"})
    answer = client.post("/api/auth/login", json={"email": "e@example.com", "password": "s3cret-pass"})
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "bearer"
    assert answer.json()["access_token"].count(".") == 2


def test_login_with_a_wrong_password_is_401(client):
    client.post("/api/auth/register", json={"email": "f@example.com", "password": "s3cret-pass"})
    assert client.post("/api/auth/login", json={"email": "f@example.com", "password": "wrong-pass"}).status_code == 401


def test_login_of_an_unknown_email_is_401(client):
    assert client.post("/api/auth/login", json={"email": "nobody@example.com", "password": "s3cret-pass"}).status_code == 401


def test_the_login_token_opens_the_todo_api(client):
    headers = register_and_login(client, "g@example.com")
    assert client.get("/api/todos", headers=headers).status_code == 200
