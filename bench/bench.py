"""What a deploy, a no-op run, the inner loop (a source edit until it is served), an image, a rolling upgrade and the
throughput (wrk, three ways) cost, measured against plain Helm in the same run; the no-op and the inner loop with
their task profile; with --only multinode, the drain, rollout and autoscaling figures of the last make test-multinode.

Run with `make bench` (never part of `make test`). Every figure is taken REPEAT times and reported as median and
spread (min–max); every comparison is measured in the same run, on the same kind cluster (bench/inventory: the
local inventory's values on a cluster named todo-bench). Writes bench/results/latest.json and latest.md.
"""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "todo-list-hackathon"
INVENTORY = ROOT / "bench" / "inventory" / "hosts.yml"
RESULTS = ROOT / "bench" / "results"
KUBECONFIG = pathlib.Path.home() / ".kube" / "todo-k8s-bench.yaml"
NAMESPACE, RELEASE = "todo-list", "todo-list"
PLAIN_NAMESPACE, PLAIN_RELEASE = "todo-plain", "todo-list"
# The bench inventory's own build report (host_vars: todo_k8s_build_report), so other runs cannot change it under us.
BUILD_REPORT = pathlib.Path("/var/cache/todo-k8s/reports/images-bench.json")
WHEELS = pathlib.Path("/var/cache/todo-k8s/image-build/wheels")
LOAD = (ROOT / "tests" / "load" / "steady_load.py").read_text()
BIN = pathlib.Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), KUBECONFIG=str(KUBECONFIG),
           PATH=f"{BIN}:{os.environ['PATH']}")
# Cold-cache steps a Molecule scenario would add on an empty /var/cache/todo-k8s, not re-measured by this harness
# (seconds as logged in /var/cache/todo-k8s/logs when the caches were first filled on this machine).
NODE_IMAGE_COLD_STEPS_S = {
    "kubernetes binaries from Go (warm-k8s-build.log)": 529, "CoreDNS from Go (warm-coredns-etcd.log)": 179,
    "etcd from Go (warm-coredns-etcd.log)": 25, "crictl from Go (crictl-v1.34.0.log)": 59,
    "local-path-provisioner from Go (local-path-provisioner-v0.0.30.log)": 279,
    "node root filesystem, mmdebstrap (rootfs-node-*.log)": 58, "proxy root filesystem, mmdebstrap (rootfs-proxy-*.log)": 42,
    "node's image archives (images-v1.34.4-*.log)": 17, "kind node image commit (node-v1.34.4-*.log)": 25,
}


def run(cmd, check=True, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, **kwargs)
    if check and result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def timed(cmd, **kwargs):
    start = time.monotonic()
    result = run(cmd, **kwargs)
    return time.monotonic() - start, result


def log(message):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def playbook(name, *extra):
    return [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(ROOT / name), *extra]


def changed(output):
    return int(re.search(r"changed=(\d+)", output.split("PLAY RECAP")[-1]).group(1))


def summary(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "n": len(values)}


def kubectl(*args, **kwargs):
    return run(["kubectl", "--kubeconfig", str(KUBECONFIG), *args], **kwargs)


def helm(*args, **kwargs):
    return run(["helm", "--kubeconfig", str(KUBECONFIG), *args], **kwargs)


def revisions(namespace, release):
    return len(json.loads(helm("history", release, "-n", namespace, "-o", "json").stdout))


def plain_helm_upgrade_install():
    """The same chart, values file and images site.yml deploys (--set-string: the schema wants string tags)."""
    sets = []
    for image in json.loads(BUILD_REPORT.read_text())["images"]:
        sets += ["--set-string", f"{image['component']}.image.repository={image['name']},"
                                 f"{image['component']}.image.tag={image['tag']}"]
    return ["helm", "--kubeconfig", str(KUBECONFIG), "upgrade", "--install", PLAIN_RELEASE, str(CHART),
            "-n", PLAIN_NAMESPACE, "--create-namespace", "-f", str(CHART / "values-local.yaml"), *sets,
            "--wait", "--timeout", "5m"]


def uninstall(namespace, release):
    """Release and database volume gone (local-path deletes the volume with its claim): the next install starts empty.
    Waits until the provisioner has deleted the volumes too, so that each side's install starts from the same state
    (site.yml's own checks would otherwise give it seconds of clean-up the plain side, timed at once, does not get)."""
    helm("uninstall", release, "-n", namespace, "--wait", check=False)
    kubectl("-n", namespace, "delete", "pvc", "--all", "--wait=true", check=False)
    for _ in range(120):
        volumes = json.loads(kubectl("get", "pv", "--output=json").stdout)["items"]
        if not any((v["spec"].get("claimRef") or {}).get("namespace") == namespace for v in volumes):
            break
        time.sleep(0.5)


def bench_deploy(repeat):
    ours, plain = [], []
    for n in range(repeat):
        log(f"deploy {n + 1}/{repeat}")
        uninstall(NAMESPACE, RELEASE)
        ours.append(timed(playbook("site.yml"))[0])
        uninstall(PLAIN_NAMESPACE, PLAIN_RELEASE)
        plain.append(timed(plain_helm_upgrade_install())[0])
    log("deploy under profile_tasks")
    uninstall(NAMESPACE, RELEASE)
    profile = profiled()
    # Pods turn Ready on the probes' 5 s periods, so either side's time falls on a lattice 5 s apart and a median of 5
    # can swing by a whole period: the fastest runs (each side's best draw) are compared too.
    return {"median": round(statistics.median(ours), 2), "site_yml_s": summary(ours), "plain_helm_s": summary(plain),
            "ratio": round(statistics.median(ours) / statistics.median(plain), 2),
            "ratio_of_fastest": round(min(ours) / min(plain), 2), "profile": profile,
            "note": "from an uninstalled release on a running cluster with built images, until every pod is Ready"}


PROFILE_LINE = re.compile(r"^(?P<task>.+?) -+ (?P<seconds>\d+\.\d+)s$")


