"""Password policy (AWS's exact messages), temporary passwords, verifier storage, history.

Only the SRP salt and verifier are stored (see srp.py); they check plain-password flows
too, and the password cannot be read back from them. A user's password material lives in
`user["password"]`: {"salt": hex, "verifier": hex, "temporary": bool, "set_at": epoch,
"expires": epoch | None, "history": [{"salt": hex, "verifier": hex}, ...]}.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
from collections import OrderedDict

from emulator.userpools import errors
from emulator.userpools.model import srp

SYMBOLS = "^$*.[]{}()?-\"!@#%&/\\,><':;|_~`+="
DEFAULT_POLICY = {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
                  "RequireNumbers": True, "RequireSymbols": True, "TemporaryPasswordValidityDays": 7}

# The message's prefix depends on the operation (sources in docs/fidelity.md).
PREFIX = "Password did not conform with policy: "            # SignUp
ADMIN_PREFIX = "Password did not conform with password policy: "  # AdminCreateUser, AdminSetUserPassword
USER_PREFIX = "Password does not conform to policy: "         # NEW_PASSWORD_REQUIRED, ConfirmForgotPassword,
                                                              # ChangePassword
NOT_LONG_ENOUGH = "Password not long enough"
NEEDS_UPPER = "Password must have uppercase characters"
NEEDS_LOWER = "Password must have lowercase characters"
NEEDS_NUMBER = "Password must have numeric characters"
NEEDS_SYMBOL = "Password must have symbol characters"
HISTORY_MESSAGE = "The password can't be a previously used password."


def policy(pool: dict) -> dict:
    """The pool's PasswordPolicy with AWS defaults for anything missing."""
    given = ((pool.get("Policies") or {}).get("PasswordPolicy")) or {}
    return {**DEFAULT_POLICY, **{k: v for k, v in given.items() if v is not None}}


def policy_violation(rules: dict, password: str) -> str | None:
    """The first rule `password` breaks (AWS's rule text), or None. Pure."""
    if len(password) < int(rules.get("MinimumLength") or 8):
        return NOT_LONG_ENOUGH
    if rules.get("RequireUppercase") and not any(c.isupper() for c in password):
        return NEEDS_UPPER
    if rules.get("RequireLowercase") and not any(c.islower() for c in password):
        return NEEDS_LOWER
    if rules.get("RequireNumbers") and not any(c in string.digits for c in password):
        return NEEDS_NUMBER
    if rules.get("RequireSymbols") and not _has_symbol(password):
        return NEEDS_SYMBOL
    return None


def _has_symbol(password: str) -> bool:
    if any(c in SYMBOLS for c in password):
        return True
    # A space counts, except at either end.
    return " " in password[1:-1]


def check_policy(pool: dict, password: str, user: dict | None = None, *, prefix: str = PREFIX) -> None:
    """Raise InvalidPasswordException (AWS's message, `prefix` + the rule broken) when `password`
    breaks the pool's policy."""
    rule = policy_violation(policy(pool), password)
    if rule:
        raise errors.InvalidPasswordException(prefix + rule)


def temporary_validity_seconds(pool: dict) -> float:
    days = policy(pool).get("TemporaryPasswordValidityDays") or 7
    admin = pool.get("AdminCreateUserConfig") or {}
    if not ((pool.get("Policies") or {}).get("PasswordPolicy") or {}).get("TemporaryPasswordValidityDays"):
        # Legacy setting, used when the policy does not say.
        days = admin.get("UnusedAccountValidityDays") or days
    return float(days) * 86400.0


TEMPORARY_SYMBOLS = "^$*.!@#%&-_+="
TEMPORARY_GROUPS = (string.ascii_uppercase, string.ascii_lowercase, string.digits, TEMPORARY_SYMBOLS)
TEMPORARY_ALPHABET = "".join(TEMPORARY_GROUPS)


def _random_text(alphabet: str, length: int) -> str:
    """`length` characters drawn uniformly from `alphabet`, from one read of the system's randomness
    (secrets.choice reads it once per character: 40 reads for a temporary password)."""
    limit = 256 - 256 % len(alphabet)  # bytes from here on would favour the first characters
    chars: list[str] = []
    while len(chars) < length:
        chars += [alphabet[b % len(alphabet)] for b in secrets.token_bytes(2 * length) if b < limit]
    return "".join(chars[:length])


