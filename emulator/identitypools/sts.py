"""STS on the emulator's port, for the basic (classic) flow: `AssumeRoleWithWebIdentity` with a
Cognito Identity OpenID token, a user pool ID token or a token of a mapped OpenID Connect issuer;
and `GetCallerIdentity`, which tells the role of credentials the emulator issued (as AWS does for
Cognito credentials). Other STS actions answer a clear error.

The protocol layer serves it from botocore's `sts` model like the other services: a request is
STS's when it is a form/query request to `/` carrying `Action=`, or is signed for the `sts`
service (protocol.router); input is read and validated from the query protocol's fields and
answers and errors are written as AWS's query-protocol XML (protocol.query).
"""

from __future__ import annotations

import hashlib
import re

from emulator.identitypools import credentials, logins, openid
from emulator.userpools.model import keys
from protocol import ServiceError
from protocol.errors import ErrorCatalog
from protocol.registry import Registry

registry = Registry("sts", validation_error="ValidationError")
# STS's error classes: the model's error shapes (InvalidIdentityTokenException answers the code
# InvalidIdentityToken) and the query protocol's common codes (ValidationError, ExpiredToken, ...).
errors = ErrorCatalog("sts", module=__name__)

ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")
INVALID_TOKEN = ("The web identity token that was passed could not be validated by AWS. Get a new identity "
                 "token from the identity provider and then retry the request.")


def _verify(ctx, token: str) -> tuple[dict, str, str | None, str | None]:
    """(claims, provider, identity id, identity pool id) of a web identity token."""
    claims = keys.unverified_claims(token)
    if not claims or not isinstance(claims.get("iss"), str):
        raise errors.InvalidIdentityTokenException(INVALID_TOKEN)
    iss = claims["iss"].rstrip("/")
    try:
        if iss == openid.ISSUER:
            verified = openid.verify_token(ctx, token)
            return verified, "cognito-identity.amazonaws.com", verified["sub"], verified["aud"]
        pool_id = keys.token_pool_id(token)
        if pool_id and keys.verify(ctx.db, pool_id, token) is not None and keys.issuer_matches(iss, pool_id):
            logins.check_expiry(claims, ctx.now())
            user_pool_token = True
        else:
            user_pool_token = False
            for provider, url in logins.oidc_issuer_map().items():
                if iss in (url.rstrip("/"), f"https://{provider}"):
                    login = logins._verify_oidc(ctx, provider, token, audiences=None)
                    return login.claims, provider, None, None
    except ServiceError as err:
        if "Token expired" in err.message:
            # STS's own wording for an expired web identity token.
            raise errors.ExpiredTokenException(
                f"Token expired: current date/time {int(ctx.now())} must be before the expiration "
                f"date/time {int(claims['exp'])}") from None
        raise errors.InvalidIdentityTokenException(INVALID_TOKEN) from None
    if user_pool_token:
        if claims.get("token_use") != "id":
            raise errors.InvalidIdentityTokenException(INVALID_TOKEN)
        return claims, iss.split("://", 1)[-1], None, None
    raise errors.InvalidIdentityTokenException(f"No OpenIDConnect provider found in your account for {iss}")


def _assumed_role_id(role_arn: str) -> str:
    digest = hashlib.sha256(role_arn.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AROA" + "".join(alphabet[b % 32] for b in digest[:17])


# The handlers' answers list their members in the order AWS writes them (protocol.query keeps it).
@registry.handler
def assume_role_with_web_identity(ctx, req: dict) -> dict:
    match = ROLE_ARN.match(req["RoleArn"])
    if not match:
        raise errors.ValidationError("Request ARN is invalid")
    role_name = match.group(2)
    claims, provider, identity_id, pool_id = _verify(ctx, req["WebIdentityToken"])
    duration = req.get("DurationSeconds", 3600)
    session = req["RoleSessionName"]
    creds = credentials.issue(ctx, role_arn=req["RoleArn"], identity_id=identity_id, pool_id=pool_id,
                              duration=duration, details={"via": "sts", "provider": provider,
                                                          "session_name": session})
    aud = claims.get("aud")
    aud = aud[0] if isinstance(aud, list) and aud else aud
    return {
        "SubjectFromWebIdentityToken": str(claims.get("sub", "")),
        "Audience": str(aud or ""),
        "AssumedRoleUser": {"Arn": f"arn:aws:sts::{match.group(1)}:assumed-role/{role_name}/{session}",
                            "AssumedRoleId": f"{_assumed_role_id(req['RoleArn'])}:{session}"},
        "Credentials": {"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretKey"],
                        "SessionToken": creds["SessionToken"], "Expiration": creds["Expiration"]},
        "Provider": provider,
    }


@registry.handler
def get_caller_identity(ctx, req: dict) -> dict:
    # The dispatcher refuses an unsigned call (MissingAuthenticationToken) before it gets here.
    caller = ctx.caller
    account = ctx.account_id
    found = credentials.identity_for_access_key(ctx.db, caller.access_key, ctx.now(), caller.security_token)
    if found is None:
        return {"Arn": f"arn:aws:iam::{account}:root", "UserId": account, "Account": account}
    if not found["TokenMatches"]:
        raise errors.InvalidClientTokenId("The security token included in the request is invalid.")
    if found["Expired"]:
        raise errors.ExpiredToken("The security token included in the request is expired")
    match = ROLE_ARN.match(found["RoleArn"])
    role_account, role_name = (match.group(1), match.group(2)) if match else \
        (account, found["RoleArn"].rsplit("/", 1)[-1])
    session = found["SessionName"]
    return {"Arn": f"arn:aws:sts::{role_account}:assumed-role/{role_name}/{session}",
            "UserId": f"{_assumed_role_id(found['RoleArn'])}:{session}", "Account": role_account}


def install(emulator) -> None:
    emulator.add_service(registry)
