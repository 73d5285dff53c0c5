"""Checking a user pool token against the emulator, the way an authorizer does: signature with
the pool's keys, the emulator's clock for expiry, and (optionally) revocation.

Two ways to reach the emulator:
- `HttpVerifier`: its public surfaces only (the pool's JWKS, `/_emulator/clock`, ListUserPools),
  so it works with any emulator (in memory, in a container). It cannot see revocations.
- `StoreVerifier`: the emulator's own store (`--data-dir` or `--database-url`), verified by
  `userpools.accounts.tokens`, so GlobalSignOut and RevokeToken can be honoured.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

import jwt

from emulator import lambdas
from emulator.clock import Clock
from emulator.store import Store
from emulator.userpools.model import keys


class Refused(Exception):
    """A token that fails verification; `reason` is one of: malformed, pool, signature, issuer,
    expired, revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EmulatorUnreachable(Exception):
    """The emulator did not answer a verification request."""


class Verifier(Protocol):
    """What the authorizers and the template reader need of the emulator."""

    revocation: bool  # whether verify(check_revocation=True) can see revocations

    def now(self) -> float: ...

    def verify(self, pool_id: str, token: str, *, check_revocation: bool = False) -> dict: ...

    def pool_id_named(self, name: str) -> str | None: ...

    def client_id_named(self, pool_id: str, name: str) -> str | None: ...


def pool_of(token: str) -> str | None:
    """The pool id a token names in its issuer (unverified)."""
    return keys.token_pool_id(token)


def unverified(token: str) -> dict:
    claims = keys.unverified_claims(token)
    if claims is None:
        raise Refused("malformed")
    return claims


class HttpVerifier:
    """Verification through the emulator's HTTP endpoints."""

    revocation = False

    def __init__(self, emulator_url: str, timeout: float = 10.0, region: str = "us-east-1") -> None:
        self.url = emulator_url.rstrip("/")
        self.region = region
        self.timeout = timeout
        self._keys: dict[str, dict[str, Any]] = {}  # pool id -> kid -> public key
        self._lock = threading.Lock()

    def _get(self, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, None
        except (OSError, ValueError) as err:
            raise EmulatorUnreachable(f"{self.url}{path}: {err}") from None

    def now(self) -> float:
        status, body = self._get("/_emulator/clock")
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("epoch"), (int, float)):
            raise EmulatorUnreachable(f"{self.url}/_emulator/clock answered HTTP {status}")
        return float(body["epoch"])

    def _key(self, pool_id: str, kid: Any) -> Any:
        with self._lock:
            found = self._keys.get(pool_id, {}).get(kid)
        if found is not None:
            return found
        # An unknown kid: fetch the set again (a pool made since, or its keys replaced).
        status, body = self._get(f"/{urllib.parse.quote(pool_id, safe='')}/.well-known/jwks.json")
        if status == 404:
            raise Refused("pool")
        if status != 200 or not isinstance(body, dict):
            raise EmulatorUnreachable(f"the JWKS of {pool_id} answered HTTP {status}")
        loaded = {}
        for jwk in body.get("keys") or []:
            try:
                loaded[jwk.get("kid")] = jwt.PyJWK(jwk).key
            except (jwt.PyJWTError, TypeError, ValueError):
                continue
        with self._lock:
            self._keys[pool_id] = loaded
        return loaded.get(kid)

    def verify(self, pool_id: str, token: str, *, check_revocation: bool = False) -> dict:
        unverified(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refused("malformed") from None
        if header.get("alg") != "RS256":
            raise Refused("signature")
        key = self._key(pool_id, header.get("kid"))
        if key is None:
            raise Refused("signature")
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_aud": False, "verify_iat": False,
                                         "verify_nbf": False})
        except jwt.PyJWTError:
            raise Refused("signature") from None
        if not keys.issuer_matches(claims.get("iss"), pool_id):
            raise Refused("issuer")
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or self.now() >= exp:
            raise Refused("expired")
        return claims

    def pool_id_named(self, name: str) -> str | None:
        pools = self._list("ListUserPools", {"MaxResults": 60}, "UserPools")
        return next((p["Id"] for p in pools if p.get("Name") == name), None)

    def client_id_named(self, pool_id: str, name: str) -> str | None:
        found = self._list("ListUserPoolClients", {"UserPoolId": pool_id, "MaxResults": 60}, "UserPoolClients")
        return next((c["ClientId"] for c in found if c.get("ClientName") == name), None)

    def _list(self, operation: str, body: dict, member: str) -> list[dict]:
        out: list[dict] = []
        while True:
            data = json.dumps(body).encode()
            headers = lambdas.signed_headers("POST", self.url + "/", data, "cognito-idp", self.region, {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}"})
            request = urllib.request.Request(self.url + "/", data=data, method="POST", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    page = json.loads(response.read())
            except urllib.error.HTTPError as err:
                raise EmulatorUnreachable(f"{self.url} {operation} answered HTTP {err.code}: "
                                          f"{err.read()[:200].decode(errors='replace')}") from None
            except (OSError, ValueError) as err:
                raise EmulatorUnreachable(f"{self.url} {operation}: {err}") from None
            out += page.get(member) or []
            if not page.get("NextToken"):
                return out
            body = {**body, "NextToken": page["NextToken"]}


class _Reading:
    """What `tokens.verify_token` reads: the transaction and the emulator's time."""

    def __init__(self, db, now: float) -> None:
        self.db = db
        self._now = now

    def now(self) -> float:
        return self._now


class StoreVerifier:
    """Verification through the emulator's store: revocation is visible."""

    revocation = True

    def __init__(self, store: Store) -> None:
        self.store = store

    def now(self) -> float:
        with self.store.transaction(write=False) as db:
            clock = Clock()
            clock.load(db)
            return clock.now()

    def verify(self, pool_id: str, token: str, *, check_revocation: bool = False) -> dict:
        from emulator.userpools.accounts import tokens  # the CLI imports this module; serve needs none of it

        token_use = unverified(token).get("token_use")
        if token_use not in ("id", "access"):
            token_use = "id"  # refused by the check below, with the reason the pool's tokens give
        with self.store.transaction(write=False) as db:
            clock = Clock()
            clock.load(db)
            try:
                return tokens.verify_token(_Reading(db, clock.now()), pool_id, token, token_use,
                                           check_revocation=check_revocation)
            except tokens.TokenInvalid as err:
                reason = "signature" if err.reason == "token_use" else err.reason
                raise Refused(reason) from None

    def pool_id_named(self, name: str) -> str | None:
        with self.store.transaction(write=False) as db:
            row = db.execute("SELECT id FROM user_pools WHERE name = ? ORDER BY created LIMIT 1", (name,)).fetchone()
        return row["id"] if row else None

    def client_id_named(self, pool_id: str, name: str) -> str | None:
        with self.store.transaction(write=False) as db:
            row = db.execute("SELECT id FROM user_pool_clients WHERE pool_id = ? AND name = ? ORDER BY created LIMIT 1",
                             (pool_id, name)).fetchone()
        return row["id"] if row else None
