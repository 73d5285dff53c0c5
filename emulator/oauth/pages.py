"""The browser side: /oauth2/authorize and the managed-login pages (/login, /signup, /confirm,
/forgotPassword, /confirmForgotPassword, /mfa, /logout, /error, /confirmUser)."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from emulator.oauth import common, federation, saml, signin
from emulator.oauth.common import AuthRequest, Outcome, render
from protocol import ServiceError

_NOT_AVAILABLE = "Login option is not available. Please try another one"
_EXPIRED = "Your session has expired. Please sign in again."


def _signup_module():
    return common._m("signup")


def _query_params() -> dict[str, str]:
    return common.authorize_params(request.args)


def _areq(ctx) -> AuthRequest:
    return common.validate_authorize(ctx, _query_params())


def _others(areq: AuthRequest) -> list[str]:
    return [p for p in areq.providers() if p != "COGNITO"]


def _login_page(ctx, areq: AuthRequest, error: str | None = None, notice: str | None = None,
                username: str = "", status: int = 200) -> Response:
    csrf, cookie = common.xsrf_token()
    # login_hint (Amplify's loginHint option) pre-fills the username field.
    username = username or areq.params.get("login_hint") or ""
    return render("login.html", status=status, cookies=[cookie], areq=areq, csrf=csrf, error=error,
                  notice=notice, username=username, cognito="COGNITO" in areq.providers(),
                  providers=_others(areq), pool=areq.pool)


def _csrf_checked(areq: AuthRequest) -> None:
    if not common.xsrf_ok(request.form):
        raise Outcome(common.error_page("invalid_request", "Invalid or missing CSRF token."))


def _require_cognito(areq: AuthRequest) -> None:
    if "COGNITO" not in areq.providers():
        raise Outcome(common.error_page("invalid_request", _NOT_AVAILABLE))


def _api(handler, ctx, client: dict, username: str, **fields):
    """Call a self-service API operation as the managed login does (SECRET_HASH computed)."""
    req = {"ClientId": client["ClientId"], "Username": username, **fields}
    secret_hash = common.secret_hash_for(ctx, client, username)
    if secret_hash:
        req["SecretHash"] = secret_hash
    return handler(ctx, req)


def install(emulator) -> None:
    app = emulator.flask

    def run(work):
        return common.run(emulator, work)

    def run_form(work, template: str, **fields) -> Response:
        """run(work); when it raises a ServiceError, `template` again with the error."""
        try:
            return run(work)
        except ServiceError as err:
            message = err.message
            return run(lambda ctx: render(template, status=400, areq=_areq(ctx), error=message, **fields))

    def continue_flow(step: str, then):
        """work(ctx) for a page that continues a `step` flow: `then(ctx, areq, flow)`, or the sign-in
        page again when the flow is unknown or expired."""
        def work(ctx):
            areq = _areq(ctx)
            flow = common.take_flow(ctx, request.form.get("session"), step, areq.client["ClientId"])
            if flow is None:
                return _login_page(ctx, areq, error=_EXPIRED, status=400)
            return then(ctx, areq, flow)
        return work

    # -- authorize ---------------------------------------------------------------------------
    @app.route("/oauth2/authorize", methods=["GET", "POST"])
    def authorize():
        params = common.authorize_params(request.values)

        def work(ctx):
            areq = common.validate_authorize(ctx, params)
            providers = areq.providers()
            chosen = params.get("identity_provider")
            if not chosen and params.get("idp_identifier"):
                found = common._m("identity_providers").provider_by_identifier(
                    ctx.db, areq.pool["Id"], params["idp_identifier"])
                if found is None or found["ProviderName"] not in providers:
                    raise areq.error_redirect("invalid_request", "The identity provider could not be found.")
                chosen = found["ProviderName"]
            if chosen and chosen.upper() != "COGNITO":
                if chosen not in providers:
                    raise areq.error_redirect("invalid_request", "The identity provider could not be found.")
                return federation.start(ctx, areq, chosen)
            if not providers:
                return common.error_page("invalid_request", _NOT_AVAILABLE)
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

        return run(work)

    # -- sign-in -----------------------------------------------------------------------------
    @app.get("/login")
    def login_form():
        def work(ctx):
            areq = _areq(ctx)
            if not areq.providers():
                return common.error_page("invalid_request", _NOT_AVAILABLE)
            return _login_page(ctx, areq)
        return run(work)

    @app.post("/login")
    def login_submit():
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""

        def work(ctx):
            areq = _areq(ctx)
            _require_cognito(areq)
            _csrf_checked(areq)
            if not username or not password:
                return _login_page(ctx, areq, error="Please enter your username and password.",
                                   username=username, status=400)
            user = signin.check_password(ctx, areq, username, password)
            return signin.continue_sign_in(ctx, areq, user, {})

        try:
            return run(work)
        except ServiceError as err:
            return run(lambda ctx, err=err: _login_failed(ctx, err, username))

    def _login_failed(ctx, err: ServiceError, username: str) -> Response:
        areq = _areq(ctx)
        if err.code == "UserNotConfirmedException":
            user = signin.find_user(ctx, areq.pool, username)
            if user is None:
                return _login_page(ctx, areq, error=err.message, username=username, status=400)
            try:
                details = _api(_signup_module().resend_confirmation_code, ctx, areq.client, username)
                destination = details["CodeDeliveryDetails"].get("Destination")
            except ServiceError:
                destination = None
            token = common.start_flow(ctx, areq.pool, areq.client, user["username"], "confirm", {}, ttl=86400.0)
            return render("confirm.html", areq=areq, username=username, session=token, destination=destination)
        if err.code == "PasswordResetRequiredException":
            try:
                details = _api(_signup_module().forgot_password, ctx, areq.client, username)
                destination = details["CodeDeliveryDetails"].get("Destination")
            except ServiceError as other:
                return _login_page(ctx, areq, error=other.message, username=username, status=400)
            return render("confirm_forgot_password.html", areq=areq, username=username, destination=destination,
                          notice="Password reset required for the user")
        return _login_page(ctx, areq, error=err.message, username=username, status=400)

    # -- new password, MFA -------------------------------------------------------------------
    @app.post("/newPassword")
    def new_password():
        form = request.form

        def then(ctx, areq, flow):
            given = {k[len("requiredAttributes["):-1]: v for k, v in form.items()
                     if k.startswith("requiredAttributes[") and k.endswith("]")}
            try:
                return signin.new_password(ctx, areq, flow, form.get("password") or form.get("newPassword") or "",
                                           form.get("confirmPassword"), given)
            except ServiceError as err:
                required = [n for n in common._m("attributes").required_names(areq.pool)
                            if n in given or not (signin.find_user(ctx, areq.pool, flow["username"]) or {})
                            .get("attributes", {}).get(n)]
                token = common.start_flow(ctx, areq.pool, areq.client, flow["username"], "new_password",
                                          flow["data"])
                return render("new_password.html", status=400, areq=areq, session=token, required=required,
                              username=flow["username"], error=err.message)

        return run(continue_flow("new_password", then))

    @app.post("/mfa")
    def mfa_submit():
        form = request.form

        def then(ctx, areq, flow):
            return signin.answer_mfa(ctx, areq, flow, (form.get("code") or form.get("totpCode") or "").strip())

        try:
            return run(continue_flow("mfa", then))
        except signin.RetryMfa as err:
            return run(lambda ctx, err=err: render("mfa.html", status=400, areq=_areq(ctx), session=err.session,
                                          factor=err.factor, error=err.message))

    @app.post("/mfa/select")
    def mfa_select():
        form = request.form

        def then(ctx, areq, flow):
            choice = form.get("mfaType")
            state = dict(flow["data"])
            available = state.pop("available", [])
            user = signin.find_user(ctx, areq.pool, flow["username"])
            if choice not in available or user is None:
                token = common.start_flow(ctx, areq.pool, areq.client, flow["username"], "select_mfa",
                                          flow["data"])
                return render("select_mfa.html", status=400, areq=areq, session=token, factors=available,
                              error="Please choose one of the offered methods.")
            return signin.mfa_challenge(ctx, areq, user, state, choice)

        return run(continue_flow("select_mfa", then))

    @app.post("/mfa/setup")
    def mfa_setup():
        form = request.form

        def then(ctx, areq, flow):
            return signin.finish_totp_setup(ctx, areq, flow, (form.get("code") or "").strip(),
                                            form.get("deviceName"))

        return run(continue_flow("mfa_setup", then))

    # -- sign-up -------------------------------------------------------------------------------
    def _signup_fields(areq: AuthRequest) -> list[str]:
        pool = areq.pool
        names = list(common._m("attributes").required_names(pool))
        for name in ("email", "phone_number"):
            if name in (pool.get("UsernameAttributes") or []) or name in (pool.get("AutoVerifiedAttributes") or []):
                if name not in names:
                    names.append(name)
        return names

    def _signup_page(ctx, areq: AuthRequest, error: str | None = None, values: dict | None = None,
                     status: int = 200) -> Response:
        csrf, cookie = common.xsrf_token()
        pool = areq.pool
        return render("signup.html", status=status, cookies=[cookie], areq=areq, csrf=csrf, error=error,
                      fields=_signup_fields(areq), values=values or {},
                      username_is=(pool.get("UsernameAttributes") or []))

    def _signup_allowed(areq: AuthRequest) -> None:
        _require_cognito(areq)
        if (areq.pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
            raise Outcome(common.error_page("invalid_request", "SignUp is not permitted for this user pool"))

    @app.get("/signup")
    def signup_form():
        def work(ctx):
            areq = _areq(ctx)
            _signup_allowed(areq)
            return _signup_page(ctx, areq)
        return run(work)

    @app.post("/signup")
    def signup_submit():
        form = request.form
        values = {k: v for k, v in form.items() if k not in ("password", "_csrf")}

        def given_attributes(areq: AuthRequest) -> dict[str, str]:
            attrs = {}
            for name in _signup_fields(areq):
                value = form.get(f"requiredAttributes[{name}]", form.get(name))
                if value:
                    attrs[name] = value.strip()
            return attrs

        def work(ctx):
            areq = _areq(ctx)
            _signup_allowed(areq)
            _csrf_checked(areq)
            attrs = given_attributes(areq)
            username = (form.get("username") or "").strip()
            ua = areq.pool.get("UsernameAttributes") or []
            if not username and ua:
                username = attrs.get("email") if "email" in ua and attrs.get("email") else attrs.get(
                    "phone_number", "")
            if not username:
                raise ServiceError("InvalidParameterException", "Username cannot be empty")
            result = _api(_signup_module().sign_up, ctx, areq.client, username, Password=form.get("password") or "",
                          UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()])
            user = signin.find_user(ctx, areq.pool, username)
            if result.get("UserConfirmed"):
                return signin.continue_sign_in(ctx, areq, user, {})
            token = common.start_flow(ctx, areq.pool, areq.client, user["username"], "confirm", {}, ttl=86400.0)
            destination = (result.get("CodeDeliveryDetails") or {}).get("Destination")
            return render("confirm.html", areq=areq, username=username, session=token, destination=destination)

        try:
            return run(work)
        except ServiceError as err:
            return run(lambda ctx, err=err: _signup_page(ctx, _areq(ctx), error=err.message, values=values, status=400))

    @app.get("/confirm")
    def confirm_form():
        def work(ctx):
            areq = _areq(ctx)
            return render("confirm.html", areq=areq, username=request.args.get("username", ""), session="")
        return run(work)

    @app.post("/confirm")
    def confirm_submit():
        form = request.form
        username = (form.get("username") or "").strip()
        session = form.get("session") or ""

        def work(ctx):
            areq = _areq(ctx)
            if form.get("resend"):
                details = _api(_signup_module().resend_confirmation_code, ctx, areq.client, username)
                return render("confirm.html", areq=areq, username=username, session=session,
                              destination=details["CodeDeliveryDetails"].get("Destination"))
            code = (form.get("confirmation_code") or form.get("code") or "").strip()
            if not code:
                raise ServiceError("InvalidParameterException", "Please enter the code.")
            _api(_signup_module().confirm_sign_up, ctx, areq.client, username, ConfirmationCode=code)
            user = signin.find_user(ctx, areq.pool, username)
            flow = common.take_flow(ctx, session, "confirm", areq.client["ClientId"])
            if flow is not None and user is not None and flow["username"] == user["username"]:
                return signin.continue_sign_in(ctx, areq, user, {})
            return _login_page(ctx, areq, notice="Your account has been confirmed. Please sign in.",
                               username=username)

        return run_form(work, "confirm.html", username=username, session=session)

    # -- forgotten password --------------------------------------------------------------------
    @app.get("/forgotPassword")
    def forgot_form():
        return run(lambda ctx: render("forgot_password.html", areq=_areq(ctx)))

    @app.post("/forgotPassword")
    def forgot_submit():
        username = (request.form.get("username") or "").strip()

        def work(ctx):
            areq = _areq(ctx)
            _require_cognito(areq)
            if not username:
                raise ServiceError("InvalidParameterException", "Username cannot be empty")
            details = _api(_signup_module().forgot_password, ctx, areq.client, username)
            return render("confirm_forgot_password.html", areq=areq, username=username,
                          destination=details["CodeDeliveryDetails"].get("Destination"))

        return run_form(work, "forgot_password.html", username=username)

    @app.get("/confirmForgotPassword")
    def confirm_forgot_form():
        return run(lambda ctx: render("confirm_forgot_password.html", areq=_areq(ctx),
                                      username=request.args.get("username", "")))

    @app.post("/confirmForgotPassword")
    def confirm_forgot_submit():
        form = request.form
        username = (form.get("username") or "").strip()

        def work(ctx):
            areq = _areq(ctx)
            password = form.get("password") or ""
            if form.get("confirmPassword") is not None and form.get("confirmPassword") != password:
                raise ServiceError("InvalidParameterException", "Passwords do not match.")
            _api(_signup_module().confirm_forgot_password, ctx, areq.client, username,
                 ConfirmationCode=(form.get("code") or "").strip(), Password=password)
            return _login_page(ctx, areq, notice="Your password has been changed. Please sign in.",
                               username=username)

        return run_form(work, "confirm_forgot_password.html", username=username)

    # -- logout, error, email links ------------------------------------------------------------
    @app.get("/logout")
    def logout():
        args = request.args

        def work(ctx):
            found = common.find_client(ctx, args.get("client_id"))
            if found is None:
                return common.error_page("invalid_request", "Client does not exist.")
            pool, client = found
            if args.get("logout_uri"):
                if args["logout_uri"] not in (client.get("LogoutURLs") or []):
                    return common.redirect(common.with_query("/error", {"error": "redirect_mismatch",
                                                                        "client_id": client["ClientId"]}))
                return saml.logout_redirect(ctx, pool, client, args["logout_uri"]) or \
                    common.redirect(args["logout_uri"], [common.end_session(ctx)])
            if args.get("redirect_uri"):
                if args["redirect_uri"] not in (client.get("CallbackURLs") or []):
                    return common.redirect(common.with_query("/error", {"error": "redirect_mismatch",
                                                                        "client_id": client["ClientId"]}))
                if not args.get("response_type"):
                    return common.error_page("invalid_request", "Required parameter response_type is missing.")
                params = common.authorize_params(args)
                destination = "/login?" + AuthRequest(pool, client, params, []).query()
                return saml.logout_redirect(ctx, pool, client, destination) or \
                    common.redirect(destination, [common.end_session(ctx)])
            return common.error_page("invalid_request", "Required parameters are missing: logout_uri, or "
                                     "redirect_uri and response_type.")

        return run(work)

    @app.get("/error")
    def error():
        return common.error_page(request.args.get("error") or "invalid_request",
                                 request.args.get("error_description"))

    @app.get("/confirmUser")
    def confirm_user():
        args = request.args

        def work(ctx):
            client_id = args.get("client_id")
            found = common.find_client(ctx, client_id)
            if found is None:
                return common.error_page("invalid_request", "Client does not exist.")
            _pool, client = found
            _api(_signup_module().confirm_sign_up, ctx, client, args.get("user_name") or "",
                 ConfirmationCode=args.get("confirmation_code") or "")
            return render("message.html", title="Registration confirmed",
                          message="Your registration has been confirmed!")

        try:
            return run(work)
        except ServiceError as err:
            return common.error_page(err.code, err.message)
