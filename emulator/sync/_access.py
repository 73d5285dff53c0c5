"""Who may touch what: identity pools and identities come from cognito-identity.

Cognito Sync asks the identity-pool package three things (its public contract):
`load_identity_pool(db, pool_id)` (raises ResourceNotFoundException),
`identity_exists(db, pool_id, identity_id)` and `identity_for_access_key(db, key, now, token)`.
A request signed with credentials that GetCredentialsForIdentity issued acts as that
identity and may touch only its data; any other signer is the account owner (developer).
"""

from __future__ import annotations

import dataclasses

from emulator.identitypools.credentials import identity_for_access_key
from emulator.identitypools.identities import identity_exists
from emulator.identitypools.pools import load_identity_pool
from emulator.sync import errors


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


def principal(ctx) -> Principal:
    """The caller of this request."""
    key = ctx.caller.access_key
    found = identity_for_access_key(ctx.db, key, ctx.now(), ctx.caller.security_token) if key else None
    if not found:
        return Principal(None, None, ctx.account_id)
    if not found["TokenMatches"]:
        raise errors.UnrecognizedClientException("The security token included in the request is invalid.", 403)
    if found["Expired"]:
        raise errors.ExpiredTokenException("The security token included in the request is expired",
                           403)
    return Principal(found["IdentityId"], found["IdentityPoolId"], ctx.account_id)


def check_pool(ctx, pool_id: str) -> Principal:
    """The identity pool exists and the caller is its developer (pool-wide APIs take no identity)."""
    who = principal(ctx)
    load_identity_pool(ctx.db, pool_id)
    if not who.is_developer:
        raise errors.NotAuthorizedException("This API can only be called with developer credentials.")
    return who


def check_identity(ctx, pool_id: str, identity_id: str, *, identity_only: bool = False) -> Principal:
    """The identity exists in the pool and the caller may touch its data."""
    who = principal(ctx)
    load_identity_pool(ctx.db, pool_id)
    if who.is_developer and identity_only:
        # AWS's answer to developer credentials on an identity-only API (aws/aws-sdk-php#494).
        raise errors.NotAuthorizedException("These credentials are not valid for accessing this resource")
    if not who.is_developer and (who.identity_id != identity_id
                                 or (who.pool_id and who.pool_id != pool_id)):
        raise errors.NotAuthorizedException(f"Access to Identity '{identity_id}' is forbidden.")
    if not identity_exists(ctx.db, pool_id, identity_id):
        raise errors.ResourceNotFoundException(f"Identity '{identity_id}' not found.")
    return who
