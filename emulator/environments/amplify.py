"""Amplify Gen 2 `amplify_outputs.json`: the `auth` section becomes a user pool, app client and
identity pool with the ids and settings the app already has, and the summary tells how to point the
app at the emulator."""

from __future__ import annotations

from typing import Any

from emulator.environments.documents import Document
from emulator.environments.seed import Seeder

MFA_MODES = {"NONE": "OFF", "OFF": "OFF", "OPTIONAL": "OPTIONAL", "REQUIRED": "ON", "ON": "ON"}
AMPLIFY_FLOWS = ["ALLOW_CUSTOM_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
SOCIAL_NAMES = {"GOOGLE": "Google", "FACEBOOK": "Facebook", "LOGIN_WITH_AMAZON": "LoginWithAmazon",
                "SIGN_IN_WITH_APPLE": "SignInWithApple"}
PASSWORD_FLAGS = {"require_lowercase": "RequireLowercase", "require_uppercase": "RequireUppercase",
                  "require_numbers": "RequireNumbers", "require_symbols": "RequireSymbols"}


# A field of the declared user pool -> the field of the auth section it is made from.
DECLARED_FROM = {"PoolName": "user_pool_id", "Policies": "password_policy", "UsernameAttributes": "username_attributes",
                 "AutoVerifiedAttributes": "user_verification_types", "Schema": "standard_required_attributes",
                 "mfa_config": "mfa_configuration", "SmsConfiguration": "mfa_methods", "groups": "groups",
                 "domain": "oauth"}


def declaration(data: dict, account_id: str) -> tuple[dict, list[str]]:
    """(the seed declaration the outputs stand for, notes for the user). Paths in the
    declaration follow the outputs' own where an error could point at them."""
    auth = data["auth"]
    pool_id = auth.get("user_pool_id")
    region = auth.get("aws_region") or (pool_id.split("_")[0] if isinstance(pool_id, str) else None)
    notes: list[str] = []
    pool: dict[str, Any] = {"id": pool_id, "PoolName": f"amplify-{pool_id}"}
    policy = auth.get("password_policy")
    if isinstance(policy, dict):
        rules: dict[str, Any] = {"MinimumLength": policy.get("min_length", 8)}
        rules.update({api: bool(policy.get(key, False)) for key, api in PASSWORD_FLAGS.items()})
        pool["Policies"] = {"PasswordPolicy": rules}
    names = [str(a).lower() for a in auth.get("username_attributes") or []]
    if [n for n in names if n != "username"]:
        pool["UsernameAttributes"] = [n for n in names if n != "username"]
    verified = [str(a).lower() for a in auth.get("user_verification_types") or []]
    if verified:
        pool["AutoVerifiedAttributes"] = verified
    required = auth.get("standard_required_attributes") or []
    if required:
        pool["Schema"] = [{"Name": str(a), "Required": True} for a in required]
    mode = MFA_MODES.get(str(auth.get("mfa_configuration") or "NONE").upper(), "OFF")
    methods = [str(m).upper() for m in auth.get("mfa_methods") or []]
    if mode != "OFF":
        mfa: dict[str, Any] = {"MfaConfiguration": mode,
                               "SoftwareTokenMfaConfiguration": {"Enabled": "TOTP" in methods}}
        if "SMS" in methods:
            sms = {"SnsCallerArn": f"arn:aws:iam::{account_id}:role/amplify-sms", "ExternalId": "amplify"}
            pool["SmsConfiguration"] = sms
            mfa["SmsMfaConfiguration"] = {"SmsConfiguration": sms}
        pool["mfa_config"] = mfa
    groups = []
    for entry in auth.get("groups") or []:
        for name, settings in (entry.items() if isinstance(entry, dict) else []):
            group = {"GroupName": name}
            if isinstance(settings, dict) and settings.get("precedence") is not None:
                group["Precedence"] = settings["precedence"]
            groups.append(group)
    if groups:
        pool["groups"] = groups
    client: dict[str, Any] = {"id": auth.get("user_pool_client_id"), "ClientName": "amplify-web",
                              "ExplicitAuthFlows": list(AMPLIFY_FLOWS)}
    oauth = auth.get("oauth")
    if isinstance(oauth, dict):
        domain = str(oauth.get("domain") or "")
        if domain.endswith(".amazoncognito.com") or ".auth." in domain:
            pool["domain"] = domain.split(".")[0]
        elif domain:
            notes.append(f"oauth.domain {domain} is a custom domain: the hosted UI is served at the emulator's "
                         "own address (set oauth.domain to it, e.g. localhost:9229)")
        client.update({"AllowedOAuthFlowsUserPoolClient": True,
                       "AllowedOAuthFlows": ["implicit" if oauth.get("response_type") == "token" else "code"],
                       "AllowedOAuthScopes": list(oauth.get("scopes") or ["openid"]),
                       "CallbackURLs": list(oauth.get("redirect_sign_in_uri") or []),
                       "LogoutURLs": list(oauth.get("redirect_sign_out_uri") or []),
                       "SupportedIdentityProviders": ["COGNITO"]})
        social = [SOCIAL_NAMES.get(str(p).upper(), str(p)) for p in oauth.get("identity_providers") or []]
        if social:
            notes.append(f"identity providers {', '.join(social)} need their client ids and secrets: declare them "
                         "in a seed file (identity_providers) and add them to the client's SupportedIdentityProviders")
    pool["clients"] = [client]
    declared: dict[str, Any] = {"user_pools": [pool]}
    if auth.get("identity_pool_id"):
        declared["identity_pools"] = [{
            "id": auth["identity_pool_id"], "IdentityPoolName": "amplify_identity_pool",
            "AllowUnauthenticatedIdentities": bool(auth.get("unauthenticated_identities_enabled", False)),
            "CognitoIdentityProviders": [{"ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
                                          "ClientId": client["id"], "ServerSideTokenCheck": False}],
            "roles": {"authenticated": f"arn:aws:iam::{account_id}:role/amplify-authenticated",
                      "unauthenticated": f"arn:aws:iam::{account_id}:role/amplify-unauthenticated"}}]
    return declared, notes


def endpoint_overrides(base_url: str, has_identity_pool: bool) -> list[str]:
    identity = f', identityPoolEndpoint: "{base_url}"' if has_identity_pool else ""
    return [
        "Point the app at the emulator (amplify_outputs.json itself needs no change):",
        "  import outputs from './amplify_outputs.json'",
        "  Amplify.configure(outputs)",
        "  const config = Amplify.getConfig()",
        "  Amplify.configure({ ...config, Auth: { ...config.Auth, Cognito: { ...config.Auth.Cognito,",
        f'    userPoolEndpoint: "{base_url}"{identity} }} }} }})',
        f"  hosted UI: set oauth.domain to {base_url.split('://', 1)[-1]}",
    ]


def apply(seeder: Seeder, data: dict) -> None:
    auth = data.get("auth")
    if not isinstance(auth, dict):
        raise seeder.error(("auth",), "expected the auth section of amplify_outputs.json")
    for key in ("user_pool_id", "user_pool_client_id"):
        if not isinstance(auth.get(key), str) or not auth[key]:
            raise seeder.error(("auth", key), "missing: amplify_outputs.json's auth section names it")
    declared, notes = declaration(data, seeder.ctx.account_id)
    outputs = seeder.doc
    seeder.doc = Document(outputs.name, declared, outputs.lines, {
        (): ("auth",), ("user_pools", 0): ("auth",), ("user_pools", 0, "id"): ("auth", "user_pool_id"),
        **{("user_pools", 0, mine): ("auth", theirs) for mine, theirs in DECLARED_FROM.items()},
        ("user_pools", 0, "clients", 0): ("auth", "oauth"),
        ("user_pools", 0, "clients", 0, "id"): ("auth", "user_pool_client_id"),
        ("identity_pools", 0): ("auth", "identity_pool_id")}, text=outputs.text)
    try:
        seeder.apply_declaration(declared)
    finally:
        seeder.doc = outputs
    seeder.summary.notes.extend(notes)
    seeder.summary.notes.extend(endpoint_overrides(seeder.ctx.base_url, bool(auth.get("identity_pool_id"))))
