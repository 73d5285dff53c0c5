"""webauthn_ops_ops: split from webauthn_ops.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import json
import secrets

from emulator import paging
from emulator.store import dumps
from emulator.userpools import errors, registry
from emulator.userpools.accounts import tokens
from emulator.userpools.accounts.webauthn import (
    MAX_CREDENTIALS,
    MAX_RESULTS,
    TIMEOUT_MS,
    auth_factors,
    credential_row,
    decoded_client_data,
    invalid_response_errors,
    origin_allowed,
    py_webauthn,
    relying_party_id,
    user_credentials,
    user_verification,
)
from emulator.userpools.accounts.webauthn import (
    transports as known_transports,
)
from emulator.userpools.model import pools


def _require_passkeys(ctx, pool: dict) -> str:
    """The relying party id, or AWS's error when passkeys are off or unconfigured."""
    if "WEB_AUTHN" not in pools.allowed_first_factors(pool):
        raise errors.WebAuthnNotEnabledException("WebAuthn is not enabled for this user pool.")
    rp_id = relying_party_id(ctx, pool)
    if not rp_id:
        raise errors.WebAuthnConfigurationMissingException("WebAuthn relying party ID is not configured for this user pool.")
    return rp_id


def _user_handle(user: dict) -> bytes:
    return (user.get("sub") or user["username"]).encode()


@registry.handler
def start_web_authn_registration(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    rp_id = _require_passkeys(ctx, pool)
    existing = user_credentials(ctx.db, pool["Id"], user["username"])
    if len(existing) >= MAX_CREDENTIALS:
        raise errors.LimitExceededException("The maximum number of passkeys has been reached.")
    attrs = user.get("attributes") or {}
    display = attrs.get("name") or attrs.get("email") or attrs.get("phone_number") or user["username"]
    lib = py_webauthn()
    structs = lib.helpers.structs
    options = lib.generate_registration_options(
        rp_id=rp_id, rp_name=rp_id, user_name=user["username"], user_id=_user_handle(user),
        user_display_name=display, challenge=secrets.token_bytes(32), timeout=TIMEOUT_MS,
        authenticator_selection=structs.AuthenticatorSelectionCriteria(
            resident_key=structs.ResidentKeyRequirement.REQUIRED, require_resident_key=True,
            user_verification=structs.UserVerificationRequirement(user_verification(ctx, pool))),
        exclude_credentials=[structs.PublicKeyCredentialDescriptor(id=lib.helpers.base64url_to_bytes(c["credential_id"]))
                             for c in existing])
    document = json.loads(lib.helpers.options_to_json(options))
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
        raise errors.InvalidParameterException("Invalid WebAuthn credential.")
    pending = ctx.db.execute("SELECT * FROM webauthn_registrations WHERE pool_id = ? AND username = ?",
                             (pool["Id"], user["username"])).fetchone()
    if pending is None or pending["expires"] < ctx.now():
        raise errors.WebAuthnChallengeNotFoundException("No WebAuthn registration challenge was found for the user.")
    client_data = decoded_client_data(credential)
    if client_data.get("type") != "webauthn.create" or client_data.get("challenge") != pending["challenge"]:
        raise errors.WebAuthnChallengeNotFoundException("No WebAuthn registration challenge was found for the user.")
    origin = client_data.get("origin")
    if not isinstance(origin, str) or not origin_allowed(origin, pending["rp_id"]):
        raise errors.WebAuthnOriginNotAllowedException(f"The origin {origin} is not allowed for relying party {pending['rp_id']}.")
    if pending["rp_id"] != rp_id:
        raise errors.WebAuthnRelyingPartyMismatchException("The relying party ID does not match the user pool configuration.")
    lib = py_webauthn()
    try:
        verified = lib.verify_registration_response(
            credential=credential, expected_challenge=lib.helpers.base64url_to_bytes(pending["challenge"]),
            expected_rp_id=rp_id, expected_origin=origin,
            require_user_verification=user_verification(ctx, pool) == "required")
    except lib.helpers.exceptions.InvalidRegistrationResponse as err:
        text = str(err)
        if "RP ID" in text:
            raise errors.WebAuthnRelyingPartyMismatchException("The relying party ID does not match the user pool configuration.") from None
        if "Unsupported" in text or "unsupported" in text or "algorithm" in text:
            raise errors.WebAuthnCredentialNotSupportedException("The WebAuthn credential is not supported.") from None
        raise errors.InvalidParameterException(f"Invalid WebAuthn credential: {text}") from None
    except invalid_response_errors():
        raise errors.InvalidParameterException("Invalid WebAuthn credential.") from None
    cred_id = lib.helpers.bytes_to_base64url(verified.credential_id)
    if ctx.db.execute("SELECT 1 FROM webauthn_credentials WHERE pool_id = ? AND credential_id = ?",
                      (pool["Id"], cred_id)).fetchone():
        raise errors.InvalidParameterException("The WebAuthn credential is already registered.")
    transports = (credential.get("response") or {}).get("transports") or []
    transports = [t for t in transports if isinstance(t, str) and t in known_transports()]
    attachment = credential.get("authenticatorAttachment")
    if attachment not in ("platform", "cross-platform"):
        attachment = None
    ctx.db.execute(
        "INSERT INTO webauthn_credentials(pool_id, credential_id, username, public_key, sign_count, rp_id,"
        " name, attachment, transports, created) VALUES(?,?,?,?,?,?,?,?,?,?)",
        (pool["Id"], cred_id, user["username"], lib.helpers.bytes_to_base64url(verified.credential_public_key),
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
        cred = credential_row(row)
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
        raise errors.ResourceNotFoundException("Credential not found.")
    return {}


@registry.handler
def get_user_auth_factors(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    return auth_factors(ctx, pool, user)
