"""Verification of the `Logins` map: every token is checked, never trusted.

- user pool ID tokens (`cognito-idp.{region}.amazonaws.com/{poolId}`): signed by that pool's
  key, `iss` naming that pool, `aud` one of the identity pool's ClientIds for the provider,
  `token_use=id`, not expired (and, with ServerSideTokenCheck, not revoked);
- OpenID Connect providers (IAM OIDC provider ARNs, and Google/Apple/other public providers
  when an issuer is mapped): signature against the issuer's JWKS, fetched over HTTP from
  `{issuer}/.well-known/openid-configuration`; `COGNITO_EMULATOR_OIDC_ISSUERS` (JSON
  `{"login.example.com": "http://127.0.0.1:1234"}`) maps a provider's host/path to the URL the
  emulator fetches from (default `https://{host/path}`);
- SAML providers (IAM SAML provider ARNs in SamlProviderARNs; the value is the base64
  SAMLResponse): signature with a certificate of the IdP's metadata, Issuer = its entityID,
  Audience `urn:amazon:webservices` (or `https://signin.aws.amazon.com/saml`), validity window
  against the emulator clock. `COGNITO_EMULATOR_SAML_PROVIDERS` (JSON
  `{"arn:aws:iam::123456789012:saml-provider/Corp": "<metadata URL, file path or XML>"}`) says
  where each provider's metadata is, since IAM is not part of the emulator. The roles of the
  `https://aws.amazon.com/SAML/Attributes/Role` attribute that name this provider become the
  login's `cognito:roles` (see saml_role);
- the Cognito Identity OpenID token (`cognito-identity.amazonaws.com`): our own key.
Developer providers are accepted only through GetOpenIdTokenForDeveloperIdentity.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import urllib.request

from emulator.identitypools import errors
from emulator.identitypools.openid_keys import check_expiry, invalid, verify_token
from emulator.identitypools.pools import load_identity_pool
from emulator.lazy import jwt
from emulator.oauth import saml_protocol as saml
from emulator.social import providers as social
from emulator.social import sandbox
from emulator.userpools.accounts import tokens
from emulator.userpools.model import keys
from protocol import ServiceError

COGNITO_IDENTITY = "cognito-identity.amazonaws.com"
OIDC_ISSUERS_ENV = "COGNITO_EMULATOR_OIDC_ISSUERS"
SAML_PROVIDERS_ENV = "COGNITO_EMULATOR_SAML_PROVIDERS"
SAML_AUDIENCES = ("urn:amazon:webservices", "https://signin.aws.amazon.com/saml")
SAML_ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
# Public providers whose tokens are OIDC ID tokens with a well-known issuer.
PUBLIC_OIDC = {"accounts.google.com": "https://accounts.google.com",
               "appleid.apple.com": "https://appleid.apple.com"}
JWKS_CACHE_SECONDS = 300.0

_jwks_cache: dict[str, tuple[float, dict]] = {}
_jwks_lock = threading.Lock()


@dataclasses.dataclass
class Login:
    """One verified login: provider key, the provider's user id, the token's claims."""

    provider: str
    subject: str
    claims: dict
    kind: str  # "userpool", "oidc", "saml", "cognito", "developer"
    client_id: str | None = None  # user pool app client (the token's aud)

    @property
    def amr_detail(self) -> str:
        if self.kind == "userpool":
            return f"{self.provider}:CognitoSignIn:{self.subject}"
        return f"{self.provider}:{self.client_id or ''}:{self.subject}"


def unsupported() -> ServiceError:
    return errors.NotAuthorizedException("Token is not from a supported provider of this identity pool.")


def _env_map(name: str) -> dict:
    """The JSON object in environment variable `name` ({} when unset or not an object)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def oidc_issuer_map() -> dict[str, str]:
    return {str(k).rstrip("/"): str(v).rstrip("/") for k, v in _env_map(OIDC_ISSUERS_ENV).items()}


def _claims(token: str) -> dict:
    if not isinstance(token, str) or token.count(".") != 2:
        raise invalid("Not a valid OpenId Connect identity token.")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise invalid("Not a valid OpenId Connect identity token.") from None
    if not isinstance(claims, dict) or not isinstance(header, dict):
        raise invalid("Not a valid OpenId Connect identity token.")
    return claims


def verify_logins(ctx, pool: dict, logins: dict[str, str] | None) -> list[Login]:
    """Verify every entry of `logins` for `pool`; NotAuthorizedException on the first bad one."""
    verified = []
    external = [key for key in logins or {} if key != COGNITO_IDENTITY]
    if external and not pool.get("DeveloperProviderName") and not _has_providers(pool):
        raise errors.NotAuthorizedException(f"Identity pool - {pool['IdentityPoolId']} does not have identity providers configured.")
    for provider, token in (logins or {}).items():
        verified.append(verify_login(ctx, pool, provider, token))
    if external:
        # Keys or SAML metadata may have been fetched with the store released: the pool must
        # still exist, and the caller goes on with its current settings (in place).
        current = load_identity_pool(ctx.db, pool["IdentityPoolId"])
        pool.clear()
        pool.update(current)
    return verified


