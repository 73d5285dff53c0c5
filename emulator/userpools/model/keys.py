"""Per-pool RSA signing keys (kept in the store, so tokens survive restarts), JWKS,
and signing/verification of the pool's JWTs.

ID and access tokens are signed with different keys, as on AWS; both are published.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import re
import threading
from collections import OrderedDict
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.deferred import Deferred
from emulator.lazy import jwt
from emulator.store import register_schema

PURPOSES = ("id", "access")

register_schema("userpools.keys", [
    """
    CREATE TABLE user_pool_keys (
        pool_id TEXT NOT NULL,
        purpose TEXT NOT NULL,
        kid TEXT NOT NULL UNIQUE,
        private_pem TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (pool_id, purpose)
    );
    """,
], owned={"user_pool": ("user_pool_keys",)})

_cache: dict[tuple[str, str], tuple[str, rsa.RSAPrivateKey]] = {}
# Tokens whose signature verified, by (pool, SHA-256 of the token) -> (kid, claims): a signature
# never stops verifying. verify() looks the key's row up again (or its caller the pool's), so a
# token of a deleted pool is refused as before.
_verified: OrderedDict[tuple[str, bytes], tuple[str, dict]] = OrderedDict()
_verified_lock = threading.Lock()
MAX_VERIFIED = 4096  # about 6 MiB of claims per process


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _new_key(pool_id: str, purpose: str) -> tuple[str, rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    # AWS kids are 44-character base64 strings; a digest of the public key gives that shape.
    kid = base64.b64encode(hashlib.sha256(der + pool_id.encode() + purpose.encode()).digest()).decode()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return kid, key, pem


def key_for(db, pool_id: str, purpose: str, now: float = 0.0) -> tuple[str, rsa.RSAPrivateKey]:
    """(kid, private key) of a pool for `purpose` ('id' or 'access'), created on first use."""
    cached = _cache.get((pool_id, purpose))
    row = db.execute("SELECT kid, private_pem FROM user_pool_keys WHERE pool_id = ? AND purpose = ?",
                     (pool_id, purpose)).fetchone()
    if row is not None:
        if cached and cached[0] == row["kid"]:
            return cached
        key = serialization.load_pem_private_key(row["private_pem"].encode(), password=None)
        _cache[(pool_id, purpose)] = (row["kid"], key)
        return row["kid"], key
    kid, key, pem = _new_key(pool_id, purpose)
    db.execute("INSERT INTO user_pool_keys(pool_id, purpose, kid, private_pem, created) VALUES(?,?,?,?,?)",
               (pool_id, purpose, kid, pem, now))
    _cache[(pool_id, purpose)] = (kid, key)
    return kid, key


def delete_keys(db, pool_id: str) -> None:
    db.execute("DELETE FROM user_pool_keys WHERE pool_id = ?", (pool_id,))
    for purpose in PURPOSES:
        _cache.pop((pool_id, purpose), None)


def jwks(db, pool_id: str) -> dict:
    """The pool's JSON Web Key Set (both keys)."""
    keys = []
    for purpose in PURPOSES:
        kid, key = key_for(db, pool_id, purpose)
        numbers = key.public_key().public_numbers()
        keys.append({"alg": "RS256", "e": _b64url_uint(numbers.e), "kid": kid, "kty": "RSA",
                     "n": _b64url_uint(numbers.n), "use": "sig"})
    return {"keys": keys}


def sign(db, pool_id: str, purpose: str, claims: dict) -> str:
    """A compact RS256 JWS of `claims` with the pool's key for `purpose`."""
    return sign_later(db, pool_id, purpose, claims).value()


def sign_later(db, pool_id: str, purpose: str, claims: dict) -> Deferred:
    """The JWS of `sign`, made when first used: the key is read in this transaction, the
    signature (pure work) once the output is resolved after the commit."""
    kid, key = key_for(db, pool_id, purpose)
    # AWS headers carry only kid and alg (no typ).
    return Deferred(lambda: jwt.encode(claims, key, algorithm="RS256",
                                       headers={"kid": kid, "alg": "RS256", "typ": None}))


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def _segment(text: str) -> Any:
    if not _SEGMENT.fullmatch(text):
        raise ValueError("not base64url")
    raw = text.encode().translate(_TO_STANDARD)
    return orjson.loads(binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True))


def unverified(token: str) -> tuple[dict, dict] | None:
    """(header, payload) of a compact JWS, unchecked; None when it is not one. What PyJWT's
    unverified reads give, without its per-character checks (a third of a GetUser's time)."""
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except (ValueError, binascii.Error):  # orjson's JSONDecodeError is a ValueError
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims


def unverified_claims(token: str) -> dict | None:
    """The payload of a JWT without checking anything (None when it is not a JWT)."""
    parsed = unverified(token)
    return parsed[1] if parsed else None


def verify(db, pool_id: str, token: str, *, key_check: bool = True) -> dict | None:
    """The claims when `token` is signed by one of the pool's keys, else None.

    Only the signature is checked here; expiry, token_use, issuer and revocation are
    the caller's, so it can answer with the right message. A remembered verification is checked
    against the pool's keys again (a deleted pool's tokens verify no more) unless `key_check` is
    False: the caller then checks that the pool is still there itself.
    """
    if not isinstance(token, str):
        return None
    # The token's digest, not the token: a remembered verification costs its claims, not 1 KB more.
    cache_key = (pool_id, hashlib.sha256(token.encode()).digest())
    with _verified_lock:
        remembered = _verified.get(cache_key)
        if remembered is not None:
            _verified.move_to_end(cache_key)
    if remembered is not None:
        kid, claims = remembered
        # Still one of the pool's keys, and the pool still there (a deleted pool's tokens verify no more).
        if not key_check or db.execute("SELECT 1 FROM user_pool_keys k JOIN user_pools p ON p.id = k.pool_id "
                      "WHERE k.pool_id = ? AND k.kid = ?", (pool_id, kid)).fetchone():
            return copy.deepcopy(claims)
        return None
    parsed = unverified(token)
    if parsed is None or parsed[0].get("alg") != "RS256":
        return None
    kid = parsed[0].get("kid")
    row = db.execute("SELECT purpose FROM user_pool_keys WHERE pool_id = ? AND kid = ?", (pool_id, kid)).fetchone()
    if row is None:
        return None
    _kid, key = key_for(db, pool_id, row["purpose"])
    try:
        claims = jwt.decode(token, key.public_key(), algorithms=["RS256"],
                            options={"verify_exp": False, "verify_aud": False, "verify_iat": False,
                                     "verify_nbf": False})
    except jwt.PyJWTError:
        return None
    with _verified_lock:
        _verified[cache_key] = (kid, claims)
        if len(_verified) > MAX_VERIFIED:
            _verified.popitem(last=False)
    return copy.deepcopy(claims)


def issuer(config, base_url: str, region: str, pool_id: str) -> str:
    """The `iss` of a pool's tokens: {base URL}/{poolId}, or the AWS form when configured."""
    if config.issuer_style == "aws":
        return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
    return f"{base_url.rstrip('/')}/{pool_id}"


def issuer_matches(iss: str, pool_id: str) -> bool:
    """The emulator accepts its own tokens whichever issuer form they carry."""
    return isinstance(iss, str) and iss.rstrip("/").endswith("/" + pool_id)


def token_pool_id(token: str) -> str | None:
    """The pool id a token claims to come from (last path segment of `iss`)."""
    claims = unverified_claims(token)
    if not claims or not isinstance(claims.get("iss"), str):
        return None
    return claims["iss"].rstrip("/").rsplit("/", 1)[-1]
