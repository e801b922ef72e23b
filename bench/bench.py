"""What a deploy, a no-op run, an image and a rolling upgrade cost, measured against plain Helm in the same run.

Run with `make bench` (never part of `make test`). Every figure is taken REPEAT times and reported as median and
spread (min–max); every comparison is measured in the same run, on the same kind cluster (bench/inventory: the
local inventory's values on a cluster named todo-bench). Writes bench/results/latest.json and latest.md.
"""
import argparse
import datetime
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "todo-list-hackathon"
INVENTORY = ROOT / "bench" / "inventory" / "hosts.yml"
RESULTS = ROOT / "bench" / "results"
KUBECONFIG = pathlib.Path.home() / ".kube" / "todo-k8s-bench.yaml"
NAMESPACE, RELEASE = "todo-list", "todo-list"
PLAIN_NAMESPACE, PLAIN_RELEASE = "todo-plain", "todo-list"
BUILD_REPORT = pathlib.Path("/var/cache/todo-k8s/reports/images.json")
LOAD = (ROOT / "tests" / "load" / "steady_load.py").read_text()
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), KUBECONFIG=str(KUBECONFIG))
BIN = pathlib.Path(sys.executable).parent


def run(cmd, check=True, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT, **kwargs)
    if check and result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def timed(cmd, **kwargs):
    start = time.monotonic()
    result = run(cmd, **kwargs)
    return time.monotonic() - start, result


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


def image_values():
    """The same images site.yml deploys, for the plain-Helm comparison."""
    report = json.loads(BUILD_REPORT.read_text())
    sets = []
    for image in report["images"]:
        sets += ["--set", f"{image['component']}.image.repository={image['name']}",
                 "--set", f"{image['component']}.image.tag={image['tag']}"]
    return sets


def plain_helm_upgrade_install():
    return ["helm", "--kubeconfig", str(KUBECONFIG), "upgrade", "--install", PLAIN_RELEASE, str(CHART),
            "-n", PLAIN_NAMESPACE, "--create-namespace", "-f", str(CHART / "values-local.yaml"), *image_values(),
            "--wait", "--timeout", "5m"]


def uninstall(namespace, release):
    helm("uninstall", release, "-n", namespace, "--wait", check=False)
    kubectl("-n", namespace, "delete", "pvc", "--all", "--wait=true", check=False)
    kubectl("delete", "pv", "-l", "app.kubernetes.io/managed-by=todo-k8s", "--wait=false", check=False)
    recycle_volumes()


def recycle_volumes():
    """Released hostPath volumes of the node's pool are made Available again (data wiped) between runs."""
    pvs = json.loads(kubectl("get", "pv", "-o", "json").stdout)["items"]
    for pv in pvs:
        if pv["status"]["phase"] == "Released":
            kubectl("patch", "pv", pv["metadata"]["name"], "--type", "json",
                    "-p", '[{"op": "remove", "path": "/spec/claimRef"}]')


def bench_deploy(repeat):
    ours, plain = [], []
    for _ in range(repeat):
        uninstall(NAMESPACE, RELEASE)
        seconds, _ = timed(playbook("site.yml"))
        ours.append(seconds)
        uninstall(PLAIN_NAMESPACE, PLAIN_RELEASE)
        seconds, _ = timed(plain_helm_upgrade_install())
        plain.append(seconds)
    return {"site_yml_s": summary(ours), "plain_helm_s": summary(plain),
            "ratio": round(statistics.median(ours) / statistics.median(plain), 2),
            "note": "from an uninstalled release on a running cluster with built images, until every pod is Ready"}


def bench_noop(repeat):
    ours, plain, ours_changed = [], [], []
    ours_revisions_before = revisions(NAMESPACE, RELEASE)
    plain_revisions_before = revisions(PLAIN_NAMESPACE, PLAIN_RELEASE)
    for _ in range(repeat):
        seconds, result = timed(playbook("site.yml"))
        ours.append(seconds)
        ours_changed.append(changed(result.stdout))
        seconds, _ = timed(plain_helm_upgrade_install())
        plain.append(seconds)
    return {"site_yml_s": summary(ours), "site_yml_changed": ours_changed,
            "site_yml_revisions_added": revisions(NAMESPACE, RELEASE) - ours_revisions_before,
            "plain_helm_s": summary(plain),
            "plain_helm_revisions_added": revisions(PLAIN_NAMESPACE, PLAIN_RELEASE) - plain_revisions_before,
            "ratio": round(statistics.median(ours) / statistics.median(plain), 2)}


def docker_build(context, base_image, tag, no_cache=False):
    cmd = ["docker", "build", "-q", "-t", tag, "--build-arg", f"BASE_IMAGE={base_image}", str(context)]
    return timed(cmd[:2] + ["--no-cache"] + cmd[2:] if no_cache else cmd)[0]


