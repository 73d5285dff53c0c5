"""Threat protection: risk decisions steered by tests (POST /_emulator/risk, the
X-Cognito-Emulator-Risk header), AUDIT vs ENFORCED, adaptive MFA, notification emails and their
feedback links, compromised credentials, IP exceptions, and AdminListUserAuthEvents."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

import pyotp
import pytest
from botocore.exceptions import ClientError
from helpers import Srp, boto_client, error, unique

PASSWORD = "Corr3ct-Horse!"
LEAKED = "Summer2024!Leak"
UNABLE = ("NotAuthorizedException", "Unable to login because of security reasons.")
NOT_ALLOWED = ("NotAuthorizedException", "Request not allowed due to security reasons.")
COMPROMISED = ("InvalidPasswordException", "Provided password cannot be used for security reasons.")
SOURCE_ARN = "arn:aws:ses:us-east-1:000000000000:identity/example.com"
FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
         "ALLOW_REFRESH_TOKEN_AUTH"]


def new_pool(idp, mode: str, **extra) -> tuple[str, str]:
    pool_id = idp.create_user_pool(PoolName=unique("tp"), UserPoolTier="PLUS",
                                   UserPoolAddOns={"AdvancedSecurityMode": mode}, **extra)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app",
                                            ExplicitAuthFlows=FLOWS)["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def new_user(idp, pool_id: str, *, email: bool = True, password: str = PASSWORD, **attributes) -> str:
    username = unique("u")
    attrs = [{"Name": k, "Value": v} for k, v in attributes.items()]
    if email:
        attrs += [{"Name": "email", "Value": f"{username}@example.com"}, {"Name": "email_verified", "Value": "true"}]
    idp.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=attrs, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    return username


def sign_in(idp, client_id: str, username: str, password: str = PASSWORD) -> dict:
    return idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": username, "PASSWORD": password})


def events(idp, pool_id: str, username: str) -> list[dict]:
    return idp.admin_list_user_auth_events(UserPoolId=pool_id, Username=username)["AuthEvents"]


def takeover(**actions) -> dict:
    """AccountTakeoverRiskConfiguration: low=("BLOCK", True), ... plus a NotifyConfiguration."""
    config: dict = {"Actions": {f"{level.capitalize()}Action": {"EventAction": action, "Notify": notify}
                                for level, (action, notify) in actions.items()},
                    "NotifyConfiguration": {"From": "security@example.com", "SourceArn": SOURCE_ARN}}
    return config


def arm(http, pool_id: str, **body) -> dict:
    r = http.post("/_emulator/risk", json={"pool": pool_id, **body})
    assert r.status_code == 200, r.text
    return r.json()


def client_with(endpoint: str, **headers):
    """A boto3 client that sends `headers` (X-Forwarded-For, X-Cognito-Emulator-Risk) on every call."""
    idp = boto_client("cognito-idp", endpoint)

    def add(request, **_kw):
        for name, value in headers.items():
            request.headers[name.replace("_", "-")] = value
    idp.meta.events.register("before-send.cognito-idp.*", add)
    return idp


# -- AUDIT ----------------------------------------------------------------------------------------
def test_audit_records_the_steered_risk_and_takes_no_action(idp, http, outbox):
    pool_id, client_id = new_pool(idp, "AUDIT")
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(high=("BLOCK", True)))
    risky, calm = new_user(idp, pool_id), new_user(idp, pool_id)
    armed = arm(http, pool_id, username=risky, level="high", city="Lisbon", country="Portugal")
    assert armed["level"] == "high" and armed["remaining"] is None and armed["username"] == risky
    assert http.get("/_emulator/risk", params={"pool": pool_id}).json()["risks"] == [armed]

    assert "AccessToken" in sign_in(idp, client_id, risky)["AuthenticationResult"]
    assert "AccessToken" in sign_in(idp, client_id, calm)["AuthenticationResult"]
    [event] = events(idp, pool_id, risky)
    assert set(event) == {"EventId", "EventType", "CreationDate", "EventResponse", "EventRisk",
                          "ChallengeResponses", "EventContextData"}
    assert (event["EventType"], event["EventResponse"]) == ("SignIn", "Pass")
    assert event["EventRisk"] == {"RiskDecision": "AccountTakeover", "RiskLevel": "High",
                                  "CompromisedCredentialsDetected": False}
    assert event["ChallengeResponses"] == [{"ChallengeName": "Password", "ChallengeResponse": "Success"}]
    context = event["EventContextData"]
    assert (context["IpAddress"], context["City"], context["Country"]) == ("127.0.0.1", "Lisbon", "Portugal")
    assert context["DeviceName"].startswith("Boto3 ")
    [quiet] = events(idp, pool_id, calm)
    assert quiet["EventRisk"] == {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False}
    assert outbox.list(pool_id=pool_id, kind="RiskNotification") == []


# -- ENFORCED: block, notify, feedback ------------------------------------------------------------------
def test_enforced_block_notifies_and_the_feedback_token_works(idp, http, outbox):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(
        low=("NO_ACTION", False), medium=("MFA_IF_CONFIGURED", False), high=("BLOCK", True)))
    username = new_user(idp, pool_id)
    arm(http, pool_id, username=username, level="high", once=True)
    with pytest.raises(ClientError) as exc:
        sign_in(idp, client_id, username)
    assert error(exc) == UNABLE
    assert http.get("/_emulator/risk", params={"pool": pool_id}).json()["risks"] == []  # used up

    [blocked] = events(idp, pool_id, username)
    assert blocked["EventResponse"] == "Fail"
    assert blocked["EventRisk"] == {"RiskDecision": "Block", "RiskLevel": "High",
                                    "CompromisedCredentialsDetected": False}
    mail = outbox.last(pool_id=pool_id, kind="RiskNotification")
    assert (mail["channel"], mail["destination"], mail["subject"]) == (
        "EMAIL", f"{username}@example.com", "Blocked sign-in attempt")
    assert mail["body"].startswith("We blocked an unrecognized sign-in to your account with this information:\n")
    assert mail["data"]["from"] == "security@example.com" and mail["data"]["event_id"] == blocked["EventId"]
    assert mail["data"]["one_click_link_valid"] in mail["body"]
    assert "<a href=" in mail["data"]["html_body"]
    token = mail["code"]

    with pytest.raises(ClientError) as exc:
        idp.update_auth_event_feedback(UserPoolId=pool_id, Username=username, EventId=blocked["EventId"],
                                       FeedbackToken="not-the-token", FeedbackValue="Valid")
    assert error(exc) == ("NotAuthorizedException", "Invalid feedback token.")
    with pytest.raises(ClientError) as exc:
        idp.update_auth_event_feedback(UserPoolId=pool_id, Username=username, EventId="0000-unknown",
                                       FeedbackToken=token, FeedbackValue="Valid")
    assert error(exc) == ("ResourceNotFoundException", "Auth event not found.")
    idp.update_auth_event_feedback(UserPoolId=pool_id, Username=username, EventId=blocked["EventId"],
                                   FeedbackToken=token, FeedbackValue="Valid")
    feedback = events(idp, pool_id, username)[0]["EventFeedback"]
    assert (feedback["FeedbackValue"], feedback["Provider"]) == ("Valid", "User")
    idp.admin_update_auth_event_feedback(UserPoolId=pool_id, Username=username, EventId=blocked["EventId"],
                                         FeedbackValue="Invalid")
    feedback = events(idp, pool_id, username)[0]["EventFeedback"]
    assert (feedback["FeedbackValue"], feedback["Provider"]) == ("Invalid", "Admin")

    # The steering was for one sign-in: the next is unsteered (NoRisk) and passes.
    assert "AccessToken" in sign_in(idp, client_id, username)["AuthenticationResult"]
    latest = events(idp, pool_id, username)[0]
    assert (latest["EventResponse"], latest["EventRisk"]["RiskDecision"]) == ("Pass", "NoRisk")


def test_one_click_links_and_template_variables(idp, http, outbox):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    config = takeover(low=("NO_ACTION", True))
    config["NotifyConfiguration"]["NoActionEmail"] = {
        "Subject": "Was this you, {username}?",
        "TextBody": "user={username} ip={ip-address} city={city} country={country} device={device-name} "
                    "time={login-time} event={event-id} token={feedback-token} "
                    "yes={one-click-link-valid} no={one-click-link-invalid}",
        "HtmlBody": "<p>{device-name}</p><a href=\"{one-click-link-valid}\">me</a>"}
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=config)
    username = new_user(idp, pool_id)
    arm(http, pool_id, level="low", device_name="Firefox 128, Linux", country="Norway")
    assert "AccessToken" in sign_in(idp, client_id, username)["AuthenticationResult"]
    [event] = events(idp, pool_id, username)
    assert (event["EventResponse"], event["EventRisk"]["RiskLevel"]) == ("Pass", "Low")
    mail = outbox.last(pool_id=pool_id, kind="RiskNotification")
    assert mail["subject"] == f"Was this you, {username}?"
    fields = dict(part.split("=", 1) for part in mail["body"].split(" ") if "=" in part and part.count("=") == 1)
    assert fields["user"] == username and fields["ip"] == "127.0.0.1" and fields["country"] == "Norway"
    assert fields["event"] == event["EventId"] and fields["token"] == mail["code"]
    assert "device=Firefox 128, Linux time=" in mail["body"]
    assert mail["data"]["html_body"].startswith("<p>Firefox 128, Linux</p><a href=\"http")

    valid, invalid = mail["data"]["one_click_link_valid"], mail["data"]["one_click_link_invalid"]
    assert f"yes={valid} no={invalid}" in mail["body"]
    page = http.get(urlsplit(valid)._replace(scheme="", netloc="").geturl())
    assert page.status_code == 200 and "Thank you" in page.text
    assert events(idp, pool_id, username)[0]["EventFeedback"]["FeedbackValue"] == "Valid"
    page = http.get(urlsplit(invalid)._replace(scheme="", netloc="").geturl())
    assert page.status_code == 200
    assert events(idp, pool_id, username)[0]["EventFeedback"]["FeedbackValue"] == "Invalid"
    forged = urlsplit(valid)._replace(scheme="", netloc="").geturl().replace(mail["code"], "forged")
    page = http.get(forged)
    assert page.status_code == 400 and "NotAuthorizedException: Invalid feedback token." in page.text


# -- ENFORCED: adaptive MFA ---------------------------------------------------------------------------------
def test_mfa_required_challenges_a_registered_totp_and_completes(idp, http, outbox, clock):
    clock.freeze()
    pool_id, client_id = new_pool(idp, "ENFORCED")
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(
        medium=("MFA_REQUIRED", True)))
    username = new_user(idp, pool_id)
    token = sign_in(idp, client_id, username)["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    idp.verify_software_token(AccessToken=token, UserCode=pyotp.TOTP(secret).at(clock.now()))
    # Registered, not turned on: without risk, no MFA.
    assert "AuthenticationResult" in sign_in(idp, client_id, username)

    arm(http, pool_id, username=username, level="medium")
    challenge = sign_in(idp, client_id, username)
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert events(idp, pool_id, username)[0]["EventResponse"] == "InProgress"
    mail = outbox.last(pool_id=pool_id, kind="RiskNotification")
    assert mail["subject"] == "New sign-in attempt"
    assert mail["body"].startswith("We required you to use multi-factor authentication")
    clock.advance(30)
    done = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=challenge["Session"], ChallengeResponses={
                                             "USERNAME": username,
                                             "SOFTWARE_TOKEN_MFA_CODE": pyotp.TOTP(secret).at(clock.now())})
    assert "AccessToken" in done["AuthenticationResult"]
    latest = events(idp, pool_id, username)[0]
    assert latest["EventResponse"] == "Pass"
    assert latest["EventRisk"] == {"RiskDecision": "AccountTakeover", "RiskLevel": "Medium",
                                   "CompromisedCredentialsDetected": False}
    assert latest["ChallengeResponses"] == [{"ChallengeName": "Password", "ChallengeResponse": "Success"},
                                            {"ChallengeName": "Mfa", "ChallengeResponse": "Success"}]


def test_adaptive_email_mfa_and_users_without_any_factor(idp, http, outbox):
    pool_id, client_id = new_pool(idp, "ENFORCED", EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "SourceArn": SOURCE_ARN})
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                 EmailMfaConfiguration={"Message": "Code {####}", "Subject": "Your code"})
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(
        medium=("MFA_IF_CONFIGURED", False), high=("MFA_REQUIRED", False)))
    with_email = new_user(idp, pool_id)
    arm(http, pool_id, username=with_email, level="high")
    challenge = sign_in(idp, client_id, with_email)
    assert challenge["ChallengeName"] == "EMAIL_OTP"
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    code = outbox.last(username=with_email, kind="Authentication")["code"]
    done = idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="EMAIL_OTP", Session=challenge["Session"],
                                         ChallengeResponses={"USERNAME": with_email, "EMAIL_OTP_CODE": code})
    assert "AccessToken" in done["AuthenticationResult"]
    assert outbox.list(pool_id=pool_id, kind="RiskNotification") == []  # Notify false

    # No email, no phone, no TOTP: MFA_REQUIRED blocks, MFA_IF_CONFIGURED lets the user in.
    bare = new_user(idp, pool_id, email=False)
    arm(http, pool_id, username=bare, level="high", once=True)
    with pytest.raises(ClientError) as exc:
        sign_in(idp, client_id, bare)
    assert error(exc) == UNABLE
    blocked = events(idp, pool_id, bare)[0]
    assert (blocked["EventResponse"], blocked["EventRisk"]["RiskDecision"]) == ("Fail", "Block")
    arm(http, pool_id, username=bare, level="medium", once=True)
    assert "AccessToken" in sign_in(idp, client_id, bare)["AuthenticationResult"]
    passed = events(idp, pool_id, bare)[0]
    assert (passed["EventResponse"], passed["EventRisk"]["RiskDecision"], passed["EventRisk"]["RiskLevel"]) == (
        "Pass", "AccountTakeover", "Medium")


# -- steering by header, client-level configuration ------------------------------------------------------
def test_header_steers_one_call_and_a_client_configuration_overrides_the_pools(idp, http, endpoint):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    lenient = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="lenient",
                                          ExplicitAuthFlows=FLOWS)["UserPoolClient"]["ClientId"]
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(high=("BLOCK", False)))
    idp.set_risk_configuration(UserPoolId=pool_id, ClientId=lenient,
                               AccountTakeoverRiskConfiguration=takeover(high=("NO_ACTION", False)))
    username = new_user(idp, pool_id)
    risky = client_with(endpoint, **{"X-Cognito-Emulator-Risk": "high"})
    with pytest.raises(ClientError) as exc:
        sign_in(risky, client_id, username)
    assert error(exc) == UNABLE
    assert "AccessToken" in sign_in(risky, lenient, username)["AuthenticationResult"]
    assert events(idp, pool_id, username)[0]["EventRisk"]["RiskDecision"] == "AccountTakeover"
    assert "AccessToken" in sign_in(idp, client_id, username)["AuthenticationResult"]
    described = idp.describe_risk_configuration(UserPoolId=pool_id, ClientId=lenient)["RiskConfiguration"]
    assert described["ClientId"] == lenient
    assert described["AccountTakeoverRiskConfiguration"]["Actions"]["HighAction"]["EventAction"] == "NO_ACTION"
    # Setting nothing removes the client's configuration: the pool's applies to it again.
    idp.set_risk_configuration(UserPoolId=pool_id, ClientId=lenient)
    with pytest.raises(ClientError) as exc:
        sign_in(risky, lenient, username)
    assert error(exc) == UNABLE


def test_srp_sign_in_is_assessed_too(idp, http):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(high=("BLOCK", False)))
    username = new_user(idp, pool_id)
    arm(http, pool_id, username=username, level="high", times=2)
    srp = Srp(idp, pool_id, {"ClientId": client_id}, username, password=PASSWORD)
    with pytest.raises(ClientError) as exc:
        srp.respond(srp.start())
    assert error(exc) == UNABLE
    assert http.get("/_emulator/risk", params={"pool": pool_id}).json()["risks"][0]["remaining"] == 1


# -- compromised credentials ------------------------------------------------------------------------------
def compromised(idp, pool_id: str, events_filter: list[str], action: str = "BLOCK") -> None:
    idp.set_risk_configuration(UserPoolId=pool_id, CompromisedCredentialsRiskConfiguration={
        "EventFilter": events_filter, "Actions": {"EventAction": action}})


def test_compromised_password_blocked_per_event_filter(idp, http):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    username = new_user(idp, pool_id, password=LEAKED)
    r = http.post("/_emulator/risk/compromised-passwords", json={"pool": pool_id, "password": LEAKED})
    assert r.json() == {"pool": pool_id, "count": 1}
    compromised(idp, pool_id, ["SIGN_UP"])
    with pytest.raises(ClientError) as exc:
        idp.sign_up(ClientId=client_id, Username=unique("s"), Password=LEAKED)
    assert error(exc) == COMPROMISED
    # SIGN_IN is not in the filter: detected, logged, allowed.
    assert "AccessToken" in sign_in(idp, client_id, username, LEAKED)["AuthenticationResult"]
    assert events(idp, pool_id, username)[0]["EventRisk"] == {"RiskDecision": "NoRisk",
                                                              "CompromisedCredentialsDetected": True}
    # NO_ACTION: detected and logged at sign-up too, never refused.
    compromised(idp, pool_id, ["SIGN_UP", "SIGN_IN"], action="NO_ACTION")
    newcomer = unique("s")
    idp.sign_up(ClientId=client_id, Username=newcomer, Password=LEAKED)
    assert events(idp, pool_id, newcomer)[0]["EventRisk"]["CompromisedCredentialsDetected"] is True


def test_compromised_password_blocks_sign_in_and_password_changes(idp, http):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    username = new_user(idp, pool_id, password=LEAKED)
    other = new_user(idp, pool_id)
    http.post("/_emulator/risk/compromised-passwords", json={"pool": pool_id, "passwords": [LEAKED]})
    compromised(idp, pool_id, ["SIGN_IN", "PASSWORD_CHANGE"])

    # SRP does not send the password: not checked, as on AWS.
    srp = Srp(idp, pool_id, {"ClientId": client_id}, username, password=LEAKED)
    assert "AccessToken" in srp.respond(srp.start())["AuthenticationResult"]

    with pytest.raises(ClientError) as exc:
        sign_in(idp, client_id, username, LEAKED)
    assert error(exc) == UNABLE
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "RESET_REQUIRED"
    event = events(idp, pool_id, username)[0]
    assert (event["EventResponse"], event["EventRisk"]) == (
        "Fail", {"RiskDecision": "Block", "CompromisedCredentialsDetected": True})
    with pytest.raises(ClientError) as exc:
        sign_in(idp, client_id, username, LEAKED)
    assert error(exc) == ("PasswordResetRequiredException", "Password reset required for the user")

    token = sign_in(idp, client_id, other)["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword=LEAKED)
    assert error(exc) == COMPROMISED
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_password(UserPoolId=pool_id, Username=other, Password=LEAKED, Permanent=True)
    assert error(exc) == COMPROMISED
    idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="An0ther-Fine-One")
    assert events(idp, pool_id, other)[0]["EventType"] == "PasswordChange"

    # NEW_PASSWORD_REQUIRED is a password change too.
    invited = unique("i")
    idp.admin_create_user(UserPoolId=pool_id, Username=invited, TemporaryPassword="Temp0rary-Pass!",
                          MessageAction="SUPPRESS")
    challenge = sign_in(idp, client_id, invited, "Temp0rary-Pass!")
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=challenge["Session"],
                                      ChallengeResponses={"USERNAME": invited, "NEW_PASSWORD": LEAKED})
    assert error(exc) == COMPROMISED

    # The header marks any password compromised for one call.
    leaky = client_with(http.url, **{"X-Cognito-Emulator-Risk": "compromised"})
    with pytest.raises(ClientError) as exc:
        leaky.change_password(AccessToken=token, PreviousPassword="An0ther-Fine-One", ProposedPassword="Brand-N3w-One")
    assert error(exc) == COMPROMISED


def test_audit_logs_compromised_sign_up(idp, http):
    pool_id, client_id = new_pool(idp, "AUDIT")
    compromised(idp, pool_id, ["SIGN_UP"])
    http.post("/_emulator/risk/compromised-passwords", json={"password": LEAKED})  # every pool
    username = unique("s")
    idp.sign_up(ClientId=client_id, Username=username, Password=LEAKED)
    [event] = events(idp, pool_id, username)
    assert (event["EventType"], event["EventResponse"], event["EventRisk"]["CompromisedCredentialsDetected"]) == (
        "SignUp", "Pass", True)
    assert http.delete("/_emulator/risk/compromised-passwords").json()["deleted"] >= 1


# -- IP exceptions --------------------------------------------------------------------------------------------
def test_blocked_and_skipped_ip_ranges(idp, http, endpoint):
    pool_id, client_id = new_pool(idp, "ENFORCED")
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration=takeover(high=("BLOCK", False)),
                               RiskExceptionConfiguration={"BlockedIPRangeList": ["203.0.113.0/24"],
                                                           "SkippedIPRangeList": ["198.51.100.7/32"]})
    username = new_user(idp, pool_id)
    blocked = client_with(endpoint, X_Forwarded_For="203.0.113.9")
    with pytest.raises(ClientError) as exc:
        sign_in(blocked, client_id, username)
    assert error(exc) == NOT_ALLOWED
    event = events(idp, pool_id, username)[0]
    assert (event["EventResponse"], event["EventRisk"]["RiskDecision"], event["ChallengeResponses"]) == (
        "Fail", "Block", [])
    assert event["EventContextData"]["IpAddress"] == "203.0.113.9"
    with pytest.raises(ClientError) as exc:
        blocked.forgot_password(ClientId=client_id, Username=username)
    assert error(exc) == NOT_ALLOWED
    with pytest.raises(ClientError) as exc:
        blocked.sign_up(ClientId=client_id, Username=unique("s"), Password=PASSWORD)
    assert error(exc) == NOT_ALLOWED

    # Admin flows are judged by ContextData.IpAddress (the user's IP), not the server's.
    admin = {"UserPoolId": pool_id, "ClientId": client_id, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
             "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD}}
    context = {"ServerName": "app.example.com", "ServerPath": "/login", "HttpHeaders": []}
    with pytest.raises(ClientError) as exc:
        idp.admin_initiate_auth(**admin, ContextData={**context, "IpAddress": "203.0.113.200"})
    assert error(exc) == NOT_ALLOWED
    assert "AccessToken" in idp.admin_initiate_auth(**admin, ContextData={**context, "IpAddress": "192.0.2.1"})[
        "AuthenticationResult"]
    # A public call's UserContextData.IpAddress counts only for a client that propagates it.
    with pytest.raises(ClientError) as exc:
        blocked.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", UserContextData={
            "IpAddress": "192.0.2.1"}, AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert error(exc) == NOT_ALLOWED

    # ... and for such a client (it has a secret) it does.
    confidential = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="backend", GenerateSecret=True,
                                               EnablePropagateAdditionalUserContextData=True,
                                               ExplicitAuthFlows=FLOWS)["UserPoolClient"]
    digest = hmac.new(confidential["ClientSecret"].encode(), (username + confidential["ClientId"]).encode(),
                      hashlib.sha256).digest()
    done = blocked.initiate_auth(ClientId=confidential["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                 UserContextData={"IpAddress": "192.0.2.1"},
                                 AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD,
                                                 "SECRET_HASH": base64.b64encode(digest).decode()})
    assert "AccessToken" in done["AuthenticationResult"]
    assert events(idp, pool_id, username)[0]["EventContextData"]["IpAddress"] == "192.0.2.1"

    # Skipped range: no risk evaluated, whatever was steered.
    arm(http, pool_id, username=username, level="high")
    skipped = client_with(endpoint, X_Forwarded_For="198.51.100.7")
    assert "AccessToken" in sign_in(skipped, client_id, username)["AuthenticationResult"]
    assert events(idp, pool_id, username)[0]["EventRisk"]["RiskDecision"] == "NoRisk"
    with pytest.raises(ClientError) as exc:
        sign_in(idp, client_id, username)
    assert error(exc) == UNABLE


# -- AdminListUserAuthEvents -------------------------------------------------------------------------------------
def test_event_types_newest_first_with_paging(idp, outbox, clock):
    clock.freeze()
    pool_id, client_id = new_pool(idp, "AUDIT", AutoVerifiedAttributes=["email"])
    username = unique("s")
    idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}])
    clock.advance(1)
    idp.resend_confirmation_code(ClientId=client_id, Username=username)
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=outbox.last_code(username=username))
    clock.advance(1)
    idp.forgot_password(ClientId=client_id, Username=username)
    clock.advance(1)
    idp.confirm_forgot_password(ClientId=client_id, Username=username, Password="N3w-Password!",
                                ConfirmationCode=outbox.last_code(username=username))
    clock.advance(1)
    sign_in(idp, client_id, username, "N3w-Password!")
    listed = events(idp, pool_id, username)
    assert [e["EventType"] for e in listed] == ["SignIn", "PasswordChange", "ForgotPassword", "ResendCode", "SignUp"]
    dates = [e["CreationDate"] for e in listed]
    assert dates == sorted(dates, reverse=True)
    first = idp.admin_list_user_auth_events(UserPoolId=pool_id, Username=username, MaxResults=3)
    rest = idp.admin_list_user_auth_events(UserPoolId=pool_id, Username=username, MaxResults=3,
                                           NextToken=first["NextToken"])
    assert [e["EventId"] for e in first["AuthEvents"] + rest["AuthEvents"]] == [e["EventId"] for e in listed]
    assert "NextToken" not in rest


# -- errors -----------------------------------------------------------------------------------------------------
def test_errors(idp, http):
    pool_id, client_id = new_pool(idp, "OFF")
    username = new_user(idp, pool_id)
    off = ("UserPoolAddOnNotEnabledException",
           "Threat protection (advanced security features) is not enabled for this user pool.")
    with pytest.raises(ClientError) as exc:
        idp.admin_list_user_auth_events(UserPoolId=pool_id, Username=username)
    assert error(exc) == off
    with pytest.raises(ClientError) as exc:
        idp.update_auth_event_feedback(UserPoolId=pool_id, Username=username, EventId="e-1", FeedbackToken="t",
                                       FeedbackValue="Valid")
    assert error(exc) == off
    with pytest.raises(ClientError) as exc:
        idp.admin_update_auth_event_feedback(UserPoolId=pool_id, Username=username, EventId="e-1",
                                             FeedbackValue="Valid")
    assert error(exc) == off
    assert "AccessToken" in sign_in(idp, client_id, username)["AuthenticationResult"]  # OFF: nothing evaluated

    enforced, _client = new_pool(idp, "ENFORCED")
    user = new_user(idp, enforced)
    with pytest.raises(ClientError) as exc:
        idp.admin_update_auth_event_feedback(UserPoolId=enforced, Username=user, EventId="e-1",
                                             FeedbackValue="Valid")
    assert error(exc) == ("ResourceNotFoundException", "Auth event not found.")
    with pytest.raises(ClientError) as exc:
        idp.update_auth_event_feedback(UserPoolId=enforced, Username="ghost", EventId="e-1", FeedbackToken="t",
                                       FeedbackValue="Valid")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.set_risk_configuration(UserPoolId=enforced, AccountTakeoverRiskConfiguration={
            "Actions": {"HighAction": {"EventAction": "BLOCK", "Notify": True}}})
    assert error(exc) == ("InvalidParameterException",
                          "NotifyConfiguration is required when a notify action is configured.")

    # The steering endpoints.
    r = http.post("/_emulator/risk", json={"pool": "us-east-1_nope", "level": "high"})
    assert (r.status_code, r.json()) == (404, {"__type": "ResourceNotFoundException",
                                               "message": "User pool us-east-1_nope does not exist."})
    r = http.post("/_emulator/risk", json={"pool": enforced, "level": "extreme"})
    assert (r.status_code, r.json()["message"]) == (400, "level must be one of low, medium, high, none")
    r = http.post("/_emulator/risk", json={"pool": enforced, "level": "low", "ip": "not-an-ip"})
    assert (r.status_code, r.json()["message"]) == (400, "ip must be an IP address or a CIDR range")
    r = http.post("/_emulator/risk", json={"pool": enforced, "level": "low", "times": 0})
    assert (r.status_code, r.json()["message"]) == (400, "times must be a whole number of at least 1")
    r = http.post("/_emulator/risk/compromised-passwords", json={"pool": enforced})
    assert r.status_code == 400
    armed = arm(http, enforced, level="medium", ip="10.0.0.0/8", compromised=True)
    assert (armed["ip"], armed["compromised"]) == ("10.0.0.0/8", True)
    assert http.delete("/_emulator/risk", params={"pool": enforced}).json() == {"deleted": 1}
    assert http.get("/_emulator/risk", params={"pool": enforced}).json() == {"risks": []}
    page = http.get("/_emulator/risk/feedback", params={"user_pool_id": enforced})
    assert page.status_code == 400 and "incomplete" in page.text

