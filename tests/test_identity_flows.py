"""Identity pool flows through boto3: guests, developer identities, OpenID Connect and user
pool logins (really verified), linking, merging, role choice and credentials."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import uuid

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import (
    b64url_uint,
    boto_client,
    client_as,
    emulator_now,
    error,
    make_identity_pool,
    stop_checked,
    unique,
)

AUTH_ROLE = "arn:aws:iam::000000000000:role/authenticated"
UNAUTH_ROLE = "arn:aws:iam::000000000000:role/unauthenticated"
ADMIN_ROLE = "arn:aws:iam::000000000000:role/admins"
STAFF_ROLE = "arn:aws:iam::000000000000:role/staff"
READER_ROLE = "arn:aws:iam::000000000000:role/readers"
OIDC_A = "login.example.test"
OIDC_B = "other.example.test"
PASSWORD = "Passw0rd!Long"
ROLES = {"authenticated": AUTH_ROLE, "unauthenticated": UNAUTH_ROLE}


class OidcIssuer:
    """A tiny OpenID Connect issuer on 127.0.0.1: discovery, JWKS and token minting."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks.json"}
                elif self.path == "/jwks.json":
                    numbers = issuer.key.public_key().public_numbers()
                    body = {"keys": [{"kty": "RSA", "kid": issuer.kid, "alg": "RS256", "use": "sig",
                                      "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, provider: str = OIDC_A, sub: str | None = None, *, now: float | None = None,
              lifetime: int = 3600, key=None, kid: str | None = None, **claims) -> str:
        now = int(now if now is not None else time.time())
        payload = {"iss": f"https://{provider}", "sub": sub or uuid.uuid4().hex, "aud": "my-client",
                   "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def oidc():
    issuer = OidcIssuer()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def oidc_emulator(oidc):
    """An emulator of our own whose OIDC providers are served by the local issuer."""
    mapping = json.dumps({OIDC_A: oidc.url, OIDC_B: oidc.url, "accounts.google.com": oidc.url})
    process = EmulatorProcess("--in-memory", env={"COGNITO_EMULATOR_OIDC_ISSUERS": mapping})
    yield process
    stop_checked(process)


@pytest.fixture(scope="module")
def oidc_identity(oidc_emulator):
    return boto_client("cognito-identity", oidc_emulator.url)


def oidc_pool(identity, **kwargs) -> str:
    return make_identity_pool(identity, ROLES, **{
        "OpenIdConnectProviderARNs": [f"arn:aws:iam::000000000000:oidc-provider/{OIDC_A}",
                                      f"arn:aws:iam::000000000000:oidc-provider/{OIDC_B}"], **kwargs})


def guest_pool(identity, allow: bool = True, roles: dict | None = None, **kwargs) -> str:
    roles = roles if roles is not None else ROLES
    return make_identity_pool(identity, roles, AllowUnauthenticatedIdentities=allow, **kwargs)


def assert_credentials(creds: dict, now: float) -> None:
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert creds["AccessKeyId"].isalnum() and creds["AccessKeyId"].isupper()
    assert len(creds["SecretKey"]) >= 40
    assert len(creds["SessionToken"]) > 100
    assert abs(creds["Expiration"].timestamp() - (now + 3600)) < 10


# -- guests -------------------------------------------------------------------------------
def test_guest_flow_uses_emulator_clock(identity, clock, endpoint):
    pool_id = guest_pool(identity)
    clock.advance(86400 * 3)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    assert identity_id.startswith("us-east-1:") and len(identity_id) == len("us-east-1:") + 36
    got = identity.get_credentials_for_identity(IdentityId=identity_id)
    assert got["IdentityId"] == identity_id
    assert_credentials(got["Credentials"], clock.now())
    # Each GetId without logins creates a new guest identity.
    assert identity.get_id(IdentityPoolId=pool_id)["IdentityId"] != identity_id


def test_guest_refused_when_pool_disallows(identity):
    pool_id = guest_pool(identity, allow=False)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id)
    assert error(exc) == ("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.")


def test_guest_identity_refused_after_pool_disallows_guests(identity):
    pool_id = guest_pool(identity)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    identity.update_identity_pool(IdentityPoolId=pool_id, IdentityPoolName="closed",
                                  AllowUnauthenticatedIdentities=False)
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=identity_id)
    assert error(exc) == ("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.")


def test_guest_without_unauthenticated_role(identity):
    pool_id = guest_pool(identity, roles={"authenticated": AUTH_ROLE})
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=identity_id)
    assert error(exc) == ("InvalidIdentityPoolConfigurationException",
                          "Invalid identity pool configuration. Check assigned IAM roles for this pool.")


def test_unknown_identity_and_pool(identity):
    missing = "us-east-1:33333333-3333-3333-3333-333333333333"
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=missing)
    assert error(exc) == ("ResourceNotFoundException", f"Identity '{missing}' not found.")
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=missing)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")
    with pytest.raises(ClientError) as exc:
        identity.describe_identity(IdentityId=missing)
    assert error(exc) == ("ResourceNotFoundException", f"Identity '{missing}' not found.")


