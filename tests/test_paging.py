"""Paging of the list operations that share one keyset paging: every item once, in order,
and a token that is not ours refused."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import error

BAD_TOKEN = ("InvalidParameterException", "Invalid pagination token.")


def _all_pages(call, items_key: str, token_key: str = "NextToken", **kwargs) -> list[list]:
    pages, token = [], None
    while True:
        page = call(**kwargs, **({token_key: token} if token else {}))
        pages.append(page[items_key])
        token = page.get(token_key)
        if not token:
            return pages


def test_terms_page_in_creation_order(idp, pool_id, clock):
    created = []
    for client_name in ("one", "two"):
        client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=client_name)[
            "UserPoolClient"]["ClientId"]
        for name in ("terms-of-use", "privacy-policy"):
            created.append(idp.create_terms(UserPoolId=pool_id, ClientId=client_id, TermsName=name,
                                            TermsSource="LINK", Enforcement="NONE",
                                            Links={"cognito:default": "https://example.com/t"})["Terms"]["TermsId"])
            clock.advance(1)
    pages = _all_pages(idp.list_terms, "Terms", UserPoolId=pool_id, MaxResults=3)
    assert [len(p) for p in pages] == [3, 1]
    assert [t["TermsId"] for p in pages for t in p] == created
    with pytest.raises(ClientError) as exc:
        idp.list_terms(UserPoolId=pool_id, NextToken="bogus")
    assert error(exc) == BAD_TOKEN


def test_groups_for_user_page_by_name(idp, pool_id):
    idp.admin_create_user(UserPoolId=pool_id, Username="ann", MessageAction="SUPPRESS")
    names = ["e", "a", "d", "b", "c"]
    for name in names:
        idp.create_group(UserPoolId=pool_id, GroupName=name)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="ann", GroupName=name)
    pages = _all_pages(idp.admin_list_groups_for_user, "Groups", UserPoolId=pool_id, Username="ann", Limit=2)
    assert [[g["GroupName"] for g in p] for p in pages] == [["a", "b"], ["c", "d"], ["e"]]
    with pytest.raises(ClientError) as exc:
        idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="ann", NextToken="bogus")
    assert error(exc) == BAD_TOKEN


def test_auth_events_page_newest_first(idp, pool_id, clock):
    idp.update_user_pool(UserPoolId=pool_id, UserPoolAddOns={"AdvancedSecurityMode": "AUDIT"})
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c",
                                            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                               "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ann", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="ann", Password="Passw0rd!x", Permanent=True)
    for _ in range(5):
        idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": "ann", "PASSWORD": "Passw0rd!x"})
        clock.advance(1)
    everything = idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ann")["AuthEvents"]
    assert len(everything) == 5
    dates = [e["CreationDate"] for e in everything]
    assert dates == sorted(dates, reverse=True)
    pages = _all_pages(idp.admin_list_user_auth_events, "AuthEvents", UserPoolId=pool_id, Username="ann",
                       MaxResults=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [e["EventId"] for p in pages for e in p] == [e["EventId"] for e in everything]
    with pytest.raises(ClientError) as exc:
        idp.admin_list_user_auth_events(UserPoolId=pool_id, Username="ann", NextToken="bogus")
    assert error(exc) == BAD_TOKEN


def test_a_token_of_another_listing_is_refused(idp, pool_id):
    for name in ("a", "b"):
        idp.create_group(UserPoolId=pool_id, GroupName=name)
    token = idp.list_groups(UserPoolId=pool_id, Limit=1)["NextToken"]
    # A groups token holds one key; user pools are paged by two.
    with pytest.raises(ClientError) as exc:
        idp.list_user_pools(MaxResults=5, NextToken=token)
    assert error(exc) == BAD_TOKEN
