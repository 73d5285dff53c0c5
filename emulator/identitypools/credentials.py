"""GetCredentialsForIdentity: role choice (roles, token and rules role mappings) and
STS-shaped temporary credentials, remembered so the emulator knows whose they are."""

from __future__ import annotations

import base64
import secrets
import string

from emulator import digests
from emulator.identitypools import errors, registry
from emulator.identitypools.identities import identity_for_request
from emulator.identitypools.logins import Login, saml_role
from emulator.identitypools.pools import load_roles, principal_tag_map
from emulator.store import dumps, loads, register_schema

register_schema("identitypools.credentials", [
    """
    CREATE TABLE identity_credentials (
        access_key_id TEXT PRIMARY KEY,
        secret_key TEXT NOT NULL,
        session_token_hash TEXT NOT NULL,
        identity_id TEXT,
        pool_id TEXT,
        role_arn TEXT NOT NULL,
        expiration REAL NOT NULL,
        created REAL NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX identity_credentials_by_identity ON identity_credentials(identity_id);
    CREATE INDEX identity_credentials_by_pool ON identity_credentials(pool_id);
    CREATE INDEX identity_credentials_by_expiration ON identity_credentials(expiration);
    """,
], owned={"identity_pool": ("identity_credentials",), "identity": ("identity_credentials",)})

CREDENTIALS_SECONDS = 3600
INVALID_CONFIG = "Invalid identity pool configuration. Check assigned IAM roles for this pool."
AMBIGUOUS_DENIED = "The ambiguous role mapping rules denied this request."
_UPPER = string.ascii_uppercase + string.digits