def test_unsigned_calls_work_for_public_operations(endpoint):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    signed = boto_client("cognito-identity", endpoint)
    pool_id = guest_pool(signed)
    public = boto3.client("cognito-identity", endpoint_url=endpoint, region_name="us-east-1",
                          config=Config(signature_version=UNSIGNED))
    identity_id = public.get_id(IdentityPoolId=pool_id)["IdentityId"]
    assert public.get_credentials_for_identity(IdentityId=identity_id)["Credentials"]["AccessKeyId"]
    with pytest.raises(ClientError) as exc:
        public.describe_identity_pool(IdentityPoolId=pool_id)
    assert exc.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"


def test_describe_list_delete_identities(identity):
    pool_id = guest_pool(identity)
    ids = [identity.get_id(IdentityPoolId=pool_id)["IdentityId"] for _ in range(3)]
    described = identity.describe_identity(IdentityId=ids[0])
    assert described["IdentityId"] == ids[0]
    assert described["Logins"] == []
    assert described["CreationDate"] and described["LastModifiedDate"]
    seen, token = [], None
    while True:
        page = identity.list_identities(IdentityPoolId=pool_id, MaxResults=2, **({"NextToken": token} if token else {}))
        assert page["IdentityPoolId"] == pool_id
        seen += [i["IdentityId"] for i in page["Identities"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    result = identity.delete_identities(IdentityIdsToDelete=ids[:2])
    assert result["UnprocessedIdentityIds"] == []
    left = identity.list_identities(IdentityPoolId=pool_id, MaxResults=60)["Identities"]
    assert [i["IdentityId"] for i in left] == [ids[2]]
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=ids[0])
    assert error(exc) == ("ResourceNotFoundException", f"Identity '{ids[0]}' not found.")


def test_list_identities_unknown_pool(identity):
    missing = "us-east-1:44444444-4444-4444-4444-444444444444"
    with pytest.raises(ClientError) as exc:
        identity.list_identities(IdentityPoolId=missing, MaxResults=10)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")


# -- OpenID tokens (classic flow) ------------------------------------------------------------
def test_get_open_id_token_needs_classic_flow(identity):
    pool_id = guest_pool(identity, AllowClassicFlow=False)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        identity.get_open_id_token(IdentityId=identity_id)
    assert error(exc) == ("InvalidParameterException",
                          "Basic (classic) flow is not enabled, please use enhanced flow.")


def test_classic_flow_allowed_when_flag_never_set(identity):
    # AWS treats an unset AllowClassicFlow as allowed (kept for backwards compatibility).
    pool_id = guest_pool(identity)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    token = identity.get_open_id_token(IdentityId=identity_id)
    assert token["IdentityId"] == identity_id
    assert jwt.decode(token["Token"], options={"verify_signature": False})["amr"] == ["unauthenticated"]


def test_classic_flow_refused_with_role_mappings(oidc, oidc_identity):
    pool_id = rules_pool(oidc_identity, "AuthenticatedRole")
    token = oidc.token(sub=unique("rm"))
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    for logins in ({OIDC_A: token}, {}):
        with pytest.raises(ClientError) as exc:
            oidc_identity.get_open_id_token(IdentityId=identity_id, Logins=logins)
        assert error(exc) == ("InvalidParameterException",
                              "Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.")


def test_get_open_id_token_is_verifiable(identity, http, clock):
    pool_id = guest_pool(identity, AllowClassicFlow=True)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    got = identity.get_open_id_token(IdentityId=identity_id)
    assert got["IdentityId"] == identity_id
    discovery = http.get("/_identity/.well-known/openid-configuration").json()
    assert discovery["issuer"] == "https://cognito-identity.amazonaws.com"
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    assert http.get("/.well-known/jwks_uri").json() == jwks
    header = jwt.get_unverified_header(got["Token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(got["Token"], jwt.PyJWK(key).key, algorithms=[header["alg"]], audience=pool_id,
                        options={"verify_exp": False})
    assert claims["sub"] == identity_id
    assert claims["iss"] == "https://cognito-identity.amazonaws.com"
    assert claims["amr"] == ["unauthenticated"]
    now = clock.now()
    assert abs(claims["exp"] - claims["iat"] - 600) <= 1 and abs(claims["iat"] - now) < 10


# -- developer identities ----------------------------------------------------------------------
@pytest.fixture
def dev_pool(identity):
    return guest_pool(identity, DeveloperProviderName="login.mycompany")


def test_developer_flow(identity, dev_pool, clock):
    user = unique("user")
    got = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                            Logins={"login.mycompany": user},
                                                            TokenDuration=3600)
    identity_id = got["IdentityId"]
    claims = jwt.decode(got["Token"], options={"verify_signature": False})
    assert claims["aud"] == dev_pool and claims["sub"] == identity_id
    assert claims["amr"] == ["authenticated", "login.mycompany", f"login.mycompany:{dev_pool}:{user}"]
    assert claims["exp"] - claims["iat"] == 3600
    # Same developer user -> same identity.
    again = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                              Logins={"login.mycompany": user})
    assert again["IdentityId"] == identity_id
    creds = identity.get_credentials_for_identity(IdentityId=identity_id,
                                                  Logins={"cognito-identity.amazonaws.com": got["Token"]})
    assert creds["IdentityId"] == identity_id
    assert_credentials(creds["Credentials"], clock.now())
    assert identity.describe_identity(IdentityId=identity_id)["Logins"] == ["login.mycompany"]
    # An authenticated identity cannot fall back to guest credentials.
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=identity_id)
    assert error(exc) == ("NotAuthorizedException",
                          "Logins don't match. Please include at least one valid login for this identity or "
                          "identity pool.")
    # The token expires with TokenDuration, by the emulator clock.
    clock.advance(3601)
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=identity_id,
                                              Logins={"cognito-identity.amazonaws.com": got["Token"]})
    code, message = error(exc)
    assert code == "NotAuthorizedException"
    assert message.startswith("Invalid login token. Token expired: ")


