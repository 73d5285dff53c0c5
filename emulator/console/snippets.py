"""The "point your app at this" snippets of a pool: Amplify v6, amplify_outputs.json, boto3 and the
AWS SDK for JavaScript v3, filled with the pool's ids and the emulator's endpoint."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit


def _js(value: Any, indent: int = 2) -> str:
    return json.dumps(value, indent=indent)


def _oauth(client: dict | None, base_url: str) -> dict | None:
    """Amplify's oauth settings when the client uses the managed login (served on the emulator's host)."""
    if not client or not client.get("AllowedOAuthFlowsUserPoolClient"):
        return None
    flows = client.get("AllowedOAuthFlows") or []
    return {"domain": urlsplit(base_url).netloc, "scopes": client.get("AllowedOAuthScopes") or [],
            "redirectSignIn": client.get("CallbackURLs") or [], "redirectSignOut": client.get("LogoutURLs") or [],
            "responseType": "code" if "code" in flows or not flows else "token"}


def amplify(pool: dict, client: dict | None, identity_pool_id: str | None, base_url: str) -> str:
    cognito: dict[str, Any] = {"userPoolId": pool["Id"], "userPoolClientId": client["ClientId"] if client else "",
                               "userPoolEndpoint": base_url}
    if identity_pool_id:
        cognito["identityPoolId"] = identity_pool_id
    oauth = _oauth(client, base_url)
    if oauth:
        cognito["loginWith"] = {"oauth": oauth}
    return ('import { Amplify } from "aws-amplify";\n\n'
            f"Amplify.configure({_js({'Auth': {'Cognito': cognito}})});\n")


def amplify_outputs(pool: dict, client: dict | None, identity_pool_id: str | None, base_url: str,
                    region: str) -> str:
    auth: dict[str, Any] = {"aws_region": region, "user_pool_id": pool["Id"],
                            "user_pool_client_id": client["ClientId"] if client else ""}
    if identity_pool_id:
        auth["identity_pool_id"] = identity_pool_id
    policy = (pool.get("Policies") or {}).get("PasswordPolicy") or {}
    if policy:
        auth["password_policy"] = {
            "min_length": policy.get("MinimumLength", 8),
            "require_lowercase": bool(policy.get("RequireLowercase")),
            "require_uppercase": bool(policy.get("RequireUppercase")),
            "require_numbers": bool(policy.get("RequireNumbers")),
            "require_symbols": bool(policy.get("RequireSymbols"))}
    if pool.get("UsernameAttributes"):
        auth["username_attributes"] = [a.lower() for a in pool["UsernameAttributes"]]
    if pool.get("MfaConfiguration"):
        auth["mfa_configuration"] = pool["MfaConfiguration"]
    oauth = _oauth(client, base_url)
    if oauth:
        auth["oauth"] = {"identity_providers": [], "domain": oauth["domain"], "scopes": oauth["scopes"],
                         "redirect_sign_in_uri": oauth["redirectSignIn"],
                         "redirect_sign_out_uri": oauth["redirectSignOut"], "response_type": oauth["responseType"]}
    return _js({"version": "1.3", "auth": auth}) + "\n"


def amplify_with_outputs(base_url: str) -> str:
    """amplify_outputs.json has no endpoint: the app adds the emulator's after configuring."""
    return ('import { Amplify } from "aws-amplify";\n'
            'import outputs from "./amplify_outputs.json";\n\n'
            "Amplify.configure(outputs);\n"
            "const config = Amplify.getConfig();\n"
            "Amplify.configure({ ...config, Auth: { Cognito: { ...config.Auth.Cognito,\n"
            f"  userPoolEndpoint: {_js(base_url)} }} }} }});\n")


def boto3_snippet(pool: dict, client: dict | None, identity_pool_id: str | None, base_url: str,
                  region: str) -> str:
    lines = ["import boto3", "",
             f'idp = boto3.client("cognito-idp", endpoint_url={_js(base_url)}, region_name={_js(region)},',
             '                   aws_access_key_id="test", aws_secret_access_key="test")',
             f"idp.list_users(UserPoolId={_js(pool['Id'])})"]
    if client:
        lines += [f"tokens = idp.initiate_auth(ClientId={_js(client['ClientId'])}, AuthFlow=\"USER_PASSWORD_AUTH\",",
                  '                         AuthParameters={"USERNAME": "alice", "PASSWORD": "Passw0rd!"})']
    if identity_pool_id:
        lines += ["",
                  f'identity = boto3.client("cognito-identity", endpoint_url={_js(base_url)}, '
                  f"region_name={_js(region)})",
                  f"identity.get_id(IdentityPoolId={_js(identity_pool_id)})"]
    return "\n".join(lines) + "\n"


def js_sdk(pool: dict, client: dict | None, identity_pool_id: str | None, base_url: str, region: str) -> str:
    text = ('import { CognitoIdentityProviderClient, InitiateAuthCommand }\n'
            '  from "@aws-sdk/client-cognito-identity-provider";\n\n'
            f"const idp = new CognitoIdentityProviderClient({{ region: {_js(region)}, endpoint: {_js(base_url)} }});\n")
    if client:
        text += (f"const answer = await idp.send(new InitiateAuthCommand({{ ClientId: {_js(client['ClientId'])},\n"
                 '  AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: { USERNAME: "alice", PASSWORD: "Passw0rd!" } }));\n')
    if identity_pool_id:
        text += ('\nimport { CognitoIdentityClient, GetIdCommand } from "@aws-sdk/client-cognito-identity";\n'
                 f"const identity = new CognitoIdentityClient({{ region: {_js(region)}, endpoint: {_js(base_url)} }});\n"
                 f"await identity.send(new GetIdCommand({{ IdentityPoolId: {_js(identity_pool_id)} }}));\n")
    return text


def all_snippets(pool: dict, client: dict | None, identity_pool_id: str | None, base_url: str,
                 region: str) -> list[tuple[str, str, str]]:
    """(id, title, text) of each snippet."""
    return [
        ("amplify", "Amplify v6 (Amplify.configure)", amplify(pool, client, identity_pool_id, base_url)),
        ("outputs", "amplify_outputs.json", amplify_outputs(pool, client, identity_pool_id, base_url, region)),
        ("outputs-endpoint", "Amplify v6 with amplify_outputs.json (the endpoint added)",
         amplify_with_outputs(base_url)),
        ("boto3", "boto3", boto3_snippet(pool, client, identity_pool_id, base_url, region)),
        ("jssdk", "AWS SDK for JavaScript v3", js_sdk(pool, client, identity_pool_id, base_url, region)),
    ]
