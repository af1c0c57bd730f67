"""Kafka security for production (issue #17): the settings, their checks at start, the one
librdkafka configuration every client is built from, and what the system says when a broker
refuses it.

Tested for real where it can be: the embedded broker (tansu 0.6) cannot be a secured broker (with
`--authentication` no user can be created, and `--cert` gives no TLS listener), so the SCRAM
exchange runs against tansu with `--authentication` and fails, and TLS runs against a local TLS
endpoint with certificates made here (tests/tls_endpoint.py).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

import click
import pytest
from confluent_kafka import Consumer

from app.simulate import publish_simulation
from ingestion.kafka import LandingError, land_topics, stream_lag
from ingestion.kafka.broker import consumer_config, fetch_metadata
from ingestion.schema import ensure_raw_schema
from pantao.kafka_config import KAFKA_SECURITY_VARS, LIBRDKAFKA_KEYS, KafkaSecurity, Refusals, client_config
from pantao.processes import free_port, port_open
from pantao.settings import Settings, SettingsError, load_settings
from pantao.stack import broker_binary
from tests.tls_endpoint import KEY_PASSWORD, Certificates, TlsEndpoint, make_certificates

REPO_ROOT = Path(__file__).resolve().parent.parent
SASL_PASSWORD = "sasl-Pa55word-never-logged"
CREDENTIAL_VARS = ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SASL_MECHANISM")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def _env(**values: str) -> dict[str, str]:
    """A production-like environment: a cluster address, and the given security variables."""
    return {"KAFKA_BOOTSTRAP_SERVERS": "kafka1:9093,kafka2:9093", **values}


def _sasl_ssl(certs: Certificates) -> dict[str, str]:
    return _env(KAFKA_SECURITY_PROTOCOL="sasl_ssl", KAFKA_SASL_MECHANISM="scram-sha-512",
                KAFKA_SASL_USERNAME=" pantao ", KAFKA_SASL_PASSWORD=SASL_PASSWORD,
                KAFKA_SSL_CA_LOCATION=str(certs.ca), KAFKA_SSL_CERTIFICATE_LOCATION=str(certs.client_cert),
                KAFKA_SSL_KEY_LOCATION=str(certs.client_key), KAFKA_SSL_KEY_PASSWORD=KEY_PASSWORD)


# -- the settings and their mapping onto librdkafka ------------------------------------------------
def test_every_setting_maps_to_its_librdkafka_key(certificates):
    security = load_settings(env=_sasl_ssl(certificates), dotenv_path=None).kafka_security
    config = client_config(security, "kafka1:9093,kafka2:9093", **{"client.id": "x"})
    config.pop("logger")
    assert config == {
        "bootstrap.servers": "kafka1:9093,kafka2:9093",
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "pantao",
        "sasl.password": SASL_PASSWORD,
        "ssl.ca.location": str(certificates.ca),
        "ssl.certificate.location": str(certificates.client_cert),
        "ssl.key.location": str(certificates.client_key),
        "ssl.key.password": KEY_PASSWORD,
        "client.id": "x",
    }
    assert set(KAFKA_SECURITY_VARS.values()) == set(LIBRDKAFKA_KEYS)


def test_without_security_settings_clients_speak_plaintext_and_nothing_else():
    settings = load_settings(env={}, dotenv_path=None)
    assert settings.kafka_security == KafkaSecurity()
    config = client_config(settings.kafka_security, "127.0.0.1:9092")
    assert {k: v for k, v in config.items() if k != "logger"} == {
        "bootstrap.servers": "127.0.0.1:9092", "security.protocol": "plaintext"}


def test_each_protocol_takes_only_its_own_settings(certificates):
    ssl_only = load_settings(env=_env(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CA_LOCATION=str(certificates.ca)),
                             dotenv_path=None).kafka_security
    assert (ssl_only.protocol, ssl_only.uses_tls, ssl_only.uses_sasl) == ("SSL", True, False)
    scram = load_settings(env=_env(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SASL_MECHANISM="SCRAM-SHA-256",
                                   KAFKA_SASL_USERNAME="u", KAFKA_SASL_PASSWORD=" spaced "),
                          dotenv_path=None).kafka_security
    assert (scram.protocol, scram.sasl_mechanism, scram.uses_tls) == ("SASL_PLAINTEXT", "SCRAM-SHA-256", False)
    assert scram.sasl_password == " spaced "  # a password is taken as given


@pytest.mark.parametrize(("values", "named", "words"), [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD",
     "needs"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "u"},
     "KAFKA_SASL_PASSWORD", "needs"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_MECHANISM=PLAIN", "unencrypted"),
    ({"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_USERNAME",
     "KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use it"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_PASSWORD", "SASL_PLAINTEXT or SASL_SSL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "u",
      "KAFKA_SASL_PASSWORD": "p", "KAFKA_SSL_CA_LOCATION": "/etc/ssl/ca.pem"}, "KAFKA_SSL_CA_LOCATION",
     "SSL or SASL_SSL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_LOCATION": "/nonexistent/ca.pem"}, "KAFKA_SSL_CA_LOCATION",
     "does not exist"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_KEY_PASSWORD": "x"}, "KAFKA_SSL_KEY_PASSWORD",
     "without KAFKA_SSL_KEY_LOCATION"),
])
def test_settings_that_make_no_sense_are_refused_naming_the_variable(values, named, words):
    with pytest.raises(SettingsError) as err:
        load_settings(env=_env(**values), dotenv_path=None)
    assert named in str(err.value) and words in str(err.value)
    assert "\n" not in str(err.value)


def test_a_client_certificate_needs_its_key_and_files_must_be_files(certificates):
    with pytest.raises(SettingsError, match="KAFKA_SSL_CERTIFICATE_LOCATION is set without KAFKA_SSL_KEY_LOCATION"):
        load_settings(env=_env(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CERTIFICATE_LOCATION=str(certificates.client_cert)),
                      dotenv_path=None)
    with pytest.raises(SettingsError, match="KAFKA_SSL_KEY_LOCATION=.* is a folder"):
        load_settings(env=_env(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CERTIFICATE_LOCATION=str(certificates.client_cert),
                               KAFKA_SSL_KEY_LOCATION=str(certificates.client_key.parent)), dotenv_path=None)
    folder = load_settings(env=_env(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CA_LOCATION=str(certificates.ca.parent)),
                           dotenv_path=None)
    assert folder.kafka_security.ssl_ca_location == certificates.ca.parent  # a folder of CA certificates is fine


def test_security_settings_without_a_cluster_are_refused():
    """The embedded broker speaks PLAINTEXT only: SASL_SSL with it would be a setting silently ignored."""
    with pytest.raises(SettingsError, match="KAFKA_SECURITY_PROTOCOL=SASL_SSL is set but KAFKA_BOOTSTRAP_SERVERS is not"):
        load_settings(env={"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, dotenv_path=None)


def test_a_ca_file_this_user_cannot_read_is_refused_at_start(tmp_path, certificates):
    """Root reads any file whatever its mode, so as root the check runs as `nobody` (effective ids,
    restored after), for whom the test's private temporary folder is closed, as a CA under another
    user's 0700 folder would be."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(certificates.ca.read_bytes())
    ca.chmod(0)
    env = _env(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CA_LOCATION=str(ca))
    as_root = os.geteuid() == 0
    if as_root:
        os.setegid(65534)
        os.seteuid(65534)
    try:
        with pytest.raises(SettingsError) as err:
            load_settings(env=env, dotenv_path=None)
    finally:
        if as_root:
            os.seteuid(0)
            os.setegid(0)
    assert f"KAFKA_SSL_CA_LOCATION='{ca}' cannot be read by this user" in str(err.value)


