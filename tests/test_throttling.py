"""Opt-in throttling (`--throttle aws`): AWS's request-rate quotas, per account and Region, answered
with TooManyRequestsException "Rate exceeded" (HTTP 400). Every test freezes its server's clock, so
exactly the quota passes within one emulator second and the clock (never sleep) lets more through."""

from __future__ import annotations

import json

import boto3
import botocore.session
import pytest
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import (
    PASSWORD,
    error_from,
    make_client,
    make_identity_pool,
    make_pool,
    make_user,
    stop_checked,
    unique,
)

from emulator import quotas
from emulator.config import Config
from emulator.throttling import ThrottleSettingsError, from_config
from emulator.userpools.ops.provisioned_limits import FREE_LIMITS

THROTTLED = ("TooManyRequestsException", "Rate exceeded")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("throttled"))


@pytest.fixture(scope="module")
def aws(data_dir):
    """A server with AWS's quotas, on a data directory of its own."""
    process = EmulatorProcess("--data-dir", data_dir, "--throttle", "aws")
    yield process
    stop_checked(process)


@pytest.fixture(scope="module")
def scaled():
    """A server with a tenth of AWS's quotas, and two quotas set outright."""
    rates = json.dumps({"UserCreation": 2, "GetId": 3})
    process = EmulatorProcess("--in-memory", "--throttle", "aws", "--throttle-scale", "0.1",
                              env={"COGNITO_EMULATOR_THROTTLE_RATES": rates})
    yield process
    stop_checked(process)


def boto_client(service: str, url: str, region: str = "us-east-1", retries: dict | None = None):
    """A boto3 client of the emulator; it makes one attempt only unless `retries` says otherwise."""
    config = BotoConfig(retries=retries or {"mode": "standard", "total_max_attempts": 1})
    return boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id="AKIAEMULATORTEST",
                        aws_secret_access_key="secret", config=config)


def clock(url: str, **body) -> None:
    r = requests.post(url + "/_emulator/clock", json=body, timeout=10)
    assert r.status_code == 200, r.text


def refill(url: str) -> None:
    """Freeze the clock a minute later: every bucket is full (each holds one second's worth)."""
    clock(url, freeze=True)
    clock(url, advance_seconds=60)


def throttled(call, *args, **kwargs) -> None:
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kwargs)
    err = excinfo.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"]) == THROTTLED
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400