def _has_providers(pool: dict) -> bool:
    return any(pool.get(field) for field in ("CognitoIdentityProviders", "SupportedLoginProviders",
                                             "OpenIdConnectProviderARNs", "SamlProviderARNs"))


def cognito_token(token: str) -> bool:
    """Whether `token` is a Cognito Identity OpenID token (ours, by its issuer)."""
    claims = keys.unverified_claims(token) if isinstance(token, str) else None
    return str((claims or {}).get("iss", "")).rstrip("/") == "https://cognito-identity.amazonaws.com"


def refuse_cognito_tokens(logins: dict[str, str] | None) -> None:
    """GetId takes provider tokens only, never a Cognito Identity token."""
    for provider, token in (logins or {}).items():
        if provider == COGNITO_IDENTITY or cognito_token(token):
            raise invalid("Can't pass in a Cognito token.")


def verify_login(ctx, pool: dict, provider: str, token: str) -> Login:
    if provider != COGNITO_IDENTITY and cognito_token(token):
        # A Cognito token only ever goes under cognito-identity.amazonaws.com.
        raise invalid("Can't pass in a Cognito token.")
    if provider == COGNITO_IDENTITY:
        claims = verify_token(ctx, token)
        if claims.get("aud") != pool["IdentityPoolId"]:
            raise invalid("Incorrect token audience.")
        return Login(COGNITO_IDENTITY, claims["sub"], claims, "cognito")
    user_pool = keys_provider_pool(provider)
    if user_pool is not None:
        return _verify_user_pool(ctx, pool, provider, user_pool, token)
    if provider == pool.get("DeveloperProviderName"):
        raise errors.NotAuthorizedException("Developer authenticated logins are only accepted through "
                           "GetOpenIdTokenForDeveloperIdentity.")
    if provider in (pool.get("SamlProviderARNs") or []):
        return _verify_saml(ctx, provider, token)
    oidc_arns = {arn.split(":oidc-provider/", 1)[-1]: arn for arn in pool.get("OpenIdConnectProviderARNs") or []}
    if provider in oidc_arns:
        return _verify_oidc(ctx, provider, token, audiences=None)
    supported = pool.get("SupportedLoginProviders") or {}
    if provider in supported:
        audiences = [a.strip() for a in str(supported[provider]).split(",") if a.strip()]
        known = social.BY_LOGIN_KEY.get(provider)
        if known is not None and _sandboxed(ctx, known, token):
            return _verify_sandbox(ctx, known, token, audiences)
        mapped = oidc_issuer_map()
        if provider in mapped or provider in PUBLIC_OIDC:
            return _verify_oidc(ctx, provider, token, audiences=audiences)
        raise invalid(f"The emulator cannot verify {provider} tokens offline; map the provider to an "
                      f"OpenID Connect issuer with {OIDC_ISSUERS_ENV}.")
    canonical = _issuer_alias(pool, provider, token)
    if canonical is not None:
        return _verify_user_pool(ctx, pool, canonical, keys_provider_pool(canonical), token)
    # A JWT under a key that is not its issuer (a mistyped user pool key, say) is refused for
    # that before the key is found unconfigured, as AWS does.
    claims = keys.unverified_claims(token) if isinstance(token, str) else None
    iss = (claims or {}).get("iss")
    if isinstance(iss, str) and iss.split("://", 1)[-1].rstrip("/") != provider.rstrip("/"):
        raise invalid("Issuer doesn't match providerName")
    raise unsupported()


def _issuer_alias(pool: dict, provider: str, token: str) -> str | None:
    """Amplify v6 keys Logins by the ID token's `iss` without its scheme, which for the
    emulator's issuer form is `{host}/{userPoolId}`: such a key stands for the configured
    `cognito-idp.{region}.amazonaws.com/{userPoolId}` provider."""
    _host, _, pool_id = provider.rpartition("/")
    if not pool_id or "_" not in pool_id:
        return None
    canonical = next((p["ProviderName"] for p in pool.get("CognitoIdentityProviders") or []
                      if keys_provider_pool(p.get("ProviderName", "")) == pool_id), None)
    if canonical is None:
        return None
    claims = keys.unverified_claims(token) if isinstance(token, str) else None
    iss = str((claims or {}).get("iss", ""))
    return canonical if iss.split("://", 1)[-1].rstrip("/") == provider.rstrip("/") else None


