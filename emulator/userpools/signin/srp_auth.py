"""The SRP steps of a sign-in: the PASSWORD_VERIFIER challenge (SRP_B, salt and a secret block that
is a single-use session itself), made-up material for unknown users under
PreventUserExistenceErrors, and the check of a PASSWORD_CLAIM_SIGNATURE (user or device verifier)."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
import uuid

from emulator.userpools import errors
from emulator.userpools.model import passwords, srp
from emulator.userpools.signin import sessions
from emulator.userpools.signin.engine import INCORRECT, SignIn, Step, missing

TIMESTAMP_SKEW_SECONDS = 300.0

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TIMESTAMP = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                        r"([1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]) UTC ([0-9]{4})$")


def parse_srp_a(value: str | None) -> int:
    try:
        big_a = int(value or "", 16)
    except ValueError:
        raise errors.InvalidParameterException("SRP_A is not a valid hex value.") from None
    if big_a % srp.N == 0:
        raise errors.NotAuthorizedException(INCORRECT)
    return big_a


def _fake_material(pool: dict, name: str) -> tuple[str, int, int]:
    """Stable made-up SRP material for an unknown user (PreventUserExistenceErrors)."""
    seed = hmac.new(b"cognito-emulator-unknown-user", f"{pool['Id']}/{name}".encode(), hashlib.sha256).digest()
    user_id = str(uuid.UUID(bytes=seed[:16], version=4))
    salt = int.from_bytes(seed[16:32], "big")
    verifier = srp.g_pow(int.from_bytes(hashlib.sha256(seed).digest(), "big"))
    return user_id, salt, verifier


def password_verifier_challenge(sign_in: SignIn, big_a: int, *, with_session: bool) -> Step:
    """PASSWORD_VERIFIER for the sign-in's user (made-up material when there is none: the
    verifier step then fails like a wrong password)."""
    user, state = sign_in.user, sign_in.state
    if user is None:
        user_id, salt, verifier = _fake_material(sign_in.pool, state.get("typed_username") or "")
        state.update(fake_user=True, username=user_id)
    else:
        material = passwords.srp_material(user)
        if material is None:
            raise errors.NotAuthorizedException(INCORRECT)
        salt, verifier = material
        user_id = user["username"]
        state["username"] = user_id
    b, big_b = srp.server_challenge(verifier)
    state.update({"challenge": "PASSWORD_VERIFIER", "srp_A": format(big_a, "x"), "srp_b": format(b, "x"),
                  "srp_B": format(big_b, "x")})
    block = sessions.issue(sign_in.ctx, state, sign_in.client)
    return Step("PASSWORD_VERIFIER", {"SALT": format(salt, "x"), "SRP_B": format(big_b, "x"), "SECRET_BLOCK": block,
                                      "USERNAME": user_id, "USER_ID_FOR_SRP": user_id},
                session=block if with_session else None)


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds of a Java `EEE MMM d HH:mm:ss z yyyy` UTC timestamp (strict), or None."""
    match = _TIMESTAMP.match(text or "")
    if not match:
        return None
    day_name, month, day, hh, mm, ss, year = match.groups()
    try:
        epoch = calendar.timegm((int(year), _MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss)))
    except (ValueError, OverflowError):
        return None
    if _DAYS[time.gmtime(epoch).tm_wday] != day_name or time.gmtime(epoch).tm_mday != int(day):
        return None
    return float(epoch)


def _timestamp_fresh(ctx, text: str) -> bool:
    stamp = parse_timestamp(text)
    if stamp is None:
        return False
    # Client libraries stamp with the wall clock; the emulator clock may have been moved by tests.
    return (abs(stamp - ctx.now()) <= TIMESTAMP_SKEW_SECONDS
            or abs(stamp - time.time()) <= TIMESTAMP_SKEW_SECONDS)


def claim_verified(sign_in: SignIn, responses: dict, verifier: int, pool_part: str, user_part: str) -> bool:
    """Whether PASSWORD_CLAIM_SIGNATURE proves knowledge of the password behind `verifier`."""
    state = sign_in.state
    signature = responses.get("PASSWORD_CLAIM_SIGNATURE")
    timestamp = responses.get("TIMESTAMP")
    block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK")
    if not signature:
        raise missing("PASSWORD_CLAIM_SIGNATURE")
    if not timestamp:
        raise missing("TIMESTAMP")
    if not _timestamp_fresh(sign_in.ctx, timestamp):
        return False
    key = srp.server_session_key(int(state["srp_A"], 16), int(state["srp_B"], 16), int(state["srp_b"], 16),
                                 verifier)
    if key is None:
        return False
    try:
        expected = srp.claim_signature(key, pool_part, user_part, block, timestamp)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())
