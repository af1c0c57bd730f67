"""A small local TLS endpoint for the Kafka security tests, with certificates made here.

The embedded broker (tansu 0.6) has no TLS listener, so the client side of TLS is tested against
this: a real TLS server (Python's `ssl`) on 127.0.0.1 that completes or refuses the handshake and
records what happened, with a test CA that signs its certificate and a client's, an unrelated CA
(the wrong one), and the client's key encrypted with a password.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.http_standin import BackgroundServer

KEY_PASSWORD = "client-key-passphrase-7"


@dataclass(frozen=True)
class Certificates:
    ca: Path  # signs the server's and the client's certificates
    other_ca: Path  # signs nothing here: the wrong CA
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with KEY_PASSWORD


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, ip: str | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(ip))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, certificate: x509.Certificate | None = None, key=None, password: str | None = None) -> Path:
    if certificate is not None:
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    else:
        encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                      else serialization.NoEncryption())
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return path


def make_certificates(folder: Path) -> Certificates:
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in ("ca", "other", "server", "client")}
    ca = _certificate("pantao test CA", keys["ca"], "pantao test CA", keys["ca"], ca=True)
    other = _certificate("some other CA", keys["other"], "some other CA", keys["other"], ca=True)
    server = _certificate("127.0.0.1", keys["server"], "pantao test CA", keys["ca"], ca=False, ip="127.0.0.1")
    client = _certificate("pantao-landing", keys["client"], "pantao test CA", keys["ca"], ca=False)
    return Certificates(
        ca=_write(folder / "ca.pem", ca), other_ca=_write(folder / "other-ca.pem", other),
        server_cert=_write(folder / "server.pem", server), server_key=_write(folder / "server.key", key=keys["server"]),
        client_cert=_write(folder / "client.pem", client),
        client_key=_write(folder / "client.key", key=keys["client"], password=KEY_PASSWORD),
    )


@dataclass
class TlsEndpoint(BackgroundServer):
    """A TLS server that does the handshake and hangs up (it speaks no Kafka). `handshakes` holds
    ("ok", the client's certificate's common name or None) or ("failed", the server's reason)."""

    certificates: Certificates
    require_client_certificate: bool = False
    handshakes: list[tuple[str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.certificates.server_cert, self.certificates.server_key)
        if self.require_client_certificate:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(self.certificates.ca)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _shutdown(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    peer = tls.getpeercert()
                    subject = dict(item[0] for item in peer["subject"]) if peer else {}
                    self.handshakes.append(("ok", subject.get("commonName")))
            except (ssl.SSLError, OSError) as exc:
                self.handshakes.append(("failed", str(exc)))
                conn.close()
