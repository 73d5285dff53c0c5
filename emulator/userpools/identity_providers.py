"""Identity providers of a pool (SAML, OIDC and the social providers): configuration only.

ProviderDetails are checked per type and completed with the endpoints AWS fills in for
the social providers; federation itself happens in the hosted UI.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import pools, registry
from protocol import ServiceError

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
])
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
_REQUIRED = {
    "Google": ("client_id", "client_secret", "authorize_scopes"),
    "Facebook": ("client_id", "client_secret", "authorize_scopes"),
    "LoginWithAmazon": ("client_id", "client_secret", "authorize_scopes"),
    "SignInWithApple": ("client_id", "team_id", "key_id", "private_key", "authorize_scopes"),
    "OIDC": ("client_id", "authorize_scopes", "oidc_issuer", "attributes_request_method"),
}
_FILLED = {
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
_USERNAME_SOURCE = {"Google": "sub", "Facebook": "id", "LoginWithAmazon": "user_id",
                    "SignInWithApple": "sub", "OIDC": "sub"}


def provider_names(db: sqlite3.Connection, pool_id: str) -> set[str]:
    return {r["name"] for r in db.execute(
        "SELECT name FROM user_pool_identity_providers WHERE pool_id = ?", (pool_id,))}


def load_provider(db: sqlite3.Connection, pool_id: str, name: str) -> dict:
    """The IdentityProviderType dict; ResourceNotFoundException when absent."""
    row = db.execute("SELECT data FROM user_pool_identity_providers WHERE pool_id = ? AND name = ?",
                     (pool_id, name)).fetchone()
    if row is None:
        raise ServiceError("ResourceNotFoundException", f"Identity provider {name} does not exist.")
    return loads(row["data"])


def providers_of_pool(db: sqlite3.Connection, pool_id: str) -> list[dict]:
    return [loads(r["data"]) for r in db.execute(
        "SELECT data FROM user_pool_identity_providers WHERE pool_id = ? ORDER BY name", (pool_id,))]


def provider_by_identifier(db: sqlite3.Connection, pool_id: str, identifier: str) -> dict | None:
    for provider in providers_of_pool(db, pool_id):
        if identifier in (provider.get("IdpIdentifiers") or []):
            return provider
    return None


def _delete_pool(db: sqlite3.Connection, pool_id: str) -> None:
    db.execute("DELETE FROM user_pool_identity_providers WHERE pool_id = ?", (pool_id,))
    db.execute("DELETE FROM saml_encryption_keys WHERE pool_id = ?", (pool_id,))


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


def _saml_encryption(db, pool_id: str, name: str, details: dict, now: float) -> dict:
    """EncryptedResponses=true publishes the provider's encryption certificate."""
    details = {k: v for k, v in details.items() if k != "ActiveEncryptionCertificate"}
    if details.get("EncryptedResponses") == "true":
        _key, certificate = saml_encryption_key(db, pool_id, name, now)
        details["ActiveEncryptionCertificate"] = certificate
    return details


pools.on_pool_deleted.append(_delete_pool)


def _saml_details(details: dict) -> dict:
    if not details.get("MetadataURL") and not details.get("MetadataFile"):
        raise ServiceError("InvalidParameterException",
                           "MetadataURL or MetadataFile is required for a SAML identity provider.")
    if details.get("MetadataURL") and details.get("MetadataFile"):
        raise ServiceError("InvalidParameterException",
                           "Only one of MetadataURL and MetadataFile can be specified.")
    out = dict(details)
    if details.get("MetadataFile"):
        try:
            root = ET.fromstring(details["MetadataFile"])
        except ET.ParseError:
            raise ServiceError("InvalidParameterException",
                               "Unable to parse the SAML metadata file.") from None
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            binding = (element.get("Binding") or "").rsplit(":", 1)[-1]
            if tag == "SingleSignOnService" and binding == "HTTP-Redirect":
                out.setdefault("SSORedirectBindingURI", element.get("Location"))
            if tag == "SingleLogoutService" and binding == "HTTP-Redirect":
                out.setdefault("SLORedirectBindingURI", element.get("Location"))
    for flag in ("IDPSignout", "EncryptedResponses", "IDPInit"):
        if flag in out and out[flag] not in ("true", "false"):
            raise ServiceError("InvalidParameterException", f"{flag} must be true or false.")
    if "RequestSigningAlgorithm" in out and out["RequestSigningAlgorithm"] != "rsa-sha256":
        raise ServiceError("InvalidParameterException", "RequestSigningAlgorithm must be rsa-sha256.")
    return out


