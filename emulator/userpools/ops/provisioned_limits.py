"""GetProvisionedLimit / UpdateProvisionedLimit: the provisioned request rate (RPS) of a user pool
API category, per account and region. The value must lie between the category's free (default)
rate and the account maximum; with `--throttle aws` it is the category's quota (emulator/throttling.py).
"""

from __future__ import annotations

from emulator.quotas import USER_POOL_RATES
from emulator.userpools import errors, registry
from emulator.userpools.model import provisioned_limits

# Default (free) request rates of the user pool API categories, from the Cognito quotas page.
FREE_LIMITS = USER_POOL_RATES
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
    value = provisioned_limits.provisioned(ctx.db, ctx.account_id, ctx.region, category)
    free = FREE_LIMITS[category]
    return {"LimitDefinition": {"LimitClass": "API_CATEGORY", "Attributes": {"Category": category}},
            "ProvisionedLimitValue": value if value is not None else free,
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
    provisioned_limits.provision(ctx.db, ctx.account_id, ctx.region, category, value)
    return {"Limit": _limit(ctx, category)}
