"""The web console at /_emulator/console, clicked through in a real headless Chromium (Playwright
driving the Debian `chromium`), checked with boto3; plus a few plain HTTP checks of its routes.

The console runs on a server of this module's own (reset wipes everything; a PreSignUp function
is configured for the trigger log)."""

from __future__ import annotations

import json
import re

import pytest
import requests
from botocore.exceptions import ClientError
from browser import SCREENSHOTS, require
from conftest import ROOT, suite_server
from helpers import (
    PASSWORD,
    boto_client,
    make_client,
    make_identity_pool,
    make_pool,
    make_user,
    stop_checked,
    tokens_for,
    unique,
)

require()
PRE_SIGN_UP = "arn:aws:lambda:us-east-1:000000000000:function:console-presignup"
CROSS_SITE = "Cross-site request refused: console actions must come from the console's own pages."


@pytest.fixture(scope="module")
def server():
    """This module's server: in memory, or on PostgreSQL as the shared one (see conftest.emulator)."""
    env = {"COGNITO_EMULATOR_LAMBDA_CONSOLE_PRESIGNUP": "lambda_fixtures.user_pool_triggers:auto_confirm",
           "PYTHONPATH": str(ROOT / "tests")}
    process, database = suite_server(env)
    yield process
    stop_checked(process)
    if database is not None:
        database.stop()


@pytest.fixture(scope="module")
def base(server) -> str:
    return server.url


@pytest.fixture(scope="module")
def idp(base):
    return boto_client("cognito-idp", base)


@pytest.fixture(autouse=True)
def _clock_back(base):
    yield
    requests.post(base + "/_emulator/clock", json={"reset": True}, timeout=10)




def console(base: str, path: str = "/") -> str:
    return base + "/_emulator/console" + path


def click_and_confirm(page, button) -> None:
    """Click a destructive action's button, then 'Yes, do it' on its confirmation page."""
    button.click()
    page.get_by_role("button", name="Yes, do it").click()


def notice(page) -> str:
    return page.locator(".notice").inner_text()


def alert(page) -> str:
    return page.locator("[role=alert]").first.inner_text()


# -- finding and acting on users -------------------------------------------------------------------
def test_find_and_manage_a_user(page, base, idp):
    pool_id = make_pool(idp, PoolName=unique("console"))
    idp.create_group(UserPoolId=pool_id, GroupName="admins")
    for name in ("alice", "albert", "bob"):
        idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                              {"Name": "email_verified", "Value": "true"}])

    page.goto(console(base))
    page.get_by_role("link", name=idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Name"]).click()
    assert page.locator("#users tbody tr").count() == 3
    page.get_by_label("Filter").fill('email ^= "al"')
    page.get_by_role("button", name="Search").click()
    assert sorted(page.locator("#users tbody tr td:first-child").all_inner_texts()) == ["albert", "alice"]

    # create a user from the console
    page.locator("#create-user summary").click()
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email", exact=True).fill("carol@example.com")
    page.get_by_label("Send no invitation").check()
    page.get_by_role("button", name="Create user").click()
    assert notice(page) == "User carol created (FORCE_CHANGE_PASSWORD)."
    assert idp.admin_get_user(UserPoolId=pool_id, Username="carol")["UserStatus"] == "FORCE_CHANGE_PASSWORD"

    page.goto(console(base, f"/pools/{pool_id}/users/bob"))
    assert page.locator("#attributes").inner_text().count("bob@example.com") == 1

    # set a permanent password (confirmed), then the user is CONFIRMED
    page.locator("#set-password").get_by_label("New password").fill(PASSWORD)
    click_and_confirm(page, page.get_by_role("button", name="Set password…", exact=True))
    assert notice(page) == "Password of bob set (permanent)."
    assert idp.admin_get_user(UserPoolId=pool_id, Username="bob")["UserStatus"] == "CONFIRMED"

    page.locator("#action-disable").click()
    assert notice(page) == "User bob disabled."
    assert page.locator("#user-enabled").inner_text() == "no"
    assert idp.admin_get_user(UserPoolId=pool_id, Username="bob")["Enabled"] is False
    page.locator("#action-enable").click()
    assert idp.admin_get_user(UserPoolId=pool_id, Username="bob")["Enabled"] is True

    page.locator("#add-to-group").get_by_label("Group").select_option("admins")
    page.get_by_role("button", name="Add to group").click()
    assert notice(page) == "User bob added to admins."
    assert page.locator("#user-groups").inner_text() == "admins"
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username="bob")["Groups"]] \
        == ["admins"]

    click_and_confirm(page, page.locator("#action-reset-password"))
    assert notice(page) == "Password of bob reset."
    assert idp.admin_get_user(UserPoolId=pool_id, Username="bob")["UserStatus"] == "RESET_REQUIRED"

    click_and_confirm(page, page.locator("#action-delete"))
    assert notice(page) == "User bob deleted."
    assert page.url.endswith(f"/pools/{pool_id}?notice=User+bob+deleted.")
    with pytest.raises(ClientError) as excinfo:
        idp.admin_get_user(UserPoolId=pool_id, Username="bob")
    assert excinfo.value.response["Error"]["Code"] == "UserNotFoundException"


