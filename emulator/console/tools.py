"""Console pages that are about the emulator rather than one resource: the outbox (live), the
trigger and API call logs, the token inspector, the clock, reset, and a pool's "point your app
at this" page."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from emulator import messages
from emulator.console.common import (
    Answer,
    action,
    blueprint,
    call,
    console,
    cross_site_refusal,
    page,
    redirect,
    region_of,
    render,
    url,
)
from emulator.console.pools import describe_pool, pool_clients
from emulator.console.snippets import all_snippets
from emulator.userpools.accounts import tokens
from emulator.userpools.model import keys, pools

OUTBOX_FILTERS = ("pool_id", "username", "kind")
VERDICTS = {
    "malformed": "Not a token of this emulator (unreadable).",
    "pool": "The user pool named by its issuer does not exist.",
    "signature": "The signature does not verify against the keys of the pool named by its issuer.",
    "issuer": "Its issuer is not the pool's.",
    "token_use": "Its token_use is neither id nor access.",
    "expired": "Expired by the emulator's clock.",
    "revoked": "Revoked (signed out, or its refresh token revoked).",
}


# -- the outbox -----------------------------------------------------------------------------------
def _outbox_filters() -> dict[str, str | None]:
    return {name: request.args.get(name) or None for name in OUTBOX_FILTERS}


@blueprint.get("/outbox")
@page()
def outbox_page(ctx) -> Response:
    filters = _outbox_filters()
    return render("outbox.html", filters=filters, messages=messages.list_messages(ctx.db, limit=100, **filters),
                  feed=url("/outbox/feed", **filters))


@blueprint.get("/outbox/feed")
@page()
def outbox_feed(ctx) -> Response:
    """The outbox page's rows as JSON, polled by its script."""
    return jsonify({"messages": messages.list_messages(ctx.db, limit=100, **_outbox_filters())})


# -- logs -----------------------------------------------------------------------------------------
@blueprint.get("/triggers")
@page()
def triggers_page(ctx) -> Response:
    pool_id = request.args.get("pool_id") or None
    return render("triggers.html", pool_id=pool_id, calls=console().activity.trigger_calls(pool_id=pool_id))


@blueprint.get("/api-log")
@page()
def api_log_page(ctx) -> Response:
    operation = request.args.get("operation") or None
    errors_only = request.args.get("errors") == "yes"
    return render("api_log.html", operation=operation, errors_only=errors_only,
                  calls=console().activity.api_calls(operation=operation, errors_only=errors_only))


