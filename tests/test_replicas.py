"""Multi-Region replication: replicas of a pool in other Regions, their statuses and roles, and what a
secondary Region serves (the same pool id reached with another Region in the request's signature)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, boto_client, error, make_client, make_pool, make_user, unique


@pytest.fixture(scope="module")
def west(endpoint):
    """A client of eu-west-1: signed calls carry the Region in their scope, unsigned ones (sign-in) in the
    host name they are sent to, as with cognito-idp.eu-west-1.amazonaws.com."""
    client = boto_client("cognito-idp", endpoint, region="eu-west-1")

    def regional_host(request, **_kw):
        request.headers["Host"] = "cognito-idp.eu-west-1.amazonaws.com"

    client.meta.events.register("before-send.cognito-idp.*", regional_host)
    return client


def _arn(pool_id: str, region: str) -> str:
    return f"arn:aws:cognito-idp:{region}:000000000000:userpool/{pool_id}"


def test_replica_lifecycle(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    created = idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1",
                                           UserPoolTags={"team": "auth"})["UserPoolReplica"]
    assert created == {"RegionName": "eu-west-1", "Status": "CREATING", "Role": "SECONDARY",
                       "UserPoolArn": _arn(pool_id, "eu-west-1")}
    listed = idp.list_user_pool_replicas(UserPoolId=pool_id)["UserPoolReplicas"]
    assert listed == [
        {"RegionName": "us-east-1", "Status": "ACTIVE", "Role": "PRIMARY", "UserPoolArn": _arn(pool_id, "us-east-1")},
        {"RegionName": "eu-west-1", "Status": "INACTIVE", "Role": "SECONDARY",
         "UserPoolArn": _arn(pool_id, "eu-west-1")}]
    active = idp.update_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1", Status="ACTIVE")
    assert active["UserPoolReplica"]["Status"] == "ACTIVE"
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")
    assert error(exc) == ("InvalidParameterException",
                          f"Only an INACTIVE replica can be deleted; the replica of user pool {pool_id} in Region "
                          "eu-west-1 is ACTIVE.")
    idp.update_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1", Status="INACTIVE")
    deleted = idp.delete_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")["UserPoolReplica"]
    assert deleted["Status"] == "DELETING"
    assert [r["Role"] for r in idp.list_user_pool_replicas(UserPoolId=pool_id)["UserPoolReplicas"]] == ["PRIMARY"]
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1", Status="ACTIVE")
    assert error(exc) == ("ResourceNotFoundException", f"User pool {pool_id} has no replica in Region eu-west-1.")


def test_create_replica_errors(idp, west):
    lite = make_pool(idp, tier="LITE")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_replica(UserPoolId=lite, RegionName="eu-west-1")
    assert error(exc) == ("FeatureUnavailableInTierException",
                          "Multi-Region replication is available only in the ESSENTIALS and PLUS feature plans.")
    pool_id = make_pool(idp, tier="ESSENTIALS")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="moon-west-1")
    assert error(exc) == ("InvalidParameterException", "moon-west-1 is not a valid Region for a user pool replica.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="us-east-1")
    assert error(exc) == ("InvalidParameterException", f"Region us-east-1 is the primary Region of user pool {pool_id}.")
    with pytest.raises(ClientError) as exc:
        west.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-central-1")
    assert error(exc) == ("OperationNotEnabledException",
                          f"This operation must be called from the primary Region us-east-1 of user pool {pool_id}.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1",
                                     UserPoolTags={f"k{i}": "v" for i in range(51)})
    assert error(exc) == ("UserPoolTaggingException", "A user pool can have at most 50 tags.")
    idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")
    assert error(exc) == ("InvalidParameterException", f"User pool {pool_id} already has a replica in Region eu-west-1.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="ap-south-1")
    assert error(exc) == ("LimitExceededException", f"User pool {pool_id} can have at most 1 secondary replica.")
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_replica(UserPoolId=pool_id, RegionName="us-east-1", Status="INACTIVE")
    assert error(exc) == ("InvalidParameterException",
                          f"Region us-east-1 is the primary Region of user pool {pool_id}; only a secondary replica "
                          "can be activated or deactivated.")
    with pytest.raises(ClientError) as exc:
        west.delete_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")
    assert error(exc) == ("OperationNotEnabledException",
                          f"This operation must be called from the primary Region us-east-1 of user pool {pool_id}.")
    with pytest.raises(ClientError) as exc:
        idp.list_user_pool_replicas(UserPoolId="us-east-1_nothere00")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nothere00 does not exist.")


def test_secondary_region_serves_sign_in_only_when_active(idp, west):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = make_client(idp, pool_id)["ClientId"]
    name = make_user(idp, pool_id)
    idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")
    auth = {"USERNAME": name, "PASSWORD": PASSWORD}
    with pytest.raises(ClientError) as exc:
        west.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth)
    assert error(exc) == ("OperationNotEnabledException",
                          f"The replica of user pool {pool_id} in Region eu-west-1 is INACTIVE and doesn't accept "
                          "end-user requests.")
    # administrators can read and configure the replica while it is inactive
    assert west.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Id"] == pool_id
    west.update_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1", Status="ACTIVE")
    tokens = west.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters=auth)["AuthenticationResult"]
    assert west.get_user(AccessToken=tokens["AccessToken"])["Username"] == name
    not_here = f"This operation is not available in a secondary Region of user pool {pool_id}."
    for call in (lambda: west.sign_up(ClientId=client_id, Username=unique("s"), Password=PASSWORD),
                 lambda: west.admin_create_user(UserPoolId=pool_id, Username=unique("a"), MessageAction="SUPPRESS"),
                 lambda: west.update_user_attributes(AccessToken=tokens["AccessToken"],
                                                     UserAttributes=[{"Name": "name", "Value": "x"}]),
                 lambda: west.associate_software_token(AccessToken=tokens["AccessToken"]),
                 lambda: west.create_group(UserPoolId=pool_id, GroupName="g")):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("OperationNotEnabledException", not_here)
    with pytest.raises(ClientError) as exc:
        west.initiate_point_in_time_recovery(UserPoolId=pool_id, RestoreTimestamp=1)
    assert error(exc) == ("OperationNotEnabledException",
                          f"Point-in-time recovery can be initiated only in the primary Region us-east-1 of user pool "
                          f"{pool_id}.")
    # the primary Region is unaffected
    idp.admin_create_user(UserPoolId=pool_id, Username=unique("a"), MessageAction="SUPPRESS")


def test_replicas_go_with_their_pool(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="eu-west-1")
    idp.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        idp.list_user_pool_replicas(UserPoolId=pool_id)
    assert error(exc) == ("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
