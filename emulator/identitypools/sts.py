"""STS on the emulator's port, for the basic (classic) flow: `AssumeRoleWithWebIdentity`
(query protocol, XML answers) with a Cognito Identity OpenID token, a user pool ID token or
a token of a mapped OpenID Connect issuer; and `GetCallerIdentity`, which tells the role of
credentials the emulator issued (as AWS does for Cognito credentials). Other STS actions
answer a clear XML error.

A request is STS's when it is a form/query request to `/` carrying `Action=`, or is signed
for the `sts` service.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import uuid
from xml.sax.saxutils import escape

import botocore.session
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from emulator.identitypools import credentials, logins, openid
from emulator.userpools import keys
from protocol import ServiceError
from protocol.sigv4 import SignatureError, read_caller
from protocol.validate import validate_input

log = logging.getLogger("cognito_emulator.sts")

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$")
INVALID_TOKEN = ("The web identity token that was passed could not be validated by AWS. Get a new identity "
                 "token from the identity provider and then retry the request.")

_model = None


def _sts_model():
    global _model
    if _model is None:
        _model = botocore.session.get_session().get_service_model("sts")
    return _model


class StsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.sender = code, message, status, sender


def is_sts_request(request: Request) -> bool:
    caller = read_caller(request.headers, request.args)
    if caller.service == "sts":
        return True
    if request.path not in ("/", ""):
        return False
    if request.method == "GET":
        return "Action" in request.args
    return request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded" \
        and "Action" in request.form


def _xml_error(err: StsError, request_id: str) -> Response:
    body = (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{"Sender" if err.sender else "Receiver"}</Type>'
            f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    return Response(body, err.status, content_type="text/xml", headers={"x-amzn-RequestId": request_id})


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _params(request: Request) -> dict:
    values = request.form if request.method == "POST" else request.args
    params: dict = {}
    for name in ("RoleArn", "RoleSessionName", "WebIdentityToken", "ProviderId", "Policy"):
        if name in values:
            params[name] = values[name]
    if "DurationSeconds" in values:
        try:
            params["DurationSeconds"] = int(values["DurationSeconds"])
        except ValueError:
            raise StsError("ValidationError", f"Value '{values['DurationSeconds']}' at 'durationSeconds' failed "
                           "to satisfy constraint: Member must be a number") from None
    shape = _sts_model().operation_model("AssumeRoleWithWebIdentity").input_shape
    try:
        return validate_input(shape, params, "ValidationError")
    except ServiceError as err:
        raise StsError("ValidationError", err.message) from None


def _verify(ctx, token: str) -> tuple[dict, str, str | None, str | None]:
    """(claims, provider, identity id, identity pool id) of a web identity token."""
    claims = keys.unverified_claims(token)
    if not claims or not isinstance(claims.get("iss"), str):
        raise StsError("InvalidIdentityToken", INVALID_TOKEN)
    iss = claims["iss"].rstrip("/")
    try:
        if iss == openid.ISSUER:
            verified = openid.verify_token(ctx, token)
            return verified, "cognito-identity.amazonaws.com", verified["sub"], verified["aud"]
        pool_id = keys.token_pool_id(token)
        if pool_id and keys.verify(ctx.db, pool_id, token) is not None and keys.issuer_matches(iss, pool_id):
            logins.check_expiry(claims, ctx.now())
            if claims.get("token_use") != "id":
                raise StsError("InvalidIdentityToken", INVALID_TOKEN)
            return claims, iss.split("://", 1)[-1], None, None
        for provider, url in logins.oidc_issuer_map().items():
            if iss in (url.rstrip("/"), f"https://{provider}"):
                login = logins._verify_oidc(ctx, provider, token, audiences=None)
                return login.claims, provider, None, None
    except ServiceError as err:
        if "Token expired" in err.message:
            # STS's own wording for an expired web identity token.
            raise StsError("ExpiredTokenException",
                           f"Token expired: current date/time {int(ctx.now())} must be before the expiration "
                           f"date/time {int(claims['exp'])}") from None
        raise StsError("InvalidIdentityToken", INVALID_TOKEN) from None
    raise StsError("InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {iss}")


def _assumed_role_id(role_arn: str) -> str:
    digest = hashlib.sha256(role_arn.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AROA" + "".join(alphabet[b % 32] for b in digest[:17])


def assume_role_with_web_identity(ctx, params: dict, request_id: str) -> str:
    match = ROLE_ARN.match(params["RoleArn"])
    if not match:
        raise StsError("ValidationError", "Request ARN is invalid")
    role_name = match.group(2)
    claims, provider, identity_id, pool_id = _verify(ctx, params["WebIdentityToken"])
    duration = params.get("DurationSeconds", 3600)
    session = params["RoleSessionName"]
    creds = credentials.issue(ctx, role_arn=params["RoleArn"], identity_id=identity_id, pool_id=pool_id,
                              duration=duration, details={"via": "sts", "provider": provider,
                                                          "session_name": session})
    aud = claims.get("aud")
    aud = aud[0] if isinstance(aud, list) and aud else aud
    return (f'<AssumeRoleWithWebIdentityResponse xmlns="{NAMESPACE}"><AssumeRoleWithWebIdentityResult>'
            f"<SubjectFromWebIdentityToken>{escape(str(claims.get('sub', '')))}</SubjectFromWebIdentityToken>"
            f"<Audience>{escape(str(aud or ''))}</Audience>"
            f"<AssumedRoleUser><Arn>arn:aws:sts::{match.group(1)}:assumed-role/{escape(role_name)}/"
            f"{escape(session)}</Arn><AssumedRoleId>{_assumed_role_id(params['RoleArn'])}:{escape(session)}"
            f"</AssumedRoleId></AssumedRoleUser>"
            f"<Credentials><AccessKeyId>{creds['AccessKeyId']}</AccessKeyId>"
            f"<SecretAccessKey>{escape(creds['SecretKey'])}</SecretAccessKey>"
            f"<SessionToken>{escape(creds['SessionToken'])}</SessionToken>"
            f"<Expiration>{_iso(creds['Expiration'])}</Expiration></Credentials>"
            f"<Provider>{escape(provider)}</Provider>"
            f"</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>{request_id}</RequestId>"
            f"</ResponseMetadata></AssumeRoleWithWebIdentityResponse>")


def get_caller_identity(ctx, request: Request, request_id: str) -> str:
    caller = read_caller(request.headers, request.args)
    if not caller.signed:
        raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    account = ctx.account_id
    found = credentials.identity_for_access_key(ctx.db, caller.access_key, ctx.now(), caller.security_token)
    if found is None:
        arn, user_id = f"arn:aws:iam::{account}:root", account
    else:
        if not found["TokenMatches"]:
            raise StsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403)
        if found["Expired"]:
            raise StsError("ExpiredToken", "The security token included in the request is expired", 403)
        match = ROLE_ARN.match(found["RoleArn"])
        role_account, role_name = (match.group(1), match.group(2)) if match else \
            (account, found["RoleArn"].rsplit("/", 1)[-1])
        session = found["SessionName"]
        arn = f"arn:aws:sts::{role_account}:assumed-role/{role_name}/{session}"
        user_id, account = f"{_assumed_role_id(found['RoleArn'])}:{session}", role_account
    return (f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
            f"<Arn>{escape(arn)}</Arn><UserId>{escape(user_id)}</UserId><Account>{account}</Account>"
            f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{request_id}</RequestId>"
            f"</ResponseMetadata></GetCallerIdentityResponse>")


def _check_signature(emulator, request: Request, action: str) -> None:
    """Strict mode: a signed request must be signed right (AssumeRoleWithWebIdentity needs no signature)."""
    verifier = emulator.signature_verifier
    if verifier is None or action == "AssumeRoleWithWebIdentity":
        return
    if not read_caller(request.headers, request.args).signed and not request.headers.get("Authorization"):
        return
    try:
        verifier.verify(request, "sts")
    except SignatureError as err:
        raise StsError(err.code("query"), err.message, 400 if err.kind == "incomplete" else 403) from None


def handle(emulator, request: Request) -> Response:
    request_id = str(uuid.uuid4())
    values = request.form if request.method == "POST" else request.args
    action = values.get("Action", "")
    try:
        _check_signature(emulator, request, action)
        if action == "GetCallerIdentity":
            with emulator.store.transaction() as db:
                emulator.clock.load(db)
                ctx = emulator.context(db, request, operation=action, service="sts")
                body = get_caller_identity(ctx, request, request_id)
            return Response(body, 200, content_type="text/xml", headers={"x-amzn-RequestId": request_id})
        if action != "AssumeRoleWithWebIdentity":
            known = action in _sts_model().operation_names
            raise StsError("InvalidAction" if not known else "NotImplemented",
                           f"STS action {action or '(none)'} is not implemented by cognito-emulator; "
                           "only AssumeRoleWithWebIdentity and GetCallerIdentity are." if known else
                           f"Could not find operation {action or '(none)'} for version "
                           f"{values.get('Version', '2011-06-15')}")
        params = _params(request)
        with emulator.store.transaction() as db:
            emulator.clock.load(db)
            ctx = emulator.context(db, request, operation=action, service="sts")
            body = assume_role_with_web_identity(ctx, params, request_id)
        return Response(body, 200, content_type="text/xml", headers={"x-amzn-RequestId": request_id})
    except StsError as err:
        return _xml_error(err, request_id)
    except (RequestEntityTooLarge, ClientDisconnected):
        raise  # answered by the emulator as for every other surface
    except Exception:
        log.exception("internal error in STS %s", action)
        emulator._count_error()
        return _xml_error(StsError("InternalFailure", "Internal error.", 500, sender=False), request_id)


def install(emulator) -> None:
    def surface(request: Request) -> Response | None:
        if is_sts_request(request):
            return handle(emulator, request)
        return None

    emulator.surfaces.append(surface)