def keys_provider_pool(provider: str) -> str | None:
    """The user pool id of a `cognito-idp.{region}.amazonaws.com/{poolId}` key, else None."""
    prefix, _, pool_id = provider.partition("/")
    if prefix.startswith("cognito-idp.") and prefix.endswith(".amazonaws.com") and pool_id and "/" not in pool_id:
        return pool_id
    return None


def _verify_user_pool(ctx, pool: dict, provider: str, user_pool_id: str, token: str) -> Login:
    claims = _claims(token)
    if not keys.issuer_matches(claims.get("iss"), user_pool_id):
        raise invalid("Issuer doesn't match providerName")
    if "aud" not in claims:
        raise invalid("Missing a required claim: aud")
    configs = [p for p in pool.get("CognitoIdentityProviders") or [] if p.get("ProviderName") == provider]
    match = next((p for p in configs if p.get("ClientId") == claims.get("aud")), None)
    if match is None:
        raise unsupported()
    if keys.verify(ctx.db, user_pool_id, token) is None:
        raise invalid("Couldn't verify signed token.")
    check_expiry(claims, ctx.now())
    if claims.get("token_use") != "id":
        raise invalid("Not a valid OpenId Connect identity token.")
    if match.get("ServerSideTokenCheck"):
        _server_side_check(ctx, user_pool_id, token)
    return Login(provider, str(claims.get("sub")), claims, "userpool", client_id=claims["aud"])


def _server_side_check(ctx, user_pool_id: str, token: str) -> None:
    """With ServerSideTokenCheck the user pool confirms the session is still valid."""
    try:
        tokens.verify_id_token(ctx, user_pool_id, token, check_revocation=True)
    except tokens.TokenInvalid as err:
        if err.reason == "expired":
            raise invalid("Token expired.") from None
        raise invalid("Token has been revoked." if err.reason == "revoked" else "Couldn't verify signed token.") \
            from None


# -- the social providers' sandbox (--social) ----------------------------------------
def _sandboxed(ctx, known: social.Provider, token: str) -> bool:
    chosen = social.mode(ctx.config.social, known)
    return chosen == "sandbox" or (chosen == "auto" and sandbox.issued_here(ctx.db, known, token))


def _verify_sandbox(ctx, known: social.Provider, token: str, audiences: list[str]) -> Login:
    """A token of the sandbox's stand-in for Google, Apple (ID tokens), Facebook or Amazon
    (access tokens), checked as the provider would: signature or issue, expiry, audience."""
    provider = known.login_key
    if known.issuer:
        claims = _claims(token)
        if str(claims.get("iss", "")).rstrip("/") != known.issuer:
            raise invalid("Issuer doesn't match providerName")
        if sandbox.verify_id_token(ctx.db, known, token) is None:
            raise invalid("Couldn't verify signed token.")
        check_expiry(claims, ctx.now())
        aud = claims.get("aud")
        if not any(a in audiences for a in (aud if isinstance(aud, list) else [aud])):
            raise invalid("Incorrect token audience.")
        return Login(provider, str(claims["sub"]), claims, "oidc", client_id=str(aud))
    grant = sandbox.token_grant(ctx.db, known, token if isinstance(token, str) else None, ctx.now())
    name = "Facebook" if known is social.FACEBOOK else "Amazon"
    if grant is None:
        raise invalid(f"Not a valid {name} access token.")
    # Login with Amazon identity pools name the app (amzn1.application....), which the sandbox
    # cannot tell from its clients: an app id is taken as any of its clients.
    if grant["client_id"] not in audiences and not (
            known is social.AMAZON and any(a.startswith("amzn1.application.") for a in audiences)):
        raise invalid(f"The {name} token was issued to another application.")
    found = sandbox.identity(ctx.db, known, grant["identity_id"]) or {"id": grant["identity_id"]}
    claims = {"sub": found["id"], "aud": grant["client_id"], "email": found.get("email"), "name": found.get("name")}
    return Login(provider, found["id"], claims, "oidc", client_id=grant["client_id"])


# -- OpenID Connect providers -------------------------------------------------------
def issuer_url(provider: str) -> str:
    """Where the emulator fetches a provider's discovery document and keys."""
    mapped = oidc_issuer_map().get(provider.rstrip("/"))
    if mapped:
        return mapped
    return PUBLIC_OIDC.get(provider, f"https://{provider}")


def _fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (configured issuer)
        return json.loads(response.read().decode())


def _jwks(ctx, base: str, refresh: bool) -> dict:
    with _jwks_lock:
        cached = _jwks_cache.get(base)
    if cached and not refresh and time.monotonic() - cached[0] < JWKS_CACHE_SECONDS:
        return cached[1]
    # The issuer may be this very emulator: release the store while calling out.
    with ctx.emulator.store.suspended():
        discovery = _fetch_json(base + "/.well-known/openid-configuration")
        jwks = _fetch_json(discovery["jwks_uri"])
    with _jwks_lock:
        _jwks_cache[base] = (time.monotonic(), jwks)
    return jwks


