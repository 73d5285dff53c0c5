"""GetProvisionedLimit / UpdateProvisionedLimit: the provisioned request rate (RPS) of a user pool
API category, per account and region. The emulator stores and echoes it (it does not throttle);
the value must lie between the category's free (default) rate and the account maximum.
"""

from __future__ import annotations

from emulator.store import register_schema
from emulator.userpools import errors, registry

register_schema("userpools.provisioned_limits", [
    """
    CREATE TABLE provisioned_limits (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        category TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (account_id, region, category)
    );
    """,
])

# Default (free) request rates of the user pool API categories, from the Cognito quotas page.
FREE_LIMITS = {
    "UserAuthentication": 120, "UserCreation": 50, "UserFederation": 25, "UserAccountRecovery": 30,
    "UserRead": 120, "UserUpdate": 25, "UserResourceRead": 50, "UserResourceUpdate": 25, "UserList": 30,
    "UserPoolRead": 15, "UserPoolUpdate": 15, "UserPoolResourceRead": 20, "UserPoolResourceUpdate": 15,
    "UserPoolClientRead": 15, "UserPoolClientUpdate": 15, "ClientAuthentication": 150,
}
# The account-level Service Quotas maximum, as a multiple of the free rate (the emulator's choice).
MAX_FACTOR = 10


def _category(definition: dict) -> str:
    attributes = definition.get("Attributes") or {}
    if set(attributes) != {"Category"}:
        raise errors.InvalidParameterException("Attributes must contain exactly one key, Category, for the API_CATEGORY limit class.")
    category = attributes["Category"]
    if category not in FREE_LIMITS:
        raise errors.ResourceNotFoundException(f"Limit for category {category} does not exist.")
    return category


def _limit(ctx, category: str) -> dict:
    row = ctx.db.execute("SELECT value FROM provisioned_limits WHERE account_id = ? AND region = ? AND category = ?",
                         (ctx.account_id, ctx.region, category)).fetchone()
    free = FREE_LIMITS[category]
    return {"LimitDefinition": {"LimitClass": "API_CATEGORY", "Attributes": {"Category": category}},
            "ProvisionedLimitValue": row["value"] if row is not None else free,
            "FreeLimitValue": free}


@registry.handler
def get_provisioned_limit(ctx, req):
    return {"Limit": _limit(ctx, _category(req["LimitDefinition"]))}


@registry.handler
def update_provisioned_limit(ctx, req):
    category = _category(req["LimitDefinition"])
    value = req["RequestedLimitValue"]
    free = FREE_LIMITS[category]
    if value < free:
        raise errors.InvalidParameterException(f"RequestedLimitValue {value} is below the default limit of {free} for {category}.")
    maximum = free * MAX_FACTOR
    if value > maximum:
        raise errors.ServiceQuotaExceededException(f"RequestedLimitValue {value} exceeds the account maximum of {maximum} for {category}.")
    ctx.db.execute("DELETE FROM provisioned_limits WHERE account_id = ? AND region = ? AND category = ?",
                   (ctx.account_id, ctx.region, category))
    ctx.db.execute("INSERT INTO provisioned_limits(account_id, region, category, value) VALUES(?,?,?,?)",
                   (ctx.account_id, ctx.region, category, value))
    return {"Limit": _limit(ctx, category)}
