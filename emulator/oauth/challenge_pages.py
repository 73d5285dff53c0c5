"""The sign-in engine's challenges as managed-login pages.

A sign-in on the managed login is a sign-in of the user pools' engine (emulator.userpools.signin)
like an API one: each challenge the engine answers with is shown as a page, and submitting the
page answers that challenge through the engine, so the checks, errors, triggers, lockout and
threat-protection events are the API's. The page's hidden `session` field is the engine's Session;
the engine only accepts managed-login sessions from the pages (and API sessions from the API).

    challenge                                  page (form posts to)
    NEW_PASSWORD_REQUIRED                      new_password.html  (/newPassword)
    SMS_MFA, EMAIL_OTP, SOFTWARE_TOKEN_MFA     mfa.html           (/mfa)
    SELECT_MFA_TYPE                            select_mfa.html    (/mfa/select)
    MFA_SETUP                                  mfa_setup.html     (/mfa/setup): an authenticator app,
                                               set up with AssociateSoftwareToken / VerifySoftwareToken
                                               on the challenge's session, as an API client would

A wrong answer shows the same page again with the error: the engine spends a session only on a
right answer, so the same session answers again. An unknown, spent or expired session (or one
waiting for another page's challenge) sends the browser back to the sign-in page.
"""

from __future__ import annotations

import json

import pyotp
from flask import request
from werkzeug.wrappers import Response

from emulator.oauth import common
from emulator.oauth.common import AuthRequest, Outcome, render
from emulator.oauth.managed_login import blueprint, expired_page, page_request, run_operation
from emulator.userpools import errors
from emulator.userpools.accounts import mfa
from emulator.userpools.model import attributes
from emulator.userpools.signin import challenges
from emulator.userpools.signin.engine import SignIn, Step
from protocol import ServiceError


class ChallengePage:
    """A page that shows one or more challenges and turns its form (posted to `path`) into their answer."""

    path: str

    def show(self, ctx, areq: AuthRequest, step: Step, error: str | None = None, status: int = 200) -> Response:
        raise NotImplementedError

    def parameters_again(self, sign_in: SignIn) -> dict:
        """The challenge's parameters for showing it again (from the sign-in's state)."""
        return {}

    def responses(self, sign_in: SignIn, form) -> dict:
        """The ChallengeResponses the form stands for (USERNAME and SECRET_HASH are added)."""
        raise NotImplementedError

    def answer(self, ctx, areq: AuthRequest, sign_in: SignIn, form) -> Step:
        responses = {**self.responses(sign_in, form), "USERNAME": sign_in.username,
                     "SECRET_HASH": common.secret_hash_for(ctx, areq.client, sign_in.username)}
        return challenges.answer(sign_in, sign_in.challenge, responses)


class NewPasswordPage(ChallengePage):
    path = "/newPassword"

    def show(self, ctx, areq, step, error=None, status=200):
        given = _required_attributes(request.form)
        have = step.user.get("attributes") or {}
        required = [n for n in attributes.required_names(areq.pool) if n in given or not have.get(n)]
        return render("new_password.html", status=status, areq=areq, session=step.session, required=required,
                      username=step.user["username"], error=error)

    def responses(self, sign_in, form):
        password = form.get("password") or form.get("newPassword") or ""
        confirm = form.get("confirmPassword")
        if confirm is not None and confirm != password:
            raise errors.InvalidParameterException("Passwords do not match.")
        updates = {f"userAttributes.{k}": v for k, v in _required_attributes(form).items() if v}
        return {"NEW_PASSWORD": password, **updates}


def _required_attributes(form) -> dict[str, str]:
    return {k[len("requiredAttributes["):-1]: v for k, v in form.items()
            if k.startswith("requiredAttributes[") and k.endswith("]")}


class CodePage(ChallengePage):
    path = "/mfa"

    def show(self, ctx, areq, step, error=None, status=200):
        return render("mfa.html", status=status, areq=areq, session=step.session, factor=step.challenge,
                      destination=step.parameters.get("CODE_DELIVERY_DESTINATION"), error=error)

    def responses(self, sign_in, form):
        return {challenges.CODE_KEYS[sign_in.challenge]: (form.get("code") or form.get("totpCode") or "").strip()}


class SelectMfaPage(ChallengePage):
    path = "/mfa/select"

    def show(self, ctx, areq, step, error=None, status=200):
        factors = json.loads(step.parameters.get("MFAS_CAN_CHOOSE") or "[]")
        return render("select_mfa.html", status=status, areq=areq, session=step.session, factors=factors,
                      error=error)

    def parameters_again(self, sign_in):
        return {"MFAS_CAN_CHOOSE": json.dumps(sign_in.state.get("available") or [])}

    def responses(self, sign_in, form):
        return {"ANSWER": form.get("mfaType") or ""}