def profiled(*extra):
    """site.yml once under ansible.posix.profile_tasks: each task's seconds, slowest first, and their sum."""
    env = dict(ENV, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
               ANSIBLE_NOCOLOR="1")
    result = subprocess.run(playbook("site.yml", *extra), capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    tasks = [(m["task"].strip(), float(m["seconds"])) for m in map(PROFILE_LINE.match, result.stdout.split(
        "TASKS RECAP")[-1].splitlines()) if m]
    return {"tasks_total": len(tasks), "tasks_over_0_3_s": sum(1 for _, t in tasks if t > 0.3),
            "sum_of_tasks_s": round(sum(t for _, t in tasks), 1), "changed": changed(result.stdout),
            "slowest": [{"task": name, "s": t} for name, t in tasks[:15]]}


def bench_noop(repeat):
    ours, plain, ours_changed = [], [], []
    ours_revisions_before = revisions(NAMESPACE, RELEASE)
    plain_revisions_before = revisions(PLAIN_NAMESPACE, PLAIN_RELEASE)
    for n in range(repeat):
        log(f"no-op {n + 1}/{repeat}")
        seconds, result = timed(playbook("site.yml"))
        ours.append(seconds)
        ours_changed.append(changed(result.stdout))
        plain.append(timed(plain_helm_upgrade_install())[0])
    log("no-op under profile_tasks")
    return {"median": round(statistics.median(ours), 2), "site_yml_s": summary(ours), "site_yml_changed": ours_changed,
            "site_yml_revisions_added": revisions(NAMESPACE, RELEASE) - ours_revisions_before,
            "plain_helm_s": summary(plain),
            "plain_helm_revisions_added": revisions(PLAIN_NAMESPACE, PLAIN_RELEASE) - plain_revisions_before,
            "ratio": round(statistics.median(ours) / statistics.median(plain), 2),
            "profile": profiled()}


MINIKUBE_PROFILE = "todo-bench-mk"
MINIKUBE_VARS = ["-e", f"minikube_profile={MINIKUBE_PROFILE}", "-e", "todo_k8s_app_port=18080",
                 "-e", f"todo_k8s_kubeconfig={pathlib.Path.home() / '.kube' / 'todo-k8s-bench-mk.yaml'}",
                 "-e", f"todo_k8s_build_report={BUILD_REPORT}"]


def bench_noop_minikube(repeat):
    """The local inventory's no-op (Minikube, the README's first command) on a profile of its own, beside kind's: the
    same site.yml, a second run with nothing changed. The profile is made (and deleted at the end) by this harness."""
    local = [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "local"), str(ROOT / "site.yml"), *MINIKUBE_VARS]
    log("minikube: first site.yml (profile and release)")
    first = timed(local)[0]
    runs, changes = [], []
    for n in range(repeat):
        log(f"minikube no-op {n + 1}/{repeat}")
        seconds, result = timed(local)
        runs.append(seconds)
        changes.append(changed(result.stdout))
    run(local[:3] + [str(ROOT / "playbooks" / "cluster.yml"), *MINIKUBE_VARS, "-e", "minikube_state=absent"])
    return {"median": round(statistics.median(runs), 2), "site_yml_s": summary(runs), "site_yml_changed": changes,
            "first_site_yml_s": round(first, 1)}


def served_title(namespace, release):
    """The title the backend's OpenAPI document gives, read inside a backend pod."""
    code = "import json, urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:8000/openapi.json'))['info']['title'])"
    return kubectl("-n", namespace, "exec", f"deploy/{release}-backend", "--", "python3", "-c", code).stdout.strip()


def bench_inner_loop(repeat):
    """A one-line change in app/backend/todo_api/main.py until new pods are Ready and serve it: site.yml against the
    steps by hand (docker build, kind load, helm upgrade --wait with the new image ID, on the plain release under
    an image name of its own). Each round edits a copy of app/ anew; the check that the pods serve it is not timed."""
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        app = pathlib.Path(tmp) / "app"
        shutil.copytree(ROOT / "app", app, ignore=shutil.ignore_patterns(".venv", "node_modules", "__pycache__"))
        add_wheels(app / "backend")
        main_py = app / "backend" / "todo_api" / "main.py"
        original = main_py.read_text()
        assert 'FastAPI(title="todo-api"' in original
        for n in range(repeat):
            log(f"inner loop {n + 1}/{repeat}")
            title = f"todo-api, inner loop {n + 1} at {time.time_ns()}"  # new in every run, also on a reused cluster
            main_py.write_text(original.replace('FastAPI(title="todo-api"', f'FastAPI(title="{title}"'))
            ours.append(timed(playbook("site.yml", "-e", f"image_build_source_dir={app}"))[0])
            assert served_title(NAMESPACE, RELEASE) == title
            main_py.write_text(original.replace('FastAPI(title="todo-api"', f'FastAPI(title="{title}, by hand"'))
            start = time.monotonic()
            run(["docker", "build", "-q", "-t", "bench-plain/todo-list-backend:v1.0.0",
                 "--build-arg", f"BASE_IMAGE={backend_base()}", str(app / "backend")])
            image_id = run(["docker", "image", "inspect", "-f", "{{.Id}}", "bench-plain/todo-list-backend:v1.0.0"]).stdout.strip()
            run(["kind", "load", "docker-image", "--name", "todo-bench", "bench-plain/todo-list-backend:v1.0.0"])
            run(plain_helm_upgrade_install() + ["--set-string", "backend.image.repository=bench-plain/todo-list-backend",
                                                "--set-string", f"backend.image.id={image_id}"])
            plain.append(time.monotonic() - start)
            assert served_title(PLAIN_NAMESPACE, PLAIN_RELEASE) == f"{title}, by hand"
        log("inner loop under profile_tasks")
        # A title of its own: one an earlier run built would come from Docker's layer cache.
        main_py.write_text(original.replace('FastAPI(title="todo-api"', f'FastAPI(title="todo-api, profiled at {time.time_ns()}"'))
        profile = profiled("-e", f"image_build_source_dir={app}")
    # Back to the checkout's sources, so the release runs what the repository says.
    run(playbook("site.yml"))
    return {"median": round(statistics.median(ours), 2), "site_yml_s": summary(ours), "by_hand_s": summary(plain),
            "ratio": round(statistics.median(ours) / statistics.median(plain), 2),
            "ratio_of_fastest": round(min(ours) / min(plain), 2), "profile": profile,
            "ansible_floor": ansible_floor(profile["tasks_total"], 3),
            "note": "one-line change in app/backend/todo_api/main.py until new pods are Ready (helm --wait) and serve it"}


