"""CUSTOM_AUTH with the Define / Create / Verify auth challenge triggers, through boto3."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac

import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, claims, envelope, error, make_pool, make_user, unique
from lambda_fixtures import user_pool_functions as functions
from pycognito import aws_srp

CUSTOM_FLOWS = ["ALLOW_CUSTOM_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
NOT_CONFIGURED = ("InvalidParameterException", "Custom auth lambda trigger is not configured for the user pool.")

# The module's emulator with its functions, its cognito-idp client, and the check after each test.
fx, idp, _healthy = functions.fx, functions.idp, functions.healthy


def define(event):
    """Three tries at a custom challenge; SRP first when the client started with SRP_A."""
    session = event["request"]["session"]
    response = event["response"]
    if event["request"]["userNotFound"]:
        response.update(issueTokens=False, failAuthentication=len(session) >= 1,
                        challengeName="CUSTOM_CHALLENGE")
    elif session and session[-1]["challengeName"] == "SRP_A":
        response.update(issueTokens=False, failAuthentication=False, challengeName="PASSWORD_VERIFIER")
    elif session and session[-1]["challengeName"] == "CUSTOM_CHALLENGE" and session[-1]["challengeResult"]:
        response.update(issueTokens=True, failAuthentication=False)
    elif sum(1 for s in session if s["challengeName"] == "CUSTOM_CHALLENGE") >= 3:
        response.update(issueTokens=False, failAuthentication=True)
    else:
        response.update(issueTokens=False, failAuthentication=False, challengeName="CUSTOM_CHALLENGE")
    return event


def create(event):
    rounds = len(event["request"]["session"])
    event["response"].update(publicChallengeParameters={"question": f"2 + {rounds} = ?"},
                             privateChallengeParameters={"answer": str(2 + rounds)},
                             challengeMetadata=f"ROUND-{rounds}")
    return event


def verify(event):
    expected = event["request"]["privateChallengeParameters"]["answer"]
    event["response"]["answerCorrect"] = event["request"]["challengeAnswer"] == expected
    return event


def custom_pool(fx, idp, vias=("api", "hook", "api"), handlers=(define, create, verify), client_kwargs=None,
                **pool_kwargs):
    arns = [fx.add(h, via=v) for h, v in zip(handlers, vias, strict=True)]
    config = dict(zip(("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"), arns,
                      strict=True))
    pool_id = make_pool(idp, LambdaConfig={**config, **pool_kwargs.pop("LambdaConfig", {})}, **pool_kwargs)
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=unique("c"), ExplicitAuthFlows=CUSTOM_FLOWS,
                                         **(client_kwargs or {}))["UserPoolClient"]
    return pool_id, client, arns


def answer(idp, client, challenge, value, username=None, **kw):
    return idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="CUSTOM_CHALLENGE", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username or challenge["ChallengeParameters"]["USERNAME"],
                            "ANSWER": value}, **kw)


def test_custom_challenge_rounds(fx, idp):
    pool_id, client, (d, c, v) = custom_pool(fx, idp)
    username = make_user(idp, pool_id, attributes={"email": "cara@example.com"})
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", ClientMetadata={"init": "1"},
                              AuthParameters={"USERNAME": username})
    assert first["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert first["ChallengeParameters"] == {"question": "2 + 0 = ?", "USERNAME": username}
    assert first["Session"]
    event = fx.last(d)
    envelope(event, "DefineAuthChallenge_Authentication", pool_id, username, client["ClientId"])
    assert event["request"]["session"] == []
    assert event["request"]["userNotFound"] is False
    assert "clientMetadata" not in event["request"]  # InitiateAuth's ClientMetadata does not reach Define
    attrs = event["request"]["userAttributes"]
    assert attrs["email"] == "cara@example.com" and attrs["cognito:user_status"] == "CONFIRMED" and attrs["sub"]
    assert event["response"] == {"challengeName": None, "issueTokens": None, "failAuthentication": None}
    event = fx.last(c)
    envelope(event, "CreateAuthChallenge_Authentication", pool_id, username, client["ClientId"])
    assert event["request"]["challengeName"] == "CUSTOM_CHALLENGE"
    assert event["request"]["session"] == [] and "clientMetadata" not in event["request"]

    # A wrong answer is a failed round; Define then asks again.
    second = answer(idp, client, first, "5", ClientMetadata={"step": "1"})
    assert second["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert second["ChallengeParameters"]["question"] == "2 + 1 = ?"
    event = fx.last(v)
    envelope(event, "VerifyAuthChallengeResponse_Authentication", pool_id, username, client["ClientId"])
    assert event["request"]["privateChallengeParameters"] == {"answer": "2"}
    assert event["request"]["challengeAnswer"] == "5"
    assert event["request"]["clientMetadata"] == {"step": "1"}
    assert event["response"] == {"answerCorrect": None}
    assert fx.last(d)["request"]["session"] == [
        {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": False, "challengeMetadata": "ROUND-0"}]
    assert fx.last(d)["request"]["clientMetadata"] == {"step": "1"}

    # A session answers once.
    with pytest.raises(ClientError) as e:
        answer(idp, client, first, "2")
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user, session can only be used once.")

    done = answer(idp, client, second, "3")
    result = done["AuthenticationResult"]
    assert claims(result["IdToken"])["cognito:username"] == username
    assert done["ChallengeParameters"] == {}
    assert fx.last(d)["request"]["session"][-1] == {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": True,
                                                    "challengeMetadata": "ROUND-1"}
    # The refresh token of a custom sign-in works like any other.
    refreshed = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                  AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]})
    assert refreshed["AuthenticationResult"]["AccessToken"]


def test_fail_authentication_after_three_wrong_answers(fx, idp):
    pool_id, client, _ = custom_pool(fx, idp, vias=("hook", "hook", "hook"))
    username = make_user(idp, pool_id)
    step = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                             AuthParameters={"USERNAME": username})
    step = answer(idp, client, step, "wrong")
    step = answer(idp, client, step, "wrong")
    with pytest.raises(ClientError) as e:
        answer(idp, client, step, "wrong")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_triggers_before_and_after(fx, idp):
    pre, post, ptg = fx.add(), fx.add(), fx.add()
    pool_id, client, _ = custom_pool(fx, idp, LambdaConfig={"PreAuthentication": pre, "PostAuthentication": post,
                                                             "PreTokenGeneration": ptg})
    username = make_user(idp, pool_id)
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", ClientMetadata={"a": "1"},
                              AuthParameters={"USERNAME": username})
    assert fx.last(pre)["request"]["validationData"] == {"a": "1"}
    answer(idp, client, first, "2", ClientMetadata={"b": "2"})
    assert fx.last(post)["request"]["clientMetadata"] == {"b": "2"}
    assert fx.last(ptg)["triggerSource"] == "TokenGeneration_Authentication"
    assert fx.last(ptg)["request"]["clientMetadata"] == {"b": "2"}


def test_admin_custom_auth(fx, idp):
    pool_id, client, (d, _c, _v) = custom_pool(fx, idp)
    username = make_user(idp, pool_id)
    first = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                                    AuthParameters={"USERNAME": username})
    assert fx.last(d)["callerContext"]["clientId"] == client["ClientId"]
    # A session of the admin flow is not answered by the public operation.
    with pytest.raises(ClientError) as e:
        answer(idp, client, first, "2")
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user.")
    done = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool_id, ClientId=client["ClientId"], ChallengeName="CUSTOM_CHALLENGE", Session=first["Session"],
        ChallengeResponses={"USERNAME": username, "ANSWER": "2"})
    assert done["AuthenticationResult"]["AccessToken"]


def test_custom_auth_with_srp_first(fx, idp):
    pool_id, client, (d, _c, _v) = custom_pool(fx, idp)
    username = make_user(idp, pool_id)
    helper = aws_srp.AWSSRP(username=username, password=PASSWORD, pool_id=pool_id, client_id=client["ClientId"],
                            client=idp)
    params = {**helper.get_auth_params(), "CHALLENGE_NAME": "SRP_A"}
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters=params)
    assert first["ChallengeName"] == "PASSWORD_VERIFIER"
    assert fx.last(d)["request"]["session"] == [
        {"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}]
    cp = first["ChallengeParameters"]
    assert cp["USER_ID_FOR_SRP"] == username
    timestamp = aws_srp.AWSSRP.get_cognito_formatted_timestamp(datetime.datetime.utcnow())
    key = helper.get_password_authentication_key(username, PASSWORD, int(cp["SRP_B"], 16), cp["SALT"])
    message = (pool_id.split("_")[1].encode() + username.encode() + base64.b64decode(cp["SECRET_BLOCK"])
               + timestamp.encode())
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    second = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER", Session=first["Session"],
        ChallengeResponses={"USERNAME": username, "PASSWORD_CLAIM_SECRET_BLOCK": cp["SECRET_BLOCK"],
                            "TIMESTAMP": timestamp, "PASSWORD_CLAIM_SIGNATURE": signature})
    assert second["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert fx.last(d)["request"]["session"] == [
        {"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None},
        {"challengeName": "PASSWORD_VERIFIER", "challengeResult": True, "challengeMetadata": None}]
    assert second["ChallengeParameters"]["question"] == "2 + 2 = ?"
    done = answer(idp, client, second, "4")
    assert done["AuthenticationResult"]["IdToken"]


def test_custom_auth_with_srp_wrong_password(fx, idp):
    pool_id, client, _ = custom_pool(fx, idp)
    username = make_user(idp, pool_id)
    helper = aws_srp.AWSSRP(username=username, password="Wr0ng!pass", pool_id=pool_id,
                            client_id=client["ClientId"], client=idp)
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                              AuthParameters={**helper.get_auth_params(), "CHALLENGE_NAME": "SRP_A"})
    responses = helper.process_challenge(first["ChallengeParameters"], {**helper.get_auth_params()})
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER",
                                      Session=first["Session"], ChallengeResponses=responses)
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_all_three_triggers_are_required(fx, idp):
    for missing in ("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"):
        config = {name: fx.add() for name in ("DefineAuthChallenge", "CreateAuthChallenge",
                                              "VerifyAuthChallengeResponse") if name != missing}
        pool_id = make_pool(idp, LambdaConfig=config)
        client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=unique("c"),
                                             ExplicitAuthFlows=CUSTOM_FLOWS)["UserPoolClient"]
        username = make_user(idp, pool_id)
        with pytest.raises(ClientError) as e:
            idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                              AuthParameters={"USERNAME": username})
        assert error(e) == NOT_CONFIGURED


def test_flow_gating_and_missing_username(fx, idp):
    pool_id, _client, _ = custom_pool(fx, idp)
    username = make_user(idp, pool_id)
    other = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=unique("c"),
                                        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=other["UserPoolClient"]["ClientId"], AuthFlow="CUSTOM_AUTH",
                          AuthParameters={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "Auth flow not enabled for this client")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=_client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={})
    assert error(e) == ("InvalidParameterException", "Missing required parameter USERNAME")


def test_unknown_user(fx, idp):
    pool_id, client, _ = custom_pool(fx, idp)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "ghost"})
    assert error(e) == ("UserNotFoundException", "User does not exist.")


def test_unknown_user_with_prevent_user_existence_errors(fx, idp):
    pool_id, client, (d, c, v) = custom_pool(fx, idp, client_kwargs={"PreventUserExistenceErrors": "ENABLED"})
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                              AuthParameters={"USERNAME": "ghost"})
    assert first["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert first["ChallengeParameters"]["USERNAME"] == "ghost"
    for arn in (d, c):
        event = fx.last(arn)
        assert event["request"]["userNotFound"] is True
        assert event["request"]["userAttributes"] == {}
        assert event["userName"] == "ghost"
    with pytest.raises(ClientError) as e:
        answer(idp, client, first, "2")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    assert fx.last(v)["request"]["userNotFound"] is True


def test_issue_tokens_for_unknown_user_never_succeeds(fx, idp):
    def always_issue(event):
        event["response"].update(issueTokens=True, failAuthentication=False)
        return event
    pool_id, client, _ = custom_pool(fx, idp, handlers=(always_issue, create, verify),
                                     client_kwargs={"PreventUserExistenceErrors": "ENABLED"})
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "ghost"})
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    # For a real user, Define may issue tokens at once.
    username = make_user(idp, pool_id)
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": username})
    assert out["AuthenticationResult"]["AccessToken"]


def test_user_states(fx, idp):
    pool_id, client, _ = custom_pool(fx, idp)
    username = make_user(idp, pool_id)
    idp.admin_disable_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": username})
    assert error(e) == ("NotAuthorizedException", "User is disabled.")
    pending = unique("pending")
    idp.sign_up(ClientId=client["ClientId"], Username=pending, Password=PASSWORD)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": pending})
    assert error(e) == ("UserNotConfirmedException", "User is not confirmed.")


def test_invalid_define_response(fx, idp):
    def bad(event):
        event["response"].update(challengeName="MAGIC_LINK", issueTokens=False, failAuthentication=False)
        return event
    pool_id, client, _ = custom_pool(fx, idp, handlers=(bad, create, verify))
    username = make_user(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": username})
    assert error(e) == ("InvalidLambdaResponseException", "Unrecognizable lambda output")


def test_trigger_errors(fx, idp):
    def broken(event):
        raise Exception("challenge store down")
    pool_id, client, _ = custom_pool(fx, idp, handlers=(define, broken, verify))
    username = make_user(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": username})
    assert error(e) == ("UserLambdaValidationException", "CreateAuthChallenge failed with error challenge store down.")
    pool_id, client, _ = custom_pool(fx, idp, handlers=(define, create, broken))
    username = make_user(idp, pool_id)
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                              AuthParameters={"USERNAME": username})
    with pytest.raises(ClientError) as e:
        answer(idp, client, first, "2")
    assert error(e) == ("UserLambdaValidationException",
                        "VerifyAuthChallengeResponse failed with error challenge store down.")


def test_missing_answer(fx, idp):
    pool_id, client, _ = custom_pool(fx, idp)
    username = make_user(idp, pool_id)
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                              AuthParameters={"USERNAME": username})
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="CUSTOM_CHALLENGE",
                                      Session=first["Session"], ChallengeResponses={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "Missing required parameter ANSWER")


def test_secret_client(fx, idp):
    pool_id, client, _ = custom_pool(fx, idp, client_kwargs={"GenerateSecret": True})
    username = make_user(idp, pool_id)

    def secret_hash(name):
        digest = hmac.new(client["ClientSecret"].encode(), (name + client["ClientId"]).encode(), hashlib.sha256)
        return base64.b64encode(digest.digest()).decode()
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": username})
    assert error(e)[0] == "NotAuthorizedException"
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                              AuthParameters={"USERNAME": username, "SECRET_HASH": secret_hash(username)})
    done = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="CUSTOM_CHALLENGE", Session=first["Session"],
        ChallengeResponses={"USERNAME": username, "ANSWER": "2", "SECRET_HASH": secret_hash(username)})
    assert done["AuthenticationResult"]["AccessToken"]
