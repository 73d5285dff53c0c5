"""What the model-driven fuzzer (tests/fuzz.py) found, one focused test each: the code and
message of the answer that replaced a crash or an HTML page."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from botocore.exceptions import ClientError
from helpers import PASSWORD, auth_header, make_user, pool_and_client, unique
from test_mfa import totp_pool, totp_user
from test_oauth_endpoints import CALLBACK, Browser, authorize_query, location, token_request
from test_oauth_endpoints import setup as oauth_setup  # noqa: F401  (a fixture)

TARGET = "AWSCognitoIdentityProviderService.ListUserPools"
SIGNED = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET, **auth_header()}


def _error(response: requests.Response, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert response.headers["x-amzn-ErrorType"] == body["__type"]
    return body["__type"], body["message"]


def _raw(url: str, data: bytes) -> bytes:
    host, port = url.split("://", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        chunks = []
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError, OSError):  # the server may close a connection it cannot parse at once
            pass
    return b"".join(chunks)


# -- CreateTerms without Links (KeyError 'Links': 500) ------------------------------------------
def test_create_terms_without_links(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    with pytest.raises(ClientError) as exc:
        idp.create_terms(UserPoolId=pool_id, ClientId=client_id, TermsName="privacy-policy",
                         TermsSource="LINK", Enforcement="NONE")
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidParameterException", "Links must include a cognito:default link.")
    assert idp.list_terms(UserPoolId=pool_id)["Terms"] == []


# -- URLs that urllib.parse.urlsplit refuses (ValueError "Invalid IPv6 URL": 500) --------------------
BAD_URL = "https://[abc/cb"


@pytest.mark.parametrize("member, kind", [("CallbackURLs", "Callback URL"), ("LogoutURLs", "Logout URL")])
def test_client_url_that_cannot_be_split(idp, member, kind):
    pool, _client = pool_and_client(idp)
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="c", **{member: [BAD_URL]})
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidParameterException", f"{kind} {BAD_URL} is invalid.")


def test_default_redirect_uri_that_cannot_be_split(idp):
    pool, _client = pool_and_client(idp)
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="c", CallbackURLs=["https://app.example/cb"],
                                    DefaultRedirectURI=BAD_URL)
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidParameterException", f"DefaultRedirectURI {BAD_URL} is invalid.")


def test_terms_link_that_cannot_be_split(idp):
    pool, client = pool_and_client(idp)
    with pytest.raises(ClientError) as exc:
        idp.create_terms(UserPoolId=pool["Id"], ClientId=client["ClientId"], TermsName="terms-of-use",
                         TermsSource="LINK", Enforcement="NONE", Links={"cognito:default": BAD_URL})
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidParameterException", f"Link {BAD_URL} must be an https URL.")


def test_cimd_pattern_that_cannot_be_split(idp):
    pool, client = pool_and_client(idp)
    with pytest.raises(ClientError) as exc:
        idp.create_cimd_policy(UserPoolId=pool["Id"], ClientId=client["ClientId"], PolicyName="p",
                               URLPatterns=["https://[*.example.com/client.json"])
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "InvalidParameterException",
        "URL pattern https://[*.example.com/client.json is not valid. A pattern is an HTTPS URL; the * wildcard "
        "may stand for the first label of a host name that has at least two more, or for any part of the path.")


def test_oauth_client_id_url_that_cannot_be_split(endpoint):
    browser = Browser(endpoint)
    r = browser.authorize(response_type="code", client_id="https://[abc/client.json", redirect_uri=CALLBACK)
    assert location(r).startswith("/error?")
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": "https://[abc/client.json",
                                 "code": "x", "redirect_uri": CALLBACK})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})


# -- compare_digest on a caller's str with non-ASCII characters (TypeError: 500) ---------------------
NON_ASCII_DIGITS = "\u0661\u0662\u0663\u0664\u0665\u0666"  # Arabic-Indic 123456: str.isdigit() is true


def test_secret_hash_with_non_ascii_characters(idp):
    pool, _client = pool_and_client(idp)
    client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="secret", GenerateSecret=True,
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                                         )["UserPoolClient"]
    username = make_user(idp, pool["Id"])
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD, "SECRET_HASH": "\U0001f600" * 44})
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("NotAuthorizedException",
                                             f"Unable to verify secret hash for client {client['ClientId']}")


def test_totp_code_of_non_ascii_digits(idp, clock):
    pool, client = totp_pool(idp)
    username = make_user(idp, pool["Id"])
    totp_user(idp, clock, pool, client, username)
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                      Session=start["Session"],
                                      ChallengeResponses={"USERNAME": username,
                                                          "SOFTWARE_TOKEN_MFA_CODE": NON_ASCII_DIGITS})
    err = exc.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("CodeMismatchException", "Invalid code received for user")


def test_pkce_challenge_with_non_ascii_characters(oauth_setup, endpoint):  # noqa: F811
    _pool, client, username, browser = oauth_setup
    code = browser.code(authorize_query(client, code_challenge="\u00e9" * 43, code_challenge_method="S256"), username)
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
                                 "redirect_uri": CALLBACK, "code_verifier": "v" * 43})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def test_csrf_token_with_non_ascii_characters(oauth_setup):  # noqa: F811
    _pool, client, username, browser = oauth_setup
    target, _page = browser.login_page(authorize_query(client))
    r = browser.post(target, data={"_csrf": "\u00e9\u00e9", "username": username, "password": PASSWORD})
    assert r.status_code == 400
    assert "Invalid or missing CSRF token." in r.text


# -- requests refused by the HTTP server itself (granian): a status line, never a page ---------
def _refused(response, statuses) -> None:
    assert response.status_code in statuses, response.status_code
    assert response.content == b"" or response.json()["__type"], response.content[:200]


def test_uri_too_long_is_refused(endpoint):
    _refused(requests.get(endpoint + "/identitypools/" + "a" * 70_000, timeout=30), {414})


def test_long_header_line_is_no_html(endpoint):
    response = requests.post(endpoint + "/", data=b"{}", timeout=30, headers={**SIGNED, "X-Fuzz": "x" * 70_000})
    assert response.status_code in (200, 400, 431) and b"<" not in response.content[:1]


def test_too_many_headers_is_refused(endpoint):
    headers = {**SIGNED, **{f"X-Fuzz-{i}": "1" for i in range(120)}}
    _refused(requests.post(endpoint + "/", data=b"{}", timeout=30, headers=headers), {431})


@pytest.mark.parametrize("request_line, statuses", [
    (b"GARBAGE", {400}), (b"POST / HTTP/1.1 extra", {400, None}), (b"POST / HTTP/1.x", {400}),
    (b"POST / HTTP/9.9", {400, 505}),
])
def test_bad_request_line_has_a_status_line(endpoint, request_line, statuses):
    answer = _raw(endpoint, request_line + b"\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0]
    if answer == b"" and None in statuses:
        return  # the server closed the connection without answering
    assert status_line.startswith(b"HTTP/1.1 ") and int(status_line.split()[1]) in statuses, answer[:200]
    assert body == b"" or json.loads(body)["__type"]