def ansible_floor(tasks, repeat):
    """What Ansible itself costs for a run of this many tasks on this inventory, the tasks doing nothing: a playbook of
    one set_fact (start-up: interpreter, inventory, variables) and one of `tasks` set_facts, each run `repeat` times."""
    def seconds(count):
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as book:
            json.dump([{"name": "Ansible's floor", "hosts": "all", "gather_facts": False,
                        "tasks": [{"name": f"Do nothing {n}", "ansible.builtin.set_fact": {"_bench_floor": n}}
                                  for n in range(count)]}], book)
            book.flush()
            return summary([timed(playbook(book.name))[0] for _ in range(repeat)])
    one, many = seconds(1), seconds(tasks)
    per_task_ms = round((many["median"] - one["median"]) / (tasks - 1) * 1000, 1)
    return {"tasks": tasks, "one_task_s": one, "all_tasks_s": many, "per_task_ms": per_task_ms}


def add_wheels(backend):
    """By hand, the backend's Dockerfile wants its pinned wheels in the context: the ones image_build cached."""
    requirements = hashlib.sha256((backend / "requirements.txt").read_bytes()).hexdigest()[:16]
    shutil.copytree(WHEELS / requirements, backend / "wheels", ignore=shutil.ignore_patterns(".complete"))


def backend_base():
    """The base image the build report says the backend was built on."""
    return next(i["base_image"] for i in json.loads(BUILD_REPORT.read_text())["images"] if i["component"] == "backend")


def docker_build(tag, *args, dockerfile=None):
    return timed(["docker", "build", "-q", "-t", tag, *args], input=dockerfile)[0]


def bench_images(repeat):
    """Sizes from the build report; a cold build (no layer cache) against a rebuild after a one-line change.

    Each cold build starts from a copy of the base with a label of its own: Docker's legacy builder takes the newest
    matching layer as cache, so builds from the base itself would become the cache of the next site.yml (new image IDs,
    changed≠0). Everything labelled todo-bench is removed afterwards."""
    report = json.loads(BUILD_REPORT.read_text())
    built = {i["component"]: i for i in report["images"] if i.get("limit_mb")}
    sizes = {c: {"compressed_bytes": i["compressed_bytes"], "limit_bytes": i["limit_mb"] * 1_000_000,
                 "share_of_limit": round(i["compressed_bytes"] / (i["limit_mb"] * 1_000_000), 3)}
             for c, i in built.items()}
    changed_file = {"backend": ("todo_api/__init__.py", "# bench {}\n"), "frontend": ("public/index.html", "<!-- bench {} -->\n")}
    cold, rebuild = {c: [] for c in built}, {c: [] for c in built}
    for n in range(repeat):
        log(f"images {n + 1}/{repeat}")
        for component, image in built.items():
            base, tag = f"todo-bench/{component}-base:{n}", f"todo-bench/{component}:rebuild"
            with tempfile.TemporaryDirectory() as tmp:
                docker_build(base, "-", dockerfile=f"FROM {image['base_image'].split(' ')[0]}\nLABEL todo-bench={time.time_ns()}\n")
                source = pathlib.Path(tmp) / component
                shutil.copytree(ROOT / "app" / component, source,
                                ignore=shutil.ignore_patterns(".venv", "node_modules", "__pycache__", ".pytest_cache"))
                if component == "backend":
                    add_wheels(source)
                build = lambda: docker_build(tag, "--build-arg", f"BASE_IMAGE={base}", str(source))
                cold[component].append(build())
                path, line = changed_file[component]
                with open(source / path, "a") as f:
                    f.write(line.format(n))
                rebuild[component].append(build())
            run(["docker", "rmi", tag, base])
    run(["docker", "image", "prune", "-f", "--filter", "label=todo-bench"])
    return {"sizes": sizes, "size_method": report.get("size_method"),
            "cold_build_s": {c: summary(v) for c, v in cold.items()},
            "rebuild_after_one_line_change_s": {c: summary(v) for c, v in rebuild.items()},
            "ratio": {c: round(statistics.median(rebuild[c]) / statistics.median(cold[c]), 2) for c in built}}


def _container_memory_kib(name):
    """RSS now and its peak (VmHWM) of the backend process (PID 1 in its container)."""
    status = run(["docker", "exec", name, "cat", "/proc/1/status"]).stdout
    value = lambda key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))
    return value("VmRSS"), value("VmHWM")


