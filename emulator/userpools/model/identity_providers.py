"""Identity providers of a pool (SAML, OIDC and the social providers): configuration only.

ProviderDetails are checked per type and completed with the endpoints AWS fills in for
the social providers; federation itself happens in the hosted UI.
"""

from __future__ import annotations

import sqlite3

from emulator.store import loads, register_schema
from emulator.userpools import errors

register_schema("userpools.identity_providers", [
    """
    CREATE TABLE user_pool_identity_providers (
        pool_id TEXT NOT NULL,
        name TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, name)
    );
    """,
], owned={"user_pool": ("user_pool_identity_providers", "saml_encryption_keys")})
register_schema("userpools.saml_encryption_keys", [
    """
    CREATE TABLE saml_encryption_keys (
        pool_id TEXT NOT NULL,
        provider_name TEXT NOT NULL,
        private_pem TEXT NOT NULL,
        certificate TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (pool_id, provider_name)
    );
    """,
])

MAX_PROVIDERS = 300
SOCIAL = ("Google", "Facebook", "LoginWithAmazon", "SignInWithApple")

# What each type must have in ProviderDetails, and what AWS fills in.
REQUIRED = {
    "Google": ("client_id", "client_secret", "authorize_scopes"),
    "Facebook": ("client_id", "client_secret", "authorize_scopes"),
    "LoginWithAmazon": ("client_id", "client_secret", "authorize_scopes"),
    "SignInWithApple": ("client_id", "team_id", "key_id", "private_key", "authorize_scopes"),
    "OIDC": ("client_id", "authorize_scopes", "oidc_issuer", "attributes_request_method"),
}
FILLED = {
    "Google": {"authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
               "token_url": "https://www.googleapis.com/oauth2/v4/token",
               "token_request_method": "POST",
               "attributes_url": "https://people.googleapis.com/v1/people/me?personFields=",
               "attributes_url_add_attributes": "true",
               "oidc_issuer": "https://accounts.google.com"},
    "Facebook": {"authorize_url": "https://www.facebook.com/v17.0/dialog/oauth",
                 "token_url": "https://graph.facebook.com/v17.0/oauth/access_token",
                 "token_request_method": "GET",
                 "attributes_url": "https://graph.facebook.com/v17.0/me?fields=",
                 "attributes_url_add_attributes": "true"},
    "LoginWithAmazon": {"authorize_url": "https://www.amazon.com/ap/oa",
                        "token_url": "https://api.amazon.com/auth/o2/token",
                        "token_request_method": "POST",
                        "attributes_url": "https://api.amazon.com/user/profile",
                        "attributes_url_add_attributes": "false"},
    "SignInWithApple": {"authorize_url": "https://appleid.apple.com/auth/authorize",
                        "token_url": "https://appleid.apple.com/auth/token",
                        "token_request_method": "POST",
                        "attributes_url_add_attributes": "false",
                        "oidc_issuer": "https://appleid.apple.com"},
}
USERNAME_SOURCE = {"Google": "sub", "Facebook": "id", "LoginWithAmazon": "user_id",
                    "SignInWithApple": "sub", "OIDC": "sub"}


def provider_names(db: sqlite3.Connection, pool_id: str) -> set[str]:
    return {r["name"] for r in db.execute(
        "SELECT name FROM user_pool_identity_providers WHERE pool_id = ?", (pool_id,))}


def load_provider(db: sqlite3.Connection, pool_id: str, name: str) -> dict:
    """The IdentityProviderType dict; ResourceNotFoundException when absent."""
    row = db.execute("SELECT data FROM user_pool_identity_providers WHERE pool_id = ? AND name = ?",
                     (pool_id, name)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Identity provider {name} does not exist.")
    return loads(row["data"])


def providers_of_pool(db: sqlite3.Connection, pool_id: str) -> list[dict]:
    return [loads(r["data"]) for r in db.execute(
        "SELECT data FROM user_pool_identity_providers WHERE pool_id = ? ORDER BY name", (pool_id,))]


def provider_by_identifier(db: sqlite3.Connection, pool_id: str, identifier: str) -> dict | None:
    for provider in providers_of_pool(db, pool_id):
        if identifier in (provider.get("IdpIdentifiers") or []):
            return provider
    return None


def saml_encryption_key(db: sqlite3.Connection, pool_id: str, provider_name: str, now: float) -> tuple:
    """(RSA private key, base64 DER certificate) with which a SAML provider encrypts its
    assertions to this pool (EncryptedResponses); made on first use, kept per provider."""
    from cryptography.hazmat.primitives import serialization
    row = db.execute("SELECT private_pem, certificate FROM saml_encryption_keys WHERE pool_id = ? AND "
                     "provider_name = ?", (pool_id, provider_name)).fetchone()
    if row is not None:
        return serialization.load_pem_private_key(row["private_pem"].encode(), password=None), row["certificate"]
    key, certificate = _new_encryption_key(pool_id, now)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    db.execute("INSERT INTO saml_encryption_keys(pool_id, provider_name, private_pem, certificate, created) "
               "VALUES(?,?,?,?,?)", (pool_id, provider_name, pem, certificate, now))
    return key, certificate


def _new_encryption_key(pool_id: str, now: float) -> tuple:
    import base64
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Amazon Web Services, Inc."),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Amazon Cognito"),
                      x509.NameAttribute(NameOID.COMMON_NAME, pool_id)])
    start = dt.datetime.fromtimestamp(now, dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return key, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


