"""Every rule of the spec's validation table stops `helm template` with a message naming the value."""
import subprocess

import pytest

from conftest import CHART, helm_template, refusal


@pytest.mark.parametrize("sets, message", [
    (["frontend.image.tag=1.0.0"], "/frontend/image/tag"),
    (["backend.image.tag=latest"], "/backend/image/tag"),
    (["backend.image.tag=v1.0"], "/backend/image/tag"),
    (["frontend.strategy.maxUnavailable=1"], "/frontend/strategy/maxUnavailable"),
    (["backend.strategy.maxSurge=0"], "/backend/strategy/maxSurge"),
    (["backend.terminationGracePeriodSeconds=10"], "/backend/terminationGracePeriodSeconds"),
    (["frontend.probes.liveness.failureThreshold=1"], "/frontend/probes/liveness/failureThreshold"),
    (["backend.probes.readiness.failureThreshold=1"], "/backend/probes/readiness/failureThreshold"),
    (["backend.probes.startup.failureThreshold=0"], "/backend/probes/startup/failureThreshold"),
    (["frontend.replicaCount=0"], "/frontend/replicaCount"),
    (["backend.image.pullPolicy=Sometimes"], "/backend/image/pullPolicy"),
    (["backend.resources.limits.cpu=lots"], "/backend/resources/limits/cpu"),
    (["backend.replicaCont=2"], "additional properties 'replicaCont'"),
    (["frontend.podSecurityContext.runAsNonRoot=false"], "/frontend/podSecurityContext/runAsNonRoot"),
    (["postgresql.auth.password=p@ss/word"], "/postgresql/auth/password"),
    (["backend.secret.jwtSecret=short"], "/backend/secret/jwtSecret"),
    (["frontend.image.id=latest"], "/frontend/image/id"),
    # A digest is sha256: and 64 lowercase hex digits, nothing shorter, no other algorithm.
    (["backend.image.digest=sha256:abc"], "/backend/image/digest"),
    ([f"frontend.image.digest=md5:{'0' * 32}"], "/frontend/image/digest"),
    ([f"backend.image.digest=sha256:{'AB' * 32}"], "/backend/image/digest"),
    (["backend.config.database.sslMode=verify"], "/backend/config/database/sslMode"),
    (["backend.config.database.caCert=not-a-certificate"], "/backend/config/database/caCert"),
    # The restricted Pod Security Standard cannot be weakened from values (issue 16).
    (["backend.securityContext.privileged=true"], "/backend/securityContext/privileged"),
    (["frontend.securityContext.readOnlyRootFilesystem=false"], "/frontend/securityContext/readOnlyRootFilesystem"),
    (["backend.securityContext.capabilities.add={NET_ADMIN}"], "/backend/securityContext/capabilities/add"),
    (["backend.securityContext.capabilities.drop={NET_RAW}"], "/backend/securityContext/capabilities/drop"),
    (["backend.podSecurityContext.runAsUser=0"], "/backend/podSecurityContext/runAsUser"),
    (["postgresql.podSecurityContext.bogus=1"], "additional properties 'bogus'"),
    (["frontend.podSecurityContext.seccompProfile.type=Unconfined"], "/frontend/podSecurityContext/seccompProfile/type"),
    (["frontend.podSecurityContext.sysctls[0].name=kernel.msgmax"], "/frontend/podSecurityContext/sysctls/0/name"),
    # Every value typed, unknown keys refused at every level.
    (["frontend.config.apiUrl=123"], "/frontend/config/apiUrl"),
    (["frontend.config.apiUrl=not a url"], "/frontend/config/apiUrl"),
    (["frontend.config.colour=blue"], "additional properties 'colour'"),
    (["frontend.config.featureFlags.chat=maybe"], "/frontend/config/featureFlags/chat"),
    (["frontend.secret.token=x"], "/frontend/secret"),
    (["backend.nodeSelector.disk=1"], "/backend/nodeSelector/disk"),
    (["postgresql.image.tag=latest"], "/postgresql/image/tag"),
    (["postgresql.image.tag=1.0.0"], "/postgresql/image/tag"),
    (["postgresql.image.tag=v1.0"], "/postgresql/image/tag"),
    # Issue 18: budgets, spread, HPA behavior and NetworkPolicies are typed too.
    (["frontend.podDisruptionBudget.maxUnavailable=0"], "/frontend/podDisruptionBudget/maxUnavailable"),
    (["backend.podDisruptionBudget.minAvailable=1"], "additional properties 'minAvailable'"),
    (["backend.topologySpreadConstraints[0].maxSkew=1", "backend.topologySpreadConstraints[0].topologyKey=zone",
      "backend.topologySpreadConstraints[0].whenUnsatisfiable=Never"], "/backend/topologySpreadConstraints/0/whenUnsatisfiable"),
    (["backend.autoscaling.behavior.scaleDown.policies[0].type=Replicas"], "/backend/autoscaling/behavior/scaleDown/policies/0"),
    (["frontend.autoscaling.behavior.scaleUp.stabilizationWindowSeconds=7200"],
     "/frontend/autoscaling/behavior/scaleUp/stabilizationWindowSeconds"),
    (["frontend.autoscaling.behavior.scaleSideways.selectPolicy=Max"], "additional properties 'scaleSideways'"),
    (["networkPolicy.enabled=yes"], "/networkPolicy/enabled"),
    (["networkPolicy.externalDatabaseCidrs={172.18.0.1}"], "/networkPolicy/externalDatabaseCidrs/0"),
    (["networkPolicy.allowDns=true"], "additional properties 'allowDns'"),
])
def test_schema_refuses_the_value_and_names_it(sets, message):
    assert message in refusal(sets=sets)


