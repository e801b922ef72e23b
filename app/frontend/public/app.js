// The todo page: register, log in, list, add, complete and delete todos through /api/ (proxied by nginx).
"use strict";
const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("token"), email: sessionStorage.getItem("email"), config: {} };

function say(text, ok = false) {
  $("message").textContent = text;
  $("message").className = ok ? "ok" : "";
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && state.token) { logout(); throw new Error("Your session has ended: please log in again."); }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const detail = data && data.detail;
    const text = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : detail || `${res.status} ${res.statusText}`;
    throw new Error(text);
  }
  return data;
}

function show() {
  const signedIn = Boolean(state.token);
  $("auth").hidden = signedIn;
  $("todos").hidden = !signedIn;
  $("logout").hidden = !signedIn;
  $("who").textContent = signedIn ? state.email : "";
  $("chat").hidden = !(signedIn && state.config.featureFlags && state.config.featureFlags.chat);
  if (signedIn) refresh().catch((e) => say(e.message));
}

function logout() {
  state.token = null;
  sessionStorage.clear();
  show();
}

function render(todos) {
  const list = $("list");
  list.replaceChildren();
  $("empty").hidden = todos.length > 0;
  for (const todo of todos) {
    const li = document.createElement("li");
    li.dataset.id = todo.id;
    li.className = todo.completed ? "done" : "";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "complete";
    box.checked = todo.completed;
    box.setAttribute("aria-label", `Complete ${todo.title}`);
    box.addEventListener("change", () => act(() => api("PATCH", `/todos/${todo.id}`, { completed: box.checked })));
    const text = document.createElement("span");
    text.className = "text";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = todo.title;
    text.append(title);
    if (todo.description) {
      const desc = document.createElement("span");
      desc.className = "desc";
      desc.textContent = todo.description;
      text.append(desc);
    }
    const del = document.createElement("button");
    del.type = "button";
    del.className = "delete";
    del.textContent = "Delete";
    del.addEventListener("click", () => act(() => api("DELETE", `/todos/${todo.id}`)));
    li.append(box, text, del);
    list.append(li);
  }
}

async function refresh() {
  render(await api("GET", "/todos"));
}

async function act(fn, okText = "") {
  try {
    await fn();
    say(okText, true);
    await refresh();
  } catch (e) {
    say(e.message);
  }
}

async function login(email, password) {
  const { access_token } = await api("POST", "/auth/login", { email, password });
  state.token = access_token;
  state.email = email;
  sessionStorage.setItem("token", access_token);
  sessionStorage.setItem("email", email);
  say("Logged in.", true);
  show();
}

$("auth-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try { await login($("email").value, $("password").value); } catch (e) { say(e.message); }
});

$("register").addEventListener("click", async () => {
  if (!$("auth-form").reportValidity()) return;
  try {
    await api("POST", "/auth/register", { email: $("email").value, password: $("password").value });
    say("Registered: you can log in now.", true);
  } catch (e) { say(e.message); }
});

$("add-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = { title: $("title").value, description: $("description").value };
  act(async () => { await api("POST", "/todos", body); $("add-form").reset(); }, "Added.");
});

$("chat-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try { $("chat-reply").textContent = (await api("POST", "/chat", { message: $("chat-message").value })).reply; }
  catch (e) { $("chat-reply").textContent = e.message; }
});

$("logout").addEventListener("click", logout);

fetch("/config.json", { cache: "no-store" })
  .then((res) => (res.ok ? res.json() : {}))
  .catch(() => ({}))
  .then((config) => {
    state.config = config;
    $("env").textContent = config.appEnv || "";
    document.body.dataset.env = config.appEnv || "";
    show();
  });
