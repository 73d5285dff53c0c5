"""identity_providers_ops: split from identity_providers.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from emulator import paging
from emulator.store import dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.model import pools
from emulator.userpools.model.identity_providers import (
    FILLED,
    MAX_PROVIDERS,
    REQUIRED,
    SOCIAL,
    USERNAME_SOURCE,
    load_provider,
    provider_by_identifier,
    provider_names,
    providers_of_pool,
    saml_encryption_key,
)


def _saml_encryption(db, pool_id: str, name: str, details: dict, now: float) -> dict:
    """EncryptedResponses=true publishes the provider's encryption certificate."""
    details = {k: v for k, v in details.items() if k != "ActiveEncryptionCertificate"}
    if details.get("EncryptedResponses") == "true":
        _key, certificate = saml_encryption_key(db, pool_id, name, now)
        details["ActiveEncryptionCertificate"] = certificate
    return details


def _saml_details(details: dict) -> dict:
    if not details.get("MetadataURL") and not details.get("MetadataFile"):
        raise errors.InvalidParameterException("MetadataURL or MetadataFile is required for a SAML identity provider.")
    if details.get("MetadataURL") and details.get("MetadataFile"):
        raise errors.InvalidParameterException("Only one of MetadataURL and MetadataFile can be specified.")
    out = dict(details)
    if details.get("MetadataFile"):
        try:
            root = ET.fromstring(details["MetadataFile"])
        except ET.ParseError:
            raise errors.InvalidParameterException("Unable to parse the SAML metadata file.") from None
        for element in root.iter():
            tag = element.tag.rsplit("}", 1)[-1]
            binding = (element.get("Binding") or "").rsplit(":", 1)[-1]
            if tag == "SingleSignOnService" and binding == "HTTP-Redirect":
                out.setdefault("SSORedirectBindingURI", element.get("Location"))
            if tag == "SingleLogoutService" and binding == "HTTP-Redirect":
                out.setdefault("SLORedirectBindingURI", element.get("Location"))
    for flag in ("IDPSignout", "EncryptedResponses", "IDPInit"):
        if flag in out and out[flag] not in ("true", "false"):
            raise errors.InvalidParameterException(f"{flag} must be true or false.")
    if "RequestSigningAlgorithm" in out and out["RequestSigningAlgorithm"] != "rsa-sha256":
        raise errors.InvalidParameterException("RequestSigningAlgorithm must be rsa-sha256.")
    return out


def _details(provider_type: str, details: dict) -> dict:
    if provider_type == "SAML":
        return _saml_details(details)
    missing = [k for k in REQUIRED[provider_type] if not details.get(k)]
    if missing:
        raise errors.InvalidParameterException(f"{missing[0]} is required for provider type {provider_type}.")
    out = {**FILLED.get(provider_type, {}), **details}
    if provider_type == "OIDC":
        if out["attributes_request_method"] not in ("GET", "POST"):
            raise errors.InvalidParameterException("attributes_request_method must be GET or POST.")
        issuer = out["oidc_issuer"].rstrip("/")
        if not issuer.startswith("https://") and not issuer.startswith("http://localhost"):
            raise errors.InvalidParameterException("oidc_issuer must be an https URL.")
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
            raise errors.InvalidParameterException(f"Attribute mapping {attr} does not exist in the user pool schema.")
    if "sub" in out:
        raise errors.InvalidParameterException("sub attribute cannot be mapped.")
    if provider_type in USERNAME_SOURCE:
        out.setdefault("username", USERNAME_SOURCE[provider_type])
    return out


def _check_identifiers(db, pool_id: str, name: str, identifiers: list[str]) -> None:
    if len(set(identifiers)) != len(identifiers):
        raise errors.InvalidParameterException("Duplicate IdpIdentifiers are not allowed.")
    for other in providers_of_pool(db, pool_id):
        if other["ProviderName"] == name:
            continue
        clash = set(identifiers) & set(other.get("IdpIdentifiers") or [])
        if clash:
            raise errors.DuplicateProviderException(f"Identifier {sorted(clash)[0]} is already used by provider "
                               f"{other['ProviderName']}.")


@registry.handler
def create_identity_provider(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    name, provider_type = req["ProviderName"], req["ProviderType"]
    if provider_type in SOCIAL and name != provider_type:
        # A social provider's name is its type (aws/aws-cli#3179).
        raise errors.InvalidParameterException(f"Provider {name} cannot be of type {provider_type}.")
    if provider_type not in SOCIAL and (name.lower() == "cognito" or name in SOCIAL):
        raise errors.InvalidParameterException(f"ProviderName {name} is reserved.")
    if name in provider_names(db, pool["Id"]):
        raise errors.DuplicateProviderException(f"A provider with the name {name} already exists in this user pool.")
    count = db.execute("SELECT COUNT(*) FROM user_pool_identity_providers WHERE pool_id = ?",
                       (pool["Id"],)).fetchone()[0]
    if count >= MAX_PROVIDERS:
        raise errors.LimitExceededException(f"User pool {pool['Id']} has reached its limit of {MAX_PROVIDERS} identity providers.")
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
        raise errors.ResourceNotFoundException(f"Identity provider with identifier {req['IdpIdentifier']} does not exist.")
    return {"IdentityProvider": provider}
