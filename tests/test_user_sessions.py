"""User session management: pool and client session configuration, listing and revoking token
sessions (self-service and admin), and the MaxPerUser limit."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from helpers import error, make_client, make_pool, make_user, refresh, tokens_for

TRACKING_OFF = "Session tracking is not enabled for the user pool."
TIER = "This feature is not available in the current tier of the user pool."


def _track(idp, pool_id, max_per_user=20):
    return idp.set_user_pool_session_configuration(UserPoolId=pool_id, UserSessionTracking="ENABLED",
                                                   TokenSession={"MaxPerUser": max_per_user})


@pytest.fixture
def setup(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    _track(idp, pool_id)
    return pool_id, make_client(idp, pool_id), make_user(idp, pool_id)


# -- configuration ------------------------------------------------------------------------------------------
def test_pool_configuration_defaults_and_replacement(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    got = idp.get_user_pool_session_configuration(UserPoolId=pool_id)
    assert {k: got[k] for k in ("UserPoolId", "UserSessionTracking", "TokenSession")} == {
        "UserPoolId": pool_id, "UserSessionTracking": "DISABLED", "TokenSession": {"MaxPerUser": 20}}
    out = _track(idp, pool_id, 5)
    assert out["UserSessionTracking"] == "ENABLED" and out["TokenSession"] == {"MaxPerUser": 5}
    got = idp.get_user_pool_session_configuration(UserPoolId=pool_id)
    assert got["UserSessionTracking"] == "ENABLED" and got["TokenSession"] == {"MaxPerUser": 5}
    idp.set_user_pool_session_configuration(UserPoolId=pool_id, UserSessionTracking="DISABLED",
                                            TokenSession={"MaxPerUser": 7})
    got = idp.get_user_pool_session_configuration(UserPoolId=pool_id)
    assert got["UserSessionTracking"] == "DISABLED" and got["TokenSession"] == {"MaxPerUser": 7}


def test_configuration_errors(idp):
    with pytest.raises(ClientError) as exc:
        idp.get_user_pool_session_configuration(UserPoolId="us-east-1_nothere1")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nothere1 does not exist.")
    lite = make_pool(idp, tier="LITE")
    with pytest.raises(ClientError) as exc:
        _track(idp, lite)
    assert error(exc) == ("FeatureUnavailableInTierException", TIER)
    pool_id = make_pool(idp, tier="ESSENTIALS")
    with pytest.raises(ClientError) as exc:
        _track(idp, pool_id, 101)
    assert error(exc)[0] == "InvalidParameterException"
    assert "Member must have value less than or equal to 100" in error(exc)[1]


def test_client_configuration(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client = make_client(idp, pool_id)
    cid = client["ClientId"]
    got = idp.get_user_pool_client_session_configuration(UserPoolId=pool_id, ClientId=cid)
    assert got["SSOSession"] == {"MaxValidityMinutes": 60} and got["ClientId"] == cid
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_client_session_configuration(UserPoolId=pool_id, ClientId=cid,
                                                       SSOSession={"MaxValidityMinutes": 0})
    assert error(exc) == ("InvalidParameterException", TRACKING_OFF)
    _track(idp, pool_id)
    out = idp.set_user_pool_client_session_configuration(UserPoolId=pool_id, ClientId=cid,
                                                         SSOSession={"MaxValidityMinutes": 0})
    assert out["SSOSession"] == {"MaxValidityMinutes": 0} and out["UserPoolId"] == pool_id
    assert idp.get_user_pool_client_session_configuration(
        UserPoolId=pool_id, ClientId=cid)["SSOSession"] == {"MaxValidityMinutes": 0}
    # Disabling tracking keeps the client setting dormant.
    idp.set_user_pool_session_configuration(UserPoolId=pool_id, UserSessionTracking="DISABLED",
                                            TokenSession={"MaxPerUser": 20})
    assert idp.get_user_pool_client_session_configuration(
        UserPoolId=pool_id, ClientId=cid)["SSOSession"] == {"MaxValidityMinutes": 0}
    with pytest.raises(ClientError) as exc:
        idp.get_user_pool_client_session_configuration(UserPoolId=pool_id, ClientId="a" * 26)
    assert error(exc) == ("ResourceNotFoundException", f"User pool client {'a' * 26} does not exist.")
    lite = make_pool(idp, tier="LITE")
    lite_client = make_client(idp, lite)
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_client_session_configuration(UserPoolId=lite, ClientId=lite_client["ClientId"],
                                                       SSOSession={"MaxValidityMinutes": 5})
    assert error(exc) == ("FeatureUnavailableInTierException", TIER)


# -- listing ---------------------------------------------------------------------------------------------------
def test_tracking_off_refuses_listing(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client = make_client(idp, pool_id)
    name = make_user(idp, pool_id)
    tokens = tokens_for(idp, client, name)
    with pytest.raises(ClientError) as exc:
        idp.list_user_sessions(AccessToken=tokens["AccessToken"])
    assert error(exc) == ("InvalidParameterException", TRACKING_OFF)
    with pytest.raises(ClientError) as exc:
        idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)
    assert error(exc) == ("InvalidParameterException", TRACKING_OFF)
    with pytest.raises(ClientError) as exc:
        idp.admin_revoke_user_session(UserPoolId=pool_id, Username=name, SessionId="tkn" + "a" * 25)
    assert error(exc) == ("InvalidParameterException", TRACKING_OFF)


def test_list_sessions_across_clients(idp, setup, clock):
    pool_id, client, name = setup
    other = make_client(idp, pool_id)
    first = tokens_for(idp, client, name)
    clock.advance(10)
    second = tokens_for(idp, other, name)
    listed = idp.list_user_sessions(AccessToken=second["AccessToken"])["Sessions"]
    assert len(listed) == 2
    for s in listed:
        assert re.fullmatch(r"tkn[a-z0-9]{25}", s["SessionId"])
        assert s["SessionType"] == "TOKEN"
    by_client = {s["ClientId"]: s for s in listed}
    assert by_client[other["ClientId"]]["IsCurrentSession"] is True
    assert by_client[client["ClientId"]]["IsCurrentSession"] is False
    assert by_client[client["ClientId"]]["CreateDate"] < by_client[other["ClientId"]]["CreateDate"]
    mine = idp.list_user_sessions(AccessToken=first["AccessToken"])["Sessions"]
    assert {s["ClientId"]: s["IsCurrentSession"] for s in mine} == {client["ClientId"]: True,
                                                                    other["ClientId"]: False}
    admin = idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"]
    assert sorted(s["SessionId"] for s in admin) == sorted(s["SessionId"] for s in listed)
    assert all(s["IsCurrentSession"] is False for s in admin)


def test_refresh_stays_in_its_session_and_updates_last_active(idp, setup, clock):
    pool_id, client, name = setup
    tokens = tokens_for(idp, client, name)
    [before] = idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"]
    clock.advance(600)
    refreshed = refresh(idp, client, tokens["RefreshToken"])["AuthenticationResult"]
    [after] = idp.list_user_sessions(AccessToken=refreshed["AccessToken"])["Sessions"]
    assert after["SessionId"] == before["SessionId"] and after["IsCurrentSession"] is True
    assert after["CreateDate"] == before["CreateDate"]
    assert (after["LastActiveDate"] - before["LastActiveDate"]).total_seconds() == pytest.approx(600, abs=2)


def test_sessions_before_tracking_are_not_listed(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client = make_client(idp, pool_id)
    name = make_user(idp, pool_id)
    tokens_for(idp, client, name)
    clock.advance(5)
    _track(idp, pool_id)
    clock.advance(5)
    tokens = tokens_for(idp, client, name)
    listed = idp.list_user_sessions(AccessToken=tokens["AccessToken"])["Sessions"]
    assert len(listed) == 1 and listed[0]["IsCurrentSession"] is True


def test_expired_and_signed_out_sessions_are_not_listed(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    _track(idp, pool_id)
    client = make_client(idp, pool_id, RefreshTokenValidity=1, TokenValidityUnits={"RefreshToken": "hours"})
    name = make_user(idp, pool_id)
    tokens_for(idp, client, name)
    clock.advance(3601)
    assert idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"] == []
    tokens = tokens_for(idp, client, name)
    idp.global_sign_out(AccessToken=tokens["AccessToken"])
    assert idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"] == []


def test_list_errors(idp, setup):
    pool_id, client, name = setup
    with pytest.raises(ClientError) as exc:
        idp.list_user_sessions(AccessToken="not.a.token")
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")
    with pytest.raises(ClientError) as exc:
        idp.admin_list_user_sessions(UserPoolId=pool_id, Username="nobody")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    tokens = tokens_for(idp, client, name)
    with pytest.raises(ClientError) as exc:
        idp.list_user_sessions(AccessToken=tokens["AccessToken"], NextToken="garbage")
    assert error(exc)[0] == "InvalidParameterException"


# -- revoking ---------------------------------------------------------------------------------------------------
def test_revoke_another_session(idp, setup):
    pool_id, client, name = setup
    old = tokens_for(idp, client, name)
    current = tokens_for(idp, client, name)
    listed = idp.list_user_sessions(AccessToken=current["AccessToken"])["Sessions"]
    target = next(s["SessionId"] for s in listed if not s["IsCurrentSession"])
    idp.revoke_user_session(AccessToken=current["AccessToken"], SessionId=target)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=old["AccessToken"])
    assert error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as exc:
        refresh(idp, client, old["RefreshToken"])
    assert error(exc) == ("NotAuthorizedException", "Refresh Token has been revoked")
    assert idp.get_user(AccessToken=current["AccessToken"])["Username"] == name
    remaining = idp.list_user_sessions(AccessToken=current["AccessToken"])["Sessions"]
    assert [s["IsCurrentSession"] for s in remaining] == [True]
    with pytest.raises(ClientError) as exc:
        idp.revoke_user_session(AccessToken=current["AccessToken"], SessionId=target,
                                RevokeAssociatedSessions="LINKED")
    assert error(exc) == ("ResourceNotFoundException", f"Session {target} does not exist.")


def test_cannot_revoke_the_current_session(idp, setup):
    _pool_id, client, name = setup
    tokens = tokens_for(idp, client, name)
    [current] = idp.list_user_sessions(AccessToken=tokens["AccessToken"])["Sessions"]
    with pytest.raises(ClientError) as exc:
        idp.revoke_user_session(AccessToken=tokens["AccessToken"], SessionId=current["SessionId"])
    assert error(exc) == ("InvalidParameterException",
                          "The current session cannot be revoked; use GlobalSignOut or RevokeToken to end it.")


def test_other_users_session_is_not_found(idp, setup):
    pool_id, client, name = setup
    other = make_user(idp, pool_id)
    tokens_for(idp, client, other)
    [theirs] = idp.admin_list_user_sessions(UserPoolId=pool_id, Username=other)["Sessions"]
    mine = tokens_for(idp, client, name)
    with pytest.raises(ClientError) as exc:
        idp.revoke_user_session(AccessToken=mine["AccessToken"], SessionId=theirs["SessionId"])
    assert error(exc) == ("ResourceNotFoundException", f"Session {theirs['SessionId']} does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.admin_revoke_user_session(UserPoolId=pool_id, Username=name, SessionId=theirs["SessionId"])
    assert error(exc) == ("ResourceNotFoundException", f"Session {theirs['SessionId']} does not exist.")


def test_admin_revoke(idp, setup):
    pool_id, client, name = setup
    tokens = tokens_for(idp, client, name)
    [session] = idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"]
    idp.admin_revoke_user_session(UserPoolId=pool_id, Username=name, SessionId=session["SessionId"],
                                  RevokeAssociatedSessions="NONE")
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=tokens["AccessToken"])
    assert error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
    assert idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"] == []
    with pytest.raises(ClientError) as exc:
        idp.admin_revoke_user_session(UserPoolId=pool_id, Username="nobody", SessionId=session["SessionId"])
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


# -- MaxPerUser ----------------------------------------------------------------------------------------------------
def test_max_per_user_evicts_least_recently_used(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    _track(idp, pool_id, 2)
    client = make_client(idp, pool_id)
    name = make_user(idp, pool_id)
    first = tokens_for(idp, client, name)
    clock.advance(10)
    second = tokens_for(idp, client, name)
    clock.advance(10)
    refresh(idp, client, first["RefreshToken"])  # the first session is now the more recently used one
    clock.advance(10)
    third = tokens_for(idp, client, name)
    with pytest.raises(ClientError) as exc:
        refresh(idp, client, second["RefreshToken"])
    assert error(exc) == ("NotAuthorizedException", "Refresh Token has been revoked")
    assert refresh(idp, client, first["RefreshToken"])["AuthenticationResult"]["AccessToken"]
    listed = idp.list_user_sessions(AccessToken=third["AccessToken"])["Sessions"]
    assert len(listed) == 2


def test_lowering_the_limit_applies_at_next_sign_in(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    _track(idp, pool_id, 5)
    client = make_client(idp, pool_id)
    name = make_user(idp, pool_id)
    for _ in range(4):
        tokens_for(idp, client, name)
    _track(idp, pool_id, 1)
    assert len(idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"]) == 4
    tokens_for(idp, client, name)
    assert len(idp.admin_list_user_sessions(UserPoolId=pool_id, Username=name)["Sessions"]) == 1


def test_no_limit_without_tracking(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    idp.set_user_pool_session_configuration(UserPoolId=pool_id, UserSessionTracking="DISABLED",
                                            TokenSession={"MaxPerUser": 1})
    client = make_client(idp, pool_id)
    name = make_user(idp, pool_id)
    first = tokens_for(idp, client, name)
    tokens_for(idp, client, name)
    assert refresh(idp, client, first["RefreshToken"])["AuthenticationResult"]["AccessToken"]
