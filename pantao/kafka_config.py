"""How every Kafka client connects: the security settings, their checks, the one librdkafka
configuration all producers, consumers and admin clients are built from, and what a refused
connection means in terms of those settings.

A production cluster almost always asks for TLS and SASL (`SASL_SSL`); the embedded broker
speaks PLAINTEXT on loopback only, so security settings without KAFKA_BOOTSTRAP_SERVERS are a
mistake and are refused. The checks run when the settings load, so a wrong value stops the
program at start with the variable named, not deep inside a landing run.

Secrets (the SASL password, the key's password) are fields with `repr=False`, go only into the
configuration handed to librdkafka (whose own config dumps print `[redacted]` for them), and are
never part of a message built here.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pantao.settings_values import SettingsError

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

librdkafka_log = logging.getLogger("pantao.librdkafka")


@dataclass(frozen=True)
class KafkaSecurity:
    """The cluster's listener as the client must speak to it (PLAINTEXT: the embedded broker)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_location: Path | None = None  # None: the system's CA certificates
    ssl_certificate_location: Path | None = None  # the client's certificate, when the cluster asks for one
    ssl_key_location: Path | None = None
    ssl_key_password: str | None = field(default=None, repr=False)

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")


# Environment variable -> KafkaSecurity field, and the librdkafka key each one sets.
KAFKA_SECURITY_VARS: dict[str, str] = {
    "KAFKA_SECURITY_PROTOCOL": "protocol",
    "KAFKA_SASL_MECHANISM": "sasl_mechanism",
    "KAFKA_SASL_USERNAME": "sasl_username",
    "KAFKA_SASL_PASSWORD": "sasl_password",
    "KAFKA_SSL_CA_LOCATION": "ssl_ca_location",
    "KAFKA_SSL_CERTIFICATE_LOCATION": "ssl_certificate_location",
    "KAFKA_SSL_KEY_LOCATION": "ssl_key_location",
    "KAFKA_SSL_KEY_PASSWORD": "ssl_key_password",
}
LIBRDKAFKA_KEYS: dict[str, str] = {
    "protocol": "security.protocol",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_username": "sasl.username",
    "sasl_password": "sasl.password",
    "ssl_ca_location": "ssl.ca.location",
    "ssl_certificate_location": "ssl.certificate.location",
    "ssl_key_location": "ssl.key.location",
    "ssl_key_password": "ssl.key.password",
}
_SASL_VARS = ("KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
_TLS_VARS = ("KAFKA_SSL_CA_LOCATION", "KAFKA_SSL_CERTIFICATE_LOCATION", "KAFKA_SSL_KEY_LOCATION",
             "KAFKA_SSL_KEY_PASSWORD")
_FILE_VARS = ("KAFKA_SSL_CA_LOCATION", "KAFKA_SSL_CERTIFICATE_LOCATION", "KAFKA_SSL_KEY_LOCATION")


def kafka_security_from(values: Mapping[str, str]) -> KafkaSecurity:
    """The security settings from the environment (and `.env`) values; SettingsError names
    the first variable that is wrong or does not fit the others. Empty means unset."""
    given = {var: raw for var in KAFKA_SECURITY_VARS if (raw := values.get(var)) is not None and raw.strip()}
    protocol = given.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper()
    if protocol not in SECURITY_PROTOCOLS:
        raise SettingsError(f"KAFKA_SECURITY_PROTOCOL={given['KAFKA_SECURITY_PROTOCOL']!r} is not one of "
                            f"{', '.join(SECURITY_PROTOCOLS)}")
    if protocol != "PLAINTEXT" and not (values.get("KAFKA_BOOTSTRAP_SERVERS") or "").strip():
        raise SettingsError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} is set but KAFKA_BOOTSTRAP_SERVERS is not: the embedded broker "
            f"speaks PLAINTEXT on this machine only; set KAFKA_BOOTSTRAP_SERVERS to the cluster, or unset "
            f"KAFKA_SECURITY_PROTOCOL")
    sasl, tls = protocol.startswith("SASL_"), protocol.endswith("SSL")
    for var in (*_SASL_VARS, *_TLS_VARS):
        if var in given and not (sasl if var in _SASL_VARS else tls):
            wanted = "SASL_PLAINTEXT or SASL_SSL" if var in _SASL_VARS else "SSL or SASL_SSL"
            raise SettingsError(f"{var} is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use it; "
                                f"set KAFKA_SECURITY_PROTOCOL to {wanted}, or unset {var}")
    fields: dict[str, Any] = {"protocol": protocol}
    if sasl:
        fields.update(_sasl_fields(protocol, given))
    if tls:
        fields.update(_tls_fields(given))
    return KafkaSecurity(**fields)


