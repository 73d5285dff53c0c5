"""Groups: CRUD, precedence, membership, listings with pagination."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import error, unique


def _user(idp, pool_id, name=None):
    name = name or unique("user")
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    return name


def test_group_crud(idp, pool_id):
    role = "arn:aws:iam::000000000000:role/admins"
    group = idp.create_group(UserPoolId=pool_id, GroupName="admins", Description="d", RoleArn=role,
                             Precedence=1)["Group"]
    assert group["GroupName"] == "admins" and group["UserPoolId"] == pool_id
    assert group["RoleArn"] == role and group["Precedence"] == 1 and group["Description"] == "d"
    assert group["CreationDate"] == group["LastModifiedDate"]
    assert idp.get_group(UserPoolId=pool_id, GroupName="admins")["Group"] == group
    with pytest.raises(ClientError) as exc:
        idp.create_group(UserPoolId=pool_id, GroupName="admins")
    assert error(exc) == ("GroupExistsException", "A group with the name admins already exists.")
    updated = idp.update_group(UserPoolId=pool_id, GroupName="admins", Description="new", Precedence=5)["Group"]
    assert updated["Description"] == "new" and updated["Precedence"] == 5 and updated["RoleArn"] == role
    idp.delete_group(UserPoolId=pool_id, GroupName="admins")
    with pytest.raises(ClientError) as exc:
        idp.get_group(UserPoolId=pool_id, GroupName="admins")
    assert error(exc) == ("ResourceNotFoundException", "Group not found.")
    with pytest.raises(ClientError) as exc:
        idp.delete_group(UserPoolId=pool_id, GroupName="admins")
    assert error(exc) == ("ResourceNotFoundException", "Group not found.")
    with pytest.raises(ClientError) as exc:
        idp.create_group(UserPoolId="us-east-1_Nope12345", GroupName="x")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_Nope12345 does not exist.")


def test_list_groups_pagination(idp, pool_id):
    names = [f"g{i:02d}" for i in range(7)]
    for name in names[:5]:
        idp.create_group(UserPoolId=pool_id, GroupName=name)
    page = idp.list_groups(UserPoolId=pool_id, Limit=2)
    seen = [g["GroupName"] for g in page["Groups"]]
    for name in names[5:]:
        idp.create_group(UserPoolId=pool_id, GroupName=name)
    while "NextToken" in page:
        page = idp.list_groups(UserPoolId=pool_id, Limit=2, NextToken=page["NextToken"])
        seen += [g["GroupName"] for g in page["Groups"]]
    assert seen == names
    with pytest.raises(ClientError) as exc:
        idp.list_groups(UserPoolId=pool_id, NextToken="bogus")
    assert error(exc) == ("InvalidParameterException", "Invalid pagination token.")


def test_membership(idp, pool_id):
    alice, bob = _user(idp, pool_id), _user(idp, pool_id)
    idp.create_group(UserPoolId=pool_id, GroupName="b", Precedence=2)
    idp.create_group(UserPoolId=pool_id, GroupName="a")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=alice, GroupName="a")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=alice, GroupName="b")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=alice, GroupName="b")  # no-op
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=bob, GroupName="b")
    groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=alice)["Groups"]
    assert [g["GroupName"] for g in groups] == ["a", "b"]
    users = idp.list_users_in_group(UserPoolId=pool_id, GroupName="b")["Users"]
    assert sorted(u["Username"] for u in users) == sorted([alice, bob])
    assert {"Username", "Attributes", "UserStatus", "Enabled"} <= set(users[0])
    page = idp.list_users_in_group(UserPoolId=pool_id, GroupName="b", Limit=1)
    assert len(page["Users"]) == 1 and "NextToken" in page
    rest = idp.list_users_in_group(UserPoolId=pool_id, GroupName="b", Limit=1, NextToken=page["NextToken"])
    assert len(rest["Users"]) == 1 and "NextToken" not in rest
    idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=alice, GroupName="b")
    groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=alice)["Groups"]
    assert [g["GroupName"] for g in groups] == ["a"]
    idp.delete_group(UserPoolId=pool_id, GroupName="a")
    assert idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=alice)["Groups"] == []


def test_membership_errors(idp, pool_id):
    alice = _user(idp, pool_id)
    idp.create_group(UserPoolId=pool_id, GroupName="g")
    with pytest.raises(ClientError) as exc:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="ghost", GroupName="g")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=alice, GroupName="missing")
    assert error(exc) == ("ResourceNotFoundException", "Group not found.")
    with pytest.raises(ClientError) as exc:
        idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="ghost")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.list_users_in_group(UserPoolId=pool_id, GroupName="missing")
    assert error(exc) == ("ResourceNotFoundException", "Group not found.")


def test_deleted_user_leaves_groups(idp, pool_id):
    alice = _user(idp, pool_id)
    idp.create_group(UserPoolId=pool_id, GroupName="g")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=alice, GroupName="g")
    idp.admin_delete_user(UserPoolId=pool_id, Username=alice)
    assert idp.list_users_in_group(UserPoolId=pool_id, GroupName="g")["Users"] == []
    _user(idp, pool_id, alice)
    assert idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=alice)["Groups"] == []


def test_groups_in_tokens_by_precedence(idp, pool_id):
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c",
                                         ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                            "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    name = _user(idp, pool_id)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password="Passw0rd!x", Permanent=True)
    idp.create_group(UserPoolId=pool_id, GroupName="low", Precedence=10,
                     RoleArn="arn:aws:iam::000000000000:role/low")
    idp.create_group(UserPoolId=pool_id, GroupName="high", Precedence=1,
                     RoleArn="arn:aws:iam::000000000000:role/high")
    idp.create_group(UserPoolId=pool_id, GroupName="none")
    for g in ("low", "none", "high"):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=g)
    result = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"],
                                     AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": name, "PASSWORD": "Passw0rd!x"})
    import jwt
    claims = jwt.decode(result["AuthenticationResult"]["IdToken"], options={"verify_signature": False})
    assert claims["cognito:groups"] == ["high", "low", "none"]
    assert claims["cognito:preferred_role"] == "arn:aws:iam::000000000000:role/high"


def test_a_user_belongs_to_at_most_100_groups(idp, pool_id):
    user = _user(idp, pool_id)
    for i in range(101):
        idp.create_group(UserPoolId=pool_id, GroupName=f"g{i}")
    for i in range(100):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName=f"g{i}")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName="g99")  # already in: no-op
    with pytest.raises(ClientError) as exc:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName="g100")
    assert error(exc) == ("LimitExceededException", "A user can be a member of at most 100 groups.")
    groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=user, Limit=60)
    assert len(groups["Groups"]) == 60 and groups["NextToken"]