def test_developer_token_for_another_identity_refused(identity, dev_pool):
    a = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                          Logins={"login.mycompany": unique("a")})
    b = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                          Logins={"login.mycompany": unique("b")})
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=a["IdentityId"],
                                              Logins={"cognito-identity.amazonaws.com": b["Token"]})
    assert error(exc) == ("NotAuthorizedException",
                          "Logins don't match. Please include at least one valid login for this identity or "
                          "identity pool.")


def test_forged_cognito_identity_token(identity, dev_pool):
    got = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                            Logins={"login.mycompany": unique("u")})
    claims = jwt.decode(got["Token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(got["Token"])
    forged = jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                        algorithm="RS512", headers={"kid": header["kid"]})
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=got["IdentityId"],
                                              Logins={"cognito-identity.amazonaws.com": forged})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Couldn't verify signed token.")


def test_get_id_refuses_cognito_tokens(identity, dev_pool):
    # GetId takes provider tokens; a developer identity's OpenID token goes straight to
    # GetCredentialsForIdentity, and under no key but cognito-identity.amazonaws.com.
    got = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                            Logins={"login.mycompany": unique("u")})
    for logins in ({"cognito-identity.amazonaws.com": got["Token"]}, {"login.mycompany": got["Token"]}):
        with pytest.raises(ClientError) as exc:
            identity.get_id(IdentityPoolId=dev_pool, Logins=logins)
        assert error(exc) == ("NotAuthorizedException", "Invalid login token. Can't pass in a Cognito token.")
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=got["IdentityId"], Logins={"login.mycompany": got["Token"]})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Can't pass in a Cognito token.")
    creds = identity.get_credentials_for_identity(IdentityId=got["IdentityId"],
                                                  Logins={"cognito-identity.amazonaws.com": got["Token"]})
    assert creds["IdentityId"] == got["IdentityId"]


def test_developer_login_only_through_developer_api(identity, dev_pool):
    identity_id = identity.get_id(IdentityPoolId=dev_pool)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=identity_id, Logins={"login.mycompany": "someone"})
    assert error(exc) == ("NotAuthorizedException", "Developer authenticated logins are only accepted through "
                          "GetOpenIdTokenForDeveloperIdentity.")


def test_developer_provider_must_match(identity, dev_pool):
    with pytest.raises(ClientError) as exc:
        identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool, Logins={"login.other": "x"})
    assert error(exc) == ("InvalidParameterException",
                          "This identity pool does not support the specified developer provider")


def test_guest_becomes_developer_authenticated(identity, dev_pool):
    guest = identity.get_id(IdentityPoolId=dev_pool)["IdentityId"]
    got = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool, IdentityId=guest,
                                                            Logins={"login.mycompany": unique("u")})
    assert got["IdentityId"] == guest
    assert identity.describe_identity(IdentityId=guest)["Logins"] == ["login.mycompany"]


def test_developer_user_already_registered(identity, dev_pool):
    user = unique("u")
    owner = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                              Logins={"login.mycompany": user})["IdentityId"]
    other = identity.get_id(IdentityPoolId=dev_pool)["IdentityId"]
    assert other != owner
    with pytest.raises(ClientError) as exc:
        identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool, IdentityId=other,
                                                          Logins={"login.mycompany": user})
    assert error(exc) == ("DeveloperUserAlreadyRegisteredException",
                          "The provided developer user identifier is already registered with Cognito under a "
                          "different identity ID.")


