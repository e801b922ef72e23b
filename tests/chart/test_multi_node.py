"""Production on more than one node (issue 18): disruption budgets, spread over nodes, HPA behavior and bounds,
and NetworkPolicies, these proved by the flows they let through."""
import ipaddress

import pytest
import yaml

from conftest import ENVIRONMENTS, helm_template, kubernetes_validate, refusal, render

COMPONENTS = ("frontend", "backend")
NAMESPACE = "todo-list"  # conftest's helm_template renders into it


def selector(manifests, component, release="todo-list"):
    return manifests.get("Deployment", f"{release}-{component}")["spec"]["selector"]["matchLabels"]


def values_file(tmp_path, values):
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return [str(path)]


# PodDisruptionBudgets.

@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("sets", [
    [],  # one replica
    ["{c}.replicaCount=2", "{c}.podDisruptionBudget.enabled=false"],
    ["{c}.replicaCount=3", "{c}.autoscaling.enabled=true", "{c}.autoscaling.minReplicas=1"],  # the HPA may go to one
], ids=["one-replica", "disabled", "hpa-minimum-one"])
def test_no_disruption_budget_for_a_component_that_may_run_one_pod_or_turns_it_off(component, sets):
    budgets = render(sets=[s.format(c=component) for s in sets]).of_kind("PodDisruptionBudget")
    assert f"todo-list-{component}" not in [d["metadata"]["name"] for d in budgets]


@pytest.mark.parametrize("component", COMPONENTS)
@pytest.mark.parametrize("values_files, sets", [([], ["{c}.replicaCount=2"]), (["values-production.yaml"], [])],
                         ids=["two-replicas", "production-hpa-minimum-two"])
def test_a_component_of_two_pods_or_more_lets_a_drain_take_one_at_a_time(component, values_files, sets):
    manifests = render(values_files, [s.format(c=component) for s in sets])
    budget = manifests.get("PodDisruptionBudget", f"todo-list-{component}")["spec"]
    assert budget["maxUnavailable"] == 1 and budget["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert budget["selector"]["matchLabels"] == selector(manifests, component)


# Spread over nodes.

@pytest.mark.parametrize("release", ["todo-list", "todo-list-2"])
def test_pods_spread_over_nodes_counting_only_their_component_of_their_release(environment, release):
    manifests = render(ENVIRONMENTS[environment], release=release)
    for component in COMPONENTS:
        pod = manifests.get("Deployment", f"{release}-{component}")["spec"]["template"]["spec"]
        labels = selector(manifests, component, release)
        assert labels["app.kubernetes.io/instance"] == release and labels["app.kubernetes.io/component"] == component
        assert pod["topologySpreadConstraints"] == [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
            "matchLabelKeys": ["pod-template-hash"], "labelSelector": {"matchLabels": labels}}]


def test_the_spread_replaces_the_anti_affinity_that_matched_other_releases_pods(environment):
    for component in COMPONENTS:
        assert "affinity" not in render(ENVIRONMENTS[environment]).get(
            "Deployment", f"todo-list-{component}")["spec"]["template"]["spec"]


def test_given_constraints_and_affinity_replace_the_default_and_count_the_release_unless_they_say(tmp_path):
    zone = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "nodeTaintsPolicy": "Honor"}
    own = {"maxSkew": 2, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
           "labelSelector": {"matchLabels": {"tier": "web"}}}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}
    manifests = render(values_file(tmp_path, {"backend": {"topologySpreadConstraints": [zone, own], "affinity": affinity}}))
    pod = manifests.get("Deployment", "todo-list-backend")["spec"]["template"]["spec"]
    assert pod["topologySpreadConstraints"] == [{**zone, "labelSelector": {"matchLabels": selector(manifests, "backend")}}, own]
    assert pod["affinity"] == affinity


# HorizontalPodAutoscaler.