class TotpSetupPage(ChallengePage):
    """MFA_SETUP with an authenticator app: the secret comes from AssociateSoftwareToken on the
    challenge's session, the code goes to VerifySoftwareToken, whose session then answers MFA_SETUP."""

    path = "/mfa/setup"

    def show(self, ctx, areq, step, error=None, status=200):
        secret, session = step.parameters.get("SECRET_CODE"), step.session
        if not secret:
            associated = run_operation(ctx, "AssociateSoftwareToken", {"Session": session})
            secret, session = associated["SecretCode"], associated["Session"]
        uri = pyotp.TOTP(secret).provisioning_uri(name=step.user["username"],
                                                  issuer_name=areq.pool.get("Name") or "Cognito")
        return render("mfa_setup.html", status=status, areq=areq, session=session, secret=secret, uri=uri,
                      error=error)

    def parameters_again(self, sign_in):
        return {"SECRET_CODE": mfa.settings(sign_in.user).get("totp_pending")}

    def responses(self, sign_in, form):
        return {}

    def answer(self, ctx, areq, sign_in, form):
        verified = run_operation(ctx, "VerifySoftwareToken", {
            "Session": form.get("session"), "UserCode": (form.get("code") or "").strip(),
            "FriendlyDeviceName": form.get("deviceName") or None})
        verified_sign_in = challenges.resume_hosted(ctx, areq.pool, areq.client, verified["Session"])
        return super().answer(ctx, areq, verified_sign_in, form)


NEW_PASSWORD, CODE, SELECT_MFA, TOTP_SETUP = NewPasswordPage(), CodePage(), SelectMfaPage(), TotpSetupPage()
PAGES: dict[str, ChallengePage] = {
    "NEW_PASSWORD_REQUIRED": NEW_PASSWORD,
    "SMS_MFA": CODE,
    "EMAIL_OTP": CODE,
    "SOFTWARE_TOKEN_MFA": CODE,
    "SELECT_MFA_TYPE": SELECT_MFA,
    "MFA_SETUP": TOTP_SETUP,
}


def present(ctx, areq: AuthRequest, step: Step) -> Response:
    """What a managed-login sign-in's step shows: the page of its challenge, or, at its end, the
    redirect back to the app (code or tokens) with the managed-login session."""
    if step.done:
        return common.finish(ctx, areq, step.user, ctx.now())
    page = PAGES.get(step.challenge)
    if page is None:
        raise Outcome(common.error_page("invalid_request",
                                        f"The managed login cannot answer the challenge {step.challenge}."))
    return page.show(ctx, areq, step)


# -- answering a page ----------------------------------------------------------------------------
def _resumed(ctx, areq: AuthRequest, page: ChallengePage | None = None) -> SignIn | None:
    """The sign-in the form's session continues (None when it cannot: the session is unknown,
    spent or expired, its user is gone, or it waits for another page's challenge)."""
    try:
        sign_in = challenges.resume_hosted(ctx, areq.pool, areq.client, request.form.get("session"))
    except ServiceError:
        return None
    shown = PAGES.get(sign_in.challenge or "")
    if sign_in.user is None or shown is None or (page is not None and shown is not page):
        return None
    return sign_in


def _answer(ctx, page: ChallengePage) -> Response:
    areq = page_request(ctx)
    sign_in = _resumed(ctx, areq, page)
    if sign_in is None:
        return expired_page(ctx, areq)
    return present(ctx, areq, page.answer(ctx, areq, sign_in, request.form))


def _wrong_answer(ctx, err: ServiceError) -> Response:
    """The page again with the error (the failed answer was rolled back: its session is still valid)."""
    areq = page_request(ctx)
    sign_in = _resumed(ctx, areq)
    if sign_in is None:
        return expired_page(ctx, areq)
    page = PAGES[sign_in.challenge]
    again = Step(sign_in.challenge, page.parameters_again(sign_in), request.form.get("session"), user=sign_in.user)
    return page.show(ctx, areq, again, error=err.message, status=400)


def _answer_route(page: ChallengePage):
    def answer_page(ctx) -> Response:
        return _answer(ctx, page)
    return answer_page


# One route per page: answering it answers the challenge its session waits for.
for _page in (NEW_PASSWORD, CODE, SELECT_MFA, TOTP_SETUP):
    blueprint.add_url_rule(_page.path, f"answer_{type(_page).__name__}", methods=["POST"],
                           view_func=common.unit_of_work(on_error=_wrong_answer)(_answer_route(_page)))