def test_lookup_merge_unlink_developer_identities(identity, dev_pool):
    u1, u2 = unique("u1"), unique("u2")
    id1 = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                            Logins={"login.mycompany": u1})["IdentityId"]
    id2 = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                            Logins={"login.mycompany": u2})["IdentityId"]
    found = identity.lookup_developer_identity(IdentityPoolId=dev_pool, DeveloperUserIdentifier=u1)
    assert found["IdentityId"] == id1 and found["DeveloperUserIdentifierList"] == [u1]
    merged = identity.merge_developer_identities(SourceUserIdentifier=u2, DestinationUserIdentifier=u1,
                                                 DeveloperProviderName="login.mycompany", IdentityPoolId=dev_pool)
    assert merged["IdentityId"] == id1
    found = identity.lookup_developer_identity(IdentityPoolId=dev_pool, IdentityId=id1, MaxResults=10)
    assert sorted(found["DeveloperUserIdentifierList"]) == sorted([u1, u2]) and "NextToken" not in found
    first = identity.lookup_developer_identity(IdentityPoolId=dev_pool, IdentityId=id1, MaxResults=1)
    second = identity.lookup_developer_identity(IdentityPoolId=dev_pool, IdentityId=id1, MaxResults=1,
                                                NextToken=first["NextToken"])
    assert first["DeveloperUserIdentifierList"] + second["DeveloperUserIdentifierList"] == [u1, u2]
    assert "NextToken" not in second
    with pytest.raises(ClientError) as exc:
        identity.lookup_developer_identity(IdentityPoolId=dev_pool, IdentityId=id1, NextToken="1")
    assert error(exc) == ("InvalidParameterException", "Invalid pagination token.")
    assert identity.lookup_developer_identity(IdentityPoolId=dev_pool, DeveloperUserIdentifier=u2)[
        "IdentityId"] == id1
    hidden = identity.list_identities(IdentityPoolId=dev_pool, MaxResults=60, HideDisabled=True)["Identities"]
    assert id2 not in [i["IdentityId"] for i in hidden]
    identity.unlink_developer_identity(IdentityId=id1, IdentityPoolId=dev_pool,
                                       DeveloperProviderName="login.mycompany", DeveloperUserIdentifier=u2)
    with pytest.raises(ClientError) as exc:
        identity.lookup_developer_identity(IdentityPoolId=dev_pool, DeveloperUserIdentifier=u2)
    assert error(exc) == ("ResourceNotFoundException",
                          f"Developer user identifier '{u2}' not found in IdentityPool '{dev_pool}'.")
    # Unlinked, the user identifier gets a new identity next time.
    again = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                              Logins={"login.mycompany": u2})["IdentityId"]
    assert again not in (id1, id2)


def test_developer_operation_errors(identity, dev_pool):
    with pytest.raises(ClientError) as exc:
        identity.lookup_developer_identity(IdentityPoolId=dev_pool)
    assert error(exc) == ("InvalidParameterException",
                          "Either IdentityId or DeveloperUserIdentifier must be specified.")
    with pytest.raises(ClientError) as exc:
        identity.merge_developer_identities(SourceUserIdentifier="a", DestinationUserIdentifier="b",
                                            DeveloperProviderName="login.wrong", IdentityPoolId=dev_pool)
    assert error(exc) == ("ResourceNotFoundException",
                          f"Developer provider login.wrong is not configured for IdentityPool '{dev_pool}'.")
    with pytest.raises(ClientError) as exc:
        identity.merge_developer_identities(SourceUserIdentifier="nobody", DestinationUserIdentifier="b",
                                            DeveloperProviderName="login.mycompany", IdentityPoolId=dev_pool)
    assert error(exc) == ("ResourceNotFoundException",
                          f"Developer user identifier 'nobody' not found in IdentityPool '{dev_pool}'.")
    guest = identity.get_id(IdentityPoolId=dev_pool)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        identity.unlink_developer_identity(IdentityId=guest, IdentityPoolId=dev_pool,
                                           DeveloperProviderName="login.mycompany", DeveloperUserIdentifier="x")
    assert error(exc) == ("ResourceNotFoundException",
                          f"Developer user identifier 'x' is not linked to identity '{guest}'.")
    u1, u2 = unique("u1"), unique("u2")
    id1 = identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool,
                                                            Logins={"login.mycompany": u1})["IdentityId"]
    identity.get_open_id_token_for_developer_identity(IdentityPoolId=dev_pool, Logins={"login.mycompany": u2})
    with pytest.raises(ClientError) as exc:
        identity.lookup_developer_identity(IdentityPoolId=dev_pool, IdentityId=id1, DeveloperUserIdentifier=u2)
    assert error(exc) == ("ResourceConflictException",
                          "The IdentityId and DeveloperUserIdentifier belong to different identities.")
    plain = guest_pool(identity)
    with pytest.raises(ClientError) as exc:
        identity.lookup_developer_identity(IdentityPoolId=plain, DeveloperUserIdentifier=u1)
    assert error(exc) == ("ResourceNotFoundException", f"IdentityPool '{plain}' has no developer provider.")


# -- OpenID Connect providers (own emulator, local issuer) --------------------------------------
def test_oidc_login_same_identity_and_credentials(oidc, oidc_emulator, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    token = oidc.token(sub="alice")
    first = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    second = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: oidc.token(sub="alice")})["IdentityId"]
    assert first == second
    creds = oidc_identity.get_credentials_for_identity(IdentityId=first, Logins={OIDC_A: token})
    assert creds["IdentityId"] == first
    assert_credentials(creds["Credentials"], emulator_now(oidc_emulator.url))
    assert oidc_identity.describe_identity(IdentityId=first)["Logins"] == [OIDC_A]


def test_oidc_forged_and_expired_tokens(oidc, oidc_emulator, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    forged = oidc.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: forged})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Couldn't verify signed token.")
    unknown_kid = oidc.token(kid="unknown")
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: unknown_kid})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Couldn't verify signed token.")
    wrong_issuer = oidc.token(OIDC_B)
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: wrong_issuer})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName")
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: "not-a-token"})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Not a valid OpenId Connect identity token.")
    now = emulator_now(oidc_emulator.url)
    expired = oidc.token(now=now - 7200, lifetime=3600)
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: expired})
    code, message = error(exc)
    assert code == "NotAuthorizedException"
    assert message.startswith("Invalid login token. Token expired: ")
    assert message.endswith(f">= {int(now - 3600)}")