def _details(provider_type: str, details: dict) -> dict:
    if provider_type == "SAML":
        return _saml_details(details)
    missing = [k for k in _REQUIRED[provider_type] if not details.get(k)]
    if missing:
        raise ServiceError("InvalidParameterException",
                           f"{missing[0]} is required for provider type {provider_type}.")
    out = {**_FILLED.get(provider_type, {}), **details}
    if provider_type == "OIDC":
        if out["attributes_request_method"] not in ("GET", "POST"):
            raise ServiceError("InvalidParameterException",
                               "attributes_request_method must be GET or POST.")
        issuer = out["oidc_issuer"].rstrip("/")
        if not issuer.startswith("https://") and not issuer.startswith("http://localhost"):
            raise ServiceError("InvalidParameterException", "oidc_issuer must be an https URL.")
        # Endpoints come from the issuer's discovery document; given ones win.
        out.setdefault("authorize_url", f"{issuer}/authorize")
        out.setdefault("token_url", f"{issuer}/token")
        out.setdefault("attributes_url", f"{issuer}/userinfo")
        out.setdefault("jwks_uri", f"{issuer}/.well-known/jwks.json")
        out.setdefault("attributes_url_add_attributes", "false")
    return out


def _mapping(provider_type: str, mapping: dict | None, pool: dict) -> dict:
    out = dict(mapping or {})
    known = {a["Name"].removeprefix("dev:") for a in pool["SchemaAttributes"]} | {"username"}
    for attr in out:
        if attr not in known:
            raise ServiceError("InvalidParameterException",
                               f"Attribute mapping {attr} does not exist in the user pool schema.")
    if "sub" in out:
        raise ServiceError("InvalidParameterException", "sub attribute cannot be mapped.")
    if provider_type in _USERNAME_SOURCE:
        out.setdefault("username", _USERNAME_SOURCE[provider_type])
    return out


def _check_identifiers(db, pool_id: str, name: str, identifiers: list[str]) -> None:
    if len(set(identifiers)) != len(identifiers):
        raise ServiceError("InvalidParameterException", "Duplicate IdpIdentifiers are not allowed.")
    for other in providers_of_pool(db, pool_id):
        if other["ProviderName"] == name:
            continue
        clash = set(identifiers) & set(other.get("IdpIdentifiers") or [])
        if clash:
            raise ServiceError("DuplicateProviderException",
                               f"Identifier {sorted(clash)[0]} is already used by provider "
                               f"{other['ProviderName']}.")


