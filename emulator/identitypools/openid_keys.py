"""The key that signs Cognito Identity OpenID tokens, its JWKS, and the checks of a login token
that every provider shares (expiry, the "Invalid login token." refusals)."""

from __future__ import annotations

import base64
import hashlib
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.identitypools import errors
from emulator.lazy import jwt
from emulator.store import register_schema
from protocol import ServiceError

ISSUER = "https://cognito-identity.amazonaws.com"

register_schema("identitypools.openid", [
    """
    CREATE TABLE identity_signing_keys (
        kid TEXT PRIMARY KEY,
        private_pem TEXT NOT NULL,
        created REAL NOT NULL
    );
    """,
])

_cache: dict[str, rsa.RSAPrivateKey] = {}
_lock = threading.Lock()


def invalid(detail: str) -> ServiceError:
    return errors.NotAuthorizedException(f"Invalid login token. {detail}")


def check_expiry(claims: dict, now: float) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        raise invalid("Missing a required claim: exp")
    if now >= exp:
        raise invalid(f"Token expired: {int(now)} >= {int(exp)}")


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signing_key(db, now: float = 0.0) -> tuple[str, rsa.RSAPrivateKey]:
    """(kid, key) of the emulator's Cognito Identity key, created on first use."""
    row = db.execute("SELECT kid, private_pem FROM identity_signing_keys ORDER BY created LIMIT 1").fetchone()
    if row is not None:
        with _lock:
            key = _cache.get(row["kid"])
        if key is None:
            key = serialization.load_pem_private_key(row["private_pem"].encode(), password=None)
            with _lock:
                _cache[row["kid"]] = key
        return row["kid"], key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    # AWS kids look like "us-east-12"; the prefix makes the emulator's recognisable.
    kid = "emulator-" + hashlib.sha256(der).hexdigest()[:8]
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    db.execute("INSERT INTO identity_signing_keys(kid, private_pem, created) VALUES(?,?,?)", (kid, pem, now))
    with _lock:
        _cache[kid] = key
    return kid, key


def jwks(db) -> dict:
    kid, key = signing_key(db)
    numbers = key.public_key().public_numbers()
    return {"keys": [{"kty": "RSA", "alg": "RS512", "use": "sig", "kid": kid,
                      "e": _b64url_uint(numbers.e), "n": _b64url_uint(numbers.n)}]}


def sign(ctx, claims: dict) -> str:
    kid, key = signing_key(ctx.db, ctx.now())
    return jwt.encode(claims, key, algorithm="RS512", headers={"kid": kid, "typ": "JWS"})


def verify_token(ctx, token: str) -> dict:
    """Claims of a Cognito Identity OpenID token issued here; NotAuthorizedException otherwise."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise invalid("Not a valid OpenId Connect identity token.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise invalid("Not a valid OpenId Connect identity token.") from None
    row = ctx.db.execute("SELECT kid FROM identity_signing_keys WHERE kid = ?", (header.get("kid"),)).fetchone()
    if row is None:
        raise invalid("Couldn't verify signed token.")
    _kid, key = signing_key(ctx.db)
    try:
        claims = jwt.decode(token, key.public_key(), algorithms=["RS512"],
                            options={"verify_exp": False, "verify_aud": False, "verify_iat": False})
    except jwt.PyJWTError:
        raise invalid("Couldn't verify signed token.") from None
    if claims.get("iss") != ISSUER:
        raise invalid("Issuer doesn't match providerName")
    check_expiry(claims, ctx.now())
    if not claims.get("sub") or not claims.get("aud"):
        raise invalid("Not a valid OpenId Connect identity token.")
    return claims