def test_the_env_example_lists_every_security_variable():
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    assert [var for var in KAFKA_SECURITY_VARS if f"\n{var}=" not in text] == []


def test_every_kafka_client_is_configured_by_the_one_builder():
    """Nothing but `client_config` writes a librdkafka connection by hand. The simulator, which may
    import nothing of the pipeline, takes the configuration its caller built (or, from tests, a bare
    address of the embedded broker)."""
    from tests.test_layers import module_files

    allowed = {"pantao.kafka_config", "simulator.kafka", "tests.test_kafka_security"}
    by_hand = [name for name, path in module_files().items()
               if name not in allowed and '"bootstrap.servers"' in path.read_text(encoding="utf-8")]
    assert by_hand == []


# -- secrets never reach a repr or a log ------------------------------------------------------------
def test_passwords_are_not_in_the_settings_repr(certificates):
    settings = load_settings(env=_sasl_ssl(certificates), dotenv_path=None)
    assert SASL_PASSWORD not in repr(settings) and KEY_PASSWORD not in repr(settings)
    assert "pantao" in repr(settings.kafka_security)  # the rest is still there to read


def test_librdkafkas_configuration_dump_redacts_the_passwords(certificates, caplog):
    security = load_settings(env=_sasl_ssl(certificates), dotenv_path=None).kafka_security
    caplog.set_level(logging.DEBUG, logger="pantao.librdkafka")
    consumer = Consumer(client_config(security, f"127.0.0.1:{free_port()}", **{"group.id": "g", "debug": "conf"}))
    consumer.close()
    dump = "\n".join(r.getMessage() for r in caplog.records)
    assert "sasl.password = [redacted]" in dump  # the dump ran, with our configuration in it
    assert SASL_PASSWORD not in dump and KEY_PASSWORD not in dump


