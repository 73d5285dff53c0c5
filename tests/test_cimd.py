"""Client ID Metadata Document (CIMD) policies: the API, and CIMD clients at /oauth2/authorize and
/oauth2/token, whose metadata documents are served over HTTPS by a local server the emulator trusts."""

from __future__ import annotations

import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import boto_client, error, make_pool, pkce, unique

CALLBACK = "http://localhost:3000/callback"
PASSWORD = "Passw0rd!Secure"
DAY = 86400


def _app_client(idp, pool_id, **extra) -> str:
    args = dict(UserPoolId=pool_id, ClientName=unique("app"), AllowedOAuthFlows=["code"],
                AllowedOAuthScopes=["openid", "email"], AllowedOAuthFlowsUserPoolClient=True,
                SupportedIdentityProviders=["COGNITO"], CallbackURLs=["https://app.example.com/cb"])
    args.update(extra)
    return idp.create_user_pool_client(**args)["UserPoolClient"]["ClientId"]


# -- the API ----------------------------------------------------------------------------------------------------
def test_policy_lifecycle(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = _app_client(idp, pool_id)
    created = idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="agents",
                                     URLPatterns=["https://*.agents.example.com/client.json"])["CIMDPolicy"]
    policy_id = created["CIMDPolicyId"]
    assert re.fullmatch(r"[a-z0-9]+", policy_id)
    assert created["UserPoolId"] == pool_id and created["ClientId"] == client_id
    assert created["PolicyName"] == "agents" and created["CacheDuration"] == DAY
    assert created["URLPatterns"] == ["https://*.agents.example.com/client.json"]
    assert created["CreationDate"] == created["LastModifiedDate"]
    described = idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id)["CIMDPolicy"]
    assert described == created

    other = _app_client(idp, pool_id)
    updated = idp.update_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id, ClientId=other,
                                     CacheDuration=7 * DAY,
                                     URLPatterns=["https://tools.example.com/*"])["CIMDPolicy"]
    assert updated["ClientId"] == other and updated["PolicyName"] == "agents"
    assert updated["CacheDuration"] == 7 * DAY and updated["URLPatterns"] == ["https://tools.example.com/*"]

    second = idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="second",
                                    CacheDuration=2 * DAY, URLPatterns=["https://b.example.com/c.json"])["CIMDPolicy"]
    listed = idp.list_cimd_policies(UserPoolId=pool_id)["CIMDPolicies"]
    assert [(p["CIMDPolicyId"], p["PolicyName"], p["ClientId"], p["CacheDuration"]) for p in listed] == [
        (policy_id, "agents", other, 7 * DAY), (second["CIMDPolicyId"], "second", client_id, 2 * DAY)]
    assert all("URLPatterns" not in p for p in listed)
    page = idp.list_cimd_policies(UserPoolId=pool_id, MaxResults=1)
    assert [p["CIMDPolicyId"] for p in page["CIMDPolicies"]] == [policy_id]
    page = idp.list_cimd_policies(UserPoolId=pool_id, MaxResults=1, NextToken=page["NextToken"])
    assert [p["CIMDPolicyId"] for p in page["CIMDPolicies"]] == [second["CIMDPolicyId"]]

    # a policy whose app client is gone omits ClientId
    idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=other)
    assert "ClientId" not in idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id)["CIMDPolicy"]
    assert idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=policy_id)["ClientMetadataURLs"] == []

    idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id)
    for call in (lambda: idp.describe_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id),
                 lambda: idp.delete_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id),
                 lambda: idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=policy_id),
                 lambda: idp.update_cimd_policy(UserPoolId=pool_id, CIMDPolicyId=policy_id, ClientId=client_id,
                                                URLPatterns=["https://a.example.com/x"])):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("ResourceNotFoundException", f"CIMD policy {policy_id} does not exist.")