@pytest.mark.parametrize("component", COMPONENTS)
def test_production_hpas_scale_down_one_pod_a_minute_after_five_minutes_of_lower_load(production, component):
    assert production.get("HorizontalPodAutoscaler", f"todo-list-{component}")["spec"]["behavior"] == {
        "scaleDown": {"stabilizationWindowSeconds": 300, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}


def test_the_hpa_has_kubernetes_default_behavior_unless_one_is_given():
    hpa = lambda sets: render(sets=["backend.autoscaling.enabled=true", *sets]).get(
        "HorizontalPodAutoscaler", "todo-list-backend")["spec"]
    assert "behavior" not in hpa([])
    assert hpa(["backend.autoscaling.behavior.scaleUp.selectPolicy=Disabled"])["behavior"] == {
        "scaleUp": {"selectPolicy": "Disabled"}}


@pytest.mark.parametrize("component", COMPONENTS)
def test_an_hpa_minimum_above_its_maximum_is_refused_naming_both(component):
    bounds = lambda low, high: [f"{component}.autoscaling.enabled=true", f"{component}.autoscaling.minReplicas={low}",
                                f"{component}.autoscaling.maxReplicas={high}"]
    assert (f"{component}.autoscaling.minReplicas (7) is above {component}.autoscaling.maxReplicas (6); "
            "minReplicas must be <= maxReplicas.") in refusal(sets=bounds(7, 6))
    assert render(sets=bounds(6, 6)).get("HorizontalPodAutoscaler", f"todo-list-{component}")["spec"]["minReplicas"] == 6


# NetworkPolicies, read the way a CNI reads them. A pod is {"labels", "namespace"}, an address outside the cluster
# {"ip"}. A pod that no policy of a direction selects is not isolated in that direction.

def peer_matches(peer, other):
    if "ipBlock" in peer:
        return "ip" in other and ipaddress.ip_address(other["ip"]) in ipaddress.ip_network(peer["ipBlock"]["cidr"])
    if "ip" in other:
        return False
    namespaces = peer.get("namespaceSelector")
    in_namespace = (other["namespace"] == NAMESPACE if namespaces is None else
                    namespaces["matchLabels"] == {"kubernetes.io/metadata.name": other["namespace"]})
    return in_namespace and peer.get("podSelector", {}).get("matchLabels", {}).items() <= other["labels"].items()


def lets_through(policies, direction, pod, other, port, protocol):
    """Whether the policies let pod send to (Egress) or receive from (Ingress) other on port."""
    if "ip" in pod or pod["namespace"] != NAMESPACE:
        return True
    selecting = [p["spec"] for p in policies if direction in p["spec"]["policyTypes"]
                 and p["spec"]["podSelector"]["matchLabels"].items() <= pod["labels"].items()]
    peers = "to" if direction == "Egress" else "from"
    return not selecting or any(
        (peers not in rule or any(peer_matches(peer, other) for peer in rule[peers]))
        and ("ports" not in rule or {"protocol": protocol, "port": port} in rule["ports"])
        for spec in selecting for rule in spec.get(direction.lower(), []))


def flows(manifests):
    """allowed(source, destination, port[, protocol]) over the release's pods (by app label) and some around them."""
    pods = {d["metadata"]["labels"]["app"]: d["spec"]["template"]["metadata"]["labels"]
            for d in manifests.of_kind("Deployment") + manifests.of_kind("StatefulSet")}
    pods["test"] = manifests.get("Pod", "todo-list-test")["metadata"]["labels"]
    ends = {name: {"labels": labels, "namespace": NAMESPACE} for name, labels in pods.items()}
    ends |= {
        "stranger": {"labels": {"app": "steady-load-client"}, "namespace": NAMESPACE},
        **{f"other-release-{component}": {"labels": {**pods[component], "app.kubernetes.io/instance": "other"},
                                          "namespace": NAMESPACE} for component in COMPONENTS},
        "kube-dns": {"labels": {"k8s-app": "kube-dns"}, "namespace": "kube-system"},
        "fake-dns": {"labels": {"k8s-app": "kube-dns"}, "namespace": NAMESPACE},
        "internet": {"ip": "203.0.113.7"},
        "database": {"ip": "172.18.0.1"},
    }
    policies = manifests.of_kind("NetworkPolicy")

    def allowed(source, destination, port, protocol="TCP"):
        src, dst = ends[source], ends[destination]
        return (lets_through(policies, "Egress", src, dst, port, protocol)
                and lets_through(policies, "Ingress", dst, src, port, protocol))
    return allowed


@pytest.fixture(scope="module")
def local_with_policies():
    return render(ENVIRONMENTS["local"], ["networkPolicy.enabled=true"])


@pytest.mark.parametrize("env", ["default", "local"])
def test_no_network_policy_unless_enabled(env):
    assert render(ENVIRONMENTS[env]).of_kind("NetworkPolicy") == []


@pytest.mark.parametrize("source, destination, port, expected", [
    ("internet", "frontend", 80, True),
    ("stranger", "frontend", 80, True),
    ("frontend", "backend", 8000, True),
    ("test", "frontend", 80, True),
    ("backend", "database", 5432, True),
    ("backend", "internet", 443, True),
    ("stranger", "backend", 8000, False),
    ("stranger", "test", 80, False),
    ("test", "backend", 8000, False),
    ("backend", "frontend", 80, False),
    ("frontend", "backend", 9000, False),
    ("frontend", "internet", 443, False),
    ("frontend", "database", 5432, False),
    ("backend", "database", 22, False),
    ("frontend", "other-release-backend", 8000, False),
    ("other-release-frontend", "backend", 8000, False),
    ("stranger", "other-release-backend", 8000, True),  # another release's pods keep their own rules
])
def test_production_lets_through_only_the_app_flows(production, source, destination, port, expected):
    assert flows(production)(source, destination, port) is expected


@pytest.mark.parametrize("source, destination, port, expected", [
    ("backend", "postgresql", 5432, True),
    ("frontend", "postgresql", 5432, False),
    ("test", "postgresql", 5432, False),
    ("stranger", "postgresql", 5432, False),
    ("other-release-backend", "postgresql", 5432, False),
    ("backend", "database", 5432, False),  # no external database: no egress to one
    ("postgresql", "internet", 443, False),
])
def test_the_embedded_database_takes_connections_from_the_backend_only(local_with_policies, source, destination, port,
                                                                      expected):
    assert flows(local_with_policies)(source, destination, port) is expected


def test_every_pod_of_the_release_resolves_names_through_kube_dns_only(local_with_policies, production):
    for manifests, pods in ((local_with_policies, ("frontend", "backend", "postgresql", "test")),
                            (production, ("frontend", "backend", "test"))):
        allowed = flows(manifests)
        for pod in pods:
            assert allowed(pod, "kube-dns", 53, "UDP") and allowed(pod, "kube-dns", 53, "TCP"), pod
            assert not allowed(pod, "fake-dns", 53, "UDP") and not allowed(pod, "kube-dns", 80), pod


def test_the_external_database_egress_follows_its_port_and_the_cidrs_given():
    allowed = flows(render(["values-production.yaml"], ["backend.config.database.port=55432",
                                                        "networkPolicy.externalDatabaseCidrs={172.18.0.1/32}"]))
    assert allowed("backend", "database", 55432) and not allowed("backend", "database", 5432)
    elsewhere = flows(render(["values-production.yaml"], ["networkPolicy.externalDatabaseCidrs={10.9.9.9/32}"]))
    assert not elsewhere("backend", "database", 5432)


def test_https_egress_can_be_turned_off():
    manifests = render(["values-production.yaml"], ["networkPolicy.allowHttpsEgress=false"])
    assert not flows(manifests)("backend", "internet", 443)
    assert "todo-list-backend-to-https" not in [d["metadata"]["name"] for d in manifests.of_kind("NetworkPolicy")]


def test_the_policies_select_this_release_only(production):
    deny = production.get("NetworkPolicy", "todo-list-deny-all")["spec"]
    assert deny["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "todo-list-hackathon",
                                                  "app.kubernetes.io/instance": "todo-list"}
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny


@pytest.mark.parametrize("values_files, sets", [
    (ENVIRONMENTS["local"], ["networkPolicy.enabled=true", "frontend.replicaCount=2", "backend.autoscaling.enabled=true",
                             "backend.autoscaling.behavior.scaleUp.policies[0].type=Percent",
                             "backend.autoscaling.behavior.scaleUp.policies[0].value=100",
                             "backend.autoscaling.behavior.scaleUp.policies[0].periodSeconds=15"]),
    (ENVIRONMENTS["production"], ["networkPolicy.externalDatabaseCidrs={172.18.0.1/32,fd00::/8}"]),
], ids=["embedded-database", "external-database-cidrs"])
def test_budgets_policies_and_behavior_are_valid_for_the_pinned_kubernetes_version(values_files, sets, tmp_path):
    result = helm_template(values_files, sets)
    assert result.returncode == 0, result.stderr
    assert kubernetes_validate(result.stdout, tmp_path) == ""