def test_confirm_a_signed_up_user(page, base, idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    idp.sign_up(ClientId=client["ClientId"], Username="dave", Password=PASSWORD)
    page.goto(console(base, f"/pools/{pool_id}/users/dave"))
    assert page.locator("#user-status").inner_text() == "UNCONFIRMED"
    page.locator("#action-confirm").click()
    assert notice(page) == "User dave confirmed."
    assert page.locator("#user-status").inner_text() == "CONFIRMED"
    assert idp.admin_get_user(UserPoolId=pool_id, Username="dave")["UserStatus"] == "CONFIRMED"


def test_an_operations_error_is_shown_and_changes_nothing(page, base, idp):
    pool_id = make_pool(idp)
    make_user(idp, pool_id, "erin")
    page.goto(console(base, f"/pools/{pool_id}"))
    page.locator("#create-user summary").click()
    page.get_by_label("Username").fill("erin")
    page.get_by_role("button", name="Create user").click()
    assert alert(page) == "UsernameExistsException: User account already exists"

    page.goto(console(base, f"/pools/{pool_id}/users/erin"))
    page.locator("#set-password").get_by_label("New password").fill("short")
    click_and_confirm(page, page.get_by_role("button", name="Set password…", exact=True))
    assert alert(page).startswith("InvalidPasswordException: Password did not conform with password policy: ")
    tokens_for(idp, make_client(idp, pool_id), "erin")  # the old password still works

    page.goto(console(base, f"/pools/{pool_id}?filter=" + requests.utils.quote('nickname = "x"')))
    assert alert(page) == "InvalidParameterException: Invalid search attribute: nickname"


def test_delete_a_pool_after_confirmation(page, base, idp):
    pool_id = make_pool(idp)
    page.goto(console(base, f"/pools/{pool_id}"))
    page.get_by_role("button", name="Delete user pool…").click()
    assert page.locator(".question").inner_text().startswith(f"Delete the user pool {pool_id}")
    page.get_by_role("link", name="Cancel").click()
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Id"] == pool_id
    click_and_confirm(page, page.get_by_role("button", name="Delete user pool…"))
    assert notice(page) == f"User pool {pool_id} deleted."
    with pytest.raises(ClientError):
        idp.describe_user_pool(UserPoolId=pool_id)


# -- the outbox, triggers and API log --------------------------------------------------------------
def test_outbox_shows_a_new_code_without_reload(page, base, idp):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    page.goto(console(base, f"/outbox?pool_id={pool_id}"))
    assert page.locator("#outbox tbody").inner_text().strip() == "No messages yet."
    page.evaluate("window.loadedOnce = true")
    idp.sign_up(ClientId=client["ClientId"], Username="frank", Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": "frank@example.com"}])
    code = requests.get(base + "/_emulator/messages", params={"pool_id": pool_id}, timeout=10).json()["messages"][0]["code"]
    page.locator("#outbox code.code", has_text=code).wait_for()
    assert page.evaluate("window.loadedOnce") is True  # the same page: no reload
    row = page.locator("#outbox tbody tr").first
    assert "frank@example.com" in row.inner_text() and "SignUp" in row.inner_text()
    assert row.locator("button.copy").first.get_attribute("data-text") == code


def test_trigger_log_shows_the_event_and_response(page, base, idp):
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": PRE_SIGN_UP})
    client = make_client(idp, pool_id)
    idp.sign_up(ClientId=client["ClientId"], Username="gina", Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": "gina@example.com"}])
    page.goto(console(base, f"/triggers?pool_id={pool_id}"))
    first = page.locator("#trigger-calls tbody tr").first
    assert "PreSignUp_SignUp" in first.inner_text() and "ok" in first.inner_text()
    event = page.locator("pre.event").first.text_content()
    assert '"userName": "gina"' in event and f'"userPoolId": "{pool_id}"' in event
    assert '"autoConfirmUser": true' in page.locator("pre.response").first.text_content()


def test_api_log_lists_calls_with_their_errors(page, base, idp):
    pool_id = make_pool(idp)
    with pytest.raises(ClientError):
        idp.admin_get_user(UserPoolId=pool_id, Username="nobody")
    page.goto(console(base, "/api-log?operation=AdminGetUser"))
    row = page.locator("#api-calls tbody tr").first
    cells = row.locator("td").all_inner_texts()
    assert cells[1:5] == ["cognito-idp", "AdminGetUser", "400", "UserNotFoundException: User does not exist."]
    assert re.fullmatch(r"\d+\.\d ms", cells[5])


# -- the token inspector and the clock -------------------------------------------------------------
def _inspect(page, base: str, token: str) -> str:
    page.goto(console(base, "/tokens"))
    page.get_by_label("ID or access token (JWT)").fill(token)
    page.get_by_role("button", name="Inspect").click()
    return page.locator("#verdict").inner_text()


def test_token_inspector(page, base, idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    make_user(idp, pool_id, "hana")
    tokens = tokens_for(idp, client, "hana")

    assert _inspect(page, base, tokens["IdToken"]) == "Valid: signed by its pool, not expired, not revoked."
    assert page.locator("#signature").inner_text() == f"verifies against the keys of {pool_id}"
    assert '"cognito:username": "hana"' in page.locator("#claims").inner_text()
    assert '"alg": "RS256"' in page.locator("#header").inner_text()

    header, payload, signature = tokens["AccessToken"].split(".")
    forged = ".".join([header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]])
    assert _inspect(page, base, forged) == \
        "The signature does not verify against the keys of the pool named by its issuer."
    assert page.locator("#signature").inner_text() == "verifies against no pool's keys"
    assert _inspect(page, base, "not-a-token") == "Not a JWT: a JWT has three parts separated by dots."

    # expired once the clock (moved from the console) passes exp
    page.goto(console(base, "/clock"))
    page.get_by_label("Advance by").fill("3601")
    page.get_by_role("button", name="Advance").click()
    assert notice(page) == "Clock advanced by 3601 seconds."
    assert _inspect(page, base, tokens["AccessToken"]) == "Expired by the emulator's clock."
    assert page.locator("#expiry").inner_text().startswith("expired ")

    requests.post(base + "/_emulator/clock", json={"reset": True}, timeout=10)
    fresh = tokens_for(idp, client, "hana")
    idp.global_sign_out(AccessToken=fresh["AccessToken"])
    assert _inspect(page, base, fresh["AccessToken"]) == "Revoked (signed out, or its refresh token revoked)."


def test_clock_advance_and_freeze(page, base):
    page.goto(console(base, "/clock"))
    assert page.locator("#clock-state").inner_text() == "running"
    page.get_by_label("Advance by").fill("86400")
    page.get_by_role("button", name="Advance").click()
    assert page.locator("#clock-offset").inner_text() == "86400 s"
    page.locator("#clock-freeze").click()
    assert notice(page) == "Clock frozen."
    state = requests.get(base + "/_emulator/clock", timeout=10).json()
    assert state["frozen"] is True and state["offset_seconds"] == 86400
    page.get_by_label("Advance by").fill("soon")
    page.get_by_role("button", name="Advance").click()
    assert alert(page) == "Seconds to advance must be a number."
    page.locator("#clock-unfreeze").click()
    assert requests.get(base + "/_emulator/clock", timeout=10).json()["frozen"] is False


# -- identity pools and Sync -----------------------------------------------------------------------
def test_identity_pool_identities_and_sync_records(page, base):
    identity = boto_client("cognito-identity", base)
    sync = boto_client("cognito-sync", base)
    identity_pool_id = make_identity_pool(identity)
    identity_id = identity.get_id(IdentityPoolId=identity_pool_id)["IdentityId"]
    session = sync.list_records(IdentityPoolId=identity_pool_id, IdentityId=identity_id,
                                DatasetName="prefs")["SyncSessionToken"]
    sync.update_records(IdentityPoolId=identity_pool_id, IdentityId=identity_id, DatasetName="prefs",
                        SyncSessionToken=session, RecordPatches=[{"Op": "replace", "Key": "theme",
                                                                  "Value": "dark", "SyncCount": 0}])
    page.goto(console(base))
    page.locator("#identity-pools a", has_text=identity.describe_identity_pool(
        IdentityPoolId=identity_pool_id)["IdentityPoolName"]).click()
    page.get_by_role("link", name=identity_id).click()
    dataset = page.locator(".dataset")
    assert dataset.locator("h3").inner_text() == "prefs"
    assert dataset.locator("tbody tr td").all_inner_texts()[:3] == ["theme", "dark", "1"]


# -- how to connect, reset, cross-site requests ----------------------------------------------------
def test_how_to_connect_page_has_the_pools_ids(page, base, idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    identity = boto_client("cognito-identity", base)
    identity_pool_id = make_identity_pool(identity, CognitoIdentityProviders=[{
        "ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool_id}", "ClientId": client["ClientId"]}])
    page.goto(console(base, f"/pools/{pool_id}"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-pool.png"), full_page=False)
    page.get_by_role("link", name="How to point your app at this").click()
    assert page.locator("#pool-id").inner_text() == pool_id
    assert page.locator("#client-id").inner_text() == client["ClientId"]
    assert page.locator("#identity-pool-id").inner_text() == identity_pool_id
    amplify = page.locator("#snippet-amplify").inner_text()
    for value in (f'"userPoolId": "{pool_id}"', f'"userPoolClientId": "{client["ClientId"]}"',
                  f'"identityPoolId": "{identity_pool_id}"', f'"userPoolEndpoint": "{base}"'):
        assert value in amplify
    outputs = page.locator("#snippet-outputs").inner_text()
    assert json.loads(outputs)["auth"]["user_pool_id"] == pool_id
    assert json.loads(outputs)["auth"]["identity_pool_id"] == identity_pool_id
    assert f'userPoolEndpoint: "{base}"' in page.locator("#snippet-outputs-endpoint").inner_text()
    assert f'endpoint_url="{base}"' in page.locator("#snippet-boto3").inner_text()
    assert f'endpoint: "{base}"' in page.locator("#snippet-jssdk").inner_text()


def test_reset_needs_confirmation(page, base, idp):
    pool_id = make_pool(idp)
    page.goto(console(base, "/reset"))
    page.locator("#reset").click()
    assert page.locator(".question").inner_text().startswith("Delete every user pool")
    assert idp.describe_user_pool(UserPoolId=pool_id)  # nothing happened yet
    page.get_by_role("button", name="Yes, do it").click()
    assert notice(page) == "Everything was reset."
    assert idp.list_user_pools(MaxResults=60)["UserPools"] == []
    page.goto(console(base, "/api-log?operation=DescribeUserPool"))
    assert page.locator("#api-calls tbody td.empty").count() == 1  # the logs went with the state


def test_dev_endpoint_reset_clears_the_logs_too(page, base, idp):
    with pytest.raises(ClientError):
        idp.describe_user_pool(UserPoolId="us-east-1_Nothing00")
    page.goto(console(base, "/api-log?operation=DescribeUserPool"))
    assert page.locator("#api-calls tbody td.empty").count() == 0
    assert requests.post(base + "/_emulator/reset", timeout=10).json() == {"reset": True}
    page.goto(console(base, "/api-log?operation=DescribeUserPool"))
    assert page.locator("#api-calls tbody td.empty").count() == 1


def test_cross_site_post_is_refused_in_the_browser(page, base, idp):
    pool_id = make_pool(idp)
    make_user(idp, pool_id, "ivan")
    page.goto(console(base, "/clock"))  # the browser has its console cookie
    # a page of another site posting to the console
    page.goto("data:text/html,<form method=post action='" + console(base, f"/pools/{pool_id}/users/ivan/disable")
              + "'><input name=csrf value=guess><button>go</button></form>")
    page.get_by_role("button", name="go").click()
    assert alert(page) == CROSS_SITE
    assert idp.admin_get_user(UserPoolId=pool_id, Username="ivan")["Enabled"] is True


def test_cross_site_and_tokenless_posts_are_refused(base, idp):
    pool_id = make_pool(idp)
    make_user(idp, pool_id, "judy")
    target = console(base, f"/pools/{pool_id}/users/judy/disable")
    session = requests.Session()
    session.get(console(base, "/clock"), timeout=10)
    token = session.cookies["console_csrf"]
    for headers, form in (({}, {}), ({}, {"csrf": "wrong"}), ({"Sec-Fetch-Site": "cross-site"}, {"csrf": token}),
                          ({"Origin": "http://evil.example"}, {"csrf": token})):
        r = session.post(target, data=form, headers=headers, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and CROSS_SITE.replace("'", "&#39;") in r.text
    assert idp.admin_get_user(UserPoolId=pool_id, Username="judy")["Enabled"] is True
    r = session.post(target, data={"csrf": token}, headers={"Sec-Fetch-Site": "same-origin", "Origin": base},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert idp.admin_get_user(UserPoolId=pool_id, Username="judy")["Enabled"] is False


# -- plain HTTP ------------------------------------------------------------------------------------
def test_root_redirects_browsers_only(base):
    browser = requests.get(base + "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
                           allow_redirects=False, timeout=10)
    assert browser.status_code == 302 and browser.headers["Location"] == "/_emulator/console/"
    for accept in ("*/*", "application/json", None):
        r = requests.get(base + "/", headers={"Accept": accept} if accept else {}, allow_redirects=False, timeout=10)
        assert r.status_code == 404 and r.json()["__type"] == "NotFound"


def test_browser_at_root_lands_on_the_console(page, base):
    page.goto(base + "/")
    assert page.url == console(base)
    assert page.locator("h1").inner_text() == "Region us-east-1"


def test_pages_answer_and_unknown_resources_are_explained(base, idp):
    pool_id = make_pool(idp)
    for path in ("/", f"/pools/{pool_id}", f"/pools/{pool_id}/connect", "/outbox", "/triggers", "/api-log",
                 "/tokens", "/clock", "/reset", "/static/console.css"):
        assert requests.get(console(base, path), timeout=10).status_code == 200, path
    feed = requests.get(console(base, f"/outbox/feed?pool_id={pool_id}"), timeout=10)
    assert feed.json() == {"messages": []}
    r = requests.get(console(base, "/pools/us-east-1_nothere0"), timeout=10)
    assert r.status_code == 404 and "ResourceNotFoundException: User pool us-east-1_nothere0 does not exist." in r.text
    r = requests.get(console(base, f"/pools/{pool_id}/users/nobody"), timeout=10)
    assert r.status_code == 404 and "UserNotFoundException: User does not exist." in r.text
    r = requests.get(console(base, "/identity-pools/us-east-1:00000000-0000-0000-0000-000000000000"), timeout=10)
    assert r.status_code == 404 and "ResourceNotFoundException: " in r.text
    r = requests.get(console(base, "/identity-pools/bad"), timeout=10)
    assert r.status_code == 404 and "ValidationException: 1 validation error detected: Value &#39;bad&#39; at " \
        "&#39;identityPoolId&#39; failed to satisfy constraint" in r.text
    r = requests.get(console(base, f"/pools/{pool_id}?page=garbage"), timeout=10)
    assert r.status_code == 200 and "InvalidParameterException: Paging marker garbage is invalid for request -" in r.text


def test_user_data_is_escaped(base, idp):
    pool_id = make_pool(idp)
    make_user(idp, pool_id, "kim", attributes={"given_name": "<script>alert(1)</script>"})
    r = requests.get(console(base, f"/pools/{pool_id}/users/kim"), timeout=10)
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_regions_are_listed_and_each_shows_its_own_pools(base):
    eu = boto_client("cognito-idp", base, region="eu-west-1")
    pool_id = make_pool(eu, PoolName=unique("eu"))
    home = requests.get(console(base, "/"), timeout=10).text
    assert '<option value="eu-west-1"' in home and pool_id not in home
    r = requests.get(console(base, "/?region=eu-west-1"), timeout=10)
    assert "Region eu-west-1" in r.text and pool_id in r.text
    assert pool_id in requests.get(console(base, f"/pools/{pool_id}"), timeout=10).text


def test_users_are_paged(page, base, idp):
    pool_id = make_pool(idp)
    names = sorted(f"user{i:02d}" for i in range(23))
    for name in names:
        idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    page.goto(console(base, f"/pools/{pool_id}"))
    first = page.locator("#users tbody tr td:first-child").all_inner_texts()
    assert len(first) == 20
    page.locator("#next-page").click()
    rest = page.locator("#users tbody tr td:first-child").all_inner_texts()
    assert sorted(first + rest) == names
    assert page.locator("#next-page").count() == 0


def test_usernames_with_url_characters(page, base, idp):
    pool_id = make_pool(idp)
    username = "o'neil/x?y#z%20"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    page.goto(console(base, f"/pools/{pool_id}"))
    page.get_by_role("link", name=username).click()
    assert page.locator("h1").inner_text() == username
    page.locator("#action-disable").click()
    assert notice(page) == f"User {username} disabled."
    click_and_confirm(page, page.locator("#action-delete"))
    assert notice(page) == f"User {username} deleted."
    assert idp.list_users(UserPoolId=pool_id)["Users"] == []