@pytest.mark.parametrize("component, sets, message", [
    ("frontend", ["frontend.resources.limits.cpu=50m"], "resources.limits.cpu (50m) is below resources.requests.cpu (100m)"),
    ("backend", ["backend.resources.limits.memory=100Mi"], "resources.limits.memory (100Mi) is below resources.requests.memory (128Mi)"),
    ("backend", ["backend.resources.requests.memory=2Gi"], "resources.limits.memory (512Mi) is below resources.requests.memory (2Gi)"),
    ("postgresql", ["postgresql.resources.limits.cpu=0.05"], "resources.limits.cpu (0.05) is below resources.requests.cpu (100m)"),
])
def test_limits_below_requests_are_refused_naming_the_container_and_values(component, sets, message):
    error = refusal(sets=sets)
    assert f"todo-list-{component}: {message}" in error


def test_limits_equal_to_requests_in_other_units_are_accepted():
    from conftest import render
    render(sets=["backend.resources.requests.cpu=0.5", "backend.resources.limits.cpu=500m",
                 "backend.resources.requests.memory=1024Mi", "backend.resources.limits.memory=1Gi"])


@pytest.mark.parametrize("sets", [["backend.secret.existingSecret="],
                                  ["backend.secret.existingSecret=", "backend.secret.databaseUser=todo"]])
def test_an_external_database_without_credentials_is_refused_with_what_to_set(sets):
    assert ("backend.secret.databaseUser and backend.secret.databasePassword (or backend.secret.databaseUrl) are "
            "required") in refusal(["values-production.yaml"], sets)


def test_a_pre_stop_sleep_that_eats_the_grace_period_is_refused():
    assert "/backend/preStopSleepSeconds" in refusal(sets=["backend.preStopSleepSeconds=30"])


# The templates refuse a tag that is not a release version themselves: with the schema skipped, and for a chart
# packaged with another appVersion (the tag then falls back to it).
@pytest.mark.parametrize("sets, message", [
    (["backend.image.tag=latest"], 'image todo-list-backend: tag "latest" is not a release version'),
    (["frontend.image.tag=1.0.0"], 'image todo-list-frontend: tag "1.0.0" is not a release version'),
    (["postgresql.image.tag=latest"], 'image postgres: tag "latest" is not a release version'),
])
def test_the_templates_refuse_a_tag_that_is_not_a_release_even_without_the_schema(sets, message):
    assert message in refusal(sets=sets, flags=["--skip-schema-validation"])


def test_a_bad_tag_is_refused_even_when_a_digest_says_what_to_run():
    sets = [f"backend.image.digest=sha256:{'a' * 64}", "backend.image.tag=latest"]
    assert "/backend/image/tag" in refusal(sets=sets)
    assert 'image todo-list-backend: tag "latest" is not a release version' in refusal(
        sets=sets, flags=["--skip-schema-validation"])


def test_a_chart_packaged_with_app_version_latest_refuses_to_render(tmp_path):
    subprocess.run(["helm", "package", str(CHART), "--app-version", "latest", "--destination", str(tmp_path)],
                   check=True, capture_output=True)
    (packaged,) = tmp_path.glob("*.tgz")
    assert 'tag "latest" is not a release version' in refusal(chart=packaged)


@pytest.mark.parametrize("tag", ["17", "17.2", "17-trixie"])
def test_postgresql_release_tags_are_accepted(tag):
    result = helm_template(flags=["--set-string", f"postgresql.image.tag={tag}"])
    assert result.returncode == 0, result.stderr
