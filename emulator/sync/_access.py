"""Who may touch what: identity pools and identities come from cognito-identity.

Cognito Sync asks the identity-pool package three things (its public contract):
`load_identity_pool(db, pool_id)` (raises ResourceNotFoundException),
`identity_exists(db, pool_id, identity_id)` and `identity_for_access_key(db, key, now)`.
A request signed with credentials that GetCredentialsForIdentity issued acts as that
identity and may touch only its data; any other signer is the account owner (developer).
"""

from __future__ import annotations

import dataclasses

from protocol import ServiceError


@dataclasses.dataclass(frozen=True)
class Principal:
    """The caller: an identity (Cognito credentials) or the developer (account credentials)."""

    identity_id: str | None
    pool_id: str | None
    account_id: str

    @property
    def is_developer(self) -> bool:
        return self.identity_id is None

    @property
    def name(self) -> str:
        """What LastModifiedBy records for this caller."""
        return self.identity_id or self.account_id


def load_pool(db, pool_id: str) -> dict:
    try:
        from emulator.identitypools.pools import load_identity_pool
    except ImportError:  # no identity pools in this build: none can exist
        raise ServiceError("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.") from None
    return load_identity_pool(db, pool_id)


def principal(ctx) -> Principal:
    """The caller of this request."""
    key = ctx.caller.access_key
    found = None
    if key:
        try:
            from emulator.identitypools.credentials import identity_for_access_key
        except ImportError:  # identity pools not available: every signer is the developer
            identity_for_access_key = None
        if identity_for_access_key is not None:
            found = identity_for_access_key(ctx.db, key, ctx.now())
    if not found:
        return Principal(None, None, ctx.account_id)
    from emulator.identitypools import credentials
    matches = getattr(credentials, "session_token_matches", None)
    if matches is not None and not matches(ctx.db, key, ctx.caller.security_token):
        raise ServiceError("UnrecognizedClientException",
                           "The security token included in the request is invalid.", 403)
    expiration = found.get("Expiration")
    if found.get("Expired") or (expiration is not None and float(_epoch(expiration)) <= ctx.now()):
        raise ServiceError("ExpiredTokenException", "The security token included in the request is expired",
                           403)
    return Principal(found["IdentityId"], found.get("IdentityPoolId"), ctx.account_id)


def _epoch(value) -> float:
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value)


def check_pool(ctx, pool_id: str, *, developer_only: bool = False) -> Principal:
    """The identity pool exists and the caller may act on it as a whole."""
    who = principal(ctx)
    load_pool(ctx.db, pool_id)
    if developer_only and not who.is_developer:
        raise ServiceError("NotAuthorizedException",
                           "This API can only be called with developer credentials.")
    if not who.is_developer and who.pool_id and who.pool_id != pool_id:
        raise ServiceError("NotAuthorizedException", f"Access to IdentityPool '{pool_id}' is forbidden.")
    return who


def check_identity(ctx, pool_id: str, identity_id: str, *, identity_only: bool = False) -> Principal:
    """The identity exists in the pool and the caller may touch its data."""
    who = principal(ctx)
    load_pool(ctx.db, pool_id)
    if who.is_developer and identity_only:
        # AWS's answer to developer credentials on an identity-only API (aws/aws-sdk-php#494).
        raise ServiceError("NotAuthorizedException", "These credentials are not valid for accessing this resource")
    if not who.is_developer and (who.identity_id != identity_id
                                 or (who.pool_id and who.pool_id != pool_id)):
        raise ServiceError("NotAuthorizedException", f"Access to Identity '{identity_id}' is forbidden.")
    try:
        from emulator.identitypools.identities import identity_exists
    except ImportError:
        identity_exists = None
    if identity_exists is None or not identity_exists(ctx.db, pool_id, identity_id):
        raise ServiceError("ResourceNotFoundException", f"Identity '{identity_id}' not found.")
    return who
