"""The backend reaches its database over TLS, checking the server's certificate against the CA it is given
(DATABASE_SSLMODE=verify-full, DATABASE_SSLROOTCERT), as the chart configures it for an external database."""
import datetime
import time

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import PostgresCluster

HOST = "localhost"  # the name the backend connects to: the one the server's certificate must carry


def certificate(subject: str, key, issuer_key=None, issuer: x509.Certificate | None = None) -> x509.Certificate:
    """A CA certificate when no issuer is given, else a server certificate for `subject` signed by the issuer."""
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True))
    if issuer is None:
        usage = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False)
        return builder.add_extension(usage, critical=True).sign(key, hashes.SHA256())
    builder = (builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def tls_postgres(tmp_path):
    """A PostgreSQL that accepts TLS connections only, its certificate for HOST signed by a CA of this test;
    yields the cluster and that CA's file."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("todo-api test CA", ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    cluster = PostgresCluster()
    cert_file = cluster.server_file("server.crt", pem(certificate(HOST, server_key, ca_key, ca)))
    # The server refuses a key that others can read: 0600, owned by the user it runs as.
    key_file = cluster.server_file("server.key", server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), mode=0o600)
    hba_file = cluster.server_file("pg_hba.conf", b"local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
    cluster.start("ssl=on", f"ssl_cert_file={cert_file}", f"ssl_key_file={key_file}", f"hba_file={hba_file}")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(pem(ca))
    yield cluster, ca_file
    cluster.stop()


def test_the_backend_connects_with_verify_full_to_the_server_its_ca_signed_and_refuses_any_other(
        tls_postgres, backend_env, start_backend, tmp_path):
    cluster, ca_file = tls_postgres
    dbname = cluster.create_database()
    env = {k: v for k, v in backend_env.items() if k != "DATABASE_URL"}
    env.update(DATABASE_HOST=HOST, DATABASE_PORT=str(cluster.port), DATABASE_NAME=dbname, DATABASE_USER="postgres",
               DATABASE_PASSWORD="unused-with-trust-auth", DATABASE_SSLMODE="verify-full", DATABASE_SSLROOTCERT=str(ca_file))
    # The server takes nothing but TLS, so a backend that gets ready spoke TLS to it.
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(host=HOST, port=cluster.port, user="postgres", dbname=dbname, sslmode="disable")
    start_backend(env).wait_ready()

    # Refused: a CA that did not sign the server's certificate, and (verify-full, not verify-ca) an address the
    # certificate does not name. libpq says why; the backend keeps serving /health and is never ready.
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(pem(certificate("another CA", ec.generate_private_key(ec.SECP256R1()))))
    refusals = [(dict(env, DATABASE_SSLROOTCERT=str(other_ca)), "certificate verify failed"),
                (dict(env, DATABASE_HOST="127.0.0.1"), 'does not match host name "127.0.0.1"')]
    for refused_env, reason in refusals:
        with pytest.raises(psycopg.OperationalError, match=reason):
            psycopg.connect(host=refused_env["DATABASE_HOST"], port=cluster.port, user="postgres", dbname=dbname,
                            sslmode="verify-full", sslrootcert=refused_env["DATABASE_SSLROOTCERT"])
        refused = start_backend(refused_env)
        refused.wait_ready("/health")
        deadline = time.monotonic() + 20
        while "schema migration waits for the database" not in refused.output():
            assert time.monotonic() < deadline, refused.output()
            time.sleep(0.1)
        ready = httpx.get(refused.base + "/health/ready", timeout=5)
        assert ready.status_code == 503, (reason, ready.text)
