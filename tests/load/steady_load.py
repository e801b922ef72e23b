"""A bounded, steady HTTP client that runs inside a pod of the cluster (python3 of the backend image).

It logs a user in through BASE, then sends authenticated GET /api/todos (and GET /) with CONCURRENCY workers
until DURATION seconds pass, MAX_REQUESTS are sent or the file STOP_FILE appears, and prints one JSON summary: requests sent and failed,
latency percentiles, and the first errors. Standard library only: it is piped into `python3 -` in the pod.
Configuration comes from the environment: BASE, DURATION, CONCURRENCY, MAX_REQUESTS, STOP_FILE, EMAIL, PASSWORD.
"""
import json
import os
import threading
import time
import urllib.error
import urllib.request

BASE = os.environ.get("BASE", "http://todo-list-frontend:80")
DURATION = float(os.environ.get("DURATION", "60"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "4"))
MAX_REQUESTS = int(os.environ.get("MAX_REQUESTS", "200000"))
EMAIL = os.environ.get("EMAIL", "load@example.com")
PASSWORD = os.environ.get("PASSWORD", "load-password")
PATHS = os.environ.get("PATHS", "/api/todos,/").split(",")
STOP_FILE = os.environ.get("STOP_FILE", "")


def call(method, path, body=None, token=None, timeout=10):
    request = urllib.request.Request(BASE + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def login():
    try:
        call("POST", "/api/auth/register", {"email": EMAIL, "password": PASSWORD})
    except urllib.error.HTTPError as err:
        if err.code != 409:
            raise
    return json.loads(call("POST", "/api/auth/login", {"email": EMAIL, "password": PASSWORD})[1])["access_token"]


def main():
    token = login()
    lock = threading.Lock()
    latencies, errors = [], []
    counts = {"sent": 0, "failed": 0}
    deadline = time.monotonic() + DURATION

    def worker(n):
        i = n
        while time.monotonic() < deadline and not (STOP_FILE and os.path.exists(STOP_FILE)):
            with lock:
                if counts["sent"] >= MAX_REQUESTS:
                    return
                counts["sent"] += 1
            path = PATHS[i % len(PATHS)]
            i += 1
            start = time.monotonic()
            try:
                status, _ = call("GET", path, token=token)
                ok = status == 200
                reason = f"HTTP {status}"
            except Exception as exc:  # every failure counts, whatever its kind
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            elapsed = time.monotonic() - start
            with lock:
                latencies.append(elapsed)
                if not ok:
                    counts["failed"] += 1
                    if len(errors) < 10:
                        errors.append(f"{path}: {reason}")

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    latencies.sort()
    pct = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else None
    print(json.dumps({
        "sent": counts["sent"], "failed": counts["failed"], "seconds": round(wall, 2),
        "rps": round(counts["sent"] / wall, 1) if wall else 0.0,
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0), "errors": errors,
    }))


if __name__ == "__main__":
    main()
