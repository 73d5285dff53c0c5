"""aws-amplify v6 with an identity pool against the emulator (tests/node/identity_pool.mjs):
`fetchAuthSession()` for a guest and for a signed-in user, with `identityPoolEndpoint`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess

from helpers import boto_client, unique
from node_runner import NODE_DIR, PASSWORD, requires_node, run_script

AUTH_ROLE = "arn:aws:iam::000000000000:role/amplify-authenticated"
UNAUTH_ROLE = "arn:aws:iam::000000000000:role/amplify-guest"

pytestmark = requires_node


def role_of(endpoint: str, creds: dict) -> str:
    """The role the credentials act as, asked of the emulator's STS with those credentials."""
    sts = boto_client("sts", endpoint, access_key=creds["accessKeyId"], secret_key=creds["secretAccessKey"],
                      session_token=creds["sessionToken"])
    arn = sts.get_caller_identity()["Arn"]
    role_name = arn.split(":assumed-role/", 1)[1].split("/")[0]
    return f"arn:aws:iam::000000000000:role/{role_name}"


def test_amplify_guest_then_signed_in_credentials(idp, identity, endpoint, clock):
    pool = idp.create_user_pool(PoolName=unique("ampid"))["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web", ExplicitAuthFlows=[
        "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    username = unique("amy")
    idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool}"
    identity_pool = identity.create_identity_pool(
        IdentityPoolName=unique("ampid"), AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client}])["IdentityPoolId"]
    identity.set_identity_pool_roles(IdentityPoolId=identity_pool,
                                     Roles={"authenticated": AUTH_ROLE, "unauthenticated": UNAUTH_ROLE})
    now = clock.now()

    out = run_script("identity_pool.mjs", ENDPOINT=endpoint, POOL_ID=pool, CLIENT_ID=client,
                     IDENTITY_POOL_ID=identity_pool, USERNAME=username, PASSWORD=PASSWORD)

    guest = out["guest"]
    assert guest["signedIn"] is False
    assert guest["identityId"].startswith("us-east-1:")
    assert guest["credentials"]["accessKeyId"].startswith("ASIA")
    assert role_of(endpoint, guest["credentials"]) == UNAUTH_ROLE

    # Signing in keeps the guest identity, which becomes authenticated.
    assert out["signIn"] is True
    authed = out["authenticated"]
    assert authed["signedIn"] is True
    assert authed["identityId"] == guest["identityId"]
    assert authed["credentials"]["accessKeyId"] != guest["credentials"]["accessKeyId"]
    assert role_of(endpoint, authed["credentials"]) == AUTH_ROLE
    expiration = dt.datetime.fromisoformat(authed["credentials"]["expiration"].replace("Z", "+00:00"))
    assert abs(expiration.timestamp() - (now + 3600)) < 60

    # A later sign-in without the cached id finds the same identity through its login.
    assert out["signInAgain"] is True
    assert out["again"]["identityId"] == guest["identityId"]
    assert role_of(endpoint, out["again"]["credentials"]) == AUTH_ROLE

    described = identity.describe_identity(IdentityId=guest["identityId"])
    assert described["Logins"] == [provider]
    listed = identity.list_identities(IdentityPoolId=identity_pool, MaxResults=60)["Identities"]
    assert [i["IdentityId"] for i in listed] == [guest["identityId"]]


def test_amplify_guest_refused_without_unauthenticated_access(idp, identity, endpoint):
    pool = idp.create_user_pool(PoolName=unique("ampid"))["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    identity_pool = identity.create_identity_pool(
        IdentityPoolName=unique("ampid"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool}",
                                   "ClientId": client}])["IdentityPoolId"]
    result = subprocess.run(
        ["node", "--input-type=module", "-e", GUEST_ONLY], cwd=NODE_DIR, capture_output=True, text=True,
        timeout=120, env={**os.environ, "ENDPOINT": endpoint, "POOL_ID": pool, "CLIENT_ID": client,
                          "IDENTITY_POOL_ID": identity_pool})
    assert result.returncode == 0, result.stderr
    out = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    # Amplify surfaces the service's own error to the app.
    assert out == {"name": "NotAuthorizedException",
                   "message": "Unauthenticated access is not supported for this identity pool."}
    assert identity.list_identities(IdentityPoolId=identity_pool, MaxResults=60)["Identities"] == []


GUEST_ONLY = """
import { Amplify } from "aws-amplify";
import { fetchAuthSession } from "aws-amplify/auth";
const env = process.env;
Amplify.configure({ Auth: { Cognito: {
  userPoolId: env.POOL_ID, userPoolClientId: env.CLIENT_ID, identityPoolId: env.IDENTITY_POOL_ID,
  allowGuestAccess: true, userPoolEndpoint: env.ENDPOINT, identityPoolEndpoint: env.ENDPOINT } } });
try {
  const s = await fetchAuthSession();
  console.log(JSON.stringify({ identityId: s.identityId ?? null, credentials: !!s.credentials }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, message: e.message }));
}
"""
