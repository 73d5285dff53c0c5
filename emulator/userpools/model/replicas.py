"""Multi-Region replication: CreateUserPoolReplica, Update, Delete, List.

A replica is the same user pool (same id, same user directory) served in another Region; the
Region of a request is the one in its SigV4 credential scope. The pool's own Region is its
PRIMARY replica. A SECONDARY replica starts INACTIVE (administrator operations only), can be
made ACTIVE (end users may sign in, but nothing that creates or changes users), and must be
INACTIVE to be deleted. Replication settles as soon as the next request arrives: a replica is
CREATING (or DELETING) only in the answer of the request that created (or deleted) it.
"""

from __future__ import annotations

import re
import sqlite3

from emulator.store import loads, register_schema
from emulator.userpools import errors
from emulator.userpools.model import clients

register_schema("userpools.replicas", [
    """
    CREATE TABLE user_pool_replicas (
        pool_id TEXT NOT NULL,
        region TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL,
        changed REAL NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, region)
    );
    """,
], owned={"user_pool": ("user_pool_replicas",)})

MAX_SECONDARY = 1
PAGE = 60
TIER_UNAVAILABLE = "Multi-Region replication is available only in the ESSENTIALS and PLUS feature plans."
PRIMARY_ONLY = "This operation must be called from the primary Region {region} of user pool {pool}."
NOT_IN_SECONDARY = "This operation is not available in a secondary Region of user pool {pool}."
INACTIVE_REPLICA = "The replica of user pool {pool} in Region {region} is INACTIVE and doesn't accept end-user requests."

# Administrator operations allowed in a secondary Region: reads, and settings that belong to
# the replica (email and SMS configuration, Lambda triggers, tags, log export, WAF).
_SECONDARY_ADMIN_WRITES = frozenset({
    "UpdateUserPool", "TagResource", "UntagResource", "SetLogDeliveryConfiguration", "UpdateUserPoolReplica",
    "SetRiskConfiguration",
})
# End-user operations: authorized by a client id, a session or an access token.
_END_USER = frozenset({
    "InitiateAuth", "RespondToAuthChallenge", "SignUp", "ConfirmSignUp", "ForgotPassword", "ConfirmForgotPassword",
    "ResendConfirmationCode", "GetUser", "UpdateUserAttributes", "DeleteUser", "DeleteUserAttributes",
    "ChangePassword", "GlobalSignOut", "RevokeToken", "GetTokensFromRefreshToken", "VerifyUserAttribute",
    "GetUserAttributeVerificationCode", "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference",
    "SetUserSettings", "ConfirmDevice", "GetDevice", "ListDevices", "ForgetDevice", "UpdateDeviceStatus",
    "GetUserAuthFactors", "StartWebAuthnRegistration", "CompleteWebAuthnRegistration", "ListWebAuthnCredentials",
    "DeleteWebAuthnCredential", "UpdateAuthEventFeedback", "ListUserSessions", "RevokeUserSession",
    "GetClientToken", "GetDerivedToken",
})
# End-user operations that create or change users, and TOTP: not served by a secondary replica.
_END_USER_WRITES = frozenset({
    "SignUp", "ConfirmSignUp", "ForgotPassword", "ConfirmForgotPassword", "ResendConfirmationCode",
    "UpdateUserAttributes", "DeleteUser", "DeleteUserAttributes", "ChangePassword", "VerifyUserAttribute",
    "GetUserAttributeVerificationCode", "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference",
    "SetUserSettings", "StartWebAuthnRegistration", "CompleteWebAuthnRegistration", "DeleteWebAuthnCredential",
})
_ADMIN_SIGN_IN = frozenset({"AdminInitiateAuth", "AdminRespondToAuthChallenge"})
_ADMIN_READS = frozenset({"AdminGetUser", "AdminGetDevice", "AdminListDevices", "AdminListGroupsForUser",
                          "AdminListUserAuthEvents", "AdminGetUserAuthFactors", "AdminListUserSessions",
                          "AdminUserGlobalSignOut"})
_OWN = frozenset({"CreateUserPoolReplica", "DeleteUserPoolReplica", "ListUserPoolReplicas",
                  "InitiatePointInTimeRecovery"})

_HOST_REGION = re.compile(r"(?:^|\.)cognito-idp\.([a-z]{2}(?:-[a-z]+)+-\d+)\.")
_regions: set[str] | None = None


def known_regions() -> set[str]:
    global _regions
    if _regions is None:
        import botocore.session  # a botocore session would add 23 ms to every start

        session = botocore.session.get_session()
        found: set[str] = set()
        for partition in session.get_available_partitions():
            found.update(session.get_available_regions("cognito-idp", partition))
        _regions = found
    return _regions


# -- contracts for other modules -------------------------------------------------------------
def primary_region(pool: dict) -> str:
    return pool["Id"].split("_", 1)[0]


def settled(row, now: float) -> str | None:
    """The replica's status now (None once a deletion has completed)."""
    status = row["status"]
    if status == "CREATING" and now >= row["changed"]:
        return "INACTIVE"
    if status == "DELETING" and now >= row["changed"]:
        return None
    return status


def replica(db: sqlite3.Connection, pool_id: str, region: str, now: float) -> dict | None:
    """The secondary replica of a pool in `region` ({"Region", "Status", ...}), or None."""
    row = db.execute("SELECT * FROM user_pool_replicas WHERE pool_id = ? AND region = ?",
                     (pool_id, region)).fetchone()
    if row is None:
        return None
    status = settled(row, now)
    if status is None:
        return None
    return {"Region": row["region"], "Status": status, "Created": row["created"], "Tags": loads(row["data"], {})}


def replication_pending(db: sqlite3.Connection, pool_id: str, now: float) -> bool:
    """Whether a replica of the pool is still being created."""
    return any(settled(r, now) == "CREATING"
               for r in db.execute("SELECT * FROM user_pool_replicas WHERE pool_id = ?", (pool_id,)))


# -- operations ------------------------------------------------------------------------------


# -- requests that reach a secondary Region ------------------------------------------------------
def request_region(ctx) -> str | None:
    """The Region a request was sent to: its SigV4 scope, else (unsigned end-user calls) a
    `cognito-idp.{region}.` host name; None when it names none."""
    if ctx.caller.region:
        return ctx.caller.region
    host = (ctx.request.host if ctx.request is not None else "") or ""
    match = _HOST_REGION.search(host.split(":", 1)[0].lower())
    return match.group(1) if match else None


def _check_region(ctx, params: dict) -> None:
    if ctx.service != "cognito-idp" or ctx.operation in _OWN:
        return
    region = request_region(ctx)
    if region is None:
        return
    pool_id = clients.pool_id_of(ctx.db, params)
    if not pool_id or pool_id.split("_", 1)[0] == region:
        return
    found = replica(ctx.db, pool_id, region, ctx.now())
    if found is None:
        return
    operation = ctx.operation
    if operation in _END_USER or operation in _ADMIN_SIGN_IN:
        if found["Status"] != "ACTIVE":
            raise errors.OperationNotEnabledException(INACTIVE_REPLICA.format(pool=pool_id, region=region))
        if operation in _END_USER_WRITES:
            raise errors.OperationNotEnabledException(NOT_IN_SECONDARY.format(pool=pool_id))
        return
    if operation in _SECONDARY_ADMIN_WRITES or operation.startswith(("Describe", "Get", "List")) \
            or operation in _ADMIN_READS:
        return
    raise errors.OperationNotEnabledException(NOT_IN_SECONDARY.format(pool=pool_id))


def install(emulator) -> None:
    emulator.before_invoke.append(_check_region)
