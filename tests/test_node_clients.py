"""The real JS clients against the running emulator: amazon-cognito-identity-js and
aws-amplify v6 (scripts in tests/node, installed with `npm ci --prefix tests/node`)."""

from __future__ import annotations

from helpers import unique
from node_runner import PASSWORD, requires_node, run_script
from node_runner import skip_reason as _skip_reason  # noqa: F401 (test_node_auto_sign_in imports it from here)

pytestmark = requires_node


def test_amazon_cognito_identity_js(idp, endpoint):
    pool = idp.create_user_pool(PoolName=unique("js"), DeviceConfiguration={
        "ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": True})["UserPool"]
    client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web", ExplicitAuthFlows=[
        "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    username = unique("js")
    idp.admin_create_user(UserPoolId=pool["Id"], Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool["Id"], Username=username, Password=PASSWORD, Permanent=True)
    out = run_script("identity_js.mjs", ENDPOINT=endpoint, POOL_ID=pool["Id"], CLIENT_ID=client["ClientId"],
                     USERNAME=username, PASSWORD=PASSWORD, NEW_PASSWORD="N3w-Passw0rd!")
    assert out["wrongPassword"] == {"code": "NotAuthorizedException", "message": "Incorrect username or password."}
    assert out["signIn"] == {"username": username, "tokenUse": "id", "valid": True,
                             "userConfirmationNecessary": True}
    assert out["deviceKey"].startswith("us-east-1_")
    assert out["devices"] == [out["deviceKey"]]
    assert out["refresh"] == {"changed": True, "authTime": True}
    assert out["changePassword"] == "SUCCESS"
    # the second sign-in proves the remembered device with DEVICE_SRP_AUTH: no new device
    assert out["secondSignIn"] == {"valid": True, "deviceKey": out["deviceKey"]}
    assert out["afterGlobalSignOut"] == {"code": "NotAuthorizedException", "message": "Access Token has been revoked"}
    devices = idp.admin_list_devices(UserPoolId=pool["Id"], Username=username)["Devices"]
    assert [d["DeviceKey"] for d in devices] == [out["deviceKey"]]


def test_amplify_v6(idp, endpoint):
    pool = idp.create_user_pool(PoolName=unique("amp"), AutoVerifiedAttributes=["email"])["UserPool"]
    idp.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web", ExplicitAuthFlows=[
        "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    username = unique("amp")
    out = run_script("amplify.mjs", ENDPOINT=endpoint, POOL_ID=pool["Id"], CLIENT_ID=client["ClientId"],
                     USERNAME=username, PASSWORD=PASSWORD, EMAIL=f"{username}@example.com")
    assert out["signUp"] == {"isSignUpComplete": False, "nextStep": "CONFIRM_SIGN_UP", "medium": "EMAIL"}
    assert out["confirmSignUp"] == {"isSignUpComplete": True}
    assert out["wrongPassword"] == {"name": "NotAuthorizedException", "message": "Incorrect username or password."}
    assert out["signIn"] == {"isSignedIn": True, "nextStep": "DONE"}
    assert out["currentUser"] == username
    assert out["setupUri"] is True
    assert out["totpSetup"] == "SUCCESS"
    assert out["totpChallenge"] == "CONFIRM_SIGN_IN_WITH_TOTP_CODE"
    assert out["totpSignIn"] == {"isSignedIn": True, "nextStep": "DONE"}
    assert out["session"] == {"tokenUse": "access", "username": username, "idUse": "id",
                              "email": f"{username}@example.com", "iss": f"{endpoint}/{pool['Id']}"}
    assert out["signedOut"] is True
    user = idp.admin_get_user(UserPoolId=pool["Id"], Username=username)
    assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert user["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
