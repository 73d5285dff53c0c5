"""TLS for the emulator: the user's certificate, or a self-signed one generated on request.

Client libraries such as Amplify build `https://{oauth.domain}/oauth2/...` themselves, so the
managed login must be reachable over HTTPS. `--tls` generates (once, then reuses) a
certificate for localhost, *.localhost, 127.0.0.1 and ::1 in `{data_dir}/tls/`; trust that
file in the client (NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, the browser's store).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

DEFAULT_NAMES = ("localhost", "*.localhost")
DEFAULT_IPS = ("127.0.0.1", "::1")
VALIDITY_DAYS = 365
RENEW_BEFORE_DAYS = 7


def _paths(data_dir: str) -> tuple[Path, Path]:
    folder = Path(data_dir) / "tls"
    return folder / "cert.pem", folder / "key.pem"


def _covers(cert: x509.Certificate, names: list[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = set(san.get_values_for_type(x509.DNSName))
    return all(name in have for name in names)


def _usable(cert_path: Path, names: list[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    expires = cert.not_valid_after_utc
    return expires - dt.datetime.now(dt.UTC) > dt.timedelta(days=RENEW_BEFORE_DAYS) and _covers(cert, names)


def ensure_certificate(data_dir: str, hosts: list[str] | None = None) -> tuple[str, str]:
    """(certificate path, key path) of the self-signed certificate in `data_dir`, generated when
    missing, expiring or not covering `hosts` (extra DNS names, e.g. a pool's custom domain)."""
    cert_path, key_path = _paths(data_dir)
    names = list(dict.fromkeys([*DEFAULT_NAMES, *(hosts or [])]))
    if cert_path.exists() and key_path.exists() and _usable(cert_path, names):
        return str(cert_path), str(key_path)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cognito-emulator")])
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in DEFAULT_IPS]
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                         content_commitment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)


def certificate_files(config) -> tuple[str, str] | None:
    """(certificate, key) PEM files to serve HTTPS with: the configured tls_cert/tls_key, else a
    generated certificate when `tls` is on, else None (plain HTTP)."""
    cert = getattr(config, "tls_cert", None)
    key = getattr(config, "tls_key", None)
    if bool(cert) != bool(key):
        raise ValueError("tls_cert and tls_key must be given together")
    if not cert:
        if not getattr(config, "tls", False):
            return None
        cert, key = ensure_certificate(config.data_dir)
    return cert, key
