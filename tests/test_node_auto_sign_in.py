"""Amplify v6 sign-up with automatic sign-in (signUp autoSignIn -> confirmSignUp -> autoSignIn())
against the running emulator (tests/node/auto_sign_in.mjs)."""

from __future__ import annotations

import pytest
from helpers import unique
from test_node_clients import PASSWORD, _skip_reason, run_script

pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def _pool(idp, factors: list[str]) -> str:
    return idp.create_user_pool(PoolName=unique("auto"), UserPoolTier="ESSENTIALS", AutoVerifiedAttributes=["email"],
                                UsernameAttributes=["email"],
                                Policies={"SignInPolicy": {"AllowedFirstAuthFactors": factors}})["UserPool"]["Id"]


def _client(idp, pool_id: str) -> str:
    return idp.create_user_pool_client(UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=[
        "ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]


@pytest.mark.parametrize("mode", ["srp", "user_auth"])
def test_amplify_sign_up_then_auto_sign_in(idp, endpoint, mode):
    pool_id = _pool(idp, ["PASSWORD", "EMAIL_OTP"])
    client_id = _client(idp, pool_id)
    email = f"{unique('amp')}@example.com"
    out = run_script("auto_sign_in.mjs", ENDPOINT=endpoint, POOL_ID=pool_id, CLIENT_ID=client_id,
                     USERNAME=email, PASSWORD=PASSWORD, EMAIL=email, MODE=mode)
    assert out["signUp"] == {"isSignUpComplete": False, "nextStep": "CONFIRM_SIGN_UP"}
    assert out["confirmSignUp"] == {"isSignUpComplete": True, "nextStep": "COMPLETE_AUTO_SIGN_IN"}
    assert out["autoSignIn"] == {"isSignedIn": True, "nextStep": "DONE"}
    user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    assert out["currentUser"] == user["Username"]
    assert out["session"] == {"tokenUse": "access", "username": user["Username"], "email": email}
    assert user["UserStatus"] == "CONFIRMED"
