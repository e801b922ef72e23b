"""Issue 17: the database's address and TLS settings in the backend's ConfigMap, its credentials in the Secret,
DATABASE_URL only as an override; a CA certificate given is mounted, and a changed CA or Secret rolls the pods."""
import base64
import hashlib

import pytest

from conftest import render

PRODUCTION = ["values-production.yaml"]
# The chart does not parse the certificate (libpq does): two PEM-shaped texts are enough to tell CAs apart.
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfirst\n-----END CERTIFICATE-----\n"
OTHER_CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBsecond\n-----END CERTIFICATE-----\n"
EXTERNAL_CREDENTIALS = ["backend.secret.existingSecret=", "backend.secret.databaseUser=todo_app",
                        "backend.secret.databasePassword=p@ss/w:rd"]


def with_ca(tmp_path, pem, values_files=PRODUCTION, sets=()):
    ca = tmp_path / f"ca-{hashlib.sha256(pem.encode()).hexdigest()[:8]}.crt"
    ca.write_text(pem)
    return render(values_files, sets, flags=["--set-file", f"backend.config.database.caCert={ca}"])


def backend_pod(manifests):
    return manifests.get("Deployment", "todo-list-backend")["spec"]["template"]


def secret_data(manifests):
    return {k: base64.b64decode(v).decode() for k, v in manifests.get("Secret", "todo-list-backend-secret")["data"].items()}


def test_the_configmap_carries_the_external_databases_address_and_tls_mode(production):
    assert production.get("ConfigMap", "todo-list-backend-config")["data"] == {
        "DATABASE_HOST": "todo-db.internal.example.com", "DATABASE_PORT": "5432", "DATABASE_NAME": "todo",
        "DATABASE_SSLMODE": "verify-full", "OPENAI_MODEL": "gpt-4o-mini", "LOG_LEVEL": "INFO", "APP_ENV": "production",
        "FORWARDED_ALLOW_IPS": "*"}


def test_the_chart_made_secret_holds_the_credentials_and_no_database_url():
    data = secret_data(render(PRODUCTION, EXTERNAL_CREDENTIALS))
    assert set(data) == {"DATABASE_USER", "DATABASE_PASSWORD", "JWT_SECRET", "OPENAI_API_KEY"}
    assert (data["DATABASE_USER"], data["DATABASE_PASSWORD"]) == ("todo_app", "p@ss/w:rd")


@pytest.mark.parametrize("values_files, sets", [
    (PRODUCTION, ["backend.secret.existingSecret="]),
    (PRODUCTION, EXTERNAL_CREDENTIALS),
    (["values-local.yaml"], []),
], ids=["url-alone", "url-and-credentials", "embedded-database"])
def test_a_given_database_url_goes_into_the_secret_as_the_override(values_files, sets):
    url = "postgresql://todo:pw@db.example.com:5432/todo"
    assert secret_data(render(values_files, [*sets, f"backend.secret.databaseUrl={url}"]))["DATABASE_URL"] == url


def test_an_existing_secret_is_read_and_none_is_made(production):
    assert production.of_kind("Secret") == []
    assert {"secretRef": {"name": "todo-list-backend-secret"}} in backend_pod(production)["spec"]["containers"][0]["envFrom"]


def test_the_existing_secrets_checksum_is_of_its_looked_up_data_and_stable_without_a_cluster(production):
    # helm template has no cluster: the lookup is empty, and every render gives the same checksum (that of {}).
    # Against a cluster (install, upgrade, --dry-run=server) a rotated Secret changes it and rolls the pods.
    checksum = backend_pod(production)["metadata"]["annotations"]["checksum/secret"]
    assert checksum == hashlib.sha256(b"{}").hexdigest()
    assert backend_pod(render(PRODUCTION))["metadata"]["annotations"]["checksum/secret"] == checksum


def test_a_given_ca_is_mounted_read_only_where_databasesslrootcert_points(tmp_path):
    manifests = with_ca(tmp_path, CA_PEM)
    assert manifests.get("ConfigMap", "todo-list-backend-database-ca")["data"] == {"ca.crt": CA_PEM}
    config = manifests.get("ConfigMap", "todo-list-backend-config")["data"]
    assert config["DATABASE_SSLROOTCERT"] == "/etc/todo-list/database-ca/ca.crt"
    pod = backend_pod(manifests)["spec"]
    assert {"name": "database-ca", "configMap": {"name": "todo-list-backend-database-ca"}} in pod["volumes"]
    assert {"name": "database-ca", "mountPath": "/etc/todo-list/database-ca", "readOnly": True} in pod["containers"][0]["volumeMounts"]


def test_without_a_ca_nothing_is_mounted_and_libpq_keeps_its_default(production):
    assert "DATABASE_SSLROOTCERT" not in production.get("ConfigMap", "todo-list-backend-config")["data"]
    assert [v["name"] for v in backend_pod(production)["spec"]["volumes"]] == ["tmp"]


def test_a_changed_ca_rolls_the_backend_pods_through_checksum_config(tmp_path):
    checksum = lambda pem: backend_pod(with_ca(tmp_path, pem))["metadata"]["annotations"]["checksum/config"]
    assert checksum(CA_PEM) == checksum(CA_PEM)
    assert checksum(CA_PEM) != checksum(OTHER_CA_PEM)
    assert checksum(CA_PEM) != backend_pod(render(PRODUCTION))["metadata"]["annotations"]["checksum/config"]


def test_the_embedded_database_ignores_the_external_databases_tls_settings(tmp_path):
    manifests = with_ca(tmp_path, CA_PEM, ["values-local.yaml"], ["backend.config.database.sslMode=verify-full"])
    config = manifests.get("ConfigMap", "todo-list-backend-config")["data"]
    assert "DATABASE_SSLMODE" not in config and "DATABASE_SSLROOTCERT" not in config
    assert [d for d in manifests.of_kind("ConfigMap") if d["metadata"]["name"].endswith("-database-ca")] == []