def _sasl_fields(protocol: str, given: Mapping[str, str]) -> dict[str, Any]:
    missing = [var for var in _SASL_VARS if var not in given]
    if missing:
        raise SettingsError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)} "
                            f"(mechanism one of {', '.join(SASL_MECHANISMS)})")
    mechanism = given["KAFKA_SASL_MECHANISM"].strip().upper()
    if mechanism not in SASL_MECHANISMS:
        raise SettingsError(f"KAFKA_SASL_MECHANISM={given['KAFKA_SASL_MECHANISM']!r} is not one of "
                            f"{', '.join(SASL_MECHANISMS)}")
    if mechanism == "PLAIN" and protocol == "SASL_PLAINTEXT":
        raise SettingsError("KAFKA_SASL_MECHANISM=PLAIN over KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT sends the "
                            "password unencrypted over the network; use SASL_SSL, or a SCRAM mechanism")
    # The password is taken as given (spaces included); the username is trimmed.
    return {"sasl_mechanism": mechanism, "sasl_username": given["KAFKA_SASL_USERNAME"].strip(),
            "sasl_password": given["KAFKA_SASL_PASSWORD"]}


def _tls_fields(given: Mapping[str, str]) -> dict[str, Any]:
    cert, key = "KAFKA_SSL_CERTIFICATE_LOCATION" in given, "KAFKA_SSL_KEY_LOCATION" in given
    if cert != key:
        have, lack = (("KAFKA_SSL_CERTIFICATE_LOCATION", "KAFKA_SSL_KEY_LOCATION") if cert
                      else ("KAFKA_SSL_KEY_LOCATION", "KAFKA_SSL_CERTIFICATE_LOCATION"))
        raise SettingsError(f"{have} is set without {lack}: a client certificate needs its private key "
                            f"and the key its certificate; set both, or neither")
    if "KAFKA_SSL_KEY_PASSWORD" in given and not key:
        raise SettingsError("KAFKA_SSL_KEY_PASSWORD is set without KAFKA_SSL_KEY_LOCATION")
    fields: dict[str, Any] = {KAFKA_SECURITY_VARS[var]: _readable(var, given[var]) for var in _FILE_VARS
                              if var in given}
    if "KAFKA_SSL_KEY_PASSWORD" in given:
        fields["ssl_key_password"] = given["KAFKA_SSL_KEY_PASSWORD"]
    return fields


def _readable(var: str, raw: str) -> Path:
    """The file (for the CA: or a folder of certificates) must be there and readable by this user."""
    path = Path(raw.strip()).expanduser()
    try:
        if path.is_dir():
            if var != "KAFKA_SSL_CA_LOCATION":
                raise SettingsError(f"{var}={str(path)!r} is a folder; give the path of the PEM file")
            os.listdir(path)
        else:
            with path.open("rb") as fh:
                fh.read(1)
    except FileNotFoundError:
        raise SettingsError(f"{var}={str(path)!r} does not exist; give the path of the PEM file") from None
    except OSError as exc:
        raise SettingsError(f"{var}={str(path)!r} cannot be read by this user ({exc.strerror}); "
                            f"check the owner and mode of the file and its folders") from None
    return path


class RepeatFilter(logging.Filter):
    """librdkafka logs a failing connection's error again at every reconnect, a dozen times a second
    when a broker refuses us: each distinct message (its timing left out) passes once a minute."""

    WINDOW_SECONDS = 60.0
    _TIMING = re.compile(r" \(after \d+ms in state \w+\)")

    def __init__(self) -> None:
        super().__init__("librdkafka repeats")
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True  # debug output is asked for, and wanted whole
        text = self._TIMING.sub("", record.getMessage())
        now = time.monotonic()
        if now - self._last.get(text, -self.WINDOW_SECONDS) < self.WINDOW_SECONDS:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[text] = now
        return True