# -- SASL: tansu with --authentication runs the SCRAM exchange and refuses ---------------------------
@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory):
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_file = tmp_path_factory.mktemp("tansu-auth") / "tansu.log"
    with log_file.open("wb") as out:
        proc = subprocess.Popen([str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url",
                                 url, "--storage-engine", "memory://tansu/", "--authentication"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_open(port) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert port_open(port), f"tansu --authentication did not start; see {log_file}"
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def raw_database(new_database, tmp_path_factory):
    with new_database("t_kafka_security") as url:
        ensure_raw_schema(Settings(data_dir=tmp_path_factory.mktemp("data")), url)
        yield url


def _scram_settings(bootstrap: str, tmp_path: Path) -> Settings:
    return load_settings(env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PANTAO_DATA_DIR": str(tmp_path),
                              "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
                              "KAFKA_SASL_USERNAME": "pantao", "KAFKA_SASL_PASSWORD": SASL_PASSWORD},
                         dotenv_path=None)


def test_a_broker_refusing_the_credentials_stops_the_landing_with_one_line(scram_broker, raw_database, tmp_path,
                                                                             caplog):
    settings = _scram_settings(scram_broker, tmp_path)
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(LandingError) as err:
        land_topics(settings, raw_database, scram_broker)
    message = str(err.value)
    assert "\n" not in message
    assert f"the Kafka broker at {scram_broker} refused the credentials" in message
    assert "SCRAM authentication failed" in message  # the exchange ran; the broker said no
    assert all(var in message for var in CREDENTIAL_VARS) and "'pantao'" in message
    assert time.monotonic() - started < 9  # stopped at the first refusal, not after every retry
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SASL_PASSWORD not in message and SASL_PASSWORD not in logged
    refusals = [r.getMessage() for r in caplog.records if r.name == "ingestion.librdkafka" and "SCRAM" in r.getMessage()]
    assert len(refusals) <= 1  # librdkafka repeats it at every reconnect (a dozen a second): once is enough


def test_the_exporters_lag_names_the_credential_settings_too(scram_broker, raw_database, tmp_path):
    with pytest.raises(LandingError, match="refused the credentials.*KAFKA_SASL_USERNAME"):
        stream_lag(_scram_settings(scram_broker, tmp_path), raw_database, scram_broker)


def test_publishing_the_simulation_names_the_credential_settings(scram_broker, tmp_path):
    with pytest.raises(click.ClickException) as err:
        publish_simulation(_scram_settings(scram_broker, tmp_path), tmp_path, scram_broker, timeout=3)
    assert "refused the credentials" in err.value.message and "KAFKA_SASL_PASSWORD" in err.value.message
    assert SASL_PASSWORD not in err.value.message


# -- TLS: a local endpoint with certificates made here ---------------------------------------------
@pytest.fixture
def tls_endpoint(certificates):
    endpoint = TlsEndpoint(certificates).start()
    yield endpoint
    endpoint.stop()


def _tls_settings(bootstrap: str, tmp_path: Path, **values: str) -> Settings:
    return load_settings(env={"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "PANTAO_DATA_DIR": str(tmp_path),
                              "KAFKA_SECURITY_PROTOCOL": "SSL", **values}, dotenv_path=None)


def test_a_broker_certificate_from_another_ca_stops_the_landing_naming_the_ca_setting(
        tls_endpoint, certificates, raw_database, tmp_path):
    settings = _tls_settings(tls_endpoint.bootstrap, tmp_path, KAFKA_SSL_CA_LOCATION=str(certificates.other_ca))
    with pytest.raises(LandingError) as err:
        land_topics(settings, raw_database, tls_endpoint.bootstrap)
    message = str(err.value)
    assert "\n" not in message
    assert f"could not be verified with KAFKA_SSL_CA_LOCATION='{certificates.other_ca}'" in message
    assert tls_endpoint.handshakes and tls_endpoint.handshakes[0][0] == "failed"


def _ask_for_metadata(settings: Settings, bootstrap: str) -> str:
    """What the landing's first request says, asked once (the endpoint speaks no Kafka, so it fails)."""
    refusals = Refusals(settings.kafka_security, bootstrap)
    consumer = Consumer(consumer_config(settings, bootstrap, refusals))
    try:
        with pytest.raises(LandingError) as err:
            fetch_metadata(consumer, bootstrap, refusals=refusals, tries=1)
    finally:
        consumer.close()
    return str(err.value)


def test_with_the_right_ca_the_handshake_completes(tls_endpoint, certificates, tmp_path):
    """The control: the CA setting really reaches librdkafka. The endpoint speaks no Kafka, so the
    client then finds no broker, and says so without blaming TLS."""
    settings = _tls_settings(tls_endpoint.bootstrap, tmp_path, KAFKA_SSL_CA_LOCATION=str(certificates.ca))
    message = _ask_for_metadata(settings, tls_endpoint.bootstrap)
    assert ("ok", None) in tls_endpoint.handshakes
    assert "KAFKA_SECURITY_PROTOCOL=SSL" in message and "KAFKA_SSL_CA_LOCATION" not in message


def test_the_client_certificate_and_its_encrypted_key_are_presented(certificates, tmp_path):
    endpoint = TlsEndpoint(certificates, require_client_certificate=True).start()
    try:
        settings = _tls_settings(endpoint.bootstrap, tmp_path, KAFKA_SSL_CA_LOCATION=str(certificates.ca),
                                 KAFKA_SSL_CERTIFICATE_LOCATION=str(certificates.client_cert),
                                 KAFKA_SSL_KEY_LOCATION=str(certificates.client_key),
                                 KAFKA_SSL_KEY_PASSWORD=KEY_PASSWORD)
        _ask_for_metadata(settings, endpoint.bootstrap)
    finally:
        endpoint.stop()
    assert ("ok", "pantao-landing") in endpoint.handshakes