def _burst(port, requests, concurrency):
    """Send raw HTTP requests (bytes) from `concurrency` threads at once; the status line of each answer."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    def send(raw):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            try:
                sock.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return sock.recv(64).split(b"\r\n", 1)[0].decode()
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(send, requests))


def bench_memory(repeat, limit_mib=512):
    """The backend container (the chart's memory limit) under bursts of max-size requests: valid todos of the
    largest size, JSON-escaped (126 kB); 100 MB bodies, announced and chunked; logins (scrypt, 16 MiB each). RSS of
    the process before, its peak and after, against the limit."""
    report = json.loads(pathlib.Path("/var/cache/todo-k8s/reports/images.json").read_text())
    refs = {image["component"]: image["ref"] for image in report["images"]}
    net, db, api = "todo-bench-memory", "todo-bench-db", "todo-bench-backend"
    run(["docker", "rm", "-f", db, api], check=False)
    run(["docker", "network", "rm", net], check=False)
    run(["docker", "network", "create", net])
    try:
        run(["docker", "run", "-d", "--name", db, "--network", net, "-e", "POSTGRES_USER=todo", "-e",
             "POSTGRES_PASSWORD=bench-pw", "-e", "POSTGRES_DB=todo", refs.get("postgresql", "postgres:17")])
        run(["docker", "run", "-d", "--name", api, "--network", net, "--memory", f"{limit_mib}m", "-p", "127.0.0.1::8000",
             "-e", "DATABASE_URL=postgresql://todo:bench-pw@" + db + ":5432/todo",
             "-e", "JWT_SECRET=bench-jwt-secret-of-at-least-32-bytes", refs["backend"]])
        port = int(run(["docker", "port", api, "8000"]).stdout.split(":")[-1])
        import urllib.request
        deadline = time.monotonic() + 90
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2).status == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "backend not ready"
                time.sleep(0.5)
        def post(path, body, headers=b""):
            return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers +
                    b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        credentials = b'{"email": "bench@example.com", "password": "bench-password"}'
        _burst(port, [post(b"/api/auth/register", credentials)], 1)
        token = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/api/auth/login", data=credentials,
            headers={"Content-Type": "application/json"})).read())["access_token"]
        auth = f"Authorization: Bearer {token}\r\n".encode()
        largest = json.dumps({"title": "\U0001F600" * 500, "description": "\U0001F600" * 10_000}).encode()
        announced = (b"POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 104857600\r\n\r\n" + b"x" * 1_000_000)
        chunk = b"x" * 1_000_000
        chunked = (b"POST /api/todos HTTP/1.1\r\nHost: x\r\n" + auth + b"Transfer-Encoding: chunked\r\n\r\n"
                   + b"%x\r\n%s\r\n" % (len(chunk), chunk) * 10)
        idle, _ = _container_memory_kib(api)
        rounds, statuses = [], {}
        for n in range(repeat):
            log(f"memory {n + 1}/{repeat}")
            for name, requests, concurrency in [
                    ("largest valid todo", [post(b"/api/todos", largest, auth)] * 64, 16),
                    ("100 MB announced", [announced] * 32, 16), ("100 MB chunked", [chunked] * 16, 8),
                    ("login", [post(b"/api/auth/login", credentials)] * 32, 16)]:
                counts = statuses.setdefault(name, {})
                for line in _burst(port, requests, concurrency):
                    code = line.split(" ")[1] if " " in line else line
                    counts[code] = counts.get(code, 0) + 1
            rounds.append(_container_memory_kib(api))
        peak = max(hwm for _, hwm in rounds)
        return {"limit_mib": limit_mib, "idle_rss_mib": round(idle / 1024, 1),
                "peak_rss_mib": round(peak / 1024, 1), "share_of_limit": round(peak / 1024 / limit_mib, 3),
                "rss_after_each_round_mib": [round(rss / 1024, 1) for rss, _ in rounds], "statuses": statuses}
    finally:
        run(["docker", "rm", "-f", db, api], check=False)
        run(["docker", "network", "rm", net], check=False)


MULTINODE = ROOT / "build" / "multinode"


def multinode_figures():
    """The drain, the rolling upgrade and the HPA's scale-up and -down as the last `make test-multinode` measured them
    (molecule/multinode writes them, with the date of that run)."""
    figures = {}
    for name in ("drain", "rollout", "autoscale"):
        path = MULTINODE / f"{name}.json"
        if not path.exists():
            raise SystemExit(f"{path} is missing: run make test-multinode first")
        figures[name] = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("errors", "first_errors")}
        figures[name]["measured"] = datetime.datetime.fromtimestamp(
            path.stat().st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")
    return figures


def load_command(*env):
    return ["kubectl", "--kubeconfig", str(KUBECONFIG), "-n", NAMESPACE, "exec", "-i", "bench-client", "--",
            "env", *env, "python3", "-"]


def client_pod():
    """A client in the cluster: the backend image (it has python3) running the standard-library load tool."""
    kubectl("-n", NAMESPACE, "delete", "pod", "bench-client", "--wait=true", "--ignore-not-found")
    overrides = json.dumps({"spec": {"automountServiceAccountToken": False, "securityContext": {
        "runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "bench-client", "image": "todo-list-backend:v1.0.0", "imagePullPolicy": "IfNotPresent",
                        "command": ["python3", "-c", "import time; time.sleep(36000)"], "securityContext": {
                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}})
    kubectl("-n", NAMESPACE, "run", "bench-client", "--image=todo-list-backend:v1.0.0", "--restart=Never",
            f"--overrides={overrides}")
    kubectl("-n", NAMESPACE, "wait", "pod/bench-client", "--for=condition=Ready", "--timeout=120s")


WRK_IMAGE = "todo-k8s/wrk:4.1.0"
# wrk sends the bench user's token read from a file beside this script, so it is never on a command line or in a log.
WRK_AUTH = """local f = assert(io.open("/bench/token"))
wrk.headers["Authorization"] = "Bearer " .. f:read("*l")
f:close()
"""


def wrk_image():
    """Debian's wrk (4.1.0, trixie) in an image of our own: mmdebstrap's essential variant plus wrk, imported by
    Docker; made once, then loaded into the bench cluster."""
    if run(["docker", "image", "inspect", WRK_IMAGE], check=False).returncode != 0:
        log(f"{WRK_IMAGE} from Debian packages (mmdebstrap)")
        with tempfile.TemporaryDirectory() as tmp:
            tarball = pathlib.Path(tmp) / "wrk.tar"
            run(["mmdebstrap", "--quiet", "--variant=essential", "--include=wrk", "--format=tar", "trixie", str(tarball),
                 "http://deb.debian.org/debian"])
            run(["docker", "import", "--change", "USER 10001", "--change", "WORKDIR /tmp", str(tarball), WRK_IMAGE])
    version = run(["docker", "run", "--rm", WRK_IMAGE, "dpkg-query", "-W", "-f=${Version}", "wrk"]).stdout
    assert version.startswith("4.1.0"), f"{WRK_IMAGE} holds wrk {version}"
    run(["kind", "load", "docker-image", "--name", "todo-bench", WRK_IMAGE])


def parse_wrk(output):
    """requests/s, p50 and p99 (ms) and failed requests (non-2xx answers and socket errors) from `wrk --latency`."""
    ms = {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}
    percentile = lambda p: (lambda m: round(float(m.group(1)) * ms[m.group(2)], 2))(
        re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)$", output, re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": float(re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M).group(1)),
            "requests": int(re.search(r"^\s+(\d+) requests in", output, re.M).group(1)),
            "p50_ms": percentile(50), "p99_ms": percentile(99),
            "failed": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)}


def wrk_args(seconds, connections, url):
    return ["wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{seconds}s", "--latency",
            "--script", "/bench/auth.lua", url]


# POSTs the JSON on stdin to argv[1] with the standard library; prints the answer's body, then its status.
POST_JSON = """import sys, urllib.request as u, urllib.error as e
r = u.Request(sys.argv[1], data=sys.stdin.buffer.read(), headers={"Content-Type": "application/json"})
try:
    a = u.urlopen(r); print(a.read().decode(), a.status)
except e.HTTPError as x:
    print(x.read().decode(), x.code)"""


def bench_user_token(exec_prefix, base):
    """Register (an existing user is fine) and log in the bench user, with python3 run by exec_prefix (a
    `kubectl exec` or `docker exec` into a container that has it) against base; its access token."""
    credentials = json.dumps({"email": "bench@example.com", "password": "bench-password"})
    for path in ("/api/auth/register", "/api/auth/login"):
        body, status = run([*exec_prefix, "python3", "-c", POST_JSON, base + path], input=credentials).stdout.strip().rsplit(" ", 1)
        assert status in ("200", "201") or (path.endswith("register") and status == "409"), (path, status)
    return json.loads(body)["access_token"]


def loopback_backend(cpus, memory):
    """The backend image under `docker run` with the chart's CPU and memory limits, its PostgreSQL beside it; returns
    the network's and the two containers' names (wrk joins the backend's network namespace: loopback)."""
    refs = {image["component"]: image["ref"] for image in json.loads(BUILD_REPORT.read_text())["images"]}
    net, db, api = "todo-bench-loopback", "todo-bench-loopback-db", "todo-bench-loopback-backend"
    run(["docker", "rm", "-f", db, api], check=False)
    run(["docker", "network", "rm", net], check=False)
    run(["docker", "network", "create", net])
    run(["docker", "run", "-d", "--name", db, "--network", net, "-e", "POSTGRES_USER=todo", "-e",
         "POSTGRES_PASSWORD=bench-pw", "-e", "POSTGRES_DB=todo", refs.get("postgresql", "todo-k8s/postgres:17")])
    run(["docker", "run", "-d", "--name", api, "--network", net, "--cpus", str(cpus), "--memory", memory,
         "-e", f"DATABASE_URL=postgresql://todo:bench-pw@{db}:5432/todo",
         "-e", "JWT_SECRET=bench-jwt-secret-of-at-least-32-bytes", refs["backend"]])
    return net, db, api


def bench_throughput(repeat, seconds, connections):
    """wrk (2 threads, `connections` connections, authenticated GET /api/todos) three ways, interleaved in each round:
    from a pod through the frontend Service, from the same pod straight to the backend Service, and against the same
    backend image under `docker run` on loopback with the chart's CPU limit (values-local: the bench's values)."""
    limits = json.loads(run(["helm", "--kubeconfig", str(KUBECONFIG), "get", "values", "--all", "-o", "json", "-n",
                             NAMESPACE, RELEASE]).stdout)["backend"]["resources"]["limits"]
    cpus = int(limits["cpu"].rstrip("m")) / 1000 if limits["cpu"].endswith("m") else float(limits["cpu"])
    memory = limits["memory"].replace("Mi", "m").replace("Gi", "g")
    wrk_image()
    kubectl("-n", NAMESPACE, "delete", "pod", "bench-wrk", "--wait=true", "--ignore-not-found")
    overrides = json.dumps({"spec": {"automountServiceAccountToken": False, "securityContext": {
        "runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "bench-wrk", "image": WRK_IMAGE, "imagePullPolicy": "Never",
                        "command": ["sleep", "36000"], "volumeMounts": [{"name": "bench", "mountPath": "/bench"}],
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "bench", "emptyDir": {}}]}})
    kubectl("-n", NAMESPACE, "run", "bench-wrk", f"--image={WRK_IMAGE}", "--restart=Never", f"--overrides={overrides}")
    kubectl("-n", NAMESPACE, "wait", "pod/bench-wrk", "--for=condition=Ready", "--timeout=120s")
    in_pod = lambda *cmd, **kw: kubectl("-n", NAMESPACE, "exec", "-i", "bench-wrk", "--", *cmd, **kw)
    token = bench_user_token(["kubectl", "--kubeconfig", str(KUBECONFIG), "-n", NAMESPACE, "exec", "-i", "bench-client",
                              "--"], "http://todo-list-backend:8000")
    in_pod("sh", "-c", "cat > /bench/token", input=token)
    in_pod("sh", "-c", "cat > /bench/auth.lua", input=WRK_AUTH)
    net, db, api = loopback_backend(cpus, memory)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            pathlib.Path(tmp, "auth.lua").write_text(WRK_AUTH)
            os.chmod(tmp, 0o755)
            in_net = lambda *cmd, **kw: run(["docker", "run", "--rm", "-i", "--network", f"container:{api}",
                                             "-v", f"{tmp}:/bench:ro", WRK_IMAGE, *cmd], **kw)
            deadline = time.monotonic() + 90
            while in_net("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000", check=False).returncode != 0:
                assert time.monotonic() < deadline, "the loopback backend does not listen"
                time.sleep(1)
            pathlib.Path(tmp, "token").write_text(
                bench_user_token(["docker", "exec", "-i", api], "http://127.0.0.1:8000") + "\n")
            os.chmod(pathlib.Path(tmp, "token"), 0o644)
            targets = {"through_frontend": lambda: in_pod(*wrk_args(seconds, connections, "http://todo-list-frontend:80/api/todos")),
                       "straight_to_backend": lambda: in_pod(*wrk_args(seconds, connections, "http://todo-list-backend:8000/api/todos")),
                       "loopback_docker_run": lambda: in_net(*wrk_args(seconds, connections, "http://127.0.0.1:8000/api/todos"))}
            runs = {name: [] for name in targets}
            for n in range(repeat):
                for name, send in targets.items():
                    log(f"throughput {n + 1}/{repeat}: {name}")
                    runs[name].append(parse_wrk(send().stdout))
        finally:
            run(["docker", "rm", "-f", db, api], check=False)
            run(["docker", "network", "rm", net], check=False)
            kubectl("-n", NAMESPACE, "delete", "pod", "bench-wrk", "--wait=false", "--ignore-not-found", check=False)
    results = {name: {"rps": summary([r["rps"] for r in rs]), "p50_ms": summary([r["p50_ms"] for r in rs]),
                      "p99_ms": summary([r["p99_ms"] for r in rs]), "failed": sum(r["failed"] for r in rs),
                      "requests": sum(r["requests"] for r in rs), "runs": rs} for name, rs in runs.items()}
    rps = lambda name: results[name]["rps"]["median"]
    return {**results, "tool": "wrk 4.1.0 (Debian trixie), 2 threads", "connections": connections,
            "seconds_per_run": seconds, "backend_cpu_limit": cpus, "backend_memory_limit": memory,
            "frontend_over_backend": round(rps("through_frontend") / rps("straight_to_backend"), 2),
            "backend_over_loopback": round(rps("straight_to_backend") / rps("loopback_docker_run"), 2),
            "goals": {"frontend_over_backend": 0.85, "backend_over_loopback": 0.8}}


def bench_upgrade(repeat):
    """Each round: back to v1.0.0 (not timed), then v1.0.0 → v1.0.1 with release.yml under steady load via the frontend."""
    rounds = []
    for n in range(repeat):
        log(f"upgrade {n + 1}/{repeat}")
        run(playbook("playbooks/release.yml", "-e", "helm_release_image_tag=v1.0.0"))
        kubectl("-n", NAMESPACE, "exec", "bench-client", "--", "rm", "-f", "/tmp/stop")
        load = subprocess.Popen(load_command("DURATION=600", "CONCURRENCY=4", "STOP_FILE=/tmp/stop",
                                             "EMAIL=upgrade@example.com", "PASSWORD=upgrade-password"),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
        load.stdin.write(LOAD)
        load.stdin.close()
        time.sleep(5)
        seconds, _ = timed(playbook("playbooks/release.yml", "-e", "helm_release_image_tag=v1.0.1"))
        time.sleep(5)
        kubectl("-n", NAMESPACE, "exec", "bench-client", "--", "touch", "/tmp/stop")
        result = json.loads(load.stdout.read())
        load.wait()
        rounds.append({"seconds_until_new_pods_ready": round(seconds, 1), **result})
    return {"rounds": rounds,
            "requests_sent": sum(r["sent"] for r in rounds), "requests_failed": sum(r["failed"] for r in rounds),
            "p50_ms": summary([r["p50_ms"] for r in rounds]), "p99_ms": summary([r["p99_ms"] for r in rounds]),
            "seconds_until_new_pods_ready": summary([r["seconds_until_new_pods_ready"] for r in rounds]),
            "note": "release.yml wall time (helm --wait: every new pod Ready); v1.0.1 is the same source tagged anew"}


def bench_molecule(scenarios, repeat):
    """Warm: `molecule test` with every cache filled. Cold: not run (it would rebuild Kubernetes from Go); one cold step,
    the app's Debian base images from an empty cache, is measured here, the node image's steps come from build logs."""
    with tempfile.TemporaryDirectory() as tmp:
        log("image_build with an empty base cache")
        cold_images, _ = timed(playbook("playbooks/images.yml", "-e", f"image_build_cache_dir={tmp}/cache",
                                        "-e", f"image_build_report_path={tmp}/cold.json"))
        warm_images, _ = timed(playbook("playbooks/images.yml", "-e", f"image_build_report_path={tmp}/warm.json"))
    bases_s = round(cold_images - warm_images, 1)
    cold_extra = bases_s + sum(NODE_IMAGE_COLD_STEPS_S.values())
    runs = {s: [] for s in scenarios}
    for n in range(repeat):  # rounds over the scenarios, so a busy spell of the machine does not hit one scenario only
        for scenario in scenarios:
            # Every checkout's scenarios use the kind cluster todo-molecule: never two at once.
            while ("todo-molecule" in run(["kind", "get", "clusters"]).stdout
                   or run(["pgrep", "-f", "molecule test"], check=False).stdout):
                log("another Molecule run is under way: waiting")
                time.sleep(60)
            log(f"molecule {scenario} {n + 1}/{repeat}")
            seconds, result = timed([str(BIN / "molecule"), "test", "-s", scenario], check=False)
            runs[scenario].append({"seconds": round(seconds, 1), "passed": result.returncode == 0})
            if result.returncode:
                log(f"molecule {scenario} FAILED:\n" + "\n".join((result.stdout + result.stderr).splitlines()[-40:]))
    times = {}
    for s, rs in runs.items():  # a failed run's wall time is not the scenario's: medians of passed runs only
        warm = [r["seconds"] for r in rs if r["passed"]] or [r["seconds"] for r in rs]
        times[s] = {"warm_s": summary(warm), "passed": f"{sum(r['passed'] for r in rs)}/{len(rs)}", "runs": rs,
                    "cold_estimate_s": round(statistics.median(warm) + cold_extra)}
    return {"scenarios": times,
            "cold_label": "cold: not measured end to end; composed from measured cold build steps",
            "cold_steps_s": {"app images: playbooks/images.yml with an empty image_build_cache_dir (3 Debian bases by "
                             "mmdebstrap, image sizes) minus a warm run (measured in this run, n=1)": bases_s,
                             **NODE_IMAGE_COLD_STEPS_S},
            "cold_note": "cold estimate = warm median + the steps; a lower bound (Go module downloads, pause image "
                         "and Docker layer cache of the app images not included)"}


class LoadSampler(threading.Thread):
    """The host's 1-minute load average every 30 s, so readers can judge the spread."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []

    def run(self):
        while True:
            self.samples.append(os.getloadavg()[0])
            time.sleep(30)


def markdown(results):
    d, n, i, u, t, m = (results.get(k, {}) for k in ("deploy", "no_op", "images", "upgrade", "throughput", "molecule"))
    loop = results.get("inner_loop", {})
    mem = results.get("memory", {})
    fmt = lambda s, unit=" s": f"{s['median']}{unit} ({s['min']}–{s['max']}, n={s['n']})"
    # Pods turn Ready on the probes' 5 s periods: where the fastest runs were compared too, their ratio stands beside.
    ratio = lambda part: f"{part['ratio']}" + (
        f" (fastest runs: {part['ratio_of_fastest']})" if "ratio_of_fastest" in part else "")
    load = results["load"]
    lines = [f"# Benchmarks ({results['date']})", "",
             f"Machine: {results['machine']}. Load average (1 min) at start {load['start']}, at end {load['end']}, "
             f"median {load['median']}, max {load['max']} over the run ({load['wall_minutes']} min). {load['note']}", "",
             "Median (min–max, n) of each figure; every comparison measured in the same run, on the same kind cluster.", ""]
    if d or n or loop:
        lines += ["| what | todo-k8s (`site.yml`) | plain Helm | ratio |", "| --- | --- | --- | --- |"]
    if d:
        lines.append(f"| deploy to all pods Ready | {fmt(d['site_yml_s'])} | {fmt(d['plain_helm_s'])} | {ratio(d)} |")
    if n:
        lines.append(f"| no-op second run | {fmt(n['site_yml_s'])}; changed={n['site_yml_changed']}; "
                     f"+{n['site_yml_revisions_added']} Helm revisions | {fmt(n['plain_helm_s'])}; "
                     f"+{n['plain_helm_revisions_added']} Helm revisions | {n['ratio']} |")
    if loop:
        lines.append(f"| inner loop: one-line backend change until new pods Ready and serving it | {fmt(loop['site_yml_s'])} | "
                     f"{fmt(loop['by_hand_s'])} (docker build, kind load, helm upgrade --wait) | {ratio(loop)} |")
    mk = results.get("no_op_minikube", {})
    if mk:
        lines.append(f"| no-op second run on Minikube (the local inventory) | {fmt(mk['site_yml_s'])}; "
                     f"changed={mk['site_yml_changed']} | | |")
    for label, part in (("deploy", d), ("no-op run", n), ("inner loop", loop)):
        if part.get("profile"):
            p = part["profile"]
            lines += ["", f"Profile of one {label} (ansible.posix.profile_tasks): {p['tasks_total']} tasks, "
                          f"{p['tasks_over_0_3_s']} over 0.3 s, {p['sum_of_tasks_s']} s in all, changed={p['changed']}; "
                          "the slowest: " + "; ".join(f"{x['task']} {x['s']} s" for x in p["slowest"][:10]) + "."]
    floor = loop.get("ansible_floor")
    if floor:
        budget = round(1.3 * loop["by_hand_s"]["median"] - loop["by_hand_s"]["median"], 2)
        lines += ["", f"Ansible's own cost for the inner loop's {floor['tasks']} tasks, the tasks doing nothing (a playbook "
                      f"of {floor['tasks']} set_facts on the same inventory): {fmt(floor['all_tasks_s'])}, of which start-up "
                      f"{fmt(floor['one_task_s'])} and {floor['per_task_ms']} ms a task. A ratio of 1.3 leaves {budget} s "
                      "beside the steps by hand for everything site.yml adds."]
    if i:
        lines += ["", "| image | compressed | limit | share of limit | cold build (no layer cache) | rebuild after a one-line change | ratio |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, s in i["sizes"].items():
            lines.append(f"| {name} | {s['compressed_bytes'] / 1e6:.1f} MB | {s['limit_bytes'] / 1e6:.0f} MB | "
                         f"{s['share_of_limit']:.0%} | {fmt(i['cold_build_s'][name])} | "
                         f"{fmt(i['rebuild_after_one_line_change_s'][name])} | {i['ratio'][name]} |")
        lines.append(f"\nSize: {i['size_method']}.")
    if u:
        lines += ["", f"Rolling upgrade v1.0.0 → v1.0.1 under load through the frontend (concurrency 4): "
                      f"{u['requests_sent']} requests sent, **{u['requests_failed']} failed**; per round p50 "
                      f"{fmt(u['p50_ms'], ' ms')}, p99 {fmt(u['p99_ms'], ' ms')}; all new pods Ready after "
                      f"{fmt(u['seconds_until_new_pods_ready'])} ({u['note']})."]
    if t:
        lines += ["", f"Throughput, authenticated GET /api/todos: {t['tool']}, {t['connections']} connections, "
                      f"{t['seconds_per_run']} s per run, the three paths interleaved in each round; the backend limited to "
                      f"{t['backend_cpu_limit']} CPU and {t['backend_memory_limit']} (the chart's values) in the cluster and "
                      "under `docker run`:", "",
                  "| path | requests/s | p50 | p99 | requests | failed |", "| --- | --- | --- | --- | --- | --- |"]
        for name, label in (("through_frontend", "in-cluster client → frontend Service (nginx) → backend"),
                            ("straight_to_backend", "in-cluster client → backend Service"),
                            ("loopback_docker_run", "the backend image under `docker run`, wrk on its loopback")):
            p = t[name]
            lines.append(f"| {label} | {fmt(p['rps'], '')} | {fmt(p['p50_ms'], ' ms')} | {fmt(p['p99_ms'], ' ms')} | "
                         f"{p['requests']} | {p['failed']} |")
        lines += ["", f"Ratios of the medians: frontend / backend {t['frontend_over_backend']} (goal ≥ "
                      f"{t['goals']['frontend_over_backend']}), backend in the cluster / loopback {t['backend_over_loopback']} "
                      f"(goal ≥ {t['goals']['backend_over_loopback']})."]
    mn = results.get("multinode", {})
    if mn:
        dr, ro, au = mn["drain"], mn["rollout"], mn["autoscale"]
        lines += ["", f"Production on three kind nodes under steady load through the frontend, NetworkPolicies enforced "
                      f"(the last `make test-multinode`, {dr['measured']}):", "",
                  "| what | figure | requests | failed | p99 |", "| --- | --- | --- | --- | --- |",
                  f"| a worker drained (PodDisruptionBudgets) | {dr['drain_seconds']} s, {dr['pods_moved']} pods moved | "
                  f"{dr['sent']} | {dr['failed']} | {dr['p99_ms']} ms |",
                  f"| a rolling upgrade (site.yml) | {ro['site_seconds']} s | {ro['sent']} | {ro['failed']} | {ro['p99_ms']} ms |",
                  f"| the backend's HPA under load | 2 → {au['desired_replicas']} pods in {au['seconds_to_scale_up']} s, "
                  f"back to 2 {au['seconds_to_scale_down']} s after the load | {au['sent']} | {au['failed']} | {au['p99_ms']} ms |"]
    if mem:
        lines += ["", f"Backend memory under bursts of max-size requests (container limit {mem['limit_mib']} MiB, the "
                      f"chart's): idle {mem['idle_rss_mib']} MiB, peak {mem['peak_rss_mib']} MiB "
                      f"({mem['share_of_limit']:.0%} of the limit), after each round "
                      f"{', '.join(map(str, mem['rss_after_each_round_mib']))} MiB; answers {mem['statuses']}."]
    if m:
        lines += ["", "| Molecule scenario | warm caches (measured) | passed | cold caches (not measured end to end: composed estimate*) |",
                  "| --- | --- | --- | --- |"]
        for scenario, s in m["scenarios"].items():
            lines.append(f"| {scenario} | {fmt(s['warm_s'])} | {s['passed']} | ≈ {s['cold_estimate_s']} s |")
        lines += ["", f"\\* {m['cold_label']}: {m['cold_note']}. Steps:"]
        lines += [f"- {step}: {seconds} s" for step, seconds in m["cold_steps_s"].items()]
    if results.get("notes"):
        lines += ["", "Notes:"] + [f"- {note}" for note in results["notes"]]
    for run in results.get("earlier", []):
        lines += ["", f"From an earlier run ({run['date']}, load median {run['load']['median']}, max {run['load']['max']}, "
                      f"{run['load']['wall_minutes']} min): {', '.join(run['sections'])}. {run['load']['note']}"]
        lines += [f"- {note}" for note in run["notes"]]
    return "\n".join(lines) + "\n"


RUN_KEYS = {"date", "machine", "repeat", "load", "notes", "earlier"}


def merged(old, new):
    """This run's sections over an earlier results file's; the earlier run's date, load and notes kept beside the
    sections only it measured (a section renamed since, noop → no_op, is dropped when this run measured it). Each
    section is listed under the one run that measured it."""
    renamed = {"noop": "no_op"}
    kept = {k: v for k, v in old.items() if k not in RUN_KEYS and k not in new and renamed.get(k) not in new}
    earlier = old.get("earlier", [])
    own = sorted(set(kept) - {s for e in earlier for s in e["sections"]})
    earlier = earlier + ([{"date": old["date"], "load": old["load"], "notes": old.get("notes", []), "sections": own}]
                         if own else [])
    earlier = [{**e, "sections": sorted(set(e["sections"]) & set(kept))} for e in earlier]
    return {**kept, **new, "earlier": [e for e in earlier if e["sections"]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*",
                        default=["deploy", "no_op", "inner_loop", "no_op_minikube", "images", "throughput", "upgrade",
                                 "memory"])
    # A fresh install, or a new backend pod, is Ready on the probes' 5 s periods: one draw in three can land a period
    # later on either side.
    parser.add_argument("--deploy-repeat", type=int, default=5,
                        help="installs on each side for deploy, and rounds of the inner loop (default: 5)")
    parser.add_argument("--molecule", nargs="*", default=[], help="scenarios to time (slow)")
    parser.add_argument("--molecule-repeat", type=int, help="times each scenario runs (default: --repeat)")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    parser.add_argument("--output", default="latest",
                        help="results file name under bench/results (a partial run --only … should not replace latest)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections of the results file, marked with the date of the run that measured them")
    args = parser.parse_args()

    sampler = LoadSampler()
    sampler.start()
    started = time.monotonic()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": f"{os.cpu_count()} cores", "repeat": args.repeat}
    if "memory" in args.only:  # Docker only: first, before a cluster takes the machine's memory
        results["memory"] = bench_memory(args.repeat)
    if "multinode" in args.only:
        results["multinode"] = multinode_figures()
    if set(args.only) - {"memory", "no_op_minikube", "multinode"} or args.molecule:
        log("site.yml (cluster and release)")
        results["first_site_yml_s"] = round(timed(playbook("site.yml"))[0], 1)
        run(playbook("playbooks/images.yml", "-e", "image_build_tag=v1.0.1",
                     "-e", f"image_build_report_path={BUILD_REPORT.with_name('images-bench-v1.0.1.json')}"))
        run(["kind", "load", "docker-image", "--name", "todo-bench", "todo-list-frontend:v1.0.1",
             "todo-list-backend:v1.0.1"])
    if "deploy" in args.only:
        results["deploy"] = bench_deploy(args.deploy_repeat)
    if "no_op" in args.only:
        results["no_op"] = bench_noop(args.repeat)
    if "inner_loop" in args.only:
        results["inner_loop"] = bench_inner_loop(args.deploy_repeat)
    if "no_op_minikube" in args.only:
        results["no_op_minikube"] = bench_noop_minikube(args.repeat)
    if "images" in args.only:
        results["images"] = bench_images(args.repeat)
    if {"throughput", "upgrade"} & set(args.only):
        client_pod()
        if "throughput" in args.only:
            results["throughput"] = bench_throughput(args.repeat, 20, 16)
        if "upgrade" in args.only:
            results["upgrade"] = bench_upgrade(args.repeat)
    if args.molecule:
        # Molecule makes its own cluster: ours goes first, so the scenarios run as under `make test`.
        run(playbook("playbooks/cluster.yml", "-e", "kind_cluster_state=absent"))
        results["molecule"] = bench_molecule(args.molecule, args.molecule_repeat or args.repeat)
    samples = [round(x, 2) for x in sampler.samples + [os.getloadavg()[0]]]
    results["load"] = {"start": samples[0], "end": samples[-1], "median": round(statistics.median(samples), 2),
                       "max": max(samples), "samples_every_30_s": samples, "note": args.note,
                       "wall_minutes": round((time.monotonic() - started) / 60, 1)}
    RESULTS.mkdir(exist_ok=True)
    if args.merge and (RESULTS / f"{args.output}.json").exists():
        results = merged(json.loads((RESULTS / f"{args.output}.json").read_text()), results)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{args.output}.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