def test_policy_errors(idp):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    client_id = _app_client(idp, pool_id)
    for pattern in ("https://*/client.json", "https://*.com/client.json", "https://a*b.example.com/x",
                    "https://a.*.example.com/x", "https://example.com:*/x"):
        with pytest.raises(ClientError) as exc:
            idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="p", URLPatterns=[pattern])
        assert error(exc) == ("InvalidParameterException",
                              f"URL pattern {pattern} is not valid. A pattern is an HTTPS URL; the * wildcard may "
                              "stand for the first label of a host name that has at least two more, or for any part "
                              "of the path.")
    with pytest.raises(ClientError) as exc:
        idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="p",
                               URLPatterns=["http://example.com/client.json"])
    assert error(exc)[0] == "InvalidParameterException"
    assert "failed to satisfy constraint" in error(exc)[1]
    with pytest.raises(ClientError) as exc:
        idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="p",
                               URLPatterns=["https://a.example.com/x", "https://a.example.com/x"])
    assert error(exc) == ("InvalidParameterException", "URLPatterns must not contain duplicates.")
    with pytest.raises(ClientError) as exc:
        idp.create_cimd_policy(UserPoolId=pool_id, ClientId="nosuchclient00000000000000", PolicyName="p",
                               URLPatterns=["https://a.example.com/x"])
    assert error(exc) == ("ResourceNotFoundException", "User pool client nosuchclient00000000000000 does not exist.")
    first = idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="p",
                                   URLPatterns=["https://a.example.com/x"])["CIMDPolicy"]["CIMDPolicyId"]
    with pytest.raises(ClientError) as exc:
        idp.create_cimd_policy(UserPoolId=pool_id, ClientId=client_id, PolicyName="q",
                               URLPatterns=["https://a.example.com/x"])
    assert error(exc) == ("InvalidParameterException",
                          f"URL pattern https://a.example.com/x is already in CIMD policy {first}.")
    lite = make_pool(idp, tier="LITE")
    lite_client = _app_client(idp, lite)
    with pytest.raises(ClientError) as exc:
        idp.create_cimd_policy(UserPoolId=lite, ClientId=lite_client, PolicyName="p",
                               URLPatterns=["https://a.example.com/x"])
    assert error(exc) == ("FeatureUnavailableInTierException",
                          "Client ID metadata document policies are available only in the ESSENTIALS and PLUS "
                          "feature plans.")
    with pytest.raises(ClientError) as exc:
        idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=first,
                                             URL="https://a.example.com/x", Action="REFRESH")
    assert error(exc) == ("CachedCIMDURLDoesNotExistException",
                          f"There is no cached client metadata document for URL https://a.example.com/x in CIMD "
                          f"policy {first}.")
    with pytest.raises(ClientError) as exc:
        idp.list_cimd_policies(UserPoolId="us-east-1_nothere00")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nothere00 does not exist.")


# -- CIMD clients at the OAuth endpoints --------------------------------------------------------------------------
class DocumentServer:
    """An HTTPS server of client metadata documents: path -> (status, body, headers)."""

    def __init__(self, cert: str, key: str) -> None:
        self.documents: dict[str, tuple[int, bytes, dict]] = {}
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                status, body, headers = outer.documents.get(self.path, (404, b"{}", {}))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, path: str, document: dict, status: int = 200, **headers) -> str:
        self.documents[path] = (status, json.dumps(document).encode(), headers)
        return self.base + path

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def cimd_env(tmp_path_factory):
    """An emulator that trusts the document server's certificate (SSL_CERT_FILE), as a deployment
    trusts public CAs; the documents stay on HTTPS as CIMD requires."""
    from emulator import certs
    cert, key = certs.ensure_certificate(str(tmp_path_factory.mktemp("tls")))
    docs = DocumentServer(cert, key)
    process = EmulatorProcess("--in-memory", env={"SSL_CERT_FILE": cert})
    yield process.url, boto_client("cognito-idp", process.url), docs
    process.stop()
    docs.stop()


def _document(url: str, **extra) -> dict:
    document = {"client_id": url, "client_name": "Agent", "redirect_uris": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                "token_endpoint_auth_method": "none", "scope": "openid email"}
    document.update(extra)
    return document


def _setup(idp, docs, *, cache=None):
    pool_id = make_pool(idp, tier="ESSENTIALS")
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("login"))
    app = _app_client(idp, pool_id, AllowedOAuthScopes=["openid", "email", "profile"])
    name = unique("user")
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True)
    prefix = f"/{unique('agent')}"
    path = prefix + "/client.json"
    args = {"CacheDuration": cache} if cache else {}
    policy = idp.create_cimd_policy(UserPoolId=pool_id, ClientId=app, PolicyName="agents",
                                    URLPatterns=[docs.base + prefix + "/*"], **args)["CIMDPolicy"]
    return pool_id, policy["CIMDPolicyId"], name, path


