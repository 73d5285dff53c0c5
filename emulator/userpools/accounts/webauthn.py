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

from emulator.store import loads, register_schema
from emulator.userpools import errors
from emulator.userpools.accounts import mfa
from emulator.userpools.model import mfa_config
from emulator.userpools.model.pools import allowed_first_factors
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
], owned={"user_pool": ("webauthn_credentials", "webauthn_registrations"), "user": ("webauthn_credentials", "webauthn_registrations")})

TIMEOUT_MS = 180_000
MAX_CREDENTIALS = 20
MAX_RESULTS = 20


def py_webauthn():
    """py_webauthn with the parts used here, imported on first use: it would add 60 ms to
    every start, and most pools never see a passkey."""
    import webauthn.helpers.exceptions
    import webauthn.helpers.structs

    return webauthn


def transports() -> set[str]:
    """The authenticator transports WebAuthn names."""
    return {t.value for t in py_webauthn().helpers.structs.AuthenticatorTransport}


def invalid_response_errors() -> tuple[type[Exception], ...]:
    """What py_webauthn raises for a credential it cannot verify."""
    exceptions = py_webauthn().helpers.exceptions
    return (exceptions.WebAuthnException, exceptions.InvalidJSONStructure, exceptions.InvalidCBORData,
            KeyError, TypeError, ValueError, binascii.Error)


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


def user_verification(ctx, pool: dict) -> str:
    return (_webauthn_config(ctx, pool).get("UserVerification") or "preferred").lower()


def origin_allowed(origin: str, rp_id: str) -> bool:
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


def decoded_client_data(credential: dict) -> dict:
    try:
        raw = py_webauthn().helpers.base64url_to_bytes(credential["response"]["clientDataJSON"])
        data = json.loads(raw)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise errors.InvalidParameterException("Invalid WebAuthn credential.") from None
    if not isinstance(data, dict):
        raise errors.InvalidParameterException("Invalid WebAuthn credential.")
    return data


# -- storage ---------------------------------------------------------------------------
def credential_row(row) -> dict:
    return {"credential_id": row["credential_id"], "username": row["username"],
            "public_key": py_webauthn().helpers.base64url_to_bytes(row["public_key"]), "sign_count": row["sign_count"],
            "rp_id": row["rp_id"], "name": row["name"], "attachment": row["attachment"],
            "transports": loads(row["transports"], []), "created": row["created"]}


def user_credentials(db, pool_id: str, username: str) -> list[dict]:
    rows = db.execute("SELECT * FROM webauthn_credentials WHERE pool_id = ? AND username = ? "
                      "ORDER BY created, credential_id", (pool_id, username)).fetchall()
    return [credential_row(r) for r in rows]


def has_credentials(db, pool_id: str, username: str) -> bool:
    return db.execute("SELECT 1 FROM webauthn_credentials WHERE pool_id = ? AND username = ? LIMIT 1",
                      (pool_id, username)).fetchone() is not None


# -- assertions (sign-in) ----------------------------------------------------------------
def begin_assertion(ctx, pool: dict, user: dict) -> dict:
    """PublicKeyCredentialRequestOptions (JSON-ready dict) for the user's passkeys; the
    caller keeps options["challenge"] to pass to finish_assertion."""
    rp_id = relying_party_id(ctx, pool) or ""
    lib = py_webauthn()
    structs, known = lib.helpers.structs, transports()
    allow = [structs.PublicKeyCredentialDescriptor(
                 id=lib.helpers.base64url_to_bytes(c["credential_id"]),
                 transports=[structs.AuthenticatorTransport(t) for t in c["transports"] if t in known] or None)
             for c in user_credentials(ctx.db, pool["Id"], user["username"])]
    options = lib.generate_authentication_options(
        rp_id=rp_id, challenge=secrets.token_bytes(32), timeout=TIMEOUT_MS, allow_credentials=allow,
        user_verification=structs.UserVerificationRequirement(user_verification(ctx, pool)))
    return json.loads(lib.helpers.options_to_json(options))


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
    stored = credential_row(row)
    try:
        origin = decoded_client_data(credential).get("origin", "")
    except ServiceError:
        return False
    if not isinstance(origin, str) or not origin_allowed(origin, rp_id):
        return False
    lib = py_webauthn()
    try:
        verified = lib.verify_authentication_response(
            credential=credential, expected_challenge=lib.helpers.base64url_to_bytes(expected_challenge),
            expected_rp_id=rp_id, expected_origin=origin, credential_public_key=stored["public_key"],
            credential_current_sign_count=stored["sign_count"],
            require_user_verification=user_verification(ctx, pool) == "required")
    except (lib.helpers.exceptions.InvalidAuthenticationResponse, *invalid_response_errors()):
        return False
    ctx.db.execute("UPDATE webauthn_credentials SET sign_count = ? WHERE pool_id = ? AND credential_id = ?",
                   (verified.new_sign_count, pool["Id"], cred_id))
    return True


# -- operations ------------------------------------------------------------------------


def configured_auth_factors(ctx, pool: dict, user: dict) -> list[str]:
    """The USER_AUTH factors the user can sign in with."""
    allowed = allowed_first_factors(pool)
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


def auth_factors(ctx, pool: dict, user: dict) -> dict:
    """The answer of GetUserAuthFactors and AdminGetUserAuthFactors for a user."""
    out = {"Username": user["username"], "ConfiguredUserAuthFactors": configured_auth_factors(ctx, pool, user)}
    out.update({k: v for k, v in mfa.user_mfa_settings(user).items() if k != "MFAOptions"})
    return out
