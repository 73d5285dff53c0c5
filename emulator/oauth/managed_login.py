"""The managed login (hosted UI) as a Flask Blueprint, and what its pages share: the authorize
request each page carries in its query string, the sign-in page, CSRF, and calling a user pool
operation as the managed login does.

The pages themselves are module-level routes on `blueprint`: emulator.oauth.pages (authorize,
sign-in, logout), emulator.oauth.challenge_pages (the sign-in engine's challenges) and
emulator.oauth.account_pages (sign-up, confirmation, forgotten password).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, request
from werkzeug.wrappers import Response

from emulator.oauth import common
from emulator.oauth.common import AuthRequest, Outcome, render
from emulator.userpools import registry
from protocol import ServiceError

blueprint = Blueprint("managed_login", __name__)

NOT_AVAILABLE = "Login option is not available. Please try another one"
EXPIRED = "Your session has expired. Please sign in again."


def page_request(ctx) -> AuthRequest:
    """The authorize request a page carries in its query string (checked again on every page)."""
    return common.validate_authorize(ctx, common.authorize_params(request.args))


def login_page(ctx, areq: AuthRequest, error: str | None = None, notice: str | None = None,
               username: str = "", status: int = 200) -> Response:
    csrf, cookie = common.xsrf_token()
    # login_hint (Amplify's loginHint option) pre-fills the username field.
    username = username or areq.params.get("login_hint") or ""
    return render("login.html", status=status, cookies=[cookie], areq=areq, csrf=csrf, error=error,
                  notice=notice, username=username, cognito="COGNITO" in areq.providers(),
                  providers=[p for p in areq.providers() if p != "COGNITO"], pool=areq.pool)


def expired_page(ctx, areq: AuthRequest) -> Response:
    """The sign-in page again, for a page whose sign-in session is unknown, spent or expired."""
    return login_page(ctx, areq, error=EXPIRED, status=400)


def check_csrf() -> None:
    if not common.xsrf_ok(request.form):
        raise Outcome(common.error_page("invalid_request", "Invalid or missing CSRF token."))


def require_cognito(areq: AuthRequest) -> None:
    if "COGNITO" not in areq.providers():
        raise Outcome(common.error_page("invalid_request", NOT_AVAILABLE))


def run_operation(ctx, operation: str, req: dict) -> dict:
    """Call the user pool operation `operation` (SignUp, AssociateSoftwareToken, ...) as its API
    clients do: the managed login is a client of the pool's API like any app (its handler, as
    registered; the operations sit above what the hosted UI imports)."""
    return registry.get(operation)(ctx, req)


def call_operation(operation: str, ctx, client: dict, username: str, **fields) -> dict:
    """Call a self-service operation for `username` as the managed login does (SECRET_HASH computed)."""
    req = {"ClientId": client["ClientId"], "Username": username, **fields}
    secret_hash = common.secret_hash_for(ctx, client, username)
    if secret_hash:
        req["SecretHash"] = secret_hash
    return run_operation(ctx, operation, req)


def form_error(template: str, *fields: str) -> Callable[..., Response]:
    """`on_error` for a form page: `template` again, with the error and the form's `fields`."""
    def answer(ctx, err: ServiceError) -> Response:
        values = {name: (request.form.get(name) or "").strip() for name in fields}
        return render(template, status=400, areq=page_request(ctx), error=err.message, **values)
    return answer