def _sign_in(base: str, params: dict, username: str):
    session = requests.Session()
    r = session.get(base + "/oauth2/authorize?" + urlencode(params), allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    target = r.headers["Location"]
    assert target.startswith("/login?"), target
    page = session.get(base + target, timeout=30)
    assert page.status_code == 200, page.text
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    return session.post(base + target, allow_redirects=False, timeout=30,
                        data={"_csrf": token, "username": username, "password": PASSWORD,
                              "signInSubmitButton": "Sign in"})


def test_cimd_client_signs_in_with_the_code_grant(cimd_env):
    base, idp, docs = cimd_env
    pool_id, policy_id, name, path = _setup(idp, docs)
    url = docs.publish(path, _document(docs.base + path))
    verifier, challenge = pkce()
    params = {"response_type": "code", "client_id": url, "redirect_uri": CALLBACK, "state": "s1",
              "scope": "openid email", "code_challenge": challenge, "code_challenge_method": "S256"}
    r = _sign_in(base, params, name)
    assert r.status_code == 302, r.text
    result = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["Location"]).query).items()}
    assert result["state"] == "s1"
    tokens = requests.post(base + "/oauth2/token", timeout=30, data={
        "grant_type": "authorization_code", "client_id": url, "code": result["code"], "redirect_uri": CALLBACK,
        "code_verifier": verifier}).json()
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    identity = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert access["client_id"] == url and identity["aud"] == url
    assert access["scope"].split() == ["openid", "email"]
    refreshed = requests.post(base + "/oauth2/token", timeout=30, data={
        "grant_type": "refresh_token", "client_id": url, "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text

    # the document was fetched once and is cached for the policy's duration
    assert docs.hits[path] == 1
    listed = idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=policy_id)["ClientMetadataURLs"]
    assert [u["URL"] for u in listed] == [url]
    assert (listed[0]["ExpirationDate"] - listed[0]["CachedDate"]).total_seconds() == pytest.approx(DAY, abs=1)

    # REFRESH fetches it again, INVALIDATE drops it; the next authorize fetches it anew
    idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=policy_id, URL=url, Action="REFRESH")
    assert docs.hits[path] == 2
    idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=policy_id, URL=url, Action="INVALIDATE")
    listed = idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=policy_id)["ClientMetadataURLs"]
    assert listed == [{"URL": url}]
    with pytest.raises(ClientError) as exc:
        idp.update_client_metadata_url_state(UserPoolId=pool_id, CIMDPolicyId=policy_id, URL=url,
                                             Action="INVALIDATE")
    assert error(exc)[0] == "CachedCIMDURLDoesNotExistException"
    r = requests.get(base + "/oauth2/authorize?" + urlencode(params), allow_redirects=False, timeout=30)
    assert r.headers["Location"].startswith("/login?")
    assert docs.hits[path] == 3


def test_cache_control_max_age_and_expiry(cimd_env):
    base, idp, docs = cimd_env
    pool_id, policy_id, _name, path = _setup(idp, docs, cache=3 * DAY)
    url = docs.publish(path, _document(docs.base + path), **{"Cache-Control": f"public, max-age={2 * DAY}"})
    params = {"response_type": "code", "client_id": url, "redirect_uri": CALLBACK}
    assert requests.get(base + "/oauth2/authorize?" + urlencode(params), allow_redirects=False,
                        timeout=30).headers["Location"].startswith("/login?")
    listed = idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=policy_id)["ClientMetadataURLs"]
    assert (listed[0]["ExpirationDate"] - listed[0]["CachedDate"]).total_seconds() == pytest.approx(2 * DAY, abs=1)
    requests.post(base + "/_emulator/clock", json={"advance_seconds": 2 * DAY + 60}, timeout=10)
    listed = idp.list_client_metadata_urls(UserPoolId=pool_id, CIMDPolicyId=policy_id)["ClientMetadataURLs"]
    assert listed == [{"URL": url}]
    requests.get(base + "/oauth2/authorize?" + urlencode(params), allow_redirects=False, timeout=30)
    assert docs.hits[path] == 2


@pytest.mark.parametrize("change", [
    {"client_id": "https://elsewhere.example.com/client.json"},
    {"token_endpoint_auth_method": "client_secret_basic"},
    {"client_secret": "s3cret"},
    {"redirect_uris": []},
    {"grant_types": ["client_credentials"]},
])
def test_unusable_documents_are_refused(cimd_env, change):
    base, idp, docs = cimd_env
    _pool_id, _policy_id, _name, path = _setup(idp, docs)
    url = docs.publish(path, _document(docs.base + path, **change))
    params = {"response_type": "code", "client_id": url, "redirect_uri": CALLBACK}
    r = requests.get(base + "/oauth2/authorize?" + urlencode(params), allow_redirects=False, timeout=30)
    assert r.headers["Location"].startswith("/error?")
    assert "Client+does+not+exist" in r.headers["Location"] or "Client%20does%20not%20exist" in r.headers["Location"]


def test_urls_outside_every_policy_and_unlisted_redirects(cimd_env):
    base, idp, docs = cimd_env
    _pool_id, _policy_id, _name, path = _setup(idp, docs)
    url = docs.publish(path, _document(docs.base + path))
    outside = "https://unknown.example.com/client.json"
    r = requests.get(base + "/oauth2/authorize?" + urlencode(
        {"response_type": "code", "client_id": outside, "redirect_uri": CALLBACK}), allow_redirects=False, timeout=30)
    assert r.headers["Location"].startswith("/error?")
    r = requests.get(base + "/oauth2/authorize?" + urlencode(
        {"response_type": "code", "client_id": url, "redirect_uri": "http://localhost:3000/other"}),
        allow_redirects=False, timeout=30)
    assert r.headers["Location"].startswith("/error?") and "redirect_mismatch" in r.headers["Location"]
    # the app client does not allow the implicit grant, so neither does its CIMD client
    implicit = docs.publish(path + ".i", _document(docs.base + path + ".i", grant_types=["implicit"],
                                                  response_types=["token"]))
    r = requests.get(base + "/oauth2/authorize?" + urlencode(
        {"response_type": "token", "client_id": implicit, "redirect_uri": CALLBACK, "state": "s"}),
        allow_redirects=False, timeout=30)
    assert r.headers["Location"].startswith(CALLBACK + "?") and "error=unauthorized_client" in r.headers["Location"]
