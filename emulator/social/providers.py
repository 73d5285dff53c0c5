"""The four social providers: their real endpoints, what their ids and documents look like, and
whether the emulator talks to them or to its sandbox.

`--social` (env COGNITO_EMULATOR_SOCIAL): `auto` (the default) uses the sandbox for a user pool
identity provider whose client id is a test value (not shaped like the provider's real ones) and,
in identity pools, for tokens the sandbox issued; `sandbox` uses it always; `online` never; or
per provider, e.g. `google=sandbox,facebook=online` (the others stay `auto`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

MODES = ("auto", "sandbox", "online")
SANDBOX_PREFIX = "/_emulator/social"


@dataclasses.dataclass(frozen=True)
class Provider:
    slug: str              # the sandbox's path segment and the --social name
    provider_type: str     # the user pool ProviderType
    login_key: str         # the identity pool Logins key
    issuer: str | None     # the `iss` of its ID tokens (None: OAuth 2.0 only)
    real_jwks_uri: str | None
    real_client_id: re.Pattern | None  # a client id of this shape is a real one

    def sandbox_base(self, base_url: str) -> str:
        return f"{base_url}{SANDBOX_PREFIX}/{self.slug}"


GOOGLE = Provider("google", "Google", "accounts.google.com", "https://accounts.google.com",
                  "https://www.googleapis.com/oauth2/v3/certs",
                  re.compile(r"^\d+-[0-9a-z]{20,}\.apps\.googleusercontent\.com$"))
FACEBOOK = Provider("facebook", "Facebook", "graph.facebook.com", None, None,
                    re.compile(r"^\d{15,17}$"))
AMAZON = Provider("amazon", "LoginWithAmazon", "www.amazon.com", None, None,
                  re.compile(r"^amzn1\.application-oa2-client\.[0-9a-f]{32}$"))
APPLE = Provider("apple", "SignInWithApple", "appleid.apple.com", "https://appleid.apple.com",
                 "https://appleid.apple.com/auth/keys", None)  # Apple is told by its key (real_apple_key)

PROVIDERS = (GOOGLE, FACEBOOK, AMAZON, APPLE)
BY_SLUG = {p.slug: p for p in PROVIDERS}
BY_TYPE = {p.provider_type: p for p in PROVIDERS}
BY_LOGIN_KEY = {p.login_key: p for p in PROVIDERS}


class SettingError(ValueError):
    """A --social value that names no mode or provider."""


def parse_setting(value: str | None) -> dict[str, str]:
    """{slug: mode} for every provider from a --social value."""
    text = (value or "auto").strip().lower()
    if text in MODES:
        return {p.slug: text for p in PROVIDERS}
    modes = {p.slug: "auto" for p in PROVIDERS}
    for part in filter(None, (p.strip() for p in text.split(","))):
        slug, sep, mode = part.partition("=")
        slug, mode = slug.strip(), mode.strip()
        if not sep or slug not in BY_SLUG or mode not in MODES:
            raise SettingError(f"--social must be auto, sandbox, online or a list such as "
                               f"google=sandbox,facebook=online (providers: {', '.join(BY_SLUG)}), not {value!r}")
        modes[slug] = mode
    return modes


def mode(setting: str | None, provider: Provider) -> str:
    try:
        return parse_setting(setting)[provider.slug]
    except SettingError:
        return "auto"


def _real_apple_key(details: dict) -> bool:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if not re.fullmatch(r"[A-Z0-9]{10}", str(details.get("team_id") or "")) \
            or not re.fullmatch(r"[A-Z0-9]{10}", str(details.get("key_id") or "")):
        return False
    try:
        key = serialization.load_pem_private_key(str(details.get("private_key") or "").encode(), password=None)
    except (ValueError, TypeError):
        return False
    return isinstance(key, ec.EllipticCurvePrivateKey)


def is_test_client(provider: Provider, details: dict) -> bool:
    """Whether a user pool identity provider's settings are test values (no real app behind them)."""
    if provider is APPLE:
        return not _real_apple_key(details)
    return not (provider.real_client_id and provider.real_client_id.fullmatch(str(details.get("client_id") or "")))


def sandboxed_idp(setting: str | None, provider_type: str, details: dict) -> Provider | None:
    """The provider when a user pool identity provider of this type and settings signs in through
    the sandbox, else None."""
    provider = BY_TYPE.get(provider_type)
    if provider is None:
        return None
    chosen = mode(setting, provider)
    if chosen == "sandbox" or (chosen == "auto" and is_test_client(provider, details)):
        return provider
    return None


# -- what the providers' ids look like --------------------------------------------------------
def _digits(seed: str, n: int) -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    return str(number)[:n].rjust(n, "1")


def new_subject(provider: Provider, email: str) -> str:
    """A user id in the provider's own format, the same for the same email (so a declared
    identity keeps its user pool user across restarts and seeds)."""
    seed = f"{provider.slug}:{email.strip().lower()}"
    digest = hashlib.sha256(seed.encode()).hexdigest()
    if provider is GOOGLE:
        return "1" + _digits(seed, 20)
    if provider is FACEBOOK:
        return "10" + _digits(seed, 14)
    if provider is AMAZON:
        return "amzn1.account." + digest[:28].upper()
    return f"00{_digits(seed, 4)}.{digest[:32]}.{_digits(seed + '.', 4)}"
