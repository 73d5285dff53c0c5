"""The sandbox's state: test identities, single-use authorization codes, access and refresh
tokens, and the RSA keys its Google and Apple ID tokens are signed with. Every expiry reads the
emulator's clock."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.digests import digest
from emulator.lazy import jwt
from emulator.social.providers import AMAZON, APPLE, FACEBOOK, GOOGLE, Provider, new_subject
from emulator.store import dumps, loads, register_schema

register_schema("social", [
    """
    CREATE TABLE social_identities (
        provider TEXT NOT NULL,
        id TEXT NOT NULL,
        email TEXT NOT NULL,
        data TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (provider, id)
    );
    CREATE INDEX social_identities_email ON social_identities(provider, email);
    CREATE TABLE social_codes (
        code_hash TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        scope TEXT NOT NULL,
        nonce TEXT,
        expires REAL NOT NULL,
        used REAL
    );
    CREATE TABLE social_tokens (
        token_hash TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        kind TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL
    );
    CREATE TABLE social_keys (
        provider TEXT PRIMARY KEY,
        kid TEXT NOT NULL,
        private_pem TEXT NOT NULL
    );
    """,
])

CODE_SECONDS = 600.0
ACCESS_SECONDS = {GOOGLE.slug: 3599, FACEBOOK.slug: 5183999, AMAZON.slug: 3600, APPLE.slug: 3600}
ID_TOKEN_SECONDS = {GOOGLE.slug: 3600, APPLE.slug: 86400}
PROFILE_FIELDS = ("email", "name", "given_name", "family_name", "picture", "locale")


class IdentityError(ValueError):
    """A declared test identity that cannot be used; the message names the field."""


# -- test identities ---------------------------------------------------------------------------------
def _text(fields: dict, name: str, required: bool = False) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise IdentityError(f"{name} is required")
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise IdentityError(f"{name} must be a string of at most 2048 characters")
    return value.strip()


def declare_identity(db, provider: Provider, fields: Any, now: float) -> dict:
    """Create or update a test identity (the same email, or the same `id`, is the same identity)."""
    if not isinstance(fields, dict):
        raise IdentityError("an identity is a JSON object")
    unknown = set(fields) - {"id", "email_verified", "attributes", *PROFILE_FIELDS}
    if unknown:
        raise IdentityError(f"unknown field {sorted(unknown)[0]} (fields: id, email, email_verified, name, "
                            f"given_name, family_name, picture, locale, attributes)")
    email = _text(fields, "email", required=True)
    if "@" not in email:
        raise IdentityError("email must be an email address")
    attributes = fields.get("attributes") or {}
    if not isinstance(attributes, dict) or any(
            not isinstance(k, str) or not isinstance(v, (str, int, float, bool)) for k, v in attributes.items()):
        raise IdentityError("attributes must be an object of names to strings, numbers or booleans")
    verified = fields.get("email_verified", True)
    if not isinstance(verified, bool):
        raise IdentityError("email_verified must be true or false")
    identity_id = _text(fields, "id") or _existing_id(db, provider, email) or new_subject(provider, email)
    identity = {"id": identity_id, "email_verified": verified, "attributes": attributes}
    for name in PROFILE_FIELDS:
        identity[name] = _text(fields, name)
    if not identity["name"]:
        parts = [identity["given_name"], identity["family_name"]]
        identity["name"] = " ".join(p for p in parts if p) or email.split("@", 1)[0]
    row = db.execute("SELECT created FROM social_identities WHERE provider = ? AND id = ?",
                     (provider.slug, identity_id)).fetchone()
    identity["created"] = row["created"] if row else now
    db.execute("INSERT INTO social_identities(provider, id, email, data, created) VALUES(?,?,?,?,?) "
               "ON CONFLICT(provider, id) DO UPDATE SET email = excluded.email, data = excluded.data",
               (provider.slug, identity_id, email.lower(), dumps(identity), identity["created"]))
    return identity


def _existing_id(db, provider: Provider, email: str) -> str | None:
    row = db.execute("SELECT id FROM social_identities WHERE provider = ? AND email = ?",
                     (provider.slug, email.lower())).fetchone()
    return row["id"] if row else None


def identities(db, provider: Provider) -> list[dict]:
    return [loads(r["data"]) for r in db.execute(
        "SELECT data FROM social_identities WHERE provider = ? ORDER BY created, id", (provider.slug,))]


def identity(db, provider: Provider, identity_id: str) -> dict | None:
    row = db.execute("SELECT data FROM social_identities WHERE provider = ? AND id = ?",
                     (provider.slug, identity_id)).fetchone()
    return loads(row["data"]) if row else None


def remember_client(db, provider: Provider, found: dict, client_id: str) -> bool:
    """Record that the identity authorized `client_id`; True the first time (Apple sends the
    user's name only then)."""
    seen = found.setdefault("clients", [])
    if client_id in seen:
        return False
    seen.append(client_id)
    db.execute("UPDATE social_identities SET data = ? WHERE provider = ? AND id = ?",
               (dumps(found), provider.slug, found["id"]))
    return True


# -- codes and tokens ------------------------------------------------------------------------------------
def issue_code(db, provider: Provider, identity_id: str, client_id: str, redirect_uri: str, scope: str,
               nonce: str | None, now: float) -> str:
    code = secrets.token_urlsafe(32)
    db.execute("INSERT INTO social_codes(code_hash, provider, identity_id, client_id, redirect_uri, scope, nonce, "
               "expires, used) VALUES(?,?,?,?,?,?,?,?,NULL)",
               (digest(code), provider.slug, identity_id, client_id, redirect_uri, scope, nonce, now + CODE_SECONDS))
    return code


def redeem_code(db, provider: Provider, code: str, now: float) -> dict | None:
    """The code's grant, once: a code is spent by any attempt to redeem it (None when unknown,
    expired or spent)."""
    row = db.execute("SELECT * FROM social_codes WHERE code_hash = ? AND provider = ?",
                     (digest(code or ""), provider.slug)).fetchone()
    if row is None or row["used"] is not None or now >= row["expires"]:
        return None
    db.execute("UPDATE social_codes SET used = ? WHERE code_hash = ?", (now, row["code_hash"]))
    return dict(row)


_TOKEN_SHAPES = {GOOGLE.slug: ("ya29.", "1//"), FACEBOOK.slug: ("EAAG", None),
                 AMAZON.slug: ("Atza|", "Atzr|"), APPLE.slug: ("a", "r")}


def issue_token(db, provider: Provider, kind: str, identity_id: str, client_id: str, scope: str,
                now: float) -> str:
    """An opaque access or refresh token in the provider's own format."""
    prefix = _TOKEN_SHAPES[provider.slug][0 if kind == "access" else 1]
    body = secrets.token_hex(32) if provider is APPLE else secrets.token_urlsafe(48).replace("-", "").replace("_", "")
    token = f"{prefix}{body}"
    expires = now + ACCESS_SECONDS[provider.slug] if kind == "access" else None
    db.execute("INSERT INTO social_tokens(token_hash, provider, kind, identity_id, client_id, scope, created, "
               "expires) VALUES(?,?,?,?,?,?,?,?)",
               (digest(token), provider.slug, kind, identity_id, client_id, scope, now, expires))
    return token


def token_grant(db, provider: Provider, token: str | None, now: float, kind: str = "access") -> dict | None:
    """The token's row (identity_id, client_id, scope, created, expires) while it is valid."""
    if not token:
        return None
    row = db.execute("SELECT * FROM social_tokens WHERE token_hash = ? AND provider = ? AND kind = ?",
                     (digest(token), provider.slug, kind)).fetchone()
    if row is None or (row["expires"] is not None and now >= row["expires"]):
        return None
    return dict(row)


# -- ID tokens (Google and Apple) ---------------------------------------------------------------------------
def _key(db, provider: Provider) -> tuple[str, rsa.RSAPrivateKey]:
    row = db.execute("SELECT kid, private_pem FROM social_keys WHERE provider = ?", (provider.slug,)).fetchone()
    if row is not None:
        return row["kid"], _load_key(row["private_pem"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    kid = secrets.token_hex(20) if provider is GOOGLE else secrets.token_urlsafe(8)[:10]
    db.execute("INSERT INTO social_keys(provider, kid, private_pem) VALUES(?,?,?) ON CONFLICT(provider) DO NOTHING",
               (provider.slug, kid, pem))
    row = db.execute("SELECT kid, private_pem FROM social_keys WHERE provider = ?", (provider.slug,)).fetchone()
    return row["kid"], _load_key(row["private_pem"])


_keys: dict[str, rsa.RSAPrivateKey] = {}


def _load_key(pem: str) -> rsa.RSAPrivateKey:
    key = _keys.get(pem)
    if key is None:
        key = _keys[pem] = serialization.load_pem_private_key(pem.encode(), password=None)
    return key


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks(db, provider: Provider) -> dict:
    kid, key = _key(db, provider)
    numbers = key.public_key().public_numbers()
    return {"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                      "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}]}


def _half_hash(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()[:16]).rstrip(b"=").decode()


def id_token(db, provider: Provider, found: dict, client_id: str, nonce: str | None, now: float,
             access_token: str | None = None) -> str:
    """The provider's signed ID token for the identity, as that provider writes it."""
    iat = int(now)
    claims: dict[str, Any] = {"iss": provider.issuer}
    if provider is GOOGLE:
        claims.update({"azp": client_id, "aud": client_id, "sub": found["id"], "email": found["email"],
                       "email_verified": found["email_verified"]})
        if access_token:
            claims["at_hash"] = _half_hash(access_token)
        if nonce:
            claims["nonce"] = nonce
        for name in ("name", "picture", "given_name", "family_name", "locale"):
            if found.get(name):
                claims[name] = found[name]
    else:  # Apple: strings for its booleans, no profile in the token
        claims.update({"aud": client_id, "sub": found["id"]})
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["at_hash"] = _half_hash(access_token)
        claims.update({"email": found["email"], "email_verified": "true" if found["email_verified"] else "false",
                       "is_private_email": "true" if found["email"].endswith("@privaterelay.appleid.com") else "false",
                       "auth_time": iat, "nonce_supported": True})
    claims.update({k: v for k, v in (found.get("attributes") or {}).items() if k not in claims})
    claims.update({"iat": iat, "exp": iat + ID_TOKEN_SECONDS[provider.slug]})
    kid, key = _key(db, provider)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def verify_id_token(db, provider: Provider, token: str) -> dict | None:
    """The claims of an ID token this sandbox signed (signature only; expiry and audience are the
    caller's), else None."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    kid, key = _key(db, provider)
    if header.get("kid") != kid or header.get("alg") != "RS256":
        return None
    try:
        return jwt.decode(token, key.public_key(), algorithms=["RS256"],
                          options={"verify_exp": False, "verify_aud": False, "verify_iat": False})
    except jwt.PyJWTError:
        return None


def issued_here(db, provider: Provider, token: str) -> bool:
    """Whether the sandbox issued this token (an ID token under its key, or one of its access tokens)."""
    if not isinstance(token, str):
        return False
    if provider.issuer and token.count(".") == 2:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return False
        row = db.execute("SELECT kid FROM social_keys WHERE provider = ?", (provider.slug,)).fetchone()
        return row is not None and header.get("kid") == row["kid"]
    return db.execute("SELECT 1 FROM social_tokens WHERE token_hash = ? AND provider = ?",
                      (digest(token), provider.slug)).fetchone() is not None


# -- the user documents ---------------------------------------------------------------------------------
def google_userinfo(found: dict) -> dict:
    out = {"sub": found["id"]}
    for name in ("name", "given_name", "family_name", "picture"):
        if found.get(name):
            out[name] = found[name]
    out.update({"email": found["email"], "email_verified": found["email_verified"]})
    if found.get("locale"):
        out["locale"] = found["locale"]
    return out


def google_person(found: dict) -> dict:
    """A People API `people/me` document."""
    primary = {"primary": True, "source": {"type": "PROFILE", "id": found["id"]}}
    person: dict[str, Any] = {"resourceName": f"people/{found['id']}", "etag": "%" + uuid.uuid4().hex[:20]}
    person["names"] = [{"metadata": primary, "displayName": found["name"],
                        **({"givenName": found["given_name"]} if found.get("given_name") else {}),
                        **({"familyName": found["family_name"]} if found.get("family_name") else {})}]
    person["emailAddresses"] = [{"metadata": {**primary, "verified": found["email_verified"]}, "value": found["email"]}]
    if found.get("picture"):
        person["photos"] = [{"metadata": primary, "url": found["picture"]}]
    return person


FACEBOOK_DEFAULT_FIELDS = ("id", "name")


def facebook_user(found: dict, fields: list[str]) -> dict:
    """Graph API /me with `fields` (id and name when none are asked for)."""
    first, _, last = found["name"].partition(" ")  # Facebook always has both
    known: dict[str, Any] = {"id": found["id"], "name": found["name"], "email": found["email"],
                             "first_name": found.get("given_name") or first,
                             "last_name": found.get("family_name") or last or None,
                             "locale": found.get("locale"), **(found.get("attributes") or {})}
    if found.get("picture"):
        known["picture"] = {"data": {"height": 50, "is_silhouette": False, "url": found["picture"], "width": 50}}
    out = {}
    for field in fields or FACEBOOK_DEFAULT_FIELDS:
        if known.get(field) is not None:
            out[field] = known[field]
    out.setdefault("id", found["id"])
    return out


def amazon_profile(found: dict, scope: str) -> dict:
    out = {"user_id": found["id"], "name": found["name"], "email": found["email"]}
    postal = (found.get("attributes") or {}).get("postal_code")
    if postal is not None and "postal_code" in scope.split():
        out["postal_code"] = str(postal)
    return out
