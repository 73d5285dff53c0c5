"""Managed-login pages for accounts: sign-up (/signup), its confirmation (/confirm), and the
forgotten password (/forgotPassword, /confirmForgotPassword). Each calls the user pool's own
operation (SignUp, ConfirmSignUp, ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword)
as the managed login does; a user who signs up (or confirms) here goes on signed in."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from emulator.oauth import common
from emulator.oauth.challenge_pages import present
from emulator.oauth.common import AuthRequest, Outcome, render
from emulator.oauth.managed_login import (
    blueprint,
    call_operation,
    check_csrf,
    form_error,
    login_page,
    page_request,
    require_cognito,
)
from emulator.userpools import errors
from emulator.userpools.model import attributes, users
from emulator.userpools.signin import flows
from protocol import ServiceError

CONFIRM_TTL = 86400.0


def find_user(ctx, pool: dict, name: str) -> dict | None:
    return users.find_user(ctx.db, pool, name) if name else None


def signed_up(ctx, areq: AuthRequest, user: dict) -> Response:
    """A user who just signed up (or confirmed) goes on signed in (new password and MFA still apply)."""
    return present(ctx, areq, flows.managed_login_signed_up(ctx, areq.pool, areq.client, user))


def confirmation_page(ctx, areq: AuthRequest, username: str, user: dict, destination: str | None) -> Response:
    """The page for the code a sign-up sent; its session signs the user in once confirmed."""
    token = common.start_flow(ctx, areq.pool, areq.client, user["username"], "confirm", {}, ttl=CONFIRM_TTL)
    return render("confirm.html", areq=areq, username=username, session=token, destination=destination)


def delivered_to(details: dict) -> str | None:
    return (details.get("CodeDeliveryDetails") or {}).get("Destination")


# -- sign-up ---------------------------------------------------------------------------------------
def _signup_fields(areq: AuthRequest) -> list[str]:
    pool = areq.pool
    names = list(attributes.required_names(pool))
    for name in ("email", "phone_number"):
        if name in (pool.get("UsernameAttributes") or []) or name in (pool.get("AutoVerifiedAttributes") or []):
            if name not in names:
                names.append(name)
    return names


def _signup_page(ctx, areq: AuthRequest, error: str | None = None, values: dict | None = None,
                 status: int = 200) -> Response:
    csrf, cookie = common.xsrf_token()
    return render("signup.html", status=status, cookies=[cookie], areq=areq, csrf=csrf, error=error,
                  fields=_signup_fields(areq), values=values or {},
                  username_is=(areq.pool.get("UsernameAttributes") or []))


def _signup_allowed(areq: AuthRequest) -> None:
    require_cognito(areq)
    if (areq.pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
        raise Outcome(common.error_page("invalid_request", "SignUp is not permitted for this user pool"))


def _signup_failed(ctx, err: ServiceError) -> Response:
    values = {k: v for k, v in request.form.items() if k not in ("password", "_csrf")}
    return _signup_page(ctx, page_request(ctx), error=err.message, values=values, status=400)


@blueprint.get("/signup")
@common.unit_of_work()
def signup_form(ctx) -> Response:
    areq = page_request(ctx)
    _signup_allowed(areq)
    return _signup_page(ctx, areq)


@blueprint.post("/signup")
@common.unit_of_work(on_error=_signup_failed)
def signup_submit(ctx) -> Response:
    form = request.form
    areq = page_request(ctx)
    _signup_allowed(areq)
    check_csrf()
    attrs = {}
    for name in _signup_fields(areq):
        value = form.get(f"requiredAttributes[{name}]", form.get(name))
        if value:
            attrs[name] = value.strip()
    username = (form.get("username") or "").strip()
    by_attribute = areq.pool.get("UsernameAttributes") or []
    if not username and by_attribute:
        username = attrs.get("email") if "email" in by_attribute and attrs.get("email") else attrs.get(
            "phone_number", "")
    if not username:
        raise errors.InvalidParameterException("Username cannot be empty")
    result = call_operation("SignUp", ctx, areq.client, username, Password=form.get("password") or "",
                            UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()])
    user = find_user(ctx, areq.pool, username)
    if result.get("UserConfirmed"):
        return signed_up(ctx, areq, user)
    return confirmation_page(ctx, areq, username, user, delivered_to(result))


# -- confirmation ------------------------------------------------------------------------------------
@blueprint.get("/confirm")
@common.unit_of_work()
def confirm_form(ctx) -> Response:
    return render("confirm.html", areq=page_request(ctx), username=request.args.get("username", ""), session="")


@blueprint.post("/confirm")
@common.unit_of_work(on_error=form_error("confirm.html", "username", "session"))
def confirm_submit(ctx) -> Response:
    form = request.form
    username = (form.get("username") or "").strip()
    session = form.get("session") or ""
    areq = page_request(ctx)
    if form.get("resend"):
        details = call_operation("ResendConfirmationCode", ctx, areq.client, username)
        return render("confirm.html", areq=areq, username=username, session=session, destination=delivered_to(details))
    code = (form.get("confirmation_code") or form.get("code") or "").strip()
    if not code:
        raise errors.InvalidParameterException("Please enter the code.")
    call_operation("ConfirmSignUp", ctx, areq.client, username, ConfirmationCode=code)
    user = find_user(ctx, areq.pool, username)
    flow = common.take_flow(ctx, session, "confirm", areq.client["ClientId"])
    if flow is not None and user is not None and flow["username"] == user["username"]:
        return signed_up(ctx, areq, user)
    return login_page(ctx, areq, notice="Your account has been confirmed. Please sign in.", username=username)


# -- forgotten password -----------------------------------------------------------------------------
@blueprint.get("/forgotPassword")
@common.unit_of_work()
def forgot_form(ctx) -> Response:
    return render("forgot_password.html", areq=page_request(ctx))


@blueprint.post("/forgotPassword")
@common.unit_of_work(on_error=form_error("forgot_password.html", "username"))
def forgot_submit(ctx) -> Response:
    username = (request.form.get("username") or "").strip()
    areq = page_request(ctx)
    require_cognito(areq)
    if not username:
        raise errors.InvalidParameterException("Username cannot be empty")
    details = call_operation("ForgotPassword", ctx, areq.client, username)
    return render("confirm_forgot_password.html", areq=areq, username=username, destination=delivered_to(details))


@blueprint.get("/confirmForgotPassword")
@common.unit_of_work()
def confirm_forgot_form(ctx) -> Response:
    return render("confirm_forgot_password.html", areq=page_request(ctx), username=request.args.get("username", ""))


@blueprint.post("/confirmForgotPassword")
@common.unit_of_work(on_error=form_error("confirm_forgot_password.html", "username"))
def confirm_forgot_submit(ctx) -> Response:
    form = request.form
    username = (form.get("username") or "").strip()
    areq = page_request(ctx)
    password = form.get("password") or ""
    if form.get("confirmPassword") is not None and form.get("confirmPassword") != password:
        raise errors.InvalidParameterException("Passwords do not match.")
    call_operation("ConfirmForgotPassword", ctx, areq.client, username,
                   ConfirmationCode=(form.get("code") or "").strip(), Password=password)
    return login_page(ctx, areq, notice="Your password has been changed. Please sign in.", username=username)
