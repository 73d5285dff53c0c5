"""Identity pools: create/describe/update/delete/list, roles and role mappings, principal tag
attribute maps, tags."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import boto_client, error, unique

UP = "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"
AUTH_ROLE = "arn:aws:iam::000000000000:role/authenticated"
UNAUTH_ROLE = "arn:aws:iam::000000000000:role/unauthenticated"


@pytest.fixture
def pool(identity):
    created = identity.create_identity_pool(
        IdentityPoolName=unique("pool"), AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{"ProviderName": UP, "ClientId": "client123"}],
        SupportedLoginProviders={"accounts.google.com": "google-app"},
        OpenIdConnectProviderARNs=["arn:aws:iam::000000000000:oidc-provider/login.example.test"])
    yield created
    try:
        identity.delete_identity_pool(IdentityPoolId=created["IdentityPoolId"])
    except ClientError:
        pass


def test_create_and_describe(identity, pool):
    pool_id = pool["IdentityPoolId"]
    region, _, uid = pool_id.partition(":")
    assert region == "us-east-1" and len(uid) == 36 and uid == uid.lower()
    assert pool["AllowUnauthenticatedIdentities"] is True
    # Not given, so AWS leaves it unset and omits it.
    assert "AllowClassicFlow" not in pool
    assert pool["IdentityPoolTags"] == {}
    assert pool["CognitoIdentityProviders"] == [{"ProviderName": UP, "ClientId": "client123",
                                                 "ServerSideTokenCheck": False}]
    described = identity.describe_identity_pool(IdentityPoolId=pool_id)
    described.pop("ResponseMetadata")
    pool = dict(pool)
    pool.pop("ResponseMetadata")
    assert described == pool


def test_minimal_pool_shape(identity):
    """A pool created with only the required members: AWS answers exactly these keys."""
    created = identity.create_identity_pool(IdentityPoolName=unique("min"), AllowUnauthenticatedIdentities=False)
    created.pop("ResponseMetadata")
    assert set(created) == {"IdentityPoolId", "IdentityPoolName", "AllowUnauthenticatedIdentities",
                            "IdentityPoolTags"}
    assert created["AllowUnauthenticatedIdentities"] is False and created["IdentityPoolTags"] == {}
    described = identity.describe_identity_pool(IdentityPoolId=created["IdentityPoolId"])
    described.pop("ResponseMetadata")
    assert described == created


@pytest.mark.parametrize("flag", [True, False])
def test_allow_classic_flow_kept_when_given(identity, flag):
    created = identity.create_identity_pool(IdentityPoolName=unique("cf"), AllowUnauthenticatedIdentities=False,
                                            AllowClassicFlow=flag)
    assert created["AllowClassicFlow"] is flag
    pool_id = created["IdentityPoolId"]
    assert identity.describe_identity_pool(IdentityPoolId=pool_id)["AllowClassicFlow"] is flag
    # Update sets what is not given back to its default: unset again.
    updated = identity.update_identity_pool(IdentityPoolId=pool_id, IdentityPoolName="again",
                                            AllowUnauthenticatedIdentities=False)
    assert "AllowClassicFlow" not in updated


def test_describe_unknown_pool(identity):
    with pytest.raises(ClientError) as exc:
        identity.describe_identity_pool(IdentityPoolId="us-east-1:00000000-0000-0000-0000-000000000000")
    assert error(exc) == ("ResourceNotFoundException",
                          "IdentityPool 'us-east-1:00000000-0000-0000-0000-000000000000' not found.")


def test_create_validates_input(identity):
    with pytest.raises(ClientError) as exc:
        identity.create_identity_pool(IdentityPoolName="bad/name", AllowUnauthenticatedIdentities=False)
    code, message = error(exc)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value 'bad/name' at 'identityPoolName'")


def test_create_rejects_bad_user_pool_provider(identity):
    with pytest.raises(ClientError) as exc:
        identity.create_identity_pool(IdentityPoolName=unique("p"), AllowUnauthenticatedIdentities=False,
                                      CognitoIdentityProviders=[{"ProviderName": "example.com/x",
                                                                 "ClientId": "abc"}])
    assert error(exc) == ("InvalidParameterException", "Invalid Cognito Identity Provider")


def test_update_replaces_configuration(identity, pool):
    pool_id = pool["IdentityPoolId"]
    updated = identity.update_identity_pool(IdentityPoolId=pool_id, IdentityPoolName="renamed",
                                            AllowUnauthenticatedIdentities=False, AllowClassicFlow=True,
                                            DeveloperProviderName="login.myapp")
    assert updated["IdentityPoolName"] == "renamed"
    assert updated["AllowClassicFlow"] is True
    assert updated["DeveloperProviderName"] == "login.myapp"
    # Update is a full replacement: providers not repeated are gone.
    assert "CognitoIdentityProviders" not in updated
    assert "SupportedLoginProviders" not in updated
    described = identity.describe_identity_pool(IdentityPoolId=pool_id)
    assert described["IdentityPoolName"] == "renamed"
    with pytest.raises(ClientError) as exc:
        identity.update_identity_pool(IdentityPoolId=pool_id, IdentityPoolName="renamed",
                                      AllowUnauthenticatedIdentities=False, DeveloperProviderName="other")
    assert error(exc) == ("InvalidParameterException", "Developer provider name cannot be changed once set.")


def test_update_unknown_pool(identity):
    with pytest.raises(ClientError) as exc:
        identity.update_identity_pool(IdentityPoolId="us-east-1:11111111-1111-1111-1111-111111111111",
                                      IdentityPoolName="x", AllowUnauthenticatedIdentities=False)
    assert error(exc)[0] == "ResourceNotFoundException"


def test_delete(identity):
    pool_id = identity.create_identity_pool(IdentityPoolName=unique("p"),
                                            AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    guest = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    identity.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        identity.describe_identity_pool(IdentityPoolId=pool_id)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")
    with pytest.raises(ClientError) as exc:
        identity.describe_identity(IdentityId=guest)
    assert error(exc) == ("ResourceNotFoundException", f"Identity '{guest}' not found.")
    with pytest.raises(ClientError) as exc:
        identity.delete_identity_pool(IdentityPoolId=pool_id)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")


def test_list_pools_paginates(identity):
    names = {unique("list") for _ in range(5)}
    ids = {identity.create_identity_pool(IdentityPoolName=n, AllowUnauthenticatedIdentities=False)[
        "IdentityPoolId"]: n for n in names}
    seen = {}
    token = None
    while True:
        kwargs = {"MaxResults": 2, **({"NextToken": token} if token else {})}
        page = identity.list_identity_pools(**kwargs)
        assert len(page["IdentityPools"]) <= 2
        for item in page["IdentityPools"]:
            assert item["IdentityPoolId"] not in seen
            seen[item["IdentityPoolId"]] = item["IdentityPoolName"]
        token = page.get("NextToken")
        if not token:
            break
    for pool_id, name in ids.items():
        assert seen[pool_id] == name
        identity.delete_identity_pool(IdentityPoolId=pool_id)


def test_list_pools_is_regional(identity, endpoint):
    west = boto_client("cognito-identity", endpoint, region="us-west-2")
    pool_id = west.create_identity_pool(IdentityPoolName=unique("west"),
                                        AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
    assert pool_id.startswith("us-west-2:")

    def listed(client) -> set[str]:
        found, token = set(), None
        while True:
            page = client.list_identity_pools(MaxResults=60, **({"NextToken": token} if token else {}))
            found |= {p["IdentityPoolId"] for p in page["IdentityPools"]}
            token = page.get("NextToken")
            if not token:
                return found

    assert pool_id in listed(west)
    assert pool_id not in listed(identity)
    west.delete_identity_pool(IdentityPoolId=pool_id)


def test_list_pools_max_results_range(identity):
    with pytest.raises(ClientError) as exc:
        identity.list_identity_pools(MaxResults=61)
    code, message = error(exc)
    assert code == "ValidationException"
    assert "at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60" \
        in message


def test_roles_round_trip(identity, pool):
    pool_id = pool["IdentityPoolId"]
    assert identity.get_identity_pool_roles(IdentityPoolId=pool_id)["Roles"] == {}
    mappings = {
        f"{UP}:client123": {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"},
        "login.example.test": {"Type": "Rules", "AmbiguousRoleResolution": "Deny", "RulesConfiguration": {
            "Rules": [{"Claim": "email", "MatchType": "Contains", "Value": "@example.com",
                       "RoleARN": "arn:aws:iam::000000000000:role/staff"}]}},
    }
    identity.set_identity_pool_roles(IdentityPoolId=pool_id,
                                     Roles={"authenticated": AUTH_ROLE, "unauthenticated": UNAUTH_ROLE},
                                     RoleMappings=mappings)
    got = identity.get_identity_pool_roles(IdentityPoolId=pool_id)
    assert got["IdentityPoolId"] == pool_id
    assert got["Roles"] == {"authenticated": AUTH_ROLE, "unauthenticated": UNAUTH_ROLE}
    assert got["RoleMappings"] == mappings


@pytest.mark.parametrize("key", [f"{UP}:otherclient", "cognito-idp.us-east-1.amazonaws.com/us-east-1_Zzzzzzzzz:c",
                                 "graph.facebook.com"])
def test_role_mapping_for_unconfigured_provider(identity, pool, key):
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(
            IdentityPoolId=pool["IdentityPoolId"], Roles={"authenticated": AUTH_ROLE},
            RoleMappings={key: {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}})
    assert error(exc) == ("InvalidParameterException",
                          f"{key} is not a valid RoleMapping ProviderName or is not a configured provider.")


def test_role_mapping_rules_required(identity, pool):
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(
            IdentityPoolId=pool["IdentityPoolId"], Roles={"authenticated": AUTH_ROLE},
            RoleMappings={"login.example.test": {"Type": "Rules", "AmbiguousRoleResolution": "Deny"}})
    assert error(exc) == ("InvalidParameterException",
                          "RulesConfiguration is required for RoleMapping of type Rules.")


def test_role_mapping_needs_ambiguous_resolution(identity, pool):
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(
            IdentityPoolId=pool["IdentityPoolId"], Roles={"authenticated": AUTH_ROLE},
            RoleMappings={f"{UP}:client123": {"Type": "Token"}})
    assert error(exc) == ("InvalidParameterException",
                          "AmbiguousRoleResolution must be specified for RoleMapping.")


def test_roles_reject_unknown_role_type(identity, pool):
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(IdentityPoolId=pool["IdentityPoolId"], Roles={"admin": AUTH_ROLE})
    code, message = error(exc)
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: ")
    assert "at 'roles' failed to satisfy constraint" in message


def test_roles_unknown_pool(identity):
    missing = "us-east-1:22222222-2222-2222-2222-222222222222"
    with pytest.raises(ClientError) as exc:
        identity.get_identity_pool_roles(IdentityPoolId=missing)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(IdentityPoolId=missing, Roles={})
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")


def test_principal_tag_attribute_map(identity, pool):
    pool_id = pool["IdentityPoolId"]
    got = identity.get_principal_tag_attribute_map(IdentityPoolId=pool_id, IdentityProviderName=UP)
    assert got["UseDefaults"] is False and got.get("PrincipalTags", {}) == {}
    set_ = identity.set_principal_tag_attribute_map(IdentityPoolId=pool_id, IdentityProviderName=UP,
                                                    UseDefaults=True)
    assert set_["PrincipalTags"] == {"username": "sub", "client": "aud"}
    identity.set_principal_tag_attribute_map(IdentityPoolId=pool_id, IdentityProviderName=UP,
                                             UseDefaults=False, PrincipalTags={"dept": "custom:dept"})
    got = identity.get_principal_tag_attribute_map(IdentityPoolId=pool_id, IdentityProviderName=UP)
    assert got["IdentityProviderName"] == UP
    assert got["UseDefaults"] is False
    assert got["PrincipalTags"] == {"dept": "custom:dept"}


def test_principal_tags_for_unconfigured_provider(identity, pool):
    with pytest.raises(ClientError) as exc:
        identity.get_principal_tag_attribute_map(IdentityPoolId=pool["IdentityPoolId"],
                                                 IdentityProviderName="graph.facebook.com")
    assert error(exc) == ("InvalidParameterException",
                          f"graph.facebook.com is not a configured provider of identity pool "
                          f"{pool['IdentityPoolId']}.")


def test_tags(identity):
    created = identity.create_identity_pool(IdentityPoolName=unique("tags"), AllowUnauthenticatedIdentities=False,
                                            IdentityPoolTags={"team": "a"})
    pool_id = created["IdentityPoolId"]
    assert created["IdentityPoolTags"] == {"team": "a"}
    arn = f"arn:aws:cognito-identity:us-east-1:000000000000:identitypool/{pool_id}"
    identity.tag_resource(ResourceArn=arn, Tags={"env": "dev", "team": "b"})
    assert identity.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "dev", "team": "b"}
    identity.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert identity.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "dev"}
    assert identity.describe_identity_pool(IdentityPoolId=pool_id)["IdentityPoolTags"] == {"env": "dev"}
    identity.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        identity.list_tags_for_resource(ResourceArn=arn)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")


def test_tags_bad_arn(identity):
    with pytest.raises(ClientError) as exc:
        identity.tag_resource(ResourceArn="arn:aws:s3:::some-bucket-name", Tags={"a": "b"})
    assert error(exc) == ("InvalidParameterException", "Invalid ARN: arn:aws:s3:::some-bucket-name")


def test_role_mapping_shape_errors(identity, pool):
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(
            IdentityPoolId=pool["IdentityPoolId"], Roles={"authenticated": AUTH_ROLE},
            RoleMappings={f"{UP}:client123": {"Type": "Token", "AmbiguousRoleResolution": "Deny",
                                              "RulesConfiguration": {"Rules": [
                                                  {"Claim": "c", "MatchType": "Equals", "Value": "v",
                                                   "RoleARN": AUTH_ROLE}]}}})
    assert error(exc) == ("InvalidParameterException",
                          "RulesConfiguration is not supported for RoleMapping of type Token.")
    with pytest.raises(ClientError) as exc:
        identity.set_identity_pool_roles(
            IdentityPoolId=pool["IdentityPoolId"], Roles={"unauthenticated": UNAUTH_ROLE},
            RoleMappings={f"{UP}:client123": {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}})
    assert error(exc) == ("InvalidParameterException",
                          "AmbiguousRoleResolution AuthenticatedRole requires an authenticated role.")


def test_provider_configuration_errors(identity):
    with pytest.raises(ClientError) as exc:
        identity.create_identity_pool(IdentityPoolName=unique("p"), AllowUnauthenticatedIdentities=False,
                                      DeveloperProviderName="cognito-mine")
    assert error(exc) == ("InvalidParameterException", "DeveloperProviderName cannot start with 'cognito-'.")
    with pytest.raises(ClientError) as exc:
        identity.create_identity_pool(IdentityPoolName=unique("p"), AllowUnauthenticatedIdentities=False,
                                      CognitoIdentityProviders=[{"ProviderName": UP}])
    assert error(exc) == ("InvalidParameterException", f"ClientId is required for Cognito Identity Provider {UP}")


def test_at_most_50_tags(identity):
    pool_id = identity.create_identity_pool(IdentityPoolName=unique("tags"),
                                            AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
    arn = f"arn:aws:cognito-identity:us-east-1:000000000000:identitypool/{pool_id}"
    identity.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(50)})
    with pytest.raises(ClientError) as exc:
        identity.tag_resource(ResourceArn=arn, Tags={"k50": "v"})
    assert error(exc) == ("InvalidParameterException", "An identity pool can have at most 50 tags.")
    identity.tag_resource(ResourceArn=arn, Tags={"k0": "replaced"})
    assert identity.list_tags_for_resource(ResourceArn=arn)["Tags"]["k0"] == "replaced"