def _verify_oidc(ctx, provider: str, token: str, audiences: list[str] | None) -> Login:
    claims = _claims(token)
    base = issuer_url(provider)
    accepted = {base.rstrip("/"), f"https://{provider}".rstrip("/"), PUBLIC_OIDC.get(provider, "")}
    if str(claims.get("iss", "")).rstrip("/") not in accepted:
        raise invalid("Issuer doesn't match providerName")
    header = jwt.get_unverified_header(token)
    if header.get("alg") not in ("RS256", "RS384", "RS512"):
        raise invalid("Couldn't verify signed token.")
    key = None
    for refresh in (False, True):
        try:
            jwks = _jwks(ctx, base, refresh)
        except (OSError, ValueError, KeyError):
            raise errors.NotAuthorizedException(f"Invalid login token. Couldn't retrieve the keys of {provider}.") from None
        key = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
        if key is not None:
            break
    if key is None:
        raise invalid("Couldn't verify signed token.")
    try:
        public = jwt.PyJWK(key).key
        jwt.decode(token, public, algorithms=[header["alg"]],
                   options={"verify_exp": False, "verify_aud": False, "verify_iat": False,
                            "verify_nbf": False})
    except jwt.PyJWTError:
        raise invalid("Couldn't verify signed token.") from None
    check_expiry(claims, ctx.now())
    aud = claims.get("aud")
    aud_list = aud if isinstance(aud, list) else [aud]
    if audiences is not None and not any(a in audiences for a in aud_list):
        raise invalid("Incorrect token audience.")
    if not claims.get("sub"):
        raise invalid("Missing a required claim: sub")
    client = aud_list[0] if aud_list and isinstance(aud_list[0], str) else None
    return Login(provider, str(claims["sub"]), claims, "oidc", client_id=client)


# -- SAML providers ---------------------------------------------------------------------------
def saml_metadata_sources() -> dict[str, str]:
    return {str(k): str(v) for k, v in _env_map(SAML_PROVIDERS_ENV).items()}


def _saml_metadata(ctx, arn: str):
    source = saml_metadata_sources().get(arn)
    if not source:
        raise invalid(f"The emulator cannot verify SAML responses of {arn}; give the identity provider's "
                      f"metadata with {SAML_PROVIDERS_ENV}.")
    try:
        if source.lstrip().startswith("<"):
            return saml.parse_metadata(source)
        if source.startswith(("http://", "https://")):
            with ctx.emulator.store.suspended():
                return saml.parse_metadata(saml.fetch_text(source))
        with open(source, "rb") as handle:
            return saml.parse_metadata(handle.read())
    except OSError:
        raise invalid(f"Unable to read the SAML metadata of {arn}.") from None
    except saml.SamlError as err:
        raise invalid(err.message) from None


def _verify_saml(ctx, arn: str, token: str) -> Login:
    metadata = _saml_metadata(ctx, arn)
    try:
        raw = saml.decode_response(token if isinstance(token, str) else "")
        assertion = saml.verify_response(raw, metadata=metadata, audiences=SAML_AUDIENCES, now=ctx.now(),
                                         check_in_response_to=False)
    except saml.SamlError as err:
        raise invalid(err.message.removeprefix(saml.INVALID)) from None
    claims = assertion.claims()
    roles = saml_roles(assertion.attributes.get(SAML_ROLE_ATTRIBUTE) or [], arn)
    if roles:
        claims["cognito:roles"] = roles
        if len(roles) == 1:
            claims["cognito:preferred_role"] = roles[0]
    return Login(arn, assertion.name_id, claims, "saml", client_id=None)


def saml_roles(values: list[str], provider_arn: str) -> list[str]:
    """The role ARNs of Role attribute values (`role-arn,provider-arn` in either order) that
    name this provider."""
    roles = []
    for value in values:
        parts = [p.strip() for p in value.split(",")]
        role = next((p for p in parts if ":role/" in p), None)
        provider = next((p for p in parts if ":saml-provider/" in p), None)
        if role and provider == provider_arn and role not in roles:
            roles.append(role)
    return roles


def saml_role(login: Login, custom_role_arn: str | None) -> str | None:
    """The role a SAML login's assertion grants: the CustomRoleArn when the assertion offers it,
    its only role, or None (no Role attribute, or several and none chosen)."""
    if login.kind != "saml":
        return None
    roles = login.claims.get("cognito:roles") or []
    if custom_role_arn:
        return custom_role_arn if custom_role_arn in roles else None
    return roles[0] if len(roles) == 1 else None
