"""Console pages for user pools and their users: browse, search (ListUsers' filter grammar) and
act, every action through the pool's API operations."""

from __future__ import annotations

from urllib.parse import quote

from flask import request
from werkzeug.wrappers import Response

from emulator.console.common import action, blueprint, call, fail, page, region_of, render, url
from protocol import ServiceError

IDP = "cognito-idp"
USERS_PER_PAGE = 20


def _pool_region(kwargs: dict) -> str:
    return region_of(kwargs["pool_id"])


def _pool_page(kwargs: dict) -> str:
    return url(f"/pools/{kwargs['pool_id']}")


def _user_page(kwargs: dict) -> str:
    return url(f"/pools/{kwargs['pool_id']}/users/{quote(kwargs['username'], safe='/')}")


def describe_pool(ctx, pool_id: str) -> dict:
    try:
        return call(ctx, IDP, "DescribeUserPool", UserPoolId=pool_id)["UserPool"]
    except ServiceError as err:
        raise fail(f"{err.code}: {err.message}") from None


def pool_clients(ctx, pool_id: str) -> list[dict]:
    """Every app client of the pool, described."""
    found, token = [], None
    while True:
        listed = call(ctx, IDP, "ListUserPoolClients", UserPoolId=pool_id, MaxResults=60, NextToken=token)
        for summary in listed.get("UserPoolClients", []):
            found.append(call(ctx, IDP, "DescribeUserPoolClient", UserPoolId=pool_id,
                              ClientId=summary["ClientId"])["UserPoolClient"])
        token = listed.get("NextToken")
        if not token:
            return found


def _all(ctx, operation: str, key: str, token_name: str = "NextToken", **req) -> list[dict]:
    found, token = [], None
    while True:
        listed = call(ctx, IDP, operation, **req, **{token_name: token})
        found.extend(listed.get(key, []))
        token = listed.get(token_name)
        if not token:
            return found


# -- user pools -----------------------------------------------------------------------------------
@blueprint.get("/pools/<pool_id>")
@page(region=_pool_region)
def pool_page(ctx, pool_id: str) -> Response:
    pool = describe_pool(ctx, pool_id)
    domain = None
    if pool.get("Domain") or pool.get("CustomDomain"):
        domain = call(ctx, IDP, "DescribeUserPoolDomain",
                      Domain=pool.get("CustomDomain") or pool["Domain"]).get("DomainDescription")
    search = request.args.get("filter", "")
    users, next_token, search_error = [], None, None
    try:
        listed = call(ctx, IDP, "ListUsers", UserPoolId=pool_id, Limit=USERS_PER_PAGE, Filter=search or None,
                      PaginationToken=request.args.get("page") or None)
        users, next_token = listed.get("Users", []), listed.get("PaginationToken")
    except ServiceError as err:
        search_error = f"{err.code}: {err.message}"
    return render("pool.html", pool=pool, domain=domain, clients=pool_clients(ctx, pool_id),
                  groups=_all(ctx, "ListGroups", "Groups", UserPoolId=pool_id, Limit=60),
                  providers=_all(ctx, "ListIdentityProviders", "Providers", UserPoolId=pool_id, MaxResults=60),
                  users=users, next_token=next_token, search=search, search_error=search_error,
                  triggers={k: v for k, v in (pool.get("LambdaConfig") or {}).items() if v})


@blueprint.post("/pools/<pool_id>/delete")
@action(back=lambda kw: url("/"), region=_pool_region,
        confirm=lambda kw: f"Delete the user pool {kw['pool_id']} with all its users, clients and groups?")
def delete_pool(ctx, pool_id: str) -> str:
    call(ctx, IDP, "DeleteUserPool", UserPoolId=pool_id)
    return f"User pool {pool_id} deleted."