def _quiet(logger: logging.Logger) -> logging.Logger:
    if not any(isinstance(f, RepeatFilter) for f in logger.filters):
        logger.addFilter(RepeatFilter())
    return logger


def client_config(security: KafkaSecurity, bootstrap: str, *, on_error: Refusals | None = None,
                  logger: logging.Logger | None = None, **overrides: object) -> dict[str, object]:
    """The librdkafka configuration of any client (producer, consumer, admin): where the cluster is,
    how to authenticate, where librdkafka logs (each repeated warning once a minute), and who hears
    its errors; `overrides` add the client's own tuning. Every Kafka client of the system is built
    from this."""
    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "security.protocol": security.protocol.lower(),
        "logger": _quiet(logger or librdkafka_log),
    }
    for name in ("sasl_mechanism", "sasl_username", "sasl_password", "ssl_ca_location",
                 "ssl_certificate_location", "ssl_key_location", "ssl_key_password"):
        value = getattr(security, name)
        if value is not None:
            config[LIBRDKAFKA_KEYS[name]] = str(value)
    if on_error is not None:
        config["error_cb"] = on_error
    config.update(overrides)
    return config


# librdkafka's codes for a broker that refused us (confluent_kafka.KafkaError, not imported here:
# `pantao --help` must not load the Kafka client): _AUTHENTICATION, _SSL, and the broker's own
# SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM.
_AUTHENTICATION, _SSL = -169, -181
_BROKER_SASL_ERRORS = (58, 34, 33)


class Refusals:
    """librdkafka's error callback (`on_error` of `client_config`) for one client: remembers the
    first error that says the broker refused the connection, to name the setting to check.

    librdkafka calls it only while the client is polled, so `explain(client)` polls once first.
    """

    def __init__(self, security: KafkaSecurity, bootstrap: str) -> None:
        self.security = security
        self.bootstrap = bootstrap
        self.first: tuple[int, str] | None = None

    def __call__(self, error: Any) -> None:
        code = error.code()
        if self.first is None and (code in (_AUTHENTICATION, _SSL) or code in _BROKER_SASL_ERRORS):
            self.first = (code, error.str())

    def forget(self) -> None:
        self.first = None

    def explain(self, client: Any = None) -> str | None:
        """One line naming the settings to check, or None when the broker refused nothing."""
        if client is not None and self.first is None:
            client.poll(0)
        if self.first is None:
            return None
        code, reason = self.first
        if code == _SSL:
            return self._tls_message(reason)
        s = self.security
        return (f"the Kafka broker at {self.bootstrap} refused the credentials ({_detail(reason)}); check "
                f"KAFKA_SASL_USERNAME ({s.sasl_username!r}), KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM "
                f"({s.sasl_mechanism}) against the user the cluster has for this system")

    def _tls_message(self, reason: str) -> str:
        s = self.security
        if "certificate verify failed" in reason:
            ca = (f"KAFKA_SSL_CA_LOCATION={str(s.ssl_ca_location)!r}" if s.ssl_ca_location
                  else "the system's CA certificates (KAFKA_SSL_CA_LOCATION is not set)")
            return (f"TLS with the Kafka broker at {self.bootstrap} failed: its certificate could not be "
                    f"verified with {ca} ({_detail(reason)}); set KAFKA_SSL_CA_LOCATION to the CA certificate "
                    f"that signed the brokers' certificates, and name the brokers in KAFKA_BOOTSTRAP_SERVERS "
                    f"as their certificates do")
        return (f"TLS with the Kafka broker at {self.bootstrap} failed ({_detail(reason)}); check "
                f"KAFKA_SSL_CA_LOCATION, KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION, and that "
                f"KAFKA_SECURITY_PROTOCOL={s.protocol} is what the broker's listener speaks")


def _detail(reason: str) -> str:
    """librdkafka's reason without its broker prefix and timing: `SASL authentication error: ...`."""
    text = reason.split("/bootstrap: ", 1)[-1]
    return text.split(" (after ", 1)[0].strip()