def generate_temporary(pool: dict) -> str:
    """A random password that satisfies the pool's policy, with a character of every kind."""
    rules = policy(pool)
    length = max(int(rules.get("MinimumLength") or 8), 12)
    while True:
        candidate = _random_text(TEMPORARY_ALPHABET, length)
        if all(any(c in group for c in candidate) for group in TEMPORARY_GROUPS) \
                and policy_violation(rules, candidate) is None:
            return candidate


def _verifier_for(pool_id: str, username: str, password: str, salt: int | None = None) -> tuple[int, int]:
    return srp.make_verifier(srp.pool_name(pool_id), username, password, salt)


def history_size(pool: dict) -> int:
    return int(policy(pool).get("PasswordHistorySize") or 0)


def in_history(pool: dict, user: dict, password: str) -> bool:
    """True when `password` is the current one or among the last PasswordHistorySize ones."""
    size = history_size(pool)
    if size <= 0:
        return False
    for entry in (user.get("password") or {}).get("history", [])[:size]:
        salt, verifier = int(entry["salt"], 16), int(entry["verifier"], 16)
        if srp.check_password(srp.pool_name(pool["Id"]), user["username"], password, salt, verifier):
            return True
    return False


def set_password(db, pool: dict, user: dict, password: str, *, temporary: bool, now: float,
                 check_history: bool = True) -> None:
    """Store the verifier of `password` on `user` (the caller saves the user).

    Raises PasswordHistoryPolicyViolationException when the pool keeps a history and the
    password was used recently. The policy itself is checked by the caller (check_policy).
    """
    if check_history and not temporary and in_history(pool, user, password):
        raise errors.PasswordHistoryPolicyViolationException(HISTORY_MESSAGE)
    salt, verifier = _verifier_for(pool["Id"], user["username"], password)
    entry = {"salt": format(salt, "x"), "verifier": format(verifier, "x")}
    previous = user.get("password") or {}
    history = [entry] + list(previous.get("history", []))
    user["password"] = {
        **entry,
        "temporary": bool(temporary),
        "set_at": now,
        "expires": now + temporary_validity_seconds(pool) if temporary else None,
        "history": history[:max(history_size(pool), 1)],
    }


def has_password(user: dict) -> bool:
    return bool((user.get("password") or {}).get("verifier"))


def srp_material(user: dict) -> tuple[int, int] | None:
    """(salt, verifier) for SRP and password checks; None when the user has no password."""
    material = user.get("password") or {}
    if not material.get("verifier"):
        return None
    return int(material["salt"], 16), int(material["verifier"], 16)


# Passwords are stored only as SRP verifiers, and checking one against a verifier costs a 3072-bit
# modular exponentiation. A password once found to match its verifier is remembered in memory, as a
# keyed digest of (pool, user, salt, verifier, password) that nothing outside this process can
# recompute, so signing in again costs one HMAC. A changed password has a new salt and verifier,
# so a remembered match never outlives it.
_MATCH_KEY = secrets.token_bytes(32)
_MATCHES: OrderedDict[bytes, None] = OrderedDict()
_MATCHES_LOCK = threading.Lock()
MAX_REMEMBERED_MATCHES = 16384  # about 2 MiB per process


def password_matches(pool: dict, user: dict, password: str) -> bool:
    material = user.get("password") or {}
    if not material.get("verifier"):
        return False
    digest = hmac.new(_MATCH_KEY, "\n".join((pool["Id"], user["username"], material["salt"], material["verifier"],
                                             password)).encode(), hashlib.sha256).digest()
    with _MATCHES_LOCK:
        if digest in _MATCHES:
            _MATCHES.move_to_end(digest)
            return True
    salt, verifier = int(material["salt"], 16), int(material["verifier"], 16)
    if not srp.check_password(srp.pool_name(pool["Id"]), user["username"], password, salt, verifier):
        return False
    with _MATCHES_LOCK:
        _MATCHES[digest] = None
        if len(_MATCHES) > MAX_REMEMBERED_MATCHES:
            _MATCHES.popitem(last=False)
    return True


def is_temporary(user: dict) -> bool:
    return bool((user.get("password") or {}).get("temporary"))


def temporary_expired(user: dict, now: float) -> bool:
    """True when the user's temporary password is past its validity."""
    material = user.get("password") or {}
    expires = material.get("expires")
    return bool(material.get("temporary") and expires is not None and now > expires)
