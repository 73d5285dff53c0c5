"""ListUsers: filters, AttributesToGet, Limit, pagination that stays correct under inserts."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError
from helpers import boto_client, error, post_json, unique


def add(idp, pool_id, username, **attrs):
    return idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                                 UserAttributes=[{"Name": k, "Value": v} for k, v in attrs.items()])["User"]


@pytest.fixture
def people(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    add(idp, pool_id, "alice", email="alice@example.com", given_name="Alice", family_name="Reddy",
        name="Alice Reddy", phone_number="+12065550100", preferred_username="ally")
    add(idp, pool_id, "albert", email="albert@example.org", given_name="Albert", family_name="Jones",
        name='Albert "Al" Jones')
    add(idp, pool_id, "bob", email="bob@example.com", given_name="Bob", family_name="Reddy")
    add(idp, pool_id, "Carol", email="carol@example.com", given_name="Carol")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="bob", Password="Passw0rd!", Permanent=True)
    idp.admin_disable_user(UserPoolId=pool_id, Username="albert")
    return pool_id


def names(result) -> list[str]:
    return [u["Username"] for u in result["Users"]]


def test_list_all_in_creation_order(idp, people):
    out = idp.list_users(UserPoolId=people)
    assert names(out) == ["alice", "albert", "bob", "Carol"]
    assert "PaginationToken" not in out
    first = out["Users"][0]
    assert first["UserStatus"] == "FORCE_CHANGE_PASSWORD" and first["Enabled"] is True
    assert {"UserCreateDate", "UserLastModifiedDate", "Attributes"} <= set(first)


@pytest.mark.parametrize("flt,expected", [
    ('username = "alice"', ["alice"]),
    ('username = "Alice"', []),
    ('username ^= "al"', ["alice", "albert"]),
    ('email = "bob@example.com"', ["bob"]),
    ('email ^= "al"', ["alice", "albert"]),
    ('email^="carol"', ["Carol"]),
    ('family_name = "Reddy"', ["alice", "bob"]),
    ('given_name ^= "A"', ["alice", "albert"]),
    ('name = "Albert \\"Al\\" Jones"', ["albert"]),
    ('phone_number ^= "+1206"', ["alice"]),
    ('preferred_username = "ally"', ["alice"]),
    ('cognito:user_status = "CONFIRMED"', ["bob"]),
    ('cognito:user_status = "force_change_password"', ["alice", "albert", "Carol"]),
    ('status = "Disabled"', ["albert"]),
    ('status = "Enabled"', ["alice", "bob", "Carol"]),
    ('status = "enabled"', []),
    ('given_name = "Nobody"', []),
    ("", ["alice", "albert", "bob", "Carol"]),
])
def test_filters(idp, people, flt, expected):
    # AWS does not define the order of a filtered list: compare as sets.
    assert sorted(names(idp.list_users(UserPoolId=people, Filter=flt))) == sorted(expected)


def test_prefix_filter_pages_through_every_match_once(idp, people):
    seen, token = [], None
    while True:
        out = idp.list_users(UserPoolId=people, Filter='email ^= "a"', Limit=1,
                             **({"PaginationToken": token} if token else {}))
        seen += names(out)
        token = out.get("PaginationToken")
        if not token:
            break
    assert sorted(seen) == ["albert", "alice"]


def test_filter_by_sub(idp, people):
    sub = {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=people, Username="bob")["UserAttributes"]}["sub"]
    assert names(idp.list_users(UserPoolId=people, Filter=f'sub = "{sub}"')) == ["bob"]


@pytest.mark.parametrize("flt", ["email = alice", 'email == "a"', 'email = "a" and name = "b"', "garbage",
                                 "username=", 'email = "unterminated'])
def test_bad_filters(idp, people, flt):
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=people, Filter=flt)
    assert error(exc) == ("InvalidParameterException", "Error while parsing filter.")


@pytest.mark.parametrize("attribute", ["custom:tier", "nickname", "email_verified", "address"])
def test_unsearchable_attribute(idp, people, attribute):
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=people, Filter=f'{attribute} = "x"')
    assert error(exc) == ("InvalidParameterException", f"Invalid search attribute: {attribute}")


def test_empty_value_matches_nobody(idp, people):
    assert names(idp.list_users(UserPoolId=people, Filter='family_name = ""')) == []


def test_attributes_to_get(idp, people):
    out = idp.list_users(UserPoolId=people, AttributesToGet=["email"], Filter='username = "alice"')
    assert out["Users"][0]["Attributes"] == [{"Name": "email", "Value": "alice@example.com"}]
    out = idp.list_users(UserPoolId=people, AttributesToGet=["given_name", "sub"], Filter='username = "bob"')
    assert [a["Name"] for a in out["Users"][0]["Attributes"]] == ["sub", "given_name"]
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=people, AttributesToGet=["custom:none"])
    assert error(exc) == ("InvalidParameterException", "One or more requested attributes do not exist.")


def test_limit_bounds(idp, endpoint, people):
    assert len(idp.list_users(UserPoolId=people, Limit=2)["Users"]) == 2
    # boto3 validates Limit client-side only for min; send the raw request to see the server's answer.
    r = post_json(endpoint, "AWSCognitoIdentityProviderService.ListUsers",
                  {"UserPoolId": people, "Limit": 61})
    assert r.status_code == 400
    assert r.json()["__type"] == "InvalidParameterException"
    assert r.json()["message"] == ("1 validation error detected: Value '61' at 'limit' failed to satisfy "
                                   "constraint: Member must have value less than or equal to 60")


def test_bad_pagination_token(idp, people):
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=people, PaginationToken="not-a-token")
    request_id = exc.value.response["ResponseMetadata"]["RequestId"]
    assert error(exc) == ("InvalidParameterException",
                          f"Paging marker not-a-token is invalid for request {request_id}")


def test_pagination_token_belongs_to_its_filter(idp, people):
    # AWS refuses a token issued for another filter (or pool) rather than paging the wrong list.
    first = idp.list_users(UserPoolId=people, Filter='email ^= "a"', Limit=1)
    token = first["PaginationToken"]
    second = idp.list_users(UserPoolId=people, Filter='email ^= "a"', Limit=1, PaginationToken=token)
    assert sorted(names(first) + names(second)) == ["albert", "alice"]
    for other in ({"Filter": 'email ^= "b"'}, {}):
        with pytest.raises(ClientError) as exc:
            idp.list_users(UserPoolId=people, Limit=1, PaginationToken=token, **other)
        request_id = exc.value.response["ResponseMetadata"]["RequestId"]
        assert error(exc) == ("InvalidParameterException", f"Paging marker {token} is invalid for request "
                              f"{request_id}")


def test_pagination_token_of_the_right_scope_but_wrong_shape(idp, people):
    # A token carrying this pool and filter but not a position of its listing is refused as well.
    from emulator import paging
    from emulator.userpools.ops import users as users_ops

    for text, position in ((None, ["alice"]), (None, [1, 2]), ('email ^= "a"', [3]), ('email ^= "a"', [4, "x"])):
        token = paging.encode_token(position, users_ops._page_scope(people, text))
        with pytest.raises(ClientError) as exc:
            idp.list_users(UserPoolId=people, PaginationToken=token, **({"Filter": text} if text else {}))
        request_id = exc.value.response["ResponseMetadata"]["RequestId"]
        assert error(exc) == ("InvalidParameterException", f"Paging marker {token} is invalid for request "
                              f"{request_id}")


def test_unknown_pool(idp):
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId="us-east-1_nonexist0")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nonexist0 does not exist.")


def test_case_insensitive_pool_filters(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), UsernameConfiguration={"CaseSensitive": False})[
        "UserPool"]["Id"]
    add(idp, pool_id, "MixedCase", email="Mixed@Example.com")
    assert names(idp.list_users(UserPoolId=pool_id, Filter='username = "mixedcase"')) == ["MixedCase"]
    assert names(idp.list_users(UserPoolId=pool_id, Filter='email ^= "mixed@"')) == ["MixedCase"]


def test_pagination_250_users_with_concurrent_inserts(idp, endpoint):
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    for i in range(250):
        add(idp, pool_id, f"user{i:03d}", given_name=f"G{i % 7}")
    writer = boto_client("cognito-idp", endpoint)
    stop = threading.Event()
    inserted: list[str] = []

    def insert_more():
        n = 0
        while not stop.is_set() and n < 100:
            name = f"late{n:03d}"
            add(writer, pool_id, name)
            inserted.append(name)
            n += 1

    thread = threading.Thread(target=insert_more)
    thread.start()
    seen: list[str] = []
    token = None
    pages = 0
    try:
        while True:
            kwargs = {"PaginationToken": token} if token else {}
            out = idp.list_users(UserPoolId=pool_id, Limit=25, **kwargs)
            seen += names(out)
            pages += 1
            token = out.get("PaginationToken")
            if not token:
                break
    finally:
        stop.set()
        thread.join()
    originals = [f"user{i:03d}" for i in range(250)]
    assert seen[:250] == originals  # every original exactly once, in order
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(seen[250:]) <= set(inserted)  # later pages may include users added meanwhile
    assert pages >= 10
    # The paginator follows tokens the same way, with a filter too.
    paginator = idp.get_paginator("list_users")
    filtered = [u["Username"] for page in paginator.paginate(UserPoolId=pool_id, Filter='given_name = "G3"',
                                                             PaginationConfig={"PageSize": 7})
                for u in page["Users"]]
    assert filtered == [f"user{i:03d}" for i in range(250) if i % 7 == 3]


def test_prefix_pagination_stable_under_inserts(idp):
    # Users added between pages (before and after the cursor) never make an existing match be
    # skipped or repeated.
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    original = [f"m{i:03d}" for i in range(0, 60, 2)]
    for name in original:
        add(idp, pool_id, name, email=f"{name}@example.com")
    seen: list[str] = []
    token, extra = None, 0
    while True:
        out = idp.list_users(UserPoolId=pool_id, Filter='email ^= "m"', Limit=7,
                             **({"PaginationToken": token} if token else {}))
        seen += names(out)
        token = out.get("PaginationToken")
        if not token:
            break
        for name in (f"m{extra * 2 + 1:03d}", f"m{59 - extra * 2:03d}x"):
            add(idp, pool_id, name, email=f"{name}@example.com")
        extra += 1
    assert len(seen) == len(set(seen))
    assert set(original) <= set(seen)


@pytest.mark.parametrize("case_sensitive", [True, False])
def test_every_filter_is_answered_from_an_index(case_sensitive):
    """ListUsers over 100,000 users answers in milliseconds only if no filter scans the table or
    sorts it: each filter's query must be an index search in page order."""
    from emulator.service_modules import load_services
    load_services()  # registers the schema
    from emulator.store import open_store
    from emulator.userpools.model import user_filter
    from emulator.userpools.ops import users as users_ops

    store = open_store()
    store.migrate()
    pool = {"Id": "us-east-1_plan", "UsernameConfiguration": {"CaseSensitive": case_sensitive}}
    filters = [None] + [f'{attribute} {op} "x"' for op in ("=", "^=") for attribute in (
        "username", "email", "phone_number", "name", "given_name", "family_name", "preferred_username",
        "sub", "cognito:user_status", "status")]
    with store.transaction() as db:
        for text in filters:
            where, args, keyed = "pool_id = ?", [pool["Id"]], None
            if text is not None:
                extra, extra_args, keyed = users_ops._filter_sql(pool, user_filter.parse(text))
                where, args = f"{where} AND {extra}", args + extra_args
            order = "seq" if keyed is None else f"{keyed}, seq"
            plan = " ".join(row[-1] for row in db.execute(
                f"EXPLAIN QUERY PLAN SELECT * FROM users WHERE {where} ORDER BY {order} LIMIT ?", [*args, 61]))
            if "0 = 1" not in where:
                assert plan.startswith("SEARCH users USING INDEX"), (text, plan)
            assert "SCAN" not in plan and "TEMP B-TREE" not in plan, (text, plan)
    store.close()
