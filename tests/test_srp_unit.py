"""SRP-6a as Cognito does it: the server side (emulator.userpools.model.srp and the sign-in
engine's timestamp rules) against client sides computed here and by pycognito's AWSSRP."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import os

import pytest
from pycognito import aws_srp

from emulator.userpools.model import srp
from emulator.userpools.signin.srp_auth import parse_timestamp

POOL_ID = "us-east-1_AbCdEf123"
POOL = "AbCdEf123"


class _NoClient:
    """AWSSRP wants a boto client; the math needs none."""


def _pycognito(user_id: str, password: str) -> aws_srp.AWSSRP:
    return aws_srp.AWSSRP(username=user_id, password=password, pool_id=POOL_ID, client_id="c",
                          client=_NoClient())


def test_k_is_cognitos_value_not_rfc5054():
    assert format(srp.K, "x") == "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6"
    assert srp.K == _pycognito("u", "p").val_k


@pytest.mark.parametrize("value, expected", [
    (0x7f, "7f"), (0x80, "0080"), (0xfff, "0fff"), (0x8000, "008000"), (2, "02"), ("abc", "0abc"),
    ("ABCD", "00abcd"),
])
def test_pad_hex(value, expected):
    assert srp.pad_hex(value) == expected


def test_pad_hex_of_n_is_385_bytes():
    assert len(bytes.fromhex(srp.pad_hex(srp.N))) == 385
    assert srp.pad_hex(srp.N).startswith("00ff")


def test_pool_name():
    assert srp.pool_name(POOL_ID) == POOL


def _server_round(user_id: str, password: str, salt: int | None = None):
    salt, verifier = srp.make_verifier(POOL, user_id, password, salt)
    client = _pycognito(user_id, password)
    b, big_b = srp.server_challenge(verifier)
    return salt, verifier, client, b, big_b


@pytest.mark.parametrize("salt", [None, 0x00ff, 0x8000_0000_0000_0000_0000_0000_0000_0001,
                                  0x0000_0001_0000_0000_0000_0000_0000_0000])
def test_pycognito_and_server_derive_the_same_key(salt):
    salt, verifier, client, b, big_b = _server_round("alice", "Passw0rd!", salt)
    # pycognito receives SALT as the hex the emulator sends and re-pads it itself.
    client_key = client.get_password_authentication_key("alice", "Passw0rd!", big_b, format(salt, "x"))
    server_key = srp.server_session_key(client.large_a_value, big_b, b, verifier)
    assert client_key == server_key
    assert len(server_key) == 16


def test_wrong_password_gives_a_different_key():
    salt, verifier, client, b, big_b = _server_round("alice", "Passw0rd!")
    client_key = client.get_password_authentication_key("alice", "wrong", big_b, format(salt, "x"))
    assert client_key != srp.server_session_key(client.large_a_value, big_b, b, verifier)


def test_user_id_is_part_of_x():
    salt, verifier, client, b, big_b = _server_round("alice", "Passw0rd!")
    client_key = client.get_password_authentication_key("bob", "Passw0rd!", big_b, format(salt, "x"))
    assert client_key != srp.server_session_key(client.large_a_value, big_b, b, verifier)


def test_claim_signature_matches_pycognito_process_challenge():
    salt, verifier, client, b, big_b = _server_round("alice", "Passw0rd!")
    block = base64.b64encode(os.urandom(64)).decode()
    params = {"USER_ID_FOR_SRP": "alice", "USERNAME": "alice", "SALT": format(salt, "x"),
              "SRP_B": format(big_b, "x"), "SECRET_BLOCK": block}
    answer = client.process_challenge(params, {"USERNAME": "alice"})
    key = srp.server_session_key(client.large_a_value, big_b, b, verifier)
    expected = srp.claim_signature(key, POOL, "alice", block, answer["TIMESTAMP"])
    assert answer["PASSWORD_CLAIM_SIGNATURE"] == expected
    assert parse_timestamp(answer["TIMESTAMP"]) is not None


def test_client_session_key_helper_matches_server():
    salt, verifier = srp.make_verifier(POOL, "carol", "S3cret!!")
    a = int.from_bytes(os.urandom(128), "big") % srp.N
    b, big_b = srp.server_challenge(verifier)
    client_key = srp.client_session_key(POOL, "carol", "S3cret!!", a, big_b, salt)
    assert client_key == srp.server_session_key(pow(srp.G, a, srp.N), big_b, b, verifier)


def test_degenerate_a_is_refused():
    _salt, verifier = srp.make_verifier(POOL, "u", "p")
    b, big_b = srp.server_challenge(verifier)
    assert srp.server_session_key(0, big_b, b, verifier) is None
    assert srp.server_session_key(srp.N, big_b, b, verifier) is None
    assert srp.server_session_key(2 * srp.N, big_b, b, verifier) is None


def test_check_password():
    salt, verifier = srp.make_verifier(POOL, "u", "right")
    assert srp.check_password(POOL, "u", "right", salt, verifier)
    assert not srp.check_password(POOL, "u", "wrong", salt, verifier)


def test_hkdf_is_rfc5869_first_block_truncated():
    ikm, salt = b"\x01" * 32, b"\x02" * 32
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
    assert srp.hkdf(ikm, salt) == okm == aws_srp.compute_hkdf(bytearray(ikm), bytearray(salt))


def test_device_srp_math_matches_pycognito_device_helper():
    group_key, device_key = "-AbCdEfGhI", "us-east-1_0b9f3e1a-1111-2222-3333-444455556666"
    device_password, config = aws_srp.generate_hash_device(group_key, device_key)
    salt = int.from_bytes(base64.b64decode(config["Salt"]), "big")
    verifier = int.from_bytes(base64.b64decode(config["PasswordVerifier"]), "big")
    client = _pycognito("alice", "unused")
    b, big_b = srp.server_challenge(verifier)
    client_key = client.get_device_authentication_key(group_key, device_key, device_password, big_b,
                                                      format(salt, "x"))
    assert client_key == srp.server_session_key(client.large_a_value, big_b, b, verifier)


# -- TIMESTAMP ------------------------------------------------------------------------------------
def test_timestamp_unpadded_day_is_parsed():
    assert parse_timestamp("Tue Mar 5 07:04:09 UTC 2024") == calendar.timegm((2024, 3, 5, 7, 4, 9))
    assert parse_timestamp("Sun Mar 31 23:59:59 UTC 2024") == calendar.timegm((2024, 3, 31, 23, 59, 59))


@pytest.mark.parametrize("text", [
    "Tue Mar 05 07:04:09 UTC 2024",   # zero-padded day (old Python ports)
    "Wed Mar 5 07:04:09 UTC 2024",    # wrong weekday
    "Tue Mar 5 7:04:09 UTC 2024",     # unpadded hour
    "Tue Mar 5 07:04:09 GMT 2024",    # zone other than UTC
    "Thu Feb 30 07:04:09 UTC 2024",   # no such day
    "2024-03-05T07:04:09Z",
    "",
])
def test_timestamp_strict(text):
    assert parse_timestamp(text) is None


def test_pycognito_formats_single_digit_days_unpadded():
    import datetime
    stamp = aws_srp.AWSSRP.get_cognito_formatted_timestamp(datetime.datetime(2024, 3, 5, 7, 4, 9))
    assert stamp == "Tue Mar 5 07:04:09 UTC 2024"
    assert parse_timestamp(stamp) is not None


def test_powmod_matches_python_pow():
    import os

    from emulator.userpools.model import srp
    for _ in range(20):
        base, exponent = int.from_bytes(os.urandom(384), "big"), int.from_bytes(os.urandom(128), "big")
        assert srp.powmod(base, exponent, srp.N) == pow(base, exponent, srp.N)


def test_fixed_base_power_matches_python_pow():
    import os

    from emulator.userpools.model import srp
    exponents = [0, 1, 2, 63, 64, 2 ** 255, 2 ** 256 - 1, 2 ** 256, 2 ** 300 + 5]
    exponents += [int.from_bytes(os.urandom(32), "big") for _ in range(50)]
    for exponent in exponents:
        assert srp.g_pow(exponent) == pow(srp.G, exponent, srp.N), exponent


def test_password_matches_remembers_only_verified_passwords():
    from emulator.userpools.model import passwords

    pool, user = {"Id": "us-east-1_memo"}, {"username": "bob"}
    passwords.set_password(None, pool, user, "Passw0rd!", temporary=False, now=0.0, check_history=False)
    assert passwords.password_matches(pool, user, "Passw0rd!")
    assert passwords.password_matches(pool, user, "Passw0rd!")  # remembered: no exponentiation
    assert not passwords.password_matches(pool, user, "wrong")
    calls = []
    real = srp.check_password
    srp.check_password = lambda *a: calls.append(a) or real(*a)
    try:
        assert passwords.password_matches(pool, user, "Passw0rd!") and not calls
        passwords.set_password(None, pool, user, "N3w-passw0rd", temporary=False, now=1.0, check_history=False)
        assert not passwords.password_matches(pool, user, "Passw0rd!")  # a new salt and verifier
        assert passwords.password_matches(pool, user, "N3w-passw0rd") and len(calls) == 2
    finally:
        srp.check_password = real
