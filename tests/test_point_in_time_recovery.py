"""Point-in-time recovery of user pools: the recovery window per feature plan, the preview, writes
paused while a recovery is active, start/cancel/expiry, and what a recovery restores."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, error, make_client, make_pool, make_user, unique

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIER = "Point-in-time recovery is available only in the ESSENTIALS and PLUS feature plans."
TOO_RECENT = "The recovery point must be at least 15 minutes in the past."
BEFORE_CREATION = "The recovery point can't be earlier than the creation time of the user pool."
OUTSIDE_WINDOW = ("The recovery point is outside the recovery period of the user pool: up to 1 day in the past "
                  "with the ESSENTIALS feature plan and up to 14 days with the PLUS feature plan, on the "
                  "required feature plan since the recovery point.")


def _ts(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _sub(idp, pool_id, name) -> str:
    attrs = idp.admin_get_user(UserPoolId=pool_id, Username=name)["UserAttributes"]
    return next(a["Value"] for a in attrs if a["Name"] == "sub")


def _attr(idp, pool_id, name, attribute) -> str | None:
    attrs = idp.admin_get_user(UserPoolId=pool_id, Username=name)["UserAttributes"]
    return next((a["Value"] for a in attrs if a["Name"] == attribute), None)


def _usernames(idp, pool_id) -> set[str]:
    return {u["Username"] for u in idp.list_users(UserPoolId=pool_id)["Users"]}


def _mark(clock) -> float:
    """A recovery point between earlier and later changes."""
    clock.advance(60)
    point = clock.now()
    clock.advance(60)
    return point


def _initiate(idp, clock, pool_id, point) -> dict:
    clock.advance(16 * 60)
    return idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(point))["Restoration"]


def _preview(restoration) -> dict:
    return {p["Entity"]: (p["CreateCount"], p["UpdateCount"], p["DeleteCount"]) for p in restoration["RestorePreview"]}


# -- requirements --------------------------------------------------------------------------------------------
def test_lite_pools_have_no_point_in_time_recovery(idp, clock):
    pool_id = make_pool(idp, tier="LITE")
    clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(clock.now() - 1800))
    assert error(exc) == ("FeatureUnavailableInTierException", TIER)
    with pytest.raises(ClientError) as exc:
        idp.list_point_in_time_recoveries(UserPoolId=pool_id)
    assert error(exc) == ("FeatureUnavailableInTierException", TIER)
    with pytest.raises(ClientError) as exc:
        idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId="0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert error(exc) == ("FeatureUnavailableInTierException", TIER)


def test_recovery_point_rules(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    created = clock.now()
    clock.advance(20 * 60)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(created - 60))
    assert error(exc) == ("InvalidParameterException", BEFORE_CREATION)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(clock.now() - 14 * 60))
    assert error(exc) == ("InvalidParameterException", TOO_RECENT)
    clock.advance(2 * 86400)
    with pytest.raises(ClientError) as exc:  # ESSENTIALS: one day back at most
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(created + 60))
    assert error(exc) == ("InvalidParameterException", OUTSIDE_WINDOW)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId="us-east-1_nothere00", RestoreTimestamp=_ts(created))
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nothere00 does not exist.")


def test_plus_reaches_fourteen_days_only_when_on_plus_since(idp, clock):
    pool_id = make_pool(idp, tier="PLUS")
    start = clock.now()
    clock.advance(3 * 86400)
    restoration = idp.initiate_point_in_time_recovery(UserPoolId=pool_id,
                                                      RestoreTimestamp=_ts(start + 60))["Restoration"]
    idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    # Downgraded to ESSENTIALS an hour ago: the pool was not on PLUS ever since the recovery point.
    other = make_pool(idp, tier="PLUS")
    start = clock.now()
    clock.advance(2 * 86400)
    idp.update_user_pool(UserPoolId=other, UserPoolTier="ESSENTIALS")
    clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=other, RestoreTimestamp=_ts(start + 60))
    assert error(exc) == ("InvalidParameterException", OUTSIDE_WINDOW)
    # ... but a point after the downgrade, within a day, is fine.
    restoration = idp.initiate_point_in_time_recovery(UserPoolId=other,
                                                      RestoreTimestamp=_ts(clock.now() - 1800))["Restoration"]
    idp.cancel_point_in_time_recovery(UserPoolId=other, RestoreId=restoration["RestoreId"])


def test_a_pool_on_lite_at_the_recovery_point_cannot_go_back_there(idp, clock):
    pool_id = make_pool(idp, tier="LITE")
    start = clock.now()
    clock.advance(3600)
    idp.update_user_pool(UserPoolId=pool_id, UserPoolTier="PLUS")
    clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(start + 60))
    assert error(exc) == ("InvalidParameterException", OUTSIDE_WINDOW)


# -- the whole recovery ----------------------------------------------------------------------------------------
def test_preview_start_and_restored_user_data(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = make_client(idp, pool_id)["ClientId"]
    alice = make_user(idp, pool_id, attributes={"given_name": "Alice"})
    bob = make_user(idp, pool_id)
    idp.create_group(UserPoolId=pool_id, GroupName="staff")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=alice, GroupName="staff")
    bob_sub = _sub(idp, pool_id, bob)
    point = _mark(clock)
    # the damage: a user deleted, one created, attributes changed, membership removed, a group added
    idp.admin_delete_user(UserPoolId=pool_id, Username=bob)
    carol = make_user(idp, pool_id)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=alice,
                                     UserAttributes=[{"Name": "given_name", "Value": "Mallory"}])
    idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=alice, GroupName="staff")
    idp.create_group(UserPoolId=pool_id, GroupName="intruders")

    restoration = _initiate(idp, clock, pool_id, point)
    restore_id = restoration["RestoreId"]
    assert UUID.match(restore_id)
    assert restoration["RestoreStatus"] == "PREVIEW_GENERATING"
    assert restoration["RestoreTimestamp"].timestamp() == pytest.approx(point, abs=0.01)
    assert restoration["TriggerTimestamp"].timestamp() == pytest.approx(clock.now(), abs=5)
    assert "RestorePreview" not in restoration

    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert described["RestoreStatus"] == "PREVIEW_GENERATED"
    assert _preview(described) == {"Users": (1, 1, 1), "Groups": (0, 1, 1), "User MFAs": (0, 0, 0),
                                   "Passkeys": (0, 0, 0)}
    # the preview changes nothing
    assert _usernames(idp, pool_id) == {alice, carol}

    started = idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert started["RestoreStatus"] == "RESTORING"
    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert described["RestoreStatus"] == "RESTORE_COMPLETED"

    assert _usernames(idp, pool_id) == {alice, bob}
    assert _sub(idp, pool_id, bob) == bob_sub
    assert _attr(idp, pool_id, alice, "given_name") == "Alice"
    assert [g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"]] == ["staff"]
    assert [u["Username"] for u in idp.list_users_in_group(UserPoolId=pool_id, GroupName="staff")["Users"]] == [alice]
    # the restored user signs in with the password it had; writes are back
    idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                      AuthParameters={"USERNAME": bob, "PASSWORD": PASSWORD})
    make_user(idp, pool_id)
    # with RESTORE_COMPLETED the recovery can be neither started nor cancelled again
    with pytest.raises(ClientError) as exc:
        idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)
    assert error(exc) == ("InvalidParameterException",
                          f"Point-in-time recovery {restore_id} can't be started in status RESTORE_COMPLETED. "
                          "You can start a recovery when its status is PREVIEW_GENERATED.")
    with pytest.raises(ClientError) as exc:
        idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)
    assert error(exc) == ("InvalidParameterException",
                          f"Point-in-time recovery {restore_id} can't be canceled in status RESTORE_COMPLETED. "
                          "You can cancel a recovery when its status is PREVIEW_GENERATING or PREVIEW_GENERATED.")
    # one completed recovery per pool in 24 hours
    clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(clock.now() - 1800))
    assert error(exc) == ("LimitExceededException",
                          f"User pool {pool_id} has already completed a point-in-time recovery in the last 24 hours.")


def test_writes_paused_while_reads_and_sign_in_continue(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = make_client(idp, pool_id)["ClientId"]
    alice = make_user(idp, pool_id)
    point = _mark(clock)
    restoration = _initiate(idp, clock, pool_id, point)
    restore_id = restoration["RestoreId"]
    paused = (f"Write operations in user pool {pool_id} are paused while point-in-time recovery {restore_id} is "
              "in progress.")
    writes = [
        lambda: idp.admin_create_user(UserPoolId=pool_id, Username=unique("n"), MessageAction="SUPPRESS"),
        lambda: idp.sign_up(ClientId=client_id, Username=unique("s"), Password=PASSWORD),
        lambda: idp.admin_update_user_attributes(UserPoolId=pool_id, Username=alice,
                                                 UserAttributes=[{"Name": "name", "Value": "x"}]),
        lambda: idp.admin_delete_user(UserPoolId=pool_id, Username=alice),
        lambda: idp.create_group(UserPoolId=pool_id, GroupName="g"),
        lambda: idp.create_user_import_job(UserPoolId=pool_id, JobName="j",
                                           CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/r"),
        lambda: idp.delete_user_pool(UserPoolId=pool_id),
    ]
    for write in writes:
        with pytest.raises(ClientError) as exc:
            write()
        assert error(exc) == ("OperationNotEnabledException", paused)
    tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": alice, "PASSWORD": PASSWORD})["AuthenticationResult"]
    with pytest.raises(ClientError) as exc:
        idp.update_user_attributes(AccessToken=tokens["AccessToken"],
                                   UserAttributes=[{"Name": "name", "Value": "x"}])
    assert error(exc) == ("OperationNotEnabledException", paused)
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == alice
    assert _usernames(idp, pool_id) == {alice}
    # a second recovery of the same pool is refused while this one is active
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(point))
    assert error(exc) == ("ConcurrentModificationException",
                          f"User pool {pool_id} already has an active point-in-time recovery {restore_id}.")
    cancelled = idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert cancelled["RestoreStatus"] == "PREVIEW_CANCELLED"
    idp.admin_create_user(UserPoolId=pool_id, Username=unique("n"), MessageAction="SUPPRESS")


def test_new_password_challenge_cannot_complete_during_recovery(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = make_client(idp, pool_id)["ClientId"]
    name = unique("u")
    idp.admin_create_user(UserPoolId=pool_id, Username=name, TemporaryPassword="Temp0rary!", MessageAction="SUPPRESS")
    point = _mark(clock)
    restore_id = _initiate(idp, clock, pool_id, point)["RestoreId"]
    challenge = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": name, "PASSWORD": "Temp0rary!"})
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=challenge["Session"],
                                      ChallengeResponses={"USERNAME": name, "NEW_PASSWORD": PASSWORD})
    assert error(exc) == ("OperationNotEnabledException",
                          f"The NEW_PASSWORD_REQUIRED challenge can't be completed while point-in-time recovery "
                          f"{restore_id} of the user pool is in progress.")
    idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)


def test_cancel_leaves_data_and_a_preview_expires_after_a_day(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    make_user(idp, pool_id)
    point = _mark(clock)
    late = make_user(idp, pool_id)
    first = _initiate(idp, clock, pool_id, point)["RestoreId"]
    assert idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=first)["Restoration"]["RestoreStatus"] \
        == "PREVIEW_CANCELLED"
    assert late in _usernames(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=first)
    assert error(exc) == ("InvalidParameterException",
                          f"Point-in-time recovery {first} can't be started in status PREVIEW_CANCELLED. "
                          "You can start a recovery when its status is PREVIEW_GENERATED.")

    second = idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(point))["Restoration"]
    clock.advance(86400)
    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=second["RestoreId"])
    assert described["Restoration"]["RestoreStatus"] == "PREVIEW_EXPIRED"
    make_user(idp, pool_id)  # writes resumed
    with pytest.raises(ClientError) as exc:
        idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=second["RestoreId"])
    assert error(exc) == ("InvalidParameterException",
                          f"Point-in-time recovery {second['RestoreId']} can't be canceled in status PREVIEW_EXPIRED. "
                          "You can cancel a recovery when its status is PREVIEW_GENERATING or PREVIEW_GENERATED.")

    listed = idp.list_point_in_time_recoveries(UserPoolId=pool_id)["Restorations"]
    assert [(r["RestoreId"], r["RestoreStatus"]) for r in listed] == [
        (second["RestoreId"], "PREVIEW_EXPIRED"), (first, "PREVIEW_CANCELLED")]
    assert all("RestorePreview" not in r for r in listed)
    page = idp.list_point_in_time_recoveries(UserPoolId=pool_id, MaxResults=1)
    assert [r["RestoreId"] for r in page["Restorations"]] == [second["RestoreId"]]
    page = idp.list_point_in_time_recoveries(UserPoolId=pool_id, MaxResults=1, NextToken=page["NextToken"])
    assert [r["RestoreId"] for r in page["Restorations"]] == [first]
    assert "NextToken" not in page


def test_three_previews_a_day(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    point = _mark(clock)
    clock.advance(16 * 60)
    for _ in range(3):
        restore_id = idp.initiate_point_in_time_recovery(UserPoolId=pool_id,
                                                         RestoreTimestamp=_ts(point))["Restoration"]["RestoreId"]
        idp.cancel_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)
    with pytest.raises(ClientError) as exc:
        idp.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=_ts(point))
    assert error(exc) == ("LimitExceededException",
                          f"User pool {pool_id} has reached the limit of 3 recovery previews in 24 hours.")


def test_password_changed_after_the_point_is_kept(idp, clock):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = make_client(idp, pool_id)["ClientId"]
    alice = make_user(idp, pool_id, attributes={"email": "alice@example.com", "email_verified": "true"})
    point = _mark(clock)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=alice, Password="N3wPassw0rd!", Permanent=True)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=alice,
                                     UserAttributes=[{"Name": "family_name", "Value": "Changed"}])
    restoration = _initiate(idp, clock, pool_id, point)
    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    assert _preview(described["Restoration"])["Users"] == (0, 1, 0)
    idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restoration["RestoreId"])
    assert _attr(idp, pool_id, alice, "family_name") is None
    idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                      AuthParameters={"USERNAME": alice, "PASSWORD": "N3wPassw0rd!"})
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": alice, "PASSWORD": PASSWORD})
    assert error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_unknown_recovery(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    missing = "12345678-1234-1234-1234-123456789012"
    for call in (idp.describe_point_in_time_recovery, idp.start_point_in_time_recovery,
                 idp.cancel_point_in_time_recovery):
        with pytest.raises(ClientError) as exc:
            call(UserPoolId=pool_id, RestoreId=missing)
        assert error(exc) == ("ResourceNotFoundException",
                              f"Point-in-time recovery {missing} does not exist in user pool {pool_id}.")
    assert idp.list_point_in_time_recoveries(UserPoolId=pool_id)["Restorations"] == []


def test_mfa_settings_are_previewed_and_reverted(idp, clock):
    pool_id = idp.create_user_pool(
        PoolName=unique("pitr"), MfaConfiguration="OPTIONAL",
        SmsConfiguration={"SnsCallerArn": "arn:aws:iam::000000000000:role/sns", "ExternalId": "x"})["UserPool"]["Id"]
    alice = make_user(idp, pool_id, attributes={"phone_number": "+15555550100", "phone_number_verified": "true"})
    point = _mark(clock)
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=alice,
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
    assert idp.admin_get_user(UserPoolId=pool_id, Username=alice)["UserMFASettingList"] == ["SMS_MFA"]
    restore_id = _initiate(idp, clock, pool_id, point)["RestoreId"]
    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert _preview(described)["User MFAs"] == (0, 0, 1)
    assert _preview(described)["Users"] == (0, 0, 0)
    idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)
    assert not idp.admin_get_user(UserPoolId=pool_id, Username=alice).get("UserMFASettingList")


def test_changes_are_timed_by_a_frozen_clock(idp, clock):
    clock.freeze()
    pool_id = make_pool(idp, tier="ESSENTIALS")
    kept = make_user(idp, pool_id)
    clock.advance(60)
    point = clock.now()
    clock.advance(60)
    late = make_user(idp, pool_id)
    clock.advance(16 * 60)
    restore_id = idp.initiate_point_in_time_recovery(UserPoolId=pool_id,
                                                     RestoreTimestamp=_ts(point))["Restoration"]["RestoreId"]
    described = idp.describe_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)["Restoration"]
    assert described["RestoreStatus"] == "PREVIEW_GENERATED"
    assert _preview(described)["Users"] == (0, 0, 1)
    idp.start_point_in_time_recovery(UserPoolId=pool_id, RestoreId=restore_id)
    assert _usernames(idp, pool_id) == {kept}
    assert late not in _usernames(idp, pool_id)