# -- the token inspector --------------------------------------------------------------------------
def _segment(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, (int, float)):
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def inspect_token(ctx, token: str) -> dict[str, Any]:
    """What the inspector shows of `token`: header, claims, which pool's key signed it, and the
    verdict the emulator's own checks give (expiry and revocation by its clock)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {"problem": "Not a JWT: a JWT has three parts separated by dots."}
    try:
        header, claims = _segment(parts[0]), _segment(parts[1])
    except ValueError:
        return {"problem": "Not a JWT: its header or payload is not base64url-encoded JSON."}
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return {"problem": "Not a JWT: its header or payload is not a JSON object."}
    now = ctx.now()
    found: dict[str, Any] = {"header": header, "claims": claims, "now": _iso(now),
                             "times": {k: _iso(claims.get(k)) for k in ("iat", "auth_time", "exp")
                                       if _iso(claims.get(k))}}
    exp = claims.get("exp")
    if isinstance(exp, (int, float)):
        found["expires_in"] = int(exp - now)
    pool_id = keys.token_pool_id(token)
    found["pool_id"] = pool_id
    # Which pool's key signed it: the issuer's, else any pool holding a key with its kid.
    signer = pool_id if pool_id and pools.pool_exists(ctx.db, pool_id) and keys.verify(ctx.db, pool_id, token) \
        else None
    if signer is None and isinstance(header.get("kid"), str):
        for row in ctx.db.execute("SELECT DISTINCT pool_id FROM user_pool_keys WHERE kid = ?", (header["kid"],)):
            if keys.verify(ctx.db, row[0], token):
                signer = row[0]
    found["signed_by"] = signer
    if not pool_id:
        found["verdict"], found["valid"] = "Its payload has no issuer naming a user pool.", False
        return found
    use = claims.get("token_use") if claims.get("token_use") in ("id", "access") else "id"
    try:
        tokens.verify_token(ctx, pool_id, token, use, check_revocation=True)
    except tokens.TokenInvalid as err:
        found["verdict"], found["valid"] = VERDICTS.get(err.reason, err.reason), False
        return found
    found["verdict"], found["valid"] = "Valid: signed by its pool, not expired, not revoked.", True
    return found


@blueprint.route("/tokens", methods=["GET", "POST"])
@page()
def tokens_page(ctx) -> Response:
    token = ""
    result = None
    if request.method == "POST":
        refusal = cross_site_refusal()
        if refusal is not None:
            raise Answer(refusal)
        token = "".join((request.form.get("token") or "").split())
        if token.lower().startswith("bearer"):
            token = token[6:]
        result = inspect_token(ctx, token) if token else {"problem": "Paste a token first."}
    return render("tokens.html", token=token, result=result)


# -- the clock and reset --------------------------------------------------------------------------
def clock_state(clock) -> dict[str, Any]:
    return {"now": _iso(clock.now()), "offset": clock.offset, "frozen": clock.frozen}


@blueprint.get("/clock")
@page()
def clock_page(ctx) -> Response:
    return render("clock.html", clock=clock_state(ctx.clock))


@blueprint.post("/clock")
@action(back=lambda kw: url("/clock"))
def move_clock(ctx) -> str:
    form, clock = request.form, ctx.clock
    what = form.get("do")
    if what == "advance":
        try:
            seconds = float(form.get("seconds") or "")
        except ValueError:
            raise Answer(_back_with_error("Seconds to advance must be a number.")) from None
        clock.set_offset(clock.offset + seconds)
        done = f"Clock advanced by {seconds:g} seconds."
    elif what == "freeze":
        clock.freeze()
        done = "Clock frozen."
    elif what == "unfreeze":
        clock.unfreeze()
        done = "Clock running."
    elif what == "reset":
        clock.reset()
        done = "Clock back to real time."
    else:
        raise Answer(_back_with_error("Unknown clock action."))
    clock.save(ctx.db)
    return done


def _back_with_error(message: str) -> Response:
    return redirect(url("/clock"), error=message)


@blueprint.get("/reset")
@page()
def reset_page(ctx) -> Response:
    return render("reset.html")


@blueprint.post("/reset")
def reset() -> Response:
    """Wipe every region and account (after a confirmation), and the console's logs."""
    refusal = cross_site_refusal()
    if refusal is not None:
        return refusal
    if request.form.get("confirmed") != "yes":
        return render("confirm.html", question="Delete every user pool, user, identity pool and message in every "
                      "region and account? This cannot be undone.", target=request.path, fields=[],
                      back=url("/"))
    console().emulator.reset()  # the console's logs too (its reset hook)
    return redirect(url("/"), notice="Everything was reset.")


# -- point your app at this -----------------------------------------------------------------------
@blueprint.get("/pools/<pool_id>/connect")
@page(region=lambda kw: region_of(kw["pool_id"]))
def connect_page(ctx, pool_id: str) -> Response:
    pool = describe_pool(ctx, pool_id)
    clients = pool_clients(ctx, pool_id)
    chosen = request.args.get("client")
    client = next((c for c in clients if c["ClientId"] == chosen), clients[0] if clients else None)
    identity_pool_id = _identity_pool_of(ctx, pool_id)
    base = ctx.base_url
    return render("connect.html", pool=pool, clients=clients, client=client, identity_pool_id=identity_pool_id,
                  issuer=keys.issuer(ctx.config, base, region_of(pool_id), pool_id),
                  snippets=all_snippets(pool, client, identity_pool_id, base, region_of(pool_id)))


def _identity_pool_of(ctx, pool_id: str) -> str | None:
    """The first identity pool of the region that trusts this user pool."""
    listed = call(ctx, "cognito-identity", "ListIdentityPools", MaxResults=60)
    for summary in listed.get("IdentityPools", []):
        described = call(ctx, "cognito-identity", "DescribeIdentityPool", IdentityPoolId=summary["IdentityPoolId"])
        for provider in described.get("CognitoIdentityProviders") or []:
            if str(provider.get("ProviderName", "")).rstrip("/").endswith("/" + pool_id):
                return summary["IdentityPoolId"]
    return None