@registry.handler
def create_identity_provider(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    name, provider_type = req["ProviderName"], req["ProviderType"]
    if provider_type in SOCIAL and name != provider_type:
        # A social provider's name is its type (aws/aws-cli#3179).
        raise ServiceError("InvalidParameterException", f"Provider {name} cannot be of type {provider_type}.")
    if provider_type not in SOCIAL and (name.lower() == "cognito" or name in SOCIAL):
        raise ServiceError("InvalidParameterException", f"ProviderName {name} is reserved.")
    if name in provider_names(db, pool["Id"]):
        raise ServiceError("DuplicateProviderException",
                           f"A provider with the name {name} already exists in this user pool.")
    count = db.execute("SELECT COUNT(*) FROM user_pool_identity_providers WHERE pool_id = ?",
                       (pool["Id"],)).fetchone()[0]
    if count >= MAX_PROVIDERS:
        raise ServiceError("LimitExceededException",
                           f"User pool {pool['Id']} has reached its limit of {MAX_PROVIDERS} identity providers.")
    identifiers = list(req.get("IdpIdentifiers") or [])
    _check_identifiers(db, pool["Id"], name, identifiers)
    now = ctx.now()
    details = _details(provider_type, req["ProviderDetails"])
    if provider_type == "SAML":
        details = _saml_encryption(db, pool["Id"], name, details, now)
    provider = {"UserPoolId": pool["Id"], "ProviderName": name, "ProviderType": provider_type,
                "ProviderDetails": details,
                "AttributeMapping": _mapping(provider_type, req.get("AttributeMapping"), pool),
                "IdpIdentifiers": identifiers, "LastModifiedDate": now, "CreationDate": now}
    if req.get("AcrMapping") is not None:
        provider["AcrMapping"] = dict(req["AcrMapping"])
    db.execute("INSERT INTO user_pool_identity_providers(pool_id, name, provider_type, created, data) "
               "VALUES(?,?,?,?,?)", (pool["Id"], name, provider_type, now, dumps(provider)))
    return {"IdentityProvider": provider}


@registry.handler
def describe_identity_provider(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    return {"IdentityProvider": load_provider(ctx.db, req["UserPoolId"], req["ProviderName"])}


@registry.handler
def update_identity_provider(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    provider = load_provider(db, pool["Id"], req["ProviderName"])
    ptype = provider["ProviderType"]
    if req.get("ProviderDetails") is not None:
        details = dict(req["ProviderDetails"])
        if ptype != "SAML":
            details = {**provider["ProviderDetails"], **details}
        provider["ProviderDetails"] = _details(ptype, details)
        if ptype == "SAML":
            provider["ProviderDetails"] = _saml_encryption(db, pool["Id"], provider["ProviderName"],
                                                           provider["ProviderDetails"], ctx.now())
    if req.get("AttributeMapping") is not None:
        provider["AttributeMapping"] = _mapping(ptype, req["AttributeMapping"], pool)
    if req.get("IdpIdentifiers") is not None:
        _check_identifiers(db, pool["Id"], provider["ProviderName"], list(req["IdpIdentifiers"]))
        provider["IdpIdentifiers"] = list(req["IdpIdentifiers"])
    if req.get("AcrMapping") is not None:
        provider["AcrMapping"] = dict(req["AcrMapping"])
    provider["LastModifiedDate"] = ctx.now()
    db.execute("UPDATE user_pool_identity_providers SET data = ? WHERE pool_id = ? AND name = ?",
               (dumps(provider), pool["Id"], provider["ProviderName"]))
    return {"IdentityProvider": provider}


@registry.handler
def delete_identity_provider(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    load_provider(ctx.db, req["UserPoolId"], req["ProviderName"])
    ctx.db.execute("DELETE FROM user_pool_identity_providers WHERE pool_id = ? AND name = ?",
                   (req["UserPoolId"], req["ProviderName"]))
    ctx.db.execute("DELETE FROM saml_encryption_keys WHERE pool_id = ? AND provider_name = ?",
                   (req["UserPoolId"], req["ProviderName"]))
    return {}


@registry.handler
def list_identity_providers(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT name, data FROM user_pool_identity_providers WHERE pool_id = ?",
                              [req["UserPoolId"]], ["name"], req.get("MaxResults") or 60, req.get("NextToken"))
    items = []
    for row in rows:
        p = loads(row["data"])
        items.append({k: p[k] for k in ("ProviderName", "ProviderType", "LastModifiedDate", "CreationDate")})
    return {"Providers": items, "NextToken": token}


@registry.handler
def get_identity_provider_by_identifier(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    provider = provider_by_identifier(ctx.db, req["UserPoolId"], req["IdpIdentifier"])
    if provider is None:
        raise ServiceError("ResourceNotFoundException",
                           f"Identity provider with identifier {req['IdpIdentifier']} does not exist.")
    return {"IdentityProvider": provider}