def test_oidc_token_expires_when_clock_moves(oidc, oidc_emulator, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    token = oidc.token(now=emulator_now(oidc_emulator.url), lifetime=600)
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    requests.post(oidc_emulator.url + "/_emulator/clock", json={"advance_seconds": 601}, timeout=10)
    try:
        with pytest.raises(ClientError) as exc:
            oidc_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={OIDC_A: token})
        assert error(exc)[1].startswith("Invalid login token. Token expired: ")
    finally:
        requests.post(oidc_emulator.url + "/_emulator/clock", json={"reset": True}, timeout=10)


def test_pool_without_providers(oidc, oidc_identity):
    # Logins sent to a pool with no authentication provider at all.
    pool_id = oidc_identity.create_identity_pool(IdentityPoolName=unique("p"),
                                                 AllowUnauthenticatedIdentities=False)["IdentityPoolId"]
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: oidc.token()})
    assert error(exc) == ("NotAuthorizedException",
                          f"Identity pool - {pool_id} does not have identity providers configured.")


def test_unsupported_provider(oidc, oidc_identity):
    pool_id = oidc_identity.create_identity_pool(
        IdentityPoolName=unique("p"), AllowUnauthenticatedIdentities=False,
        OpenIdConnectProviderARNs=[f"arn:aws:iam::000000000000:oidc-provider/{OIDC_B}"])["IdentityPoolId"]
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: oidc.token()})
    assert error(exc) == ("NotAuthorizedException", "Token is not from a supported provider of this identity pool.")


def test_public_provider_mapped_to_local_issuer(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity, SupportedLoginProviders={"accounts.google.com": "my-client",
                                                                "graph.facebook.com": "fb-app"})
    token = oidc.token("accounts.google.com", "g-user")
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={"accounts.google.com": token})["IdentityId"]
    assert oidc_identity.describe_identity(IdentityId=identity_id)["Logins"] == ["accounts.google.com"]
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id,
                             Logins={"accounts.google.com": oidc.token("accounts.google.com", aud="another-app")})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Incorrect token audience.")
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_id(IdentityPoolId=pool_id, Logins={"graph.facebook.com": "EAAB-access-token"})
    assert error(exc) == ("NotAuthorizedException",
                          "Invalid login token. The emulator cannot verify graph.facebook.com tokens offline; map the "
                          "provider to an OpenID Connect issuer with COGNITO_EMULATOR_OIDC_ISSUERS.")


def test_linking_two_providers(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    a, b = oidc.token(OIDC_A, "bob"), oidc.token(OIDC_B, "bob-b")
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: a})["IdentityId"]
    linked = oidc_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={OIDC_A: a, OIDC_B: b})
    assert linked["IdentityId"] == identity_id
    assert sorted(oidc_identity.describe_identity(IdentityId=identity_id)["Logins"]) == [OIDC_A, OIDC_B]
    # Either login alone now finds the same identity.
    assert oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_B: b})["IdentityId"] == identity_id
    # A second, different login of the same provider conflicts.
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_credentials_for_identity(IdentityId=identity_id,
                                                   Logins={OIDC_A: oidc.token(OIDC_A, "mallory")})
    assert error(exc) == ("ResourceConflictException",
                          f"Identity '{identity_id}' is already linked to another login of {OIDC_A}.")
    # Nor can another identity holding a different login of that provider be merged into it.
    carol = oidc.token(OIDC_A, "carol")
    carol_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: carol})["IdentityId"]
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={OIDC_A: carol})
    assert error(exc) == ("ResourceConflictException",
                          f"Identities cannot be merged: both are linked to logins of {OIDC_A}.")
    assert oidc_identity.describe_identity(IdentityId=carol_id)["Logins"] == [OIDC_A]


def test_guest_becomes_authenticated_with_same_id(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    guest = oidc_identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    got = oidc_identity.get_credentials_for_identity(IdentityId=guest, Logins={OIDC_A: oidc.token(sub="carol")})
    assert got["IdentityId"] == guest
    assert oidc_identity.describe_identity(IdentityId=guest)["Logins"] == [OIDC_A]


def test_guest_merges_into_existing_authenticated_identity(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    token = oidc.token(sub="dave")
    owner = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    guest = oidc_identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    got = oidc_identity.get_credentials_for_identity(IdentityId=guest, Logins={OIDC_A: token})
    assert got["IdentityId"] == owner != guest
    visible = oidc_identity.list_identities(IdentityPoolId=pool_id, MaxResults=60, HideDisabled=True)["Identities"]
    assert guest not in [i["IdentityId"] for i in visible]
    everyone = oidc_identity.list_identities(IdentityPoolId=pool_id, MaxResults=60)["Identities"]
    assert guest in [i["IdentityId"] for i in everyone]
    # The merged-away guest id, still cached by the app, is refused on its own
    # (aws-amplify/aws-sdk-android#2964).
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_credentials_for_identity(IdentityId=guest)
    assert error(exc) == ("NotAuthorizedException", f"Access to Identity '{guest}' is forbidden.")


def test_authenticated_identities_merge(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    a, b = oidc.token(OIDC_A, "erin-a"), oidc.token(OIDC_B, "erin-b")
    first = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: a})["IdentityId"]
    second = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_B: b})["IdentityId"]
    assert first != second
    got = oidc_identity.get_credentials_for_identity(IdentityId=first, Logins={OIDC_A: a, OIDC_B: b})
    assert got["IdentityId"] == first
    assert oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_B: b})["IdentityId"] == first
    assert sorted(oidc_identity.describe_identity(IdentityId=first)["Logins"]) == [OIDC_A, OIDC_B]


