"""Passkeys: StartWebAuthnRegistration, CompleteWebAuthnRegistration, ListWebAuthnCredentials,
DeleteWebAuthnCredential, GetUserAuthFactors, and the assertion helpers the USER_AUTH
WEB_AUTHN challenge uses. Attestations and assertions are really verified (py_webauthn).

The relying party id is the pool's WebAuthnConfiguration RelyingPartyId, else its custom
domain, else its prefix domain (`{prefix}.auth.{region}.amazoncognito.com`).
"""

from __future__ import annotations

import binascii
import json
import secrets
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import mfa, mfa_config, pools, registry, tokens
from protocol import ServiceError

register_schema("userpools.webauthn", [
    """
    CREATE TABLE webauthn_credentials (
        pool_id TEXT NOT NULL,
        credential_id TEXT NOT NULL,
        username TEXT NOT NULL,
        public_key TEXT NOT NULL,
        sign_count INTEGER NOT NULL DEFAULT 0,
        rp_id TEXT NOT NULL,
        name TEXT NOT NULL,
        attachment TEXT,
        transports TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (pool_id, credential_id)
    );
    CREATE INDEX webauthn_credentials_user ON webauthn_credentials(pool_id, username, created, credential_id);
    CREATE TABLE webauthn_registrations (
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        challenge TEXT NOT NULL,
        rp_id TEXT NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (pool_id, username)
    );
    """,
])

TIMEOUT_MS = 180_000
MAX_CREDENTIALS = 20
MAX_RESULTS = 20
_TRANSPORTS = {t.value for t in AuthenticatorTransport}


def _webauthn_config(ctx, pool: dict) -> dict:
    """The pool's WebAuthnConfiguration (SetUserPoolMfaConfig)."""
    return mfa_config.get_mfa_config(pool).get("WebAuthnConfiguration") or {}


def relying_party_id(ctx, pool: dict) -> str | None:
    config = _webauthn_config(ctx, pool)
    if config.get("RelyingPartyId"):
        return config["RelyingPartyId"]
    if pool.get("CustomDomain"):
        return pool["CustomDomain"]
    if pool.get("Domain"):
        region = pool["Id"].split("_", 1)[0]
        return f"{pool['Domain']}.auth.{region}.amazoncognito.com"
    return None


def _user_verification(ctx, pool: dict) -> str:
    return (_webauthn_config(ctx, pool).get("UserVerification") or "preferred").lower()


def _allowed_first_factors(pool: dict) -> list[str]:
    policy = ((pool.get("Policies") or {}).get("SignInPolicy") or {})
    return list(policy.get("AllowedFirstAuthFactors") or ["PASSWORD"])


def _require_passkeys(ctx, pool: dict) -> str:
    """The relying party id, or AWS's error when passkeys are off or unconfigured."""
    if "WEB_AUTHN" not in _allowed_first_factors(pool):
        raise ServiceError("WebAuthnNotEnabledException",
                           "WebAuthn is not enabled for this user pool.")
    rp_id = relying_party_id(ctx, pool)
    if not rp_id:
        raise ServiceError("WebAuthnConfigurationMissingException",
                           "WebAuthn relying party ID is not configured for this user pool.")
    return rp_id


