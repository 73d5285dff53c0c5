"""GetSigningCertificate: a self-signed X.509 certificate for the pool's signing key.

Made once per pool and kept, so every call answers the same certificate (base64 DER, as
AWS returns it: no PEM armour).
"""

from __future__ import annotations

import base64
import datetime as dt
import sqlite3

from cryptography.hazmat.primitives import hashes, serialization

from emulator.store import register_schema
from emulator.userpools.model import keys

register_schema("userpools.signing_certificates", [
    """
    CREATE TABLE user_pool_signing_certificates (
        pool_id TEXT PRIMARY KEY,
        certificate TEXT NOT NULL
    );
    """,
], owned={"user_pool": ("user_pool_signing_certificates",)})


def signing_certificate(db: sqlite3.Connection, pool: dict, now: float) -> str:
    """The pool's certificate (base64 DER), created on first use."""
    row = db.execute("SELECT certificate FROM user_pool_signing_certificates WHERE pool_id = ?",
                     (pool["Id"],)).fetchone()
    if row is not None:
        return row["certificate"]
    from cryptography import x509  # ~10 ms to import: loaded by the first pool that needs it
    from cryptography.x509.oid import NameOID

    _kid, key = keys.key_for(db, pool["Id"], "id", now)
    region = pool["Id"].split("_", 1)[0]
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
                      x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon Cognito"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{region}_{pool['Id'].split('_', 1)[1]}")])
    start = dt.datetime.fromtimestamp(now, dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    text = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    db.execute("INSERT INTO user_pool_signing_certificates(pool_id, certificate) VALUES(?, ?)",
               (pool["Id"], text))
    return text