def bench_images(repeat):
    """Sizes from the build report; a cold build (no layer cache) against a rebuild after a one-line change."""
    import shutil
    import tempfile

    report = json.loads(BUILD_REPORT.read_text())
    built = {i["component"]: i for i in report["images"] if i.get("limit_mb")}
    sizes = {c: {"compressed_bytes": i["compressed_bytes"], "limit_bytes": i["limit_mb"] * 1_000_000,
                 "share_of_limit": round(i["compressed_bytes"] / (i["limit_mb"] * 1_000_000), 3)}
             for c, i in built.items()}
    bases = {c: i["base_image"].split(" ")[0] for c, i in built.items()}
    cold, rebuild = {c: [] for c in built}, {c: [] for c in built}
    for n in range(repeat):
        for component in built:
            with tempfile.TemporaryDirectory() as tmp:
                source = pathlib.Path(tmp) / component
                shutil.copytree(ROOT / "app" / component, source, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache"))
                tag = f"todo-bench/{component}:rebuild"
                cold[component].append(docker_build(source, bases[component], tag, no_cache=True))
                changed_file = source / ("todo_api/__init__.py" if component == "backend" else "public/index.html")
                changed_file.write_text(changed_file.read_text() + ("\n# bench %d\n" if component == "backend" else "\n<!-- bench %d -->\n") % n)
                rebuild[component].append(docker_build(source, bases[component], tag))
        run(["docker", "rmi", "-f", *(f"todo-bench/{c}:rebuild" for c in built)], check=False)
    return {"sizes": sizes, "size_method": report.get("size_method"),
            "cold_build_s": {c: summary(v) for c, v in cold.items()},
            "rebuild_after_one_line_change_s": {c: summary(v) for c, v in rebuild.items()},
            "ratio": {c: round(statistics.median(rebuild[c]) / statistics.median(cold[c]), 2) for c in built}}


def in_pod(pod, env, timeout=900):
    result = run(["kubectl", "--kubeconfig", str(KUBECONFIG), "-n", NAMESPACE, "exec", "-i", pod, "--", "env", *env,
                  "python3", "-"], input=LOAD, timeout=timeout)
    return json.loads(result.stdout)


def client_pod():
    kubectl("-n", NAMESPACE, "delete", "pod", "bench-client", "--wait=true", "--ignore-not-found", check=False)
    overrides = json.dumps({"spec": {"automountServiceAccountToken": False, "securityContext": {
        "runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "bench-client", "image": "todo-list-backend:v1.0.0", "imagePullPolicy": "IfNotPresent",
                        "command": ["python3", "-c", "import time; time.sleep(3600)"], "securityContext": {
                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}})
    kubectl("-n", NAMESPACE, "run", "bench-client", "--image=todo-list-backend:v1.0.0", "--restart=Never",
            f"--overrides={overrides}")
    kubectl("-n", NAMESPACE, "wait", "pod/bench-client", "--for=condition=Ready", "--timeout=120s")
    return "bench-client"


def bench_throughput(pod, seconds, concurrency):
    results = {}
    for name, base in [("through_frontend", "http://todo-list-frontend:80"), ("straight_to_backend", "http://todo-list-backend:8000")]:
        results[name] = in_pod(pod, [f"BASE={base}", f"DURATION={seconds}", f"CONCURRENCY={concurrency}",
                                     "PATHS=/api/todos", "EMAIL=bench@example.com", "PASSWORD=bench-password"])
    results["proxy_overhead_ratio_p99"] = round(
        results["through_frontend"]["p99_ms"] / results["straight_to_backend"]["p99_ms"], 2)
    results["proxy_throughput_ratio"] = round(
        results["through_frontend"]["rps"] / results["straight_to_backend"]["rps"], 2)
    results["concurrency"] = concurrency
    return results


def bench_upgrade(pod, repeat):
    rounds = []
    for i in range(repeat):
        tag = "v1.0.1" if i % 2 == 0 else "v1.0.0"
        run(["kubectl", "--kubeconfig", str(KUBECONFIG), "-n", NAMESPACE, "exec", pod, "--", "rm", "-f", "/tmp/stop"])
        load = subprocess.Popen(
            ["kubectl", "--kubeconfig", str(KUBECONFIG), "-n", NAMESPACE, "exec", "-i", pod, "--", "env",
             "DURATION=600", "CONCURRENCY=4", "STOP_FILE=/tmp/stop", "EMAIL=upgrade@example.com",
             "PASSWORD=upgrade-password", "python3", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
        load.stdin.write(LOAD)
        load.stdin.close()
        time.sleep(5)
        seconds, _ = timed(playbook("playbooks/release.yml", "-e", f"helm_release_image_tag={tag}"))
        time.sleep(5)
        run(["kubectl", "--kubeconfig", str(KUBECONFIG), "-n", NAMESPACE, "exec", pod, "--", "touch", "/tmp/stop"])
        result = json.loads(load.stdout.read())
        load.wait()
        rounds.append({"to": tag, "seconds_until_new_pods_ready": round(seconds, 1), **result})
    return {"rounds": rounds,
            "requests_sent": sum(r["sent"] for r in rounds), "requests_failed": sum(r["failed"] for r in rounds),
            "p50_ms": summary([r["p50_ms"] for r in rounds]), "p99_ms": summary([r["p99_ms"] for r in rounds]),
            "seconds_until_new_pods_ready": summary([r["seconds_until_new_pods_ready"] for r in rounds])}


def bench_molecule(scenarios):
    times = {}
    for scenario in scenarios:
        seconds, result = timed([str(BIN / "molecule"), "test", "-s", scenario], check=False)
        times[scenario] = {"seconds": round(seconds, 1), "passed": result.returncode == 0}
    return times


def markdown(results):
    d, n, i, u, t = (results.get(k, {}) for k in ("deploy", "noop", "images", "upgrade", "throughput"))
    lines = [f"# Benchmarks ({results['date']}, {results['machine']})", "",
             "Median (min–max) of each figure; comparisons measured in the same run.", "",
             "| what | todo-k8s | plain Helm | ratio |", "| --- | --- | --- | --- |"]
    fmt = lambda s: f"{s['median']} s ({s['min']}–{s['max']}, n={s['n']})"
    if d:
        lines.append(f"| deploy to all pods Ready | {fmt(d['site_yml_s'])} | {fmt(d['plain_helm_s'])} | {d['ratio']} |")
    if n:
        lines.append(f"| no-op second run | {fmt(n['site_yml_s'])}, changed={n['site_yml_changed']}, "
                     f"+{n['site_yml_revisions_added']} revisions | {fmt(n['plain_helm_s'])}, "
                     f"+{n['plain_helm_revisions_added']} revisions | {n['ratio']} |")
    lines += ["", "| image | compressed | limit | share |", "| --- | --- | --- | --- |"]
    for name, s in i.get("sizes", {}).items():
        lines.append(f"| {name} | {s['compressed_bytes'] / 1e6:.1f} MB | {s['limit_bytes'] / 1e6:.0f} MB | {s['share_of_limit']:.0%} |")
    for name, s in i.get("cold_build_s", {}).items():
        lines.append(f"- {name}: cold build {fmt(s)}, rebuild after a one-line change "
                     f"{fmt(i['rebuild_after_one_line_change_s'][name])} (ratio {i['ratio'][name]})")
    if u:
        lines += ["", f"Rolling upgrade under load: {u['requests_sent']} requests, {u['requests_failed']} failed, "
                      f"p50 {u['p50_ms']['median']} ms, p99 {u['p99_ms']['median']} ms, new pods Ready after "
                      f"{fmt(u['seconds_until_new_pods_ready'])}."]
    if t:
        f, b = t["through_frontend"], t["straight_to_backend"]
        lines += ["", f"Throughput (GET /api/todos, concurrency {t['concurrency']}, in-cluster client): "
                      f"through the frontend {f['rps']} req/s, p99 {f['p99_ms']} ms; straight to the backend {b['rps']} req/s, "
                      f"p99 {b['p99_ms']} ms; proxy p99 ratio {t['proxy_overhead_ratio_p99']}."]
    for scenario, m in results.get("molecule", {}).items():
        lines.append(f"- molecule {scenario}: {m['seconds']} s ({'passed' if m['passed'] else 'FAILED'})")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=["deploy", "noop", "images", "throughput", "upgrade"])
    parser.add_argument("--molecule", nargs="*", default=[], help="scenarios to time (slow)")
    args = parser.parse_args()

    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": f"{os.cpu_count()} cores", "repeat": args.repeat}
    seconds, _ = timed(playbook("site.yml"))
    results["first_site_yml_s"] = round(seconds, 1)
    run(playbook("playbooks/images.yml", "-e", "image_build_tag=v1.0.1",
                 "-e", "image_build_report_path=/var/cache/todo-k8s/reports/images-v1.0.1.json"))
    run(["kind", "load", "docker-image", "--name", "todo-bench", "todo-list-frontend:v1.0.1", "todo-list-backend:v1.0.1"])
    if "deploy" in args.only:
        results["deploy"] = bench_deploy(args.repeat)
    if "noop" in args.only:
        results["noop"] = bench_noop(args.repeat)
    if "images" in args.only:
        results["images"] = bench_images(args.repeat)
    if {"throughput", "upgrade"} & set(args.only):
        pod = client_pod()
        if "throughput" in args.only:
            results["throughput"] = bench_throughput(pod, 20, 8)
        if "upgrade" in args.only:
            results["upgrade"] = bench_upgrade(pod, args.repeat)
    if args.molecule:
        results["molecule"] = bench_molecule(args.molecule)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
