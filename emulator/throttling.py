"""Opt-in throttling (`--throttle aws`): AWS's request-rate quotas (emulator/quotas.py), answered
with TooManyRequestsException "Rate exceeded" as AWS answers them, so apps can test their retries.

Each quota is a token bucket on the emulator's clock: it holds at most one second's worth of
requests (AWS documents no burst) and refills at the quota's rate. A request takes one token from
every bucket it counts against (its category's, per account and Region; its operation's in its user
pool for the categories limited per user pool); it is refused when one of them has less than a whole
token, and then takes none. Buckets are rows of one table, read and written in the operation's own
transaction, so every thread and process sharing the data directory sees the same counts, and with a
frozen clock a refusal is exact: N requests pass, the next is refused. Tokens are counted in
millionths and time in microseconds, as integers, so that no rounding lets one request more or fewer
through. A request that passes stays counted even if the operation then fails, as on AWS.

A quota is AWS's default times `--throttle-scale`, or the account's provisioned limit of the category
(UpdateProvisionedLimit) times the scale, or the number `--throttle-rates` sets outright for it.
"""

from __future__ import annotations

import json

from emulator import quotas
from emulator.identitypools import errors as identity_errors
from emulator.store import register_schema
from emulator.userpools import errors as user_pool_errors
from emulator.userpools.model import provisioned_limits, replicas

register_schema("throttling", [
    """
    CREATE TABLE throttle_buckets (
        bucket TEXT PRIMARY KEY,
        tokens INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    );
    """,
])

MODES = ("off", "aws")
# --throttle-rates key of the per-user-pool, per-operation quota of the categories limited per pool.
PER_POOL = "PerUserPool"
ONE = 1_000_000  # a whole token, in millionths
ERRORS = {"cognito-idp": user_pool_errors, "cognito-identity": identity_errors}


class ThrottleSettingsError(ValueError):
    """A throttling setting that cannot be used."""


def _rates(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    try:
        rates = json.loads(text)
    except ValueError as err:
        raise ThrottleSettingsError(f"COGNITO_EMULATOR_THROTTLE_RATES is not JSON: {err}") from None
    if not isinstance(rates, dict):
        raise ThrottleSettingsError("COGNITO_EMULATOR_THROTTLE_RATES must be a JSON object")
    known = set(quotas.USER_POOL_RATES) | set(quotas.IDENTITY_POOL_RATES) | {PER_POOL}
    for name, value in rates.items():
        if name not in known:
            raise ThrottleSettingsError(f"COGNITO_EMULATOR_THROTTLE_RATES: {name} is no quota; known: "
                                        + ", ".join(sorted(known)))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ThrottleSettingsError(f"COGNITO_EMULATOR_THROTTLE_RATES: {name} must be a positive number")
    return {name: float(value) for name, value in rates.items()}


class Throttle:
    def __init__(self, scale: float, rates: dict[str, float]) -> None:
        self.scale = scale
        self.rates = rates

    def _scaled(self, name: str, aws: float) -> float:
        return self.rates[name] if name in self.rates else aws * self.scale

    def _category_rate(self, ctx, region: str, category: str) -> float:
        value = provisioned_limits.provisioned(ctx.db, ctx.account_id, region, category)
        if value is not None:
            return value * self.scale
        return self._scaled(category, quotas.USER_POOL_RATES[category])

    def charges(self, ctx, params: dict) -> list[list[tuple[str, float]]]:
        """The buckets the request takes a token from: for each charge, the (bucket, rate)
        alternatives in order (the first with a token pays)."""
        region = replicas.request_region(ctx) or ctx.region
        scope = f"{ctx.account_id}|{region}"
        operation = ctx.operation
        if ctx.service == "cognito-identity":
            if operation not in quotas.IDENTITY_POOL_RATES:
                return []
            rate = self._scaled(operation, quotas.IDENTITY_POOL_RATES[operation])
            return [[(f"{scope}|cognito-identity|{operation}", rate)]]
        if ctx.service != "cognito-idp":
            return []
        category = quotas.USER_POOL_CATEGORIES.get(operation)
        if category is None:  # an operation newer than the table (tests/test_throttling.py catches it)
            return []
        rate = self._category_rate(ctx, region, category)
        charge = [(f"{scope}|{category}", rate)]
        if operation in quotas.CHALLENGE_OPERATIONS:
            charge.insert(0, (f"{scope}|{category}|challenges", rate * quotas.CHALLENGE_FACTOR))
        charges = [charge]
        pool_id = params.get("UserPoolId")
        if category in quotas.PER_POOL_CATEGORIES and isinstance(pool_id, str):
            per_pool = self._scaled(PER_POOL, quotas.PER_POOL_RATE)
            charges.append([(f"{scope}|{pool_id}|{operation}", per_pool)])
        return charges

    def check(self, ctx, params: dict) -> None:
        """The before_invoke check: take the request's tokens, or refuse it."""
        charges = self.charges(ctx, params)
        if not charges:
            return
        now_us = round(ctx.now() * 1_000_000)
        for alternatives in charges:
            if not any(_take(ctx.db, bucket, rate, now_us) for bucket, rate in alternatives):
                raise ERRORS[ctx.service].TooManyRequestsException(quotas.MESSAGE)
        # Counted although the operation fails after this (a wrong password is a request too).
        ctx.commit_now()


def _take(db, bucket: str, rate: float, now_us: int) -> bool:
    """Take one token from `bucket` (refilled at `rate` per second up to one second's worth, at
    least one token); False, and nothing taken, when it has less than one."""
    per_second = max(1, round(rate * ONE))
    capacity = max(ONE, per_second)
    row = db.execute("SELECT tokens, updated_us FROM throttle_buckets WHERE bucket = ?", (bucket,)).fetchone()
    if row is None:
        tokens = capacity
    else:
        elapsed = max(0, now_us - row["updated_us"])
        tokens = min(capacity, row["tokens"] + elapsed * per_second // 1_000_000)
    if tokens < ONE:
        return False
    db.execute("INSERT INTO throttle_buckets(bucket, tokens, updated_us) VALUES(?, ?, ?) "
               "ON CONFLICT(bucket) DO UPDATE SET tokens = excluded.tokens, updated_us = excluded.updated_us",
               (bucket, tokens - ONE, now_us))
    return True


def from_config(config) -> Throttle | None:
    """The Throttle the settings ask for (None: off); ThrottleSettingsError when they make no sense."""
    mode = (config.throttle or "off").strip().lower()
    if mode not in MODES:
        raise ThrottleSettingsError(f"--throttle must be one of {', '.join(MODES)}, not {config.throttle!r}")
    if not config.throttle_scale > 0:
        raise ThrottleSettingsError("--throttle-scale must be a positive number")
    rates = _rates(config.throttle_rates)
    return Throttle(config.throttle_scale, rates) if mode == "aws" else None


def install(emulator) -> None:
    """Check every API request first (before other checks may refuse it: a refused request counts)."""
    throttle = from_config(emulator.config)
    if throttle is not None:
        emulator.before_invoke.insert(0, throttle.check)