def test_unlink_identity(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    a, b = oidc.token(OIDC_A, "frank-a"), oidc.token(OIDC_B, "frank-b")
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: a})["IdentityId"]
    oidc_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={OIDC_A: a, OIDC_B: b})
    with pytest.raises(ClientError) as exc:
        oidc_identity.unlink_identity(IdentityId=identity_id, Logins={OIDC_A: oidc.token(OIDC_A, "someone")},
                                      LoginsToRemove=[OIDC_B])
    assert error(exc) == ("NotAuthorizedException",
                          "Logins don't match. Please include at least one valid login for this identity or "
                          "identity pool.")
    oidc_identity.unlink_identity(IdentityId=identity_id, Logins={OIDC_A: a}, LoginsToRemove=[OIDC_B])
    assert oidc_identity.describe_identity(IdentityId=identity_id)["Logins"] == [OIDC_A]
    fresh = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_B: b})["IdentityId"]
    assert fresh != identity_id


def rules_pool(identity, resolution: str) -> str:
    pool_id = oidc_pool(identity)
    identity.set_identity_pool_roles(
        IdentityPoolId=pool_id, Roles=ROLES,
        RoleMappings={OIDC_A: {"Type": "Rules", "AmbiguousRoleResolution": resolution, "RulesConfiguration": {
            "Rules": [
                {"Claim": "email", "MatchType": "Equals", "Value": "boss@example.com", "RoleARN": ADMIN_ROLE},
                {"Claim": "email", "MatchType": "Contains", "Value": "@example.com", "RoleARN": STAFF_ROLE},
                {"Claim": "dept", "MatchType": "StartsWith", "Value": "read", "RoleARN": READER_ROLE},
                {"Claim": "dept", "MatchType": "NotEqual", "Value": "none", "RoleARN": READER_ROLE},
            ]}}})
    return pool_id


def access_key_role(http_url: str, identity_client, pool_id: str, token: str, **kwargs) -> str:
    """The role of credentials issued for an OIDC login."""
    identity_id = identity_client.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    creds = identity_client.get_credentials_for_identity(IdentityId=identity_id, Logins={OIDC_A: token}, **kwargs)
    return role_of(http_url, creds["Credentials"])


def role_of(url: str, creds: dict) -> str:
    """The role of temporary credentials, as STS GetCallerIdentity reports it."""
    arn = client_as("sts", url, creds).get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::000000000000:assumed-role/"), arn
    role_name, session = arn.split(":assumed-role/", 1)[1].split("/")
    assert session == "CognitoIdentityCredentials"
    return f"arn:aws:iam::000000000000:role/{role_name}"


@pytest.mark.parametrize("resolution", ["AuthenticatedRole", "Deny"])
def test_rules_role_mapping(oidc, oidc_emulator, oidc_identity, resolution):
    pool_id = rules_pool(oidc_identity, resolution)
    url = oidc_emulator.url
    assert access_key_role(url, oidc_identity, pool_id, oidc.token(sub=unique("r"), email="boss@example.com")) \
        == ADMIN_ROLE
    assert access_key_role(url, oidc_identity, pool_id, oidc.token(sub=unique("r"), email="ann@example.com")) \
        == STAFF_ROLE
    assert access_key_role(url, oidc_identity, pool_id, oidc.token(sub=unique("r"), dept="readers")) == READER_ROLE
    # NotEqual on a missing claim does not match; nothing else does either: ambiguous.
    token = oidc.token(sub=unique("r"), email="x@elsewhere.org")
    if resolution == "AuthenticatedRole":
        assert access_key_role(url, oidc_identity, pool_id, token) == AUTH_ROLE
    else:
        with pytest.raises(ClientError) as exc:
            access_key_role(url, oidc_identity, pool_id, token)
        assert error(exc) == ("NotAuthorizedException", "The ambiguous role mapping rules denied this request.")
    # CustomRoleArn picks among the matching rules.
    token = oidc.token(sub=unique("r"), email="boss@example.com")
    assert access_key_role(url, oidc_identity, pool_id, token, CustomRoleArn=STAFF_ROLE) == STAFF_ROLE


def test_no_authenticated_role(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity)
    oidc_identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"unauthenticated": UNAUTH_ROLE})
    token = oidc.token()
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    with pytest.raises(ClientError) as exc:
        oidc_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={OIDC_A: token})
    assert error(exc) == ("InvalidIdentityPoolConfigurationException",
                          "Invalid identity pool configuration. Check assigned IAM roles for this pool.")


