"""CUSTOM_AUTH with amazon-cognito-identity-js (initiateAuth, sendCustomChallengeAnswer, and the
CUSTOM_AUTH flow type with SRP first), the challenge triggers played by the test."""

from __future__ import annotations

from helpers import boto_client, make_pool, make_user
from lambda_fixtures import user_pool_functions as functions
from node_runner import PASSWORD, requires_node, run_script
from test_custom_auth import CUSTOM_FLOWS, create, define, verify

pytestmark = requires_node

# The module's emulator with the functions the triggers call.
fx = functions.fx


def test_custom_auth_with_amazon_cognito_identity_js(fx):
    idp = boto_client("cognito-idp", fx.url)
    d, c, v = fx.add(define), fx.add(create, via="hook"), fx.add(verify)
    pool_id = make_pool(idp, LambdaConfig={"DefineAuthChallenge": d, "CreateAuthChallenge": c,
                                           "VerifyAuthChallengeResponse": v})
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="node", ExplicitAuthFlows=CUSTOM_FLOWS)
    username = make_user(idp, pool_id, password=PASSWORD)
    out = run_script("custom_auth.mjs", ENDPOINT=fx.url, POOL_ID=pool_id,
                     CLIENT_ID=client["UserPoolClient"]["ClientId"], USERNAME=username, PASSWORD=PASSWORD)
    assert out["firstChallenge"] == {"question": "2 + 0 = ?", "USERNAME": username}
    assert out["afterWrong"] == {"question": "2 + 1 = ?", "USERNAME": username}
    assert out["custom"] == {"username": username, "valid": True}
    assert out["failure"] == {"code": "NotAuthorizedException", "message": "Incorrect username or password."}
    assert out["srpChallenge"] == {"question": "2 + 2 = ?", "USERNAME": username}
    assert out["srp"] == {"valid": True, "tokenUse": "access"}
    # What the triggers saw: the answers' ClientMetadata, and the SRP rounds first.
    assert fx.all(v)[1]["request"]["clientMetadata"] == {"from": "node"}
    assert [s["challengeName"] for s in fx.last(d)["request"]["session"]] == [
        "SRP_A", "PASSWORD_VERIFIER", "CUSTOM_CHALLENGE"]
