"""What API Gateway's Cognito authorizers decide, and how they refuse.

REST API, `COGNITO_USER_POOLS`: the identity source header holds the token (a `Bearer ` prefix
is accepted). A method without OAuth scopes takes an ID token; a method with scopes takes an
access token carrying at least one of them. Every refusal is 401 `{"message":"Unauthorized"}`
(gateway response UNAUTHORIZED, `x-amzn-ErrorType: UnauthorizedException`) except an expired
token: 401 `{"message":"The incoming token has expired"}`.

HTTP API, `JWT`: issuer, then audience (`aud`, or `client_id` when the token has no `aud`),
then scopes. A bad token is 401 `{"message":"Unauthorized"}` with a `www-authenticate: Bearer`
header saying why; a token without any of the route's scopes is 403 `{"message":"Forbidden"}`
(`error="insufficient_scope"`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from emulator.gateway.routes import Route
from emulator.gateway.verifier import EmulatorUnreachable, Refused, Verifier, pool_of, unverified

UNAUTHORIZED = "Unauthorized"
EXPIRED = "The incoming token has expired"
# HTTP API www-authenticate error descriptions, by verification failure.
_HTTP_REASONS = {
    "malformed": "the token is malformed",
    "pool": "the token does not have a valid issuer",
    "issuer": "the token does not have a valid issuer",
    "signature": "the token signature is invalid",
    "expired": "the token has expired",
    "revoked": "the token has been revoked",
    "audience": "the token does not have a valid audience",
}


@dataclasses.dataclass
class Decision:
    """Allowed (`claims`, `scopes`) or refused (`status`, `message`, extra `headers`)."""

    claims: dict | None = None
    scopes: list[str] | None = None
    status: int = 200
    message: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    error_type: str | None = None

    @property
    def allowed(self) -> bool:
        return self.claims is not None


def _token(headers: Mapping[str, str], source: str) -> str | None:
    value = (headers.get(source) or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def _scopes(claims: dict) -> list[str]:
    scope = claims.get("scope")
    return scope.split() if isinstance(scope, str) else []


def authorize(route: Route, headers: Mapping[str, str], verifier: Verifier) -> Decision:
    """The authorizer's decision for a request to `route` (which has an authorizer)."""
    authorizer = route.authorizer
    assert authorizer is not None
    token = _token(headers, authorizer.identity_source)
    try:
        if authorizer.type == "COGNITO_USER_POOLS":
            return _rest(route, token, verifier)
        return _jwt(route, token, verifier)
    except EmulatorUnreachable:
        # API Gateway's AUTHORIZER_CONFIGURATION_ERROR: the authorizer could not decide.
        if route.api == "rest":
            return Decision(status=500, message="Internal server error",
                            error_type="AuthorizerConfigurationException")
        return Decision(status=500, message="Internal Server Error")


def _rest(route: Route, token: str | None, verifier: Verifier) -> Decision:
    def refuse(message: str = UNAUTHORIZED) -> Decision:
        return Decision(status=401, message=message, error_type="UnauthorizedException")

    if token is None:
        return refuse()
    authorizer = route.authorizer
    try:
        unverified(token)
        pool_id = pool_of(token)
        if pool_id not in authorizer.pools:
            return refuse()
        claims = verifier.verify(pool_id, token, check_revocation=authorizer.check_revocation)
    except Refused as err:
        return refuse(EXPIRED if err.reason == "expired" else UNAUTHORIZED)
    if route.scopes:
        granted = _scopes(claims)
        if claims.get("token_use") != "access" or not set(granted) & set(route.scopes):
            return refuse()
        return Decision(claims=claims, scopes=granted)
    if claims.get("token_use") != "id":
        return refuse()
    return Decision(claims=claims)


def _jwt(route: Route, token: str | None, verifier: Verifier) -> Decision:
    authorizer = route.authorizer
    wanted = " ".join(route.scopes)

    def refuse(reason: str) -> Decision:
        return Decision(status=401, message=UNAUTHORIZED, headers={
            "www-authenticate": f'Bearer scope="{wanted}" error="invalid_token" '
                                f'error_description="{_HTTP_REASONS[reason]}"'})

    if token is None:
        return Decision(status=401, message=UNAUTHORIZED)
    try:
        unverified(token)
        pool_id = pool_of(token)
        # The configured issuer names the pool (in the emulator's or in AWS's URL form).
        if not pool_id or authorizer.issuer.rstrip("/").rsplit("/", 1)[-1] != pool_id:
            return refuse("issuer")
        claims = verifier.verify(pool_id, token, check_revocation=authorizer.check_revocation)
    except Refused as err:
        return refuse(err.reason)
    audience = claims["aud"] if "aud" in claims else claims.get("client_id")
    if audience not in authorizer.audience:
        return refuse("audience")
    granted = _scopes(claims)
    if route.scopes and not set(granted) & set(route.scopes):
        return Decision(status=403, message="Forbidden", headers={
            "www-authenticate": f'Bearer scope="{wanted}" error="insufficient_scope" '
                                f'error_description="expected scopes: [{wanted}]"'})
    return Decision(claims=claims, scopes=granted or None)
