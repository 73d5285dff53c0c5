"""The user pool user an external identity (OIDC, OAuth 2.0 or SAML provider) signs in as: the
native user the identity is linked to (AdminLinkProviderForUser), else the `{ProviderName}_{id}`
user (status EXTERNAL_PROVIDER), created with PreSignUp_ExternalProvider and PostConfirmation,
or refreshed with the attributes the provider's AttributeMapping finds."""

from __future__ import annotations

import json

from emulator.oauth.common import AuthRequest
from emulator.userpools.accounts import lifecycle as accounts
from emulator.userpools.model import users
from emulator.userpools.outbound import triggers


class FederationError(Exception):
    """The identity provider's answer cannot be used; the message is what the app is told."""


def _string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _mapped_attributes(provider: dict, claims: dict) -> dict[str, str]:
    out = {}
    for attribute, claim in (provider.get("AttributeMapping") or {}).items():
        if attribute == "username" or claim not in claims or claims[claim] is None:
            continue
        value = _string(claims[claim])
        out[attribute] = value.lower() if attribute.endswith("_verified") else value
    return out


def federated_user(ctx, areq: AuthRequest, provider: dict, claims: dict, *, external_id: str | None = None,
                   attrs: dict[str, str] | None = None, issuer: str | None = None) -> dict:
    """The user this external identity signs in as: a linked native user, or the
    `{ProviderName}_{id}` user created (PreSignUp_ExternalProvider) or refreshed here.
    `external_id` and `attrs` default to what the provider's AttributeMapping finds in `claims`."""
    pool, client = areq.pool, areq.client
    name = provider["ProviderName"]
    if external_id is None:
        id_claim = (provider.get("AttributeMapping") or {}).get("username") or "sub"
        external_id = claims.get(id_claim)
        if external_id in (None, ""):
            raise FederationError(f"identity provider returned no {id_claim}")
        external_id = _string(external_id)
    attrs = dict(attrs) if attrs is not None else _mapped_attributes(provider, claims)
    if issuer is None:
        issuer = (provider.get("ProviderDetails") or {}).get("oidc_issuer")
    username = f"{name}_{external_id}"
    user = _existing_user(ctx, pool, name, external_id, username, attrs)
    if user is not None:
        return user
    now = ctx.now()
    response = triggers.run_trigger(
        ctx, pool, "PreSignUp", "PreSignUp_ExternalProvider", username=username, client_id=client["ClientId"],
        request={"userAttributes": dict(attrs), "validationData": None, "clientMetadata": {}},
        response={"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}) or {}
    # PreSignUp ran with the store released: a concurrent sign-in of the same identity may have
    # created its user (or an admin linked the identity) meanwhile. Sign in as that user.
    user = _existing_user(ctx, pool, name, external_id, username, attrs)
    if user is not None:
        return user
    if response.get("autoVerifyEmail") and attrs.get("email"):
        attrs["email_verified"] = "true"
    if response.get("autoVerifyPhone") and attrs.get("phone_number"):
        attrs["phone_number_verified"] = "true"
    identity = {"userId": external_id, "providerName": name, "providerType": provider["ProviderType"],
                "issuer": issuer, "primary": "true",
                "dateCreated": str(int(now * 1000))}
    attrs["identities"] = json.dumps([identity], separators=(",", ":"))
    user = users.new_user(pool, username, attrs, status="EXTERNAL_PROVIDER", now=now)
    users.save_user(ctx.db, pool, user)
    accounts.run_post_confirmation(ctx, pool, user, "PostConfirmation_ConfirmSignUp", client["ClientId"], None)
    return user


def _existing_user(ctx, pool: dict, provider_name: str, external_id: str, username: str,
                   attrs: dict[str, str]) -> dict | None:
    """The native user the identity is linked to, else its federated user refreshed with `attrs`,
    else None."""
    linked = users.linked_username(ctx.db, pool["Id"], provider_name, external_id)
    if linked:
        user = users.by_username(ctx.db, pool, linked)
        if user is not None:
            return user
    user = users.by_username(ctx.db, pool, username)
    if user is None:
        return None
    user["attributes"].update(attrs)
    users.touch(user, ctx.now())
    return users.save_user(ctx.db, pool, user)
