"""What every console page shares: the Blueprint, the unit of work each route runs in, calling
an API operation through its service's registry (as an API client would: input validated
against the model, the before-invoke checks, the handler), cross-site request protection, the
confirmation step of destructive actions, and rendering.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, current_app, render_template, request
from werkzeug.wrappers import Response

from emulator import identitypools, sync, userpools
from emulator.console.paths import PREFIX
from emulator.store import WriteNeeded
from protocol import ServiceError
from protocol.sigv4 import Caller
from protocol.validate import validate_input

EXTENSION = "cognito_emulator_console"
CSRF_COOKIE = "console_csrf"
CROSS_SITE = "Cross-site request refused: console actions must come from the console's own pages."

blueprint = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates",
                      static_folder="static")

REGISTRIES = {"cognito-idp": userpools.registry, "cognito-identity": identitypools.registry,
              "cognito-sync": sync.registry}


@dataclasses.dataclass
class Console:
    """What the routes find in the Flask app's extensions."""

    emulator: Any
    activity: Any


def console() -> Console:
    return current_app.extensions[EXTENSION]


class Answer(Exception):
    """Stop a route and answer `response` (a confirmation page, a refusal)."""

    def __init__(self, response: Response) -> None:
        super().__init__("answer")
        self.response = response


# -- calling operations ---------------------------------------------------------------------------
def call(ctx, service: str, operation: str, **req: Any) -> dict:
    """`operation` of `service` (cognito-idp, cognito-identity, cognito-sync) as an API client
    calls it, in the route's unit of work; raises the operation's ServiceError."""
    registry = REGISTRIES[service]
    op_model = registry.model.operation_model(operation)
    params = validate_input(op_model.input_shape, {k: v for k, v in req.items() if v is not None},
                            registry.validation_error, registry.pattern_exemptions(operation))
    op_ctx = dataclasses.replace(ctx, service=service, operation=operation)
    started = time.perf_counter()
    status, error, body = 200, None, None
    try:
        for check in ctx.emulator.before_invoke:
            check(op_ctx, params)
        return registry.get(operation)(op_ctx, params) or {}
    except ServiceError as err:
        status, error = err.status or 400, err.code
        body = json.dumps({"message": err.message}).encode()
        raise
    finally:
        if request.method == "POST":  # the console's actions, not the reads of its pages
            console().activity.record_api_call(service=f"console: {service}", operation=operation,
                                               status=status, error=error, error_body=body,
                                               seconds=time.perf_counter() - started, request_id=ctx.request_id)


def region_of(resource_id: str) -> str:
    """The region in a user pool id (us-east-1_AbC) or identity pool id (us-east-1:uuid)."""
    for separator in ("_", ":"):
        if separator in resource_id:
            return resource_id.split(separator, 1)[0]
    return console().emulator.config.region


# -- units of work --------------------------------------------------------------------------------
def _run(view: Callable[..., Any], write: bool, region: str | None, args, kwargs) -> Any:
    emulator = console().emulator
    caller = Caller(signed=True, region=region or emulator.config.region)
    with emulator.unit_of_work(request._get_current_object(), operation=request.path, service="console",
                               caller=caller, write=write) as ctx:
        return view(ctx, *args, **kwargs)


def page(region: Callable[[dict], str | None] = lambda kwargs: None):
    """A page: the view runs as `view(ctx, ...)` in one reading unit of work (again as a writer when
    an operation it calls writes); `region(kwargs)` names the region its operations are called in."""
    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def route(*args: Any, **kwargs: Any) -> Response:
            where = region(kwargs) or request.args.get("region")
            try:
                try:
                    return _run(view, False, where, args, kwargs)
                except WriteNeeded:
                    return _run(view, True, where, args, kwargs)
            except Answer as answer:
                return answer.response
            except ServiceError as err:  # an operation the page reads was refused: say why
                return render("refused.html", status=400, message=f"{err.code}: {err.message}")
        return route
    return decorate


def action(back: Callable[[dict], str], *, confirm: Callable[[dict], str] | None = None,
           region: Callable[[dict], str | None] = lambda kwargs: None):
    """A form's POST: checked against cross-site requests, then (for a destructive one with
    `confirm(kwargs)`, the sentence asking) confirmed on a page of its own, then `view(ctx, ...)`
    in one writing unit of work. Its notice, or the operation's error, is shown on the page
    `back(kwargs)` it returns to; a failed operation changes nothing."""
    def decorate(view: Callable[..., str | Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def route(*args: Any, **kwargs: Any) -> Response:
            refusal = cross_site_refusal()
            if refusal is not None:
                return refusal
            target = back(kwargs)
            if confirm is not None and request.form.get("confirmed") != "yes":
                return render("confirm.html", status=200, question=confirm(kwargs), target=quote(request.path),
                              fields=[(k, v) for k, v in request.form.items(multi=True) if k != "csrf"],
                              back=_came_from() or target)
            try:
                outcome = _run(view, True, region(kwargs), args, kwargs)
            except ServiceError as err:
                return redirect(target, error=f"{err.code}: {err.message}")
            except Answer as answer:
                return answer.response
            if isinstance(outcome, Response):
                return outcome
            return redirect(target, notice=outcome)
        return route
    return decorate


def _came_from() -> str | None:
    """The console page a form was sent from (where Cancel goes back to), if the browser says."""
    referrer = request.referrer or ""
    origin = request.host_url.rstrip("/")
    if referrer.startswith(origin + PREFIX + "/"):
        return referrer[len(origin):]
    return None


# -- cross-site requests --------------------------------------------------------------------------
def csrf_token() -> str:
    """This browser's token (its cookie), or a new one set on the response by `render`."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request, "_console_csrf", None) or secrets.token_urlsafe(24)
        request._console_csrf = token  # set as the cookie by render
    return token


def cross_site_refusal() -> Response | None:
    """A 403 page for a POST that did not come from a console page of this origin: a browser's
    Sec-Fetch-Site or Origin saying another site, or a form without this browser's token."""
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    given = request.form.get("csrf") or ""
    if (site not in (None, "same-origin", "none")
            or (origin and origin.rstrip("/") != request.host_url.rstrip("/"))
            or not cookie or not hmac.compare_digest(cookie, given)):
        return render("refused.html", status=403, message=CROSS_SITE)
    return None


# -- answers --------------------------------------------------------------------------------------
def url(path: str, **query: Any) -> str:
    """A console URL: PREFIX + path with the query's non-empty values."""
    values = {k: v for k, v in query.items() if v not in (None, "")}
    return PREFIX + path + ("?" + urlencode(values) if values else "")


def redirect(target: str, **query: Any) -> Response:
    values = {k: v for k, v in query.items() if v}
    location = target + (("&" if "?" in target else "?") + urlencode(values) if values else "")
    response = Response("", 303)
    response.headers["Location"] = location
    return response


def render(template: str, status: int = 200, **values: Any) -> Response:
    emulator = console().emulator
    body = render_template(f"console/{template}", prefix=PREFIX, url=url, csrf=csrf_token(),
                           notice=request.args.get("notice"), error=request.args.get("error"),
                           base_url=emulator.base_url(request), account_id=emulator.config.account_id,
                           **values)
    response = Response(body, status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; "
                                                   "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    fresh = getattr(request, "_console_csrf", None)
    if fresh and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, fresh, path=PREFIX, httponly=True, samesite="Strict",
                            secure=request.scheme == "https")
    return response


def fail(message: str, status: int = 404) -> Answer:
    """An Answer showing `message` on an error page."""
    return Answer(render("refused.html", status=status, message=message))