def test_principal_tags_in_open_id_token(oidc, oidc_identity):
    pool_id = oidc_pool(oidc_identity, AllowClassicFlow=True)
    oidc_identity.set_principal_tag_attribute_map(IdentityPoolId=pool_id, IdentityProviderName=OIDC_A,
                                                  PrincipalTags={"dept": "dept"})
    token = oidc.token(sub="gina", dept="sales")
    identity_id = oidc_identity.get_id(IdentityPoolId=pool_id, Logins={OIDC_A: token})["IdentityId"]
    got = oidc_identity.get_open_id_token(IdentityId=identity_id, Logins={OIDC_A: token})
    claims = jwt.decode(got["Token"], options={"verify_signature": False})
    assert claims["amr"] == ["authenticated", OIDC_A, f"{OIDC_A}:my-client:gina"]
    assert claims["https://aws.amazon.com/tags"] == {"principal_tags": {"dept": ["sales"]}}


# -- user pool sign-in (enhanced flow) --------------------------------------------------------
def sign_in(idp, *, groups: list[tuple[str, str, int]] = (), attributes: list[dict] | None = None,
            pool_id: str | None = None, client_id: str | None = None) -> dict:
    """A user pool, client and user signed in with ADMIN_USER_PASSWORD_AUTH; returns ids and tokens."""
    if pool_id is None:
        pool_id = idp.create_user_pool(PoolName=unique("up"))["UserPool"]["Id"]
    if client_id is None:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="app",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])[
            "UserPoolClient"]["ClientId"]
    username = unique("user")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=attributes or [])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    for name, role, precedence in groups:
        try:
            idp.create_group(UserPoolId=pool_id, GroupName=name, RoleArn=role, Precedence=precedence)
        except ClientError:
            pass
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=name)
    auth = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    result = auth["AuthenticationResult"]
    return {"pool_id": pool_id, "client_id": client_id, "username": username, "id_token": result["IdToken"],
            "access_token": result["AccessToken"],
            "provider": f"cognito-idp.us-east-1.amazonaws.com/{pool_id}"}


def user_pool_identity_pool(identity, user: dict, **kwargs) -> str:
    return make_identity_pool(identity, ROLES, CognitoIdentityProviders=[{
        "ProviderName": user["provider"], "ClientId": user["client_id"],
        "ServerSideTokenCheck": kwargs.pop("server_side", False)}], **kwargs)


def test_enhanced_flow_with_user_pool_sign_in(idp, identity, clock, endpoint):
    user = sign_in(idp)
    pool_id = user_pool_identity_pool(identity, user)
    logins = {user["provider"]: user["id_token"]}
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    assert identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"] == identity_id
    got = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
    assert got["IdentityId"] == identity_id
    assert_credentials(got["Credentials"], clock.now())
    assert role_of(endpoint, got["Credentials"]) == AUTH_ROLE
    assert identity.describe_identity(IdentityId=identity_id)["Logins"] == [user["provider"]]


def test_user_pool_token_checks(idp, identity, clock):
    user = sign_in(idp)
    pool_id = user_pool_identity_pool(identity, user)
    provider = user["provider"]
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={provider: user["access_token"]})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Missing a required claim: aud")
    other = sign_in(idp)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={provider: other["id_token"]})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName")
    same_pool_other_client = idp.create_user_pool_client(
        UserPoolId=user["pool_id"], ClientName="other",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    foreign = sign_in(idp, pool_id=user["pool_id"], client_id=same_pool_other_client)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={provider: foreign["id_token"]})
    assert error(exc) == ("NotAuthorizedException", "Token is not from a supported provider of this identity pool.")
    header, payload, _sig = user["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                        headers=jwt.get_unverified_header(user["id_token"]))
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={provider: forged})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Couldn't verify signed token.")
    clock.advance(3601)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={provider: user["id_token"]})
    code, message = error(exc)
    assert code == "NotAuthorizedException"
    assert message.startswith("Invalid login token. Token expired: ")


@pytest.mark.parametrize("key", ["cognito-idp.us-east-1.amazonaws.com:{pool}", "cognito-idp:us-east-1/{pool}",
                                 "cognito-idp.us-east-1.amazonaws.com/us-east-1:0f0e0d0c-0000-4000-8000-000000000000"])
def test_mistyped_user_pool_key(idp, identity, key):
    # A user pool token under a key that is not its issuer: the mistakes users report
    # (amazon-cognito-identity-js#40, #391) get "Issuer doesn't match providerName".
    user = sign_in(idp)
    pool_id = user_pool_identity_pool(identity, user)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={key.format(pool=user["pool_id"]): user["id_token"]})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName")


def test_user_pool_not_configured(idp, identity):
    # The right key for a user pool the identity pool does not list (amazon-cognito-identity-js#153).
    user = sign_in(idp)
    other = sign_in(idp)
    pool_id = user_pool_identity_pool(identity, other)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={user["provider"]: user["id_token"]})
    assert error(exc) == ("NotAuthorizedException", "Token is not from a supported provider of this identity pool.")


def test_server_side_token_check_honours_sign_out(idp, identity):
    user = sign_in(idp)
    pool_id = user_pool_identity_pool(identity, user, server_side=True)
    logins = {user["provider"]: user["id_token"]}
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    idp.admin_user_global_sign_out(UserPoolId=user["pool_id"], Username=user["username"])
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Token has been revoked.")