# -- users ----------------------------------------------------------------------------------------
@blueprint.post("/pools/<pool_id>/users")
@action(back=_pool_page, region=_pool_region)
def create_user(ctx, pool_id: str) -> str:
    form = request.form
    attributes = [{"Name": name, "Value": form[name].strip()} for name in ("email", "phone_number")
                  if form.get(name, "").strip()]
    for line in form.get("attributes", "").splitlines():
        if line.strip():
            name, _, value = line.partition("=")
            attributes.append({"Name": name.strip(), "Value": value.strip()})
    if form.get("verified") == "yes":
        attributes += [{"Name": f"{a['Name']}_verified", "Value": "true"} for a in list(attributes)
                       if a["Name"] in ("email", "phone_number")]
    created = call(ctx, IDP, "AdminCreateUser", UserPoolId=pool_id, Username=form.get("username", ""),
                   UserAttributes=attributes or None,
                   TemporaryPassword=form.get("temporary_password") or None,
                   MessageAction="SUPPRESS" if form.get("suppress") == "yes" else None)
    return f"User {created['User']['Username']} created ({created['User']['UserStatus']})."


@blueprint.get("/pools/<pool_id>/users/<path:username>")
@page(region=_pool_region)
def user_page(ctx, pool_id: str, username: str) -> Response:
    pool = describe_pool(ctx, pool_id)
    try:
        user = call(ctx, IDP, "AdminGetUser", UserPoolId=pool_id, Username=username)
    except ServiceError as err:
        raise fail(f"{err.code}: {err.message}") from None
    devices, devices_error = [], None
    try:
        devices = _all(ctx, "AdminListDevices", "Devices", token_name="PaginationToken", UserPoolId=pool_id,
                       Username=username, Limit=60)
    except ServiceError as err:  # e.g. device tracking off: shown, not fatal
        devices_error = f"{err.code}: {err.message}"
    return render("user.html", pool=pool, user=user, username=username, devices=devices,
                  devices_error=devices_error,
                  groups=_all(ctx, "AdminListGroupsForUser", "Groups", UserPoolId=pool_id, Username=username,
                              Limit=60),
                  pool_groups=_all(ctx, "ListGroups", "Groups", UserPoolId=pool_id, Limit=60))


def _user_action(name: str, operation: str, done: str, confirm: str | None = None, **fields: str):
    """A POST /pools/<pool_id>/users/<path:username>/<name> calling `operation` for the user; `fields`
    maps the operation's members to form fields."""
    def view(ctx, pool_id: str, username: str) -> str:
        values = {member: request.form.get(field, "") for member, field in fields.items()}
        call(ctx, IDP, operation, UserPoolId=pool_id, Username=username, **values)
        return done.format(username=username, **values)
    view.__name__ = f"user_{name.replace('-', '_')}"
    asking = (lambda kw: confirm.format(**kw)) if confirm else None
    blueprint.post(f"/pools/<pool_id>/users/<path:username>/{name}")(
        action(back=_user_page, region=_pool_region, confirm=asking)(view))


_user_action("confirm", "AdminConfirmSignUp", "User {username} confirmed.")
_user_action("disable", "AdminDisableUser", "User {username} disabled.")
_user_action("enable", "AdminEnableUser", "User {username} enabled.")
_user_action("sign-out", "AdminUserGlobalSignOut", "User {username} signed out of every device.")
_user_action("reset-password", "AdminResetUserPassword", "Password of {username} reset.",
             confirm="Reset the password of {username}? Their current password stops working.")
_user_action("add-to-group", "AdminAddUserToGroup", "User {username} added to {GroupName}.", GroupName="group")
_user_action("remove-from-group", "AdminRemoveUserFromGroup", "User {username} removed from {GroupName}.",
             GroupName="group")


@blueprint.post("/pools/<pool_id>/users/<path:username>/set-password")
@action(back=_user_page, region=_pool_region,
        confirm=lambda kw: f"Set a new password for {kw['username']}"
                           f"{' (permanent)' if request.form.get('permanent') == 'yes' else ' (temporary)'}?")
def set_password(ctx, pool_id: str, username: str) -> str:
    permanent = request.form.get("permanent") == "yes"
    call(ctx, IDP, "AdminSetUserPassword", UserPoolId=pool_id, Username=username,
         Password=request.form.get("password", ""), Permanent=permanent)
    return f"Password of {username} set ({'permanent' if permanent else 'temporary'})."


@blueprint.post("/pools/<pool_id>/users/<path:username>/delete")
@action(back=_pool_page, region=_pool_region,
        confirm=lambda kw: f"Delete the user {kw['username']} from {kw['pool_id']}?")
def delete_user(ctx, pool_id: str, username: str) -> str:
    call(ctx, IDP, "AdminDeleteUser", UserPoolId=pool_id, Username=username)
    return f"User {username} deleted."
