"""/api/todos: the caller's todos only, validation, and 401 without a valid bearer token."""
import jwt
import pytest

from conftest import JWT_SECRET, register_and_login

FIELDS = {"id", "title", "description", "completed", "created_at", "updated_at"}


@pytest.fixture
def ann(client):
    return register_and_login(client, "ann@example.com")


@pytest.fixture
def bob(client):
    return register_and_login(client, "bob@example.com")


def test_a_new_user_has_an_empty_list(client, ann):
    answer = client.get("/api/todos", headers=ann)
    assert answer.status_code == 200 and answer.json() == []


def test_create_returns_201_with_every_field(client, ann):
    answer = client.post("/api/todos", json={"title": "Buy milk", "description": "2 litres"}, headers=ann)
    assert answer.status_code == 201
    todo = answer.json()
    assert set(todo) == FIELDS
    assert todo["title"] == "Buy milk" and todo["description"] == "2 litres" and todo["completed"] is False


def test_create_without_description_gives_an_empty_one(client, ann):
    assert client.post("/api/todos", json={"title": "x"}, headers=ann).json()["description"] == ""


def test_list_returns_the_created_todos_in_order(client, ann):
    for title in ("one", "two", "three"):
        client.post("/api/todos", json={"title": title}, headers=ann)
    todos = client.get("/api/todos", headers=ann).json()
    assert [t["title"] for t in todos] == ["one", "two", "three"]
    assert all(set(t) == FIELDS for t in todos)


@pytest.mark.parametrize("title", ["", "   ", "x" * 501])
def test_create_refuses_an_empty_or_too_long_title_with_422(client, ann, title):
    assert client.post("/api/todos", json={"title": title}, headers=ann).status_code == 422


def test_a_title_of_exactly_500_characters_is_accepted(client, ann):
    assert client.post("/api/todos", json={"title": "x" * 500}, headers=ann).status_code == 201


def test_get_returns_one_todo(client, ann):
    created = client.post("/api/todos", json={"title": "read"}, headers=ann).json()
    answer = client.get(f"/api/todos/{created['id']}", headers=ann)
    assert answer.status_code == 200 and answer.json() == created


def test_patch_completes_a_todo_and_moves_updated_at(client, ann):
    created = client.post("/api/todos", json={"title": "finish"}, headers=ann).json()
    answer = client.patch(f"/api/todos/{created['id']}", json={"completed": True}, headers=ann)
    assert answer.status_code == 200
    assert answer.json()["completed"] is True and answer.json()["title"] == "finish"
    assert answer.json()["updated_at"] > created["updated_at"]
    assert client.get(f"/api/todos/{created['id']}", headers=ann).json()["completed"] is True


def test_patch_changes_title_and_description(client, ann):
    created = client.post("/api/todos", json={"title": "old"}, headers=ann).json()
    answer = client.patch(f"/api/todos/{created['id']}", json={"title": "new", "description": "d"}, headers=ann)
    assert answer.json()["title"] == "new" and answer.json()["description"] == "d"


@pytest.mark.parametrize("title", ["", "x" * 501])
def test_patch_refuses_an_empty_or_too_long_title_with_422(client, ann, title):
    created = client.post("/api/todos", json={"title": "keep"}, headers=ann).json()
    assert client.patch(f"/api/todos/{created['id']}", json={"title": title}, headers=ann).status_code == 422


def test_delete_returns_204_and_the_todo_is_gone(client, ann):
    created = client.post("/api/todos", json={"title": "bin"}, headers=ann).json()
    answer = client.delete(f"/api/todos/{created['id']}", headers=ann)
    assert answer.status_code == 204 and answer.content == b""
    assert client.get(f"/api/todos/{created['id']}", headers=ann).status_code == 404
    assert client.get("/api/todos", headers=ann).json() == []


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_todo_that_does_not_exist_is_404(client, ann, method):
    kwargs = {"json": {"completed": True}} if method == "patch" else {}
    assert getattr(client, method)("/api/todos/999999", headers=ann, **kwargs).status_code == 404


def test_one_user_never_sees_another_users_todos(client, ann, bob):
    mine = client.post("/api/todos", json={"title": "ann's secret"}, headers=ann).json()
    client.post("/api/todos", json={"title": "bob's"}, headers=bob)
    assert [t["title"] for t in client.get("/api/todos", headers=bob).json()] == ["bob's"]
    assert [t["title"] for t in client.get("/api/todos", headers=ann).json()] == ["ann's secret"]
    assert client.get(f"/api/todos/{mine['id']}", headers=bob).status_code == 404


def test_another_users_todo_cannot_be_changed_or_deleted(client, ann, bob):
    mine = client.post("/api/todos", json={"title": "ann's"}, headers=ann).json()
    assert client.patch(f"/api/todos/{mine['id']}", json={"completed": True}, headers=bob).status_code == 404
    assert client.delete(f"/api/todos/{mine['id']}", headers=bob).status_code == 404
    assert client.get(f"/api/todos/{mine['id']}", headers=ann).json() == mine


def _calls():
    return [("get", "/api/todos", None), ("post", "/api/todos", {"title": "x"}), ("get", "/api/todos/1", None),
            ("patch", "/api/todos/1", {"completed": True}), ("delete", "/api/todos/1", None)]


@pytest.mark.parametrize(("method", "path", "body"), _calls())
def test_every_todo_call_without_a_token_is_401(client, method, path, body):
    kwargs = {"json": body} if body else {}
    answer = getattr(client, method)(path, **kwargs)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [
    "Bearer not-a-jwt",
    "Basic dXNlcjpwYXNz",
    "Bearer " + jwt.encode({"sub": "1", "exp": 4102444800}, "some-other-secret-of-at-least-32-bytes", algorithm="HS256"),
    "Bearer " + jwt.encode({"sub": "1", "exp": 946684800}, JWT_SECRET, algorithm="HS256"),  # expired in 2000
    "Bearer " + jwt.encode({"sub": "424242", "exp": 4102444800}, JWT_SECRET, algorithm="HS256"),  # no such user
])
@pytest.mark.parametrize(("method", "path", "body"), _calls())
def test_every_todo_call_with_an_invalid_token_is_401(client, method, path, body, header):
    kwargs = {"json": body} if body else {}
    assert getattr(client, method)(path, headers={"Authorization": header}, **kwargs).status_code == 401