def token_mapping_pool(identity, user: dict, resolution: str) -> str:
    pool_id = user_pool_identity_pool(identity, user)
    identity.set_identity_pool_roles(
        IdentityPoolId=pool_id, Roles=ROLES,
        RoleMappings={f"{user['provider']}:{user['client_id']}": {"Type": "Token",
                                                                 "AmbiguousRoleResolution": resolution}})
    return pool_id


def credentials_role(identity, endpoint, pool_id: str, user: dict, **kwargs) -> str:
    logins = {user["provider"]: user["id_token"]}
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    got = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins, **kwargs)
    return role_of(endpoint, got["Credentials"])


def test_token_role_mapping_preferred_and_custom_role(idp, identity, endpoint):
    user = sign_in(idp, groups=[("admins", ADMIN_ROLE, 1), ("staff", STAFF_ROLE, 5)])
    pool_id = token_mapping_pool(identity, user, "Deny")
    assert credentials_role(identity, endpoint, pool_id, user) == ADMIN_ROLE
    assert credentials_role(identity, endpoint, pool_id, user, CustomRoleArn=STAFF_ROLE) == STAFF_ROLE
    with pytest.raises(ClientError) as exc:
        credentials_role(identity, endpoint, pool_id, user, CustomRoleArn=READER_ROLE)
    assert error(exc) == ("NotAuthorizedException", "The ambiguous role mapping rules denied this request.")


@pytest.mark.parametrize("resolution", ["AuthenticatedRole", "Deny"])
def test_token_role_mapping_without_roles_in_token(idp, identity, endpoint, resolution):
    user = sign_in(idp)
    pool_id = token_mapping_pool(identity, user, resolution)
    if resolution == "AuthenticatedRole":
        assert credentials_role(identity, endpoint, pool_id, user) == AUTH_ROLE
    else:
        with pytest.raises(ClientError) as exc:
            credentials_role(identity, endpoint, pool_id, user)
        assert error(exc) == ("NotAuthorizedException", "The ambiguous role mapping rules denied this request.")


def test_rules_role_mapping_on_user_pool_claims(idp, identity, endpoint):
    user = sign_in(idp, attributes=[{"Name": "email", "Value": "pat@example.com"}],
                   groups=[("readers", READER_ROLE, 3)])
    pool_id = user_pool_identity_pool(identity, user)
    identity.set_identity_pool_roles(
        IdentityPoolId=pool_id, Roles={"authenticated": AUTH_ROLE},
        RoleMappings={f"{user['provider']}:{user['client_id']}": {
            "Type": "Rules", "AmbiguousRoleResolution": "Deny", "RulesConfiguration": {"Rules": [
                {"Claim": "cognito:groups", "MatchType": "Contains", "Value": "readers", "RoleARN": READER_ROLE},
            ]}}})
    assert credentials_role(identity, endpoint, pool_id, user) == READER_ROLE


def test_logins_keyed_by_issuer_as_amplify_does(idp, identity, endpoint):
    """Amplify v6 keys Logins by the ID token's iss without its scheme ({host}/{userPoolId} here)."""
    user = sign_in(idp)
    pool_id = user_pool_identity_pool(identity, user)
    iss = jwt.decode(user["id_token"], options={"verify_signature": False})["iss"]
    key = iss.split("://", 1)[1]
    guest = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    got = identity.get_credentials_for_identity(IdentityId=guest, Logins={key: user["id_token"]})
    assert got["IdentityId"] == guest
    assert role_of(endpoint, got["Credentials"]) == AUTH_ROLE
    # The identity is linked under the provider's canonical name, so either key finds it.
    assert identity.describe_identity(IdentityId=guest)["Logins"] == [user["provider"]]
    assert identity.get_id(IdentityPoolId=pool_id, Logins={user["provider"]: user["id_token"]})["IdentityId"] == guest
    other = sign_in(idp)
    with pytest.raises(ClientError) as exc:
        identity.get_id(IdentityPoolId=pool_id, Logins={key: other["id_token"]})
    # another pool's token under this pool's key: the key is not its issuer
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Issuer doesn't match providerName")


def test_guest_open_id_token_passed_back_stays_unauthenticated(identity, endpoint):
    pool_id = guest_pool(identity, AllowClassicFlow=True)
    guest = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    token = identity.get_open_id_token(IdentityId=guest)["Token"]
    again = identity.get_open_id_token(IdentityId=guest, Logins={"cognito-identity.amazonaws.com": token})
    assert jwt.decode(again["Token"], options={"verify_signature": False})["amr"] == ["unauthenticated"]
    got = identity.get_credentials_for_identity(IdentityId=guest, Logins={"cognito-identity.amazonaws.com": token})
    assert role_of(endpoint, got["Credentials"]) == UNAUTH_ROLE
    other_pool = guest_pool(identity, AllowClassicFlow=True)
    stranger = identity.get_id(IdentityPoolId=other_pool)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        identity.get_credentials_for_identity(IdentityId=stranger, Logins={"cognito-identity.amazonaws.com": token})
    assert error(exc) == ("NotAuthorizedException", "Invalid login token. Incorrect token audience.")