def issue(ctx, *, role_arn: str, identity_id: str | None, pool_id: str | None,
          duration: int = CREDENTIALS_SECONDS, details: dict | None = None) -> dict:
    """New temporary credentials for `role_arn`, stored with whose they are."""
    now = ctx.now()
    # Expired credentials are of no use to anyone; keep the table small.
    ctx.db.execute("DELETE FROM identity_credentials WHERE expiration < ?", (now - 86400,))
    access_key = "ASIA" + "".join(secrets.choice(_UPPER) for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    session = base64.b64encode(b"IQoJb3JpZ2luX2VjE" + secrets.token_bytes(300)).decode()
    expiration = float(int(now) + duration)
    ctx.db.execute("INSERT INTO identity_credentials(access_key_id, secret_key, session_token_hash, identity_id, "
                   "pool_id, role_arn, expiration, created, details) VALUES(?,?,?,?,?,?,?,?,?)",
                   (access_key, secret, digests.digest(session), identity_id, pool_id, role_arn, expiration, now,
                    dumps(details or {})))
    return {"AccessKeyId": access_key, "SecretKey": secret, "SessionToken": session, "Expiration": expiration}


def identity_for_access_key(db, access_key_id: str, now: float, session_token: str | None) -> dict | None:
    """Whose temporary credentials these are: {IdentityId, IdentityPoolId, RoleArn, Expiration,
    Expired, SessionName, TokenMatches}; None for a key the emulator never issued (a developer's
    own credentials).

    Expired credentials are still reported (with Expired=True) so callers refuse them rather
    than mistake them for a developer's; TokenMatches says whether `session_token` is theirs.
    """
    row = db.execute("SELECT identity_id, pool_id, role_arn, expiration, session_token_hash, details "
                     "FROM identity_credentials WHERE access_key_id = ?", (access_key_id,)).fetchone()
    if row is None:
        return None
    return {"IdentityId": row["identity_id"], "IdentityPoolId": row["pool_id"], "RoleArn": row["role_arn"],
            "Expiration": row["expiration"], "Expired": now >= row["expiration"],
            # Cognito's own role session name is CognitoIdentityCredentials.
            "SessionName": loads(row["details"], {}).get("session_name") or "CognitoIdentityCredentials",
            "TokenMatches": session_token is not None and digests.matches(session_token, row["session_token_hash"])}


# -- role choice ------------------------------------------------------------------------
def _matches(rule: dict, claims: dict) -> bool:
    claim = claims.get(rule["Claim"])
    kind, value = rule["MatchType"], rule["Value"]
    if claim is None:
        return False
    values = [str(v) for v in claim] if isinstance(claim, list) else [_claim_text(claim)]
    if kind == "Equals":
        return any(v == value for v in values)
    if kind == "Contains":
        return any(value in v for v in values)
    if kind == "StartsWith":
        return any(v.startswith(value) for v in values)
    if kind == "NotEqual":
        return all(v != value for v in values)
    return False


def _claim_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mapping_for(mappings: dict, login: Login) -> dict | None:
    if login.kind == "userpool":
        return mappings.get(f"{login.provider}:{login.client_id}")
    return mappings.get(login.provider)


def choose_role(roles: dict, mappings: dict, logins: list[Login], custom_role: str | None) -> str:
    """The role AWS would assume for these logins (authenticated case)."""
    for login in logins:
        # A SAML assertion names its roles itself (CustomRoleArn picks one of several).
        role = saml_role(login, custom_role)
        if role:
            return role
    for login in logins:
        mapping = _mapping_for(mappings, login)
        if mapping is None:
            continue
        chosen = None
        if mapping["Type"] == "Token":
            token_roles = login.claims.get("cognito:roles") or []
            if isinstance(token_roles, str):
                token_roles = [token_roles]
            if custom_role:
                if custom_role not in token_roles:
                    raise errors.NotAuthorizedException(AMBIGUOUS_DENIED)
                chosen = custom_role
            elif login.claims.get("cognito:preferred_role"):
                chosen = login.claims["cognito:preferred_role"]
            elif len(token_roles) == 1:
                chosen = token_roles[0]
        else:
            matching = [r for r in (mapping.get("RulesConfiguration") or {}).get("Rules", [])
                        if _matches(r, login.claims)]
            if custom_role and any(r["RoleARN"] == custom_role for r in matching):
                chosen = custom_role
            elif matching:
                chosen = matching[0]["RoleARN"]
        if chosen:
            return chosen
        if mapping.get("AmbiguousRoleResolution") == "Deny":
            raise errors.NotAuthorizedException(AMBIGUOUS_DENIED)
        break
    role = roles.get("authenticated")
    if not role:
        raise errors.InvalidIdentityPoolConfigurationException(INVALID_CONFIG)
    return role


def principal_tags(db, pool_id: str, logins: list[Login]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for login in logins:
        for tag, claim in principal_tag_map(db, pool_id, login.provider).items():
            value = login.claims.get(claim)
            if value is not None:
                tags[tag] = value if isinstance(value, str) else _claim_text(value)
    return tags


@registry.handler
def get_credentials_for_identity(ctx, req):
    pool, _identity, logins, identity_id = identity_for_request(ctx, req["IdentityId"], req.get("Logins"))
    roles, mappings = load_roles(ctx.db, pool["IdentityPoolId"])
    proofs = [login for login in logins if login.kind == "cognito"]
    if not logins:
        role = roles.get("unauthenticated")
        if not role:
            raise errors.InvalidIdentityPoolConfigurationException(INVALID_CONFIG)
    elif proofs and all("authenticated" not in (p.claims.get("amr") or []) for p in proofs) \
            and len(proofs) == len(logins):
        role = roles.get("unauthenticated")
        if not role:
            raise errors.InvalidIdentityPoolConfigurationException(INVALID_CONFIG)
    else:
        role = choose_role(roles, mappings, logins, req.get("CustomRoleArn"))
    tags = principal_tags(ctx.db, pool["IdentityPoolId"], logins)
    creds = issue(ctx, role_arn=role, identity_id=identity_id, pool_id=pool["IdentityPoolId"],
                  details={"principal_tags": tags, "providers": [login.provider for login in logins]})
    return {"IdentityId": identity_id, "Credentials": creds}
