"""The browser side's entry and exit: /oauth2/authorize, the sign-in page (/login), /logout,
/error and the confirmation link of sign-up emails (/confirmUser). The sign-in form starts a
sign-in of the user pools' engine; its challenges are pages (emulator.oauth.challenge_pages)."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from emulator.oauth import account_pages, common, federation, saml
from emulator.oauth.challenge_pages import present
from emulator.oauth.common import IDP_NOT_FOUND, AuthRequest, Outcome, render
from emulator.oauth.managed_login import (
    NOT_AVAILABLE,
    blueprint,
    call_operation,
    check_csrf,
    login_page,
    page_request,
    require_cognito,
)
from emulator.userpools.model import identity_providers
from emulator.userpools.signin import flows
from protocol import ServiceError


# -- authorize ---------------------------------------------------------------------------------------
@blueprint.route("/oauth2/authorize", methods=["GET", "POST"])
@common.unit_of_work()
def authorize(ctx) -> Response:
    params = common.authorize_params(request.values)
    areq = common.validate_authorize(ctx, params)
    providers = areq.providers()
    chosen = params.get("identity_provider")
    if not chosen and params.get("idp_identifier"):
        found = identity_providers.provider_by_identifier(ctx.db, areq.pool["Id"], params["idp_identifier"])
        if found is None or found["ProviderName"] not in providers:
            raise areq.error_redirect("invalid_request", IDP_NOT_FOUND)
        chosen = found["ProviderName"]
    if chosen and chosen.upper() != "COGNITO":
        if chosen not in providers:
            raise areq.error_redirect("invalid_request", IDP_NOT_FOUND)
        return federation.start(ctx, areq, chosen)
    if not providers:
        return common.error_page("invalid_request", NOT_AVAILABLE)
    if params.get("prompt") != "login":
        found_session = common.session_user(ctx, areq.pool)
        if found_session is not None:
            return common.finish(ctx, areq, found_session[0], found_session[1], start_session=False)
    if params.get("prompt") == "none":
        # A silent request never shows a page.
        raise areq.error_redirect("login_required")
    if not chosen and "COGNITO" not in providers and len(providers) == 1:
        return federation.start(ctx, areq, providers[0])
    return common.redirect("/login?" + areq.query())


# -- sign-in -----------------------------------------------------------------------------------------
@blueprint.get("/login")
@common.unit_of_work()
def login_form(ctx) -> Response:
    areq = page_request(ctx)
    if not areq.providers():
        return common.error_page("invalid_request", NOT_AVAILABLE)
    return login_page(ctx, areq)


def _typed_username() -> str:
    return (request.form.get("username") or "").strip()


def _login_failed(ctx, err: ServiceError) -> Response:
    """The sign-in failed: an unconfirmed user is sent to confirmation (with a new code), a user
    who must reset the password to the reset page (with a code); anyone else sees the error."""
    areq = page_request(ctx)
    username = _typed_username()
    if err.code == "UserNotConfirmedException":
        user = account_pages.find_user(ctx, areq.pool, username)
        if user is None:
            return login_page(ctx, areq, error=err.message, username=username, status=400)
        try:
            destination = account_pages.delivered_to(
                call_operation("ResendConfirmationCode", ctx, areq.client, username))
        except ServiceError:
            destination = None
        return account_pages.confirmation_page(ctx, areq, username, user, destination)
    if err.code == "PasswordResetRequiredException":
        try:
            details = call_operation("ForgotPassword", ctx, areq.client, username)
        except ServiceError as other:
            return login_page(ctx, areq, error=other.message, username=username, status=400)
        return render("confirm_forgot_password.html", areq=areq, username=username,
                      destination=account_pages.delivered_to(details), notice="Password reset required for the user")
    return login_page(ctx, areq, error=err.message, username=username, status=400)


@blueprint.post("/login")
@common.unit_of_work(on_error=_login_failed)
def login_submit(ctx) -> Response:
    username, password = _typed_username(), request.form.get("password") or ""
    areq = page_request(ctx)
    require_cognito(areq)
    check_csrf()
    if not username or not password:
        return login_page(ctx, areq, error="Please enter your username and password.", username=username, status=400)
    step = flows.managed_login(ctx, areq.pool, areq.client, username, password,
                               common.secret_hash_for(ctx, areq.client, username))
    return present(ctx, areq, step)


# -- logout, error, email links ------------------------------------------------------------------------
def _named_client(ctx) -> tuple[dict, dict]:
    """(pool, client) of the query's client_id; Cognito's error page when there is none."""
    found = common.find_client(ctx, request.args.get("client_id"))
    if found is None:
        raise Outcome(common.error_page("invalid_request", "Client does not exist."))
    return found


def _redirect_mismatch(client: dict) -> Response:
    return common.redirect(common.with_query("/error", {"error": "redirect_mismatch", "client_id": client["ClientId"]}))


@blueprint.get("/logout")
@common.unit_of_work()
def logout(ctx) -> Response:
    args = request.args
    pool, client = _named_client(ctx)
    if args.get("logout_uri"):
        if args["logout_uri"] not in (client.get("LogoutURLs") or []):
            return _redirect_mismatch(client)
        destination = args["logout_uri"]
    elif args.get("redirect_uri"):
        if args["redirect_uri"] not in (client.get("CallbackURLs") or []):
            return _redirect_mismatch(client)
        if not args.get("response_type"):
            return common.error_page("invalid_request", "Required parameter response_type is missing.")
        destination = "/login?" + AuthRequest(pool, client, common.authorize_params(args), []).query()
    else:
        return common.error_page("invalid_request", "Required parameters are missing: logout_uri, or "
                                 "redirect_uri and response_type.")
    return saml.logout_redirect(ctx, pool, client, destination) or \
        common.redirect(destination, [common.end_session(ctx)])


@blueprint.get("/error")
@common.unit_of_work()
def error(ctx) -> Response:
    return common.error_page(request.args.get("error") or "invalid_request", request.args.get("error_description"))


@blueprint.get("/confirmUser")
@common.unit_of_work(on_error=lambda ctx, err: common.error_page(err.code, err.message))
def confirm_user(ctx) -> Response:
    args = request.args
    _pool, client = _named_client(ctx)
    call_operation("ConfirmSignUp", ctx, client, args.get("user_name") or "",
                   ConfirmationCode=args.get("confirmation_code") or "")
    return render("message.html", title="Registration confirmed", message="Your registration has been confirmed!")