def _origin_allowed(origin: str, rp_id: str) -> bool:
    """https origins on the relying party id or its subdomains; http only on localhost."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    rp = rp_id.lower()
    if host != rp and not host.endswith("." + rp):
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in ("localhost", "127.0.0.1"))


def _client_data(credential: dict) -> dict:
    try:
        raw = base64url_to_bytes(credential["response"]["clientDataJSON"])
        data = json.loads(raw)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ServiceError("InvalidParameterException", "Invalid WebAuthn credential.") from None
    if not isinstance(data, dict):
        raise ServiceError("InvalidParameterException", "Invalid WebAuthn credential.")
    return data


# -- storage ---------------------------------------------------------------------------
def _credential_row(row) -> dict:
    return {"credential_id": row["credential_id"], "username": row["username"],
            "public_key": base64url_to_bytes(row["public_key"]), "sign_count": row["sign_count"],
            "rp_id": row["rp_id"], "name": row["name"], "attachment": row["attachment"],
            "transports": loads(row["transports"], []), "created": row["created"]}


def user_credentials(db, pool_id: str, username: str) -> list[dict]:
    rows = db.execute("SELECT * FROM webauthn_credentials WHERE pool_id = ? AND username = ? "
                      "ORDER BY created, credential_id", (pool_id, username)).fetchall()
    return [_credential_row(r) for r in rows]


def has_credentials(db, pool_id: str, username: str) -> bool:
    return db.execute("SELECT 1 FROM webauthn_credentials WHERE pool_id = ? AND username = ? LIMIT 1",
                      (pool_id, username)).fetchone() is not None


def delete_user_data(db, pool_id: str, username: str) -> None:
    db.execute("DELETE FROM webauthn_credentials WHERE pool_id = ? AND username = ?", (pool_id, username))
    db.execute("DELETE FROM webauthn_registrations WHERE pool_id = ? AND username = ?", (pool_id, username))


def delete_pool_data(db, pool_id: str) -> None:
    db.execute("DELETE FROM webauthn_credentials WHERE pool_id = ?", (pool_id,))
    db.execute("DELETE FROM webauthn_registrations WHERE pool_id = ?", (pool_id,))


pools.on_pool_deleted.append(delete_pool_data)


def _user_handle(user: dict) -> bytes:
    return (user.get("sub") or user["username"]).encode()


# -- assertions (sign-in) ----------------------------------------------------------------
def begin_assertion(ctx, pool: dict, user: dict) -> dict:
    """PublicKeyCredentialRequestOptions (JSON-ready dict) for the user's passkeys; the
    caller keeps options["challenge"] to pass to finish_assertion."""
    rp_id = relying_party_id(ctx, pool) or ""
    allow = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c["credential_id"]),
                                           transports=[AuthenticatorTransport(t) for t in c["transports"]
                                                       if t in _TRANSPORTS] or None)
             for c in user_credentials(ctx.db, pool["Id"], user["username"])]
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, challenge=secrets.token_bytes(32), timeout=TIMEOUT_MS, allow_credentials=allow,
        user_verification=UserVerificationRequirement(_user_verification(ctx, pool)))
    return json.loads(options_to_json(options))


def finish_assertion(ctx, pool: dict, user: dict, credential: dict | str, expected_challenge: str) -> bool:
    """Verify a passkey assertion (AuthenticationResponseJSON) for the user against the
    challenge from begin_assertion; updates the signature counter. False when invalid."""
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            return False
    if not isinstance(credential, dict):
        return False
    rp_id = relying_party_id(ctx, pool)
    cred_id = credential.get("id") or credential.get("rawId")
    if not rp_id or not isinstance(cred_id, str):
        return False
    row = ctx.db.execute("SELECT * FROM webauthn_credentials WHERE pool_id = ? AND credential_id = ? "
                         "AND username = ?", (pool["Id"], cred_id, user["username"])).fetchone()
    if row is None:
        return False
    stored = _credential_row(row)
    try:
        origin = _client_data(credential).get("origin", "")
    except ServiceError:
        return False
    if not isinstance(origin, str) or not _origin_allowed(origin, rp_id):
        return False
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(expected_challenge),
            expected_rp_id=rp_id, expected_origin=origin, credential_public_key=stored["public_key"],
            credential_current_sign_count=stored["sign_count"],
            require_user_verification=_user_verification(ctx, pool) == "required")
    except (WebAuthnException, InvalidAuthenticationResponse, InvalidJSONStructure, InvalidCBORData,
            KeyError, TypeError, ValueError, binascii.Error):
        return False
    ctx.db.execute("UPDATE webauthn_credentials SET sign_count = ? WHERE pool_id = ? AND credential_id = ?",
                   (verified.new_sign_count, pool["Id"], cred_id))
    return True


# -- operations ------------------------------------------------------------------------
@registry.handler
def start_web_authn_registration(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    rp_id = _require_passkeys(ctx, pool)
    existing = user_credentials(ctx.db, pool["Id"], user["username"])
    if len(existing) >= MAX_CREDENTIALS:
        raise ServiceError("LimitExceededException", "The maximum number of passkeys has been reached.")
    attrs = user.get("attributes") or {}
    display = attrs.get("name") or attrs.get("email") or attrs.get("phone_number") or user["username"]
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=rp_id, user_name=user["username"], user_id=_user_handle(user),
        user_display_name=display, challenge=secrets.token_bytes(32), timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, require_resident_key=True,
            user_verification=UserVerificationRequirement(_user_verification(ctx, pool))),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c["credential_id"]))
                             for c in existing])
    document = json.loads(options_to_json(options))
    ctx.db.execute("DELETE FROM webauthn_registrations WHERE pool_id = ? AND username = ?",
                   (pool["Id"], user["username"]))
    ctx.db.execute("INSERT INTO webauthn_registrations(pool_id, username, challenge, rp_id, expires)"
                   " VALUES(?,?,?,?,?)", (pool["Id"], user["username"], document["challenge"], rp_id,
                                          ctx.now() + TIMEOUT_MS / 1000))
    return {"CredentialCreationOptions": document}


@registry.handler
def complete_web_authn_registration(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    rp_id = _require_passkeys(ctx, pool)
    credential = req["Credential"]
    if not isinstance(credential, dict):
        raise ServiceError("InvalidParameterException", "Invalid WebAuthn credential.")
    pending = ctx.db.execute("SELECT * FROM webauthn_registrations WHERE pool_id = ? AND username = ?",
                             (pool["Id"], user["username"])).fetchone()
    if pending is None or pending["expires"] < ctx.now():
        raise ServiceError("WebAuthnChallengeNotFoundException",
                           "No WebAuthn registration challenge was found for the user.")
    client_data = _client_data(credential)
    if client_data.get("type") != "webauthn.create" or client_data.get("challenge") != pending["challenge"]:
        raise ServiceError("WebAuthnChallengeNotFoundException",
                           "No WebAuthn registration challenge was found for the user.")
    origin = client_data.get("origin")
    if not isinstance(origin, str) or not _origin_allowed(origin, pending["rp_id"]):
        raise ServiceError("WebAuthnOriginNotAllowedException",
                           f"The origin {origin} is not allowed for relying party {pending['rp_id']}.")
    if pending["rp_id"] != rp_id:
        raise ServiceError("WebAuthnRelyingPartyMismatchException",
                           "The relying party ID does not match the user pool configuration.")
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(pending["challenge"]),
            expected_rp_id=rp_id, expected_origin=origin,
            require_user_verification=_user_verification(ctx, pool) == "required")
    except InvalidRegistrationResponse as err:
        text = str(err)
        if "RP ID" in text:
            raise ServiceError("WebAuthnRelyingPartyMismatchException",
                               "The relying party ID does not match the user pool configuration.") from None
        if "Unsupported" in text or "unsupported" in text or "algorithm" in text:
            raise ServiceError("WebAuthnCredentialNotSupportedException",
                               "The WebAuthn credential is not supported.") from None
        raise ServiceError("InvalidParameterException", f"Invalid WebAuthn credential: {text}") from None
    except (WebAuthnException, InvalidJSONStructure, InvalidCBORData, KeyError, TypeError, ValueError,
            binascii.Error):
        raise ServiceError("InvalidParameterException", "Invalid WebAuthn credential.") from None
    cred_id = bytes_to_base64url(verified.credential_id)
    if ctx.db.execute("SELECT 1 FROM webauthn_credentials WHERE pool_id = ? AND credential_id = ?",
                      (pool["Id"], cred_id)).fetchone():
        raise ServiceError("InvalidParameterException", "The WebAuthn credential is already registered.")
    transports = (credential.get("response") or {}).get("transports") or []
    transports = [t for t in transports if isinstance(t, str) and t in _TRANSPORTS]
    attachment = credential.get("authenticatorAttachment")
    if attachment not in ("platform", "cross-platform"):
        attachment = None
    ctx.db.execute(
        "INSERT INTO webauthn_credentials(pool_id, credential_id, username, public_key, sign_count, rp_id,"
        " name, attachment, transports, created) VALUES(?,?,?,?,?,?,?,?,?,?)",
        (pool["Id"], cred_id, user["username"], bytes_to_base64url(verified.credential_public_key),
         verified.sign_count, rp_id, _friendly_name(verified.aaguid), attachment, dumps(transports),
         ctx.now()))
    ctx.db.execute("DELETE FROM webauthn_registrations WHERE pool_id = ? AND username = ?",
                   (pool["Id"], user["username"]))
    return {}


def _friendly_name(aaguid: str) -> str:
    # Known authenticator models by AAGUID; anything else is a generic passkey.
    known = {"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
             "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
             "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello"}
    return known.get(aaguid, "Passkey")


@registry.handler
def list_web_authn_credentials(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    limit = min(req.get("MaxResults") or MAX_RESULTS, MAX_RESULTS)
    rows, token = paging.page(ctx.db, "SELECT * FROM webauthn_credentials WHERE pool_id = ? AND username = ?",
                              [pool["Id"], user["username"]], ["created", "credential_id"], limit,
                              req.get("NextToken"))
    items = []
    for row in rows:
        cred = _credential_row(row)
        item = {"CredentialId": cred["credential_id"], "FriendlyCredentialName": cred["name"],
                "RelyingPartyId": cred["rp_id"], "AuthenticatorTransports": cred["transports"],
                "CreatedAt": cred["created"]}
        if cred["attachment"]:
            item["AuthenticatorAttachment"] = cred["attachment"]
        items.append(item)
    return {"Credentials": items, "NextToken": token}


@registry.handler
def delete_web_authn_credential(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    found = ctx.db.execute("DELETE FROM webauthn_credentials WHERE pool_id = ? AND credential_id = ? "
                           "AND username = ?", (pool["Id"], req["CredentialId"], user["username"]))
    if found.rowcount == 0:
        raise ServiceError("ResourceNotFoundException", "Credential not found.")
    return {}


def configured_auth_factors(ctx, pool: dict, user: dict) -> list[str]:
    """The USER_AUTH factors the user can sign in with."""
    allowed = _allowed_first_factors(pool)
    attrs = user.get("attributes") or {}
    out = []
    if user.get("status") != "EXTERNAL_PROVIDER":
        out.append("PASSWORD")
    if "EMAIL_OTP" in allowed and attrs.get("email") and attrs.get("email_verified") == "true":
        out.append("EMAIL_OTP")
    if "SMS_OTP" in allowed and attrs.get("phone_number") and attrs.get("phone_number_verified") == "true":
        out.append("SMS_OTP")
    if "WEB_AUTHN" in allowed and has_credentials(ctx.db, pool["Id"], user["username"]):
        out.append("WEB_AUTHN")
    return out


@registry.handler
def get_user_auth_factors(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    out = {"Username": user["username"], "ConfiguredUserAuthFactors": configured_auth_factors(ctx, pool, user)}
    out.update({k: v for k, v in mfa.user_mfa_settings(user).items() if k != "MFAOptions"})
    return out