def outcome(call, *args, **kwargs) -> str:
    """'ok', or the code of the error the call raised."""
    try:
        call(*args, **kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"]
    return "ok"


def test_every_user_pool_operation_has_a_category():
    """A new operation in botocore's model fails here until it gets a category."""
    model = botocore.session.get_session().get_service_model("cognito-idp")
    assert set(quotas.USER_POOL_CATEGORIES) == set(model.operation_names)
    assert set(quotas.USER_POOL_CATEGORIES.values()) <= set(quotas.USER_POOL_RATES)
    assert quotas.PER_POOL_CATEGORIES <= set(quotas.USER_POOL_RATES)
    identity = botocore.session.get_session().get_service_model("cognito-identity")
    assert set(quotas.IDENTITY_POOL_RATES) <= set(identity.operation_names)
    assert FREE_LIMITS == quotas.USER_POOL_RATES  # one table for throttling and provisioned limits


def test_settings_that_make_no_sense_are_refused():
    assert from_config(Config()) is None
    cases = [(Config(throttle="fast"), "--throttle must be one of off, aws, not 'fast'"),
             (Config(throttle="aws", throttle_scale=0), "--throttle-scale must be a positive number"),
             (Config(throttle="aws", throttle_rates="[1]"), "COGNITO_EMULATOR_THROTTLE_RATES must be a JSON object"),
             (Config(throttle="aws", throttle_rates='{"UserLogin": 1}'),
              "COGNITO_EMULATOR_THROTTLE_RATES: UserLogin is no quota; known: "),
             (Config(throttle="aws", throttle_rates='{"GetId": 0}'),
              "COGNITO_EMULATOR_THROTTLE_RATES: GetId must be a positive number")]
    for config, message in cases:
        with pytest.raises(ThrottleSettingsError) as excinfo:
            from_config(config)
        assert str(excinfo.value).startswith(message)


def test_exactly_the_quota_passes_in_one_second_and_the_clock_refills_it(aws):
    idp = boto_client("cognito-idp", aws.url)
    clock(aws.url, freeze=True)
    pool = make_pool(idp)
    refill(aws.url)
    for _ in range(30):  # UserList: 30 requests per second
        idp.list_users(UserPoolId=pool)
    throttled(idp.list_users, UserPoolId=pool)
    throttled(idp.list_users_in_group, UserPoolId=pool, GroupName="g")  # the same category
    clock(aws.url, advance_seconds=0.5)  # half a second: half the quota
    for _ in range(15):
        idp.list_users(UserPoolId=pool)
    throttled(idp.list_users, UserPoolId=pool)
    clock(aws.url, advance_seconds=5)  # never more than one second's worth
    for _ in range(30):
        idp.list_users(UserPoolId=pool)
    throttled(idp.list_users, UserPoolId=pool)


def test_categories_are_independent(aws):
    idp = boto_client("cognito-idp", aws.url)
    clock(aws.url, freeze=True)
    pool = make_pool(idp)
    user = make_user(idp, pool)
    refill(aws.url)
    for _ in range(15):  # UserPoolRead: 15
        idp.describe_user_pool(UserPoolId=pool)
    throttled(idp.describe_user_pool, UserPoolId=pool)
    throttled(idp.list_user_pools, MaxResults=10)
    idp.list_users(UserPoolId=pool)  # UserList
    idp.admin_get_user(UserPoolId=pool, Username=user)  # UserRead
    idp.admin_list_groups_for_user(UserPoolId=pool, Username=user)  # UserResourceRead


def test_quotas_are_per_account_and_region_with_five_per_second_per_pool_operation(aws):
    """UserPoolClientRead: 15 per second for the account, and 5 per operation in one user pool."""
    idp = boto_client("cognito-idp", aws.url)
    clock(aws.url, freeze=True)
    pools = [make_pool(idp) for _ in range(4)]
    clients = {pool: make_client(idp, pool)["ClientId"] for pool in pools}
    other_region = boto_client("cognito-idp", aws.url, region="eu-west-1")
    far_pool = make_pool(other_region)
    far_client = make_client(other_region, far_pool)["ClientId"]
    refill(aws.url)
    first = pools[0]
    for _ in range(5):
        idp.describe_user_pool_client(UserPoolId=first, ClientId=clients[first])
    throttled(idp.describe_user_pool_client, UserPoolId=first, ClientId=clients[first])  # that pool's 5
    idp.list_user_pool_clients(UserPoolId=first, MaxResults=10)  # another operation: 5 of its own
    for pool in pools[1:3]:  # other pools: 5 each, until the account's 15 are used
        for _ in range(5 if pool == pools[1] else 4):
            idp.describe_user_pool_client(UserPoolId=pool, ClientId=clients[pool])
    throttled(idp.describe_user_pool_client, UserPoolId=pools[3], ClientId=clients[pools[3]])  # the account's 15
    throttled(idp.list_user_pool_clients, UserPoolId=pools[3], MaxResults=10)
    for _ in range(5):  # another Region has quotas of its own
        other_region.describe_user_pool_client(UserPoolId=far_pool, ClientId=far_client)
    throttled(other_region.describe_user_pool_client, UserPoolId=far_pool, ClientId=far_client)


def test_the_count_holds_across_processes_sharing_the_data_directory(aws, data_dir):
    twin = EmulatorProcess("--data-dir", data_dir, "--throttle", "aws")
    try:
        here, there = boto_client("cognito-idp", aws.url), boto_client("cognito-idp", twin.url)
        clock(aws.url, freeze=True)  # the clock is shared too
        pool = make_pool(here)
        refill(twin.url)
        for _ in range(15):
            here.list_users(UserPoolId=pool)
            there.list_users(UserPoolId=pool)
        throttled(there.list_users, UserPoolId=pool)
        throttled(here.list_users, UserPoolId=pool)
    finally:
        stop_checked(twin)


def test_failed_requests_count_and_refused_ones_do_not(aws):
    idp = boto_client("cognito-idp", aws.url)
    clock(aws.url, freeze=True)
    refill(aws.url)
    for _ in range(15):  # UserPoolRead, each answered ResourceNotFoundException
        assert outcome(idp.describe_user_pool, UserPoolId="us-east-1_missing") == "ResourceNotFoundException"
    for _ in range(3):
        throttled(idp.describe_user_pool, UserPoolId="us-east-1_missing")
    clock(aws.url, advance_seconds=0.1)  # 1.5 requests' worth, whatever was refused meanwhile
    assert outcome(idp.describe_user_pool, UserPoolId="us-east-1_missing") == "ResourceNotFoundException"
    throttled(idp.describe_user_pool, UserPoolId="us-east-1_missing")


def test_boto3_standard_retries_retry_a_throttled_call(aws):
    idp = boto_client("cognito-idp", aws.url)
    retrying = boto_client("cognito-idp", aws.url, retries={"mode": "standard", "total_max_attempts": 2})
    attempts = []
    retrying.meta.events.register("before-send.cognito-identity-provider.ListUserPools",
                                  lambda **kwargs: attempts.append(1))
    clock(aws.url, freeze=True)
    refill(aws.url)
    for _ in range(15):  # UserPoolRead used up
        idp.list_user_pools(MaxResults=10)
    with pytest.raises(ClientError) as excinfo:  # throttled on every attempt
        retrying.list_user_pools(MaxResults=10)
    assert excinfo.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(attempts) == 2

    attempts.clear()

    def a_second_later(**_kwargs):
        if len(attempts) == 2:
            clock(aws.url, advance_seconds=1)

    retrying.meta.events.register("before-send.cognito-identity-provider.ListUserPools", a_second_later)
    answer = retrying.list_user_pools(MaxResults=10)  # the retry comes a second later and passes
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(attempts) == 2


def test_scale_and_quotas_set_outright(scaled):
    idp = boto_client("cognito-idp", scaled.url)
    identity = boto_client("cognito-identity", scaled.url)
    clock(scaled.url, freeze=True)
    pool = make_pool(idp)
    refill(scaled.url)
    client = make_client(idp, pool)["ClientId"]
    refill(scaled.url)
    for _ in range(12):  # UserRead: 120 x 0.1
        assert outcome(idp.admin_get_user, UserPoolId=pool, Username="nobody") == "UserNotFoundException"
    throttled(idp.admin_get_user, UserPoolId=pool, Username="nobody")
    for _ in range(2):  # UserCreation: set to 2, not scaled
        idp.sign_up(ClientId=client, Username=unique("u"), Password=PASSWORD)
    throttled(idp.sign_up, ClientId=client, Username=unique("u"), Password=PASSWORD)
    throttled(idp.admin_create_user, UserPoolId=pool, Username=unique("u"))

    identity_pool = make_identity_pool(identity)
    refill(scaled.url)
    for _ in range(3):  # GetId: set to 3
        identity.get_id(IdentityPoolId=identity_pool)
    throttled(identity.get_id, IdentityPoolId=identity_pool)
    identity.describe_identity_pool(IdentityPoolId=identity_pool)  # no documented quota: never throttled


def test_provisioned_limit_raises_the_quota(scaled):
    idp = boto_client("cognito-idp", scaled.url)
    clock(scaled.url, freeze=True)
    pool = make_pool(idp)
    user = make_user(idp, pool)
    refill(scaled.url)
    for _ in range(12):
        idp.admin_get_user(UserPoolId=pool, Username=user)
    throttled(idp.admin_get_user, UserPoolId=pool, Username=user)
    definition = {"LimitClass": "API_CATEGORY", "Attributes": {"Category": "UserRead"}}
    limit = idp.update_provisioned_limit(LimitDefinition=definition, RequestedLimitValue=240)["Limit"]
    assert (limit["ProvisionedLimitValue"], limit["FreeLimitValue"]) == (240, 120)
    refill(scaled.url)
    for _ in range(24):  # 240 x 0.1
        idp.admin_get_user(UserPoolId=pool, Username=user)
    throttled(idp.admin_get_user, UserPoolId=pool, Username=user)
    refill(scaled.url)
    idp.update_provisioned_limit(LimitDefinition=definition, RequestedLimitValue=120)  # back to the default
    refill(scaled.url)


def test_challenge_responses_have_three_times_the_sign_in_quota_then_share_it(scaled):
    """RespondToAuthChallenge: its own 3 x UserAuthentication, then the UserAuthentication quota."""
    idp = boto_client("cognito-idp", scaled.url)
    clock(scaled.url, freeze=True)
    pool = make_pool(idp)
    refill(scaled.url)
    client = make_client(idp, pool)["ClientId"]
    refill(scaled.url)

    def respond():
        return outcome(idp.respond_to_auth_challenge, ClientId=client, ChallengeName="SMS_MFA", Session="s" * 40,
                       ChallengeResponses={"USERNAME": "nobody", "SMS_MFA_CODE": "123456"})

    def sign_in():
        return outcome(idp.initiate_auth, ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                       AuthParameters={"USERNAME": "nobody", "PASSWORD": "Wrong0ne!"})

    answers = [respond() for _ in range(36 + 12)]  # 36 of their own, then UserAuthentication's 12
    assert "TooManyRequestsException" not in answers
    assert respond() == "TooManyRequestsException"
    assert sign_in() == "TooManyRequestsException"
    refill(scaled.url)
    assert [sign_in() for _ in range(12)].count("TooManyRequestsException") == 0
    assert sign_in() == "TooManyRequestsException"
    assert [respond() for _ in range(36)].count("TooManyRequestsException") == 0
    assert respond() == "TooManyRequestsException"


def test_off_by_default(idp, pool_id, clock):
    clock.freeze()
    for _ in range(40):  # over UserList's 30
        idp.list_users(UserPoolId=pool_id)
    assert error_from(idp.describe_user_pool, UserPoolId="us-east-1_missing")[0] == "ResourceNotFoundException"
