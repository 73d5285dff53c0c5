"""Remembered devices: ConfirmDevice with a client-made SRP verifier, Get/List/Forget/
UpdateDeviceStatus and their Admin forms, and a device SRP sign-in with that verifier."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from botocore.exceptions import ClientError
from helpers import (
    PASSWORD,
    device_verifier,
    error,
    java_timestamp,
    make_user,
    pool_and_client,
    tokens_for,
)

from emulator.userpools.model import srp

DEVICES = {"ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": True}


def device_pool(idp, **device_config) -> tuple[dict, dict, str]:
    pool, client = pool_and_client(idp, DeviceConfiguration={**DEVICES, **device_config})
    return pool, client, make_user(idp, pool["Id"])


def sign_in_new_device(idp, client: dict, username: str) -> dict:
    result = tokens_for(idp, client, username)
    assert "NewDeviceMetadata" in result, result
    return result


def confirmed_device(idp, client: dict, username: str, name: str = "laptop") -> dict:
    tokens = sign_in_new_device(idp, client, username)
    meta = tokens["NewDeviceMetadata"]
    password, salt, config = device_verifier(meta["DeviceGroupKey"], meta["DeviceKey"])
    out = idp.confirm_device(AccessToken=tokens["AccessToken"], DeviceKey=meta["DeviceKey"],
                             DeviceSecretVerifierConfig=config, DeviceName=name)
    return {"tokens": tokens, "key": meta["DeviceKey"], "group": meta["DeviceGroupKey"], "password": password,
            "confirm": out}


def attrs(device: dict) -> dict:
    return {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}


def test_new_device_metadata_shape(idp):
    pool, client, username = device_pool(idp)
    meta = sign_in_new_device(idp, client, username)["NewDeviceMetadata"]
    region, _, rest = meta["DeviceKey"].partition("_")
    assert region == "us-east-1" and len(rest) == 36
    assert meta["DeviceGroupKey"]


def test_confirm_get_and_list_device(idp):
    pool, client, username = device_pool(idp)
    device = confirmed_device(idp, client, username)
    assert device["confirm"]["UserConfirmationNecessary"] is True
    token = device["tokens"]["AccessToken"]
    got = idp.get_device(AccessToken=token, DeviceKey=device["key"])["Device"]
    assert got["DeviceKey"] == device["key"]
    a = attrs(got)
    assert a["device_name"] == "laptop"
    assert a["device_status"] == "valid"
    assert a["dev:device_remembered_status"] == "not_remembered"
    assert isinstance(got["DeviceCreateDate"], dt.datetime)
    listed = idp.list_devices(AccessToken=token)["Devices"]
    assert [d["DeviceKey"] for d in listed] == [device["key"]]
    admin = idp.admin_get_device(UserPoolId=pool["Id"], Username=username, DeviceKey=device["key"])["Device"]
    assert admin["DeviceKey"] == device["key"]
    assert [d["DeviceKey"] for d in idp.admin_list_devices(UserPoolId=pool["Id"], Username=username)["Devices"]] \
        == [device["key"]]


def test_confirm_remembers_when_not_on_prompt(idp):
    pool, client, username = device_pool(idp, DeviceOnlyRememberedOnUserPrompt=False)
    device = confirmed_device(idp, client, username)
    assert device["confirm"]["UserConfirmationNecessary"] is False
    got = idp.get_device(AccessToken=device["tokens"]["AccessToken"], DeviceKey=device["key"])["Device"]
    assert attrs(got)["dev:device_remembered_status"] == "remembered"


def test_update_device_status(idp):
    pool, client, username = device_pool(idp)
    device = confirmed_device(idp, client, username)
    token = device["tokens"]["AccessToken"]
    idp.update_device_status(AccessToken=token, DeviceKey=device["key"], DeviceRememberedStatus="remembered")
    assert attrs(idp.get_device(AccessToken=token, DeviceKey=device["key"])["Device"])[
        "dev:device_remembered_status"] == "remembered"
    idp.admin_update_device_status(UserPoolId=pool["Id"], Username=username, DeviceKey=device["key"],
                                   DeviceRememberedStatus="not_remembered")
    assert attrs(idp.get_device(AccessToken=token, DeviceKey=device["key"])["Device"])[
        "dev:device_remembered_status"] == "not_remembered"


def test_forget_device(idp):
    pool, client, username = device_pool(idp)
    first = confirmed_device(idp, client, username, "one")
    second = confirmed_device(idp, client, username, "two")
    token = second["tokens"]["AccessToken"]
    assert len(idp.list_devices(AccessToken=token)["Devices"]) == 2
    idp.forget_device(AccessToken=token, DeviceKey=first["key"])
    with pytest.raises(ClientError) as exc:
        idp.get_device(AccessToken=token, DeviceKey=first["key"])
    assert error(exc) == ("ResourceNotFoundException", "Device does not exist.")
    idp.admin_forget_device(UserPoolId=pool["Id"], Username=username, DeviceKey=second["key"])
    assert idp.admin_list_devices(UserPoolId=pool["Id"], Username=username)["Devices"] == []


def test_list_devices_pagination(idp):
    pool, client, username = device_pool(idp)
    keys = [confirmed_device(idp, client, username, f"d{i}")["key"] for i in range(3)]
    seen, token = [], None
    while True:
        kwargs = {"PaginationToken": token} if token else {}
        page = idp.admin_list_devices(UserPoolId=pool["Id"], Username=username, Limit=2, **kwargs)
        assert len(page["Devices"]) <= 2
        seen += [d["DeviceKey"] for d in page["Devices"]]
        token = page.get("PaginationToken")
        if not token:
            break
    assert sorted(seen) == sorted(keys)


def test_unknown_device_errors(idp):
    pool, client, username = device_pool(idp)
    tokens = sign_in_new_device(idp, client, username)
    token = tokens["AccessToken"]
    missing = "us-east-1_00000000-0000-0000-0000-000000000000"
    for call in (lambda: idp.get_device(AccessToken=token, DeviceKey=missing),
                 lambda: idp.forget_device(AccessToken=token, DeviceKey=missing),
                 lambda: idp.update_device_status(AccessToken=token, DeviceKey=missing,
                                                  DeviceRememberedStatus="remembered"),
                 lambda: idp.admin_get_device(UserPoolId=pool["Id"], Username=username, DeviceKey=missing)):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("ResourceNotFoundException", "Device does not exist.")
    # an unconfirmed device is not a device of the user yet
    with pytest.raises(ClientError) as exc:
        idp.get_device(AccessToken=token, DeviceKey=tokens["NewDeviceMetadata"]["DeviceKey"])
    assert error(exc) == ("ResourceNotFoundException", "Device does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.admin_list_devices(UserPoolId=pool["Id"], Username="nobody")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_confirm_device_errors(idp):
    pool, client, username = device_pool(idp)
    tokens = sign_in_new_device(idp, client, username)
    meta = tokens["NewDeviceMetadata"]
    _pw, _salt, config = device_verifier(meta["DeviceGroupKey"], meta["DeviceKey"])
    with pytest.raises(ClientError) as exc:
        idp.confirm_device(AccessToken=tokens["AccessToken"], DeviceKey="us-east-1_" + "0" * 36,
                           DeviceSecretVerifierConfig=config)
    assert error(exc) == ("InvalidParameterException", "Invalid device key given.")
    with pytest.raises(ClientError) as exc:
        idp.confirm_device(AccessToken=tokens["AccessToken"], DeviceKey=meta["DeviceKey"],
                           DeviceSecretVerifierConfig={"Salt": config["Salt"]})
    assert error(exc) == ("InvalidParameterException", "Invalid device verifier config.")
    idp.confirm_device(AccessToken=tokens["AccessToken"], DeviceKey=meta["DeviceKey"],
                       DeviceSecretVerifierConfig=config)
    with pytest.raises(ClientError) as exc:
        idp.confirm_device(AccessToken=tokens["AccessToken"], DeviceKey=meta["DeviceKey"],
                           DeviceSecretVerifierConfig=config)
    assert error(exc) == ("DeviceKeyExistsException", "Device key already exists.")
    with pytest.raises(ClientError) as exc:
        idp.confirm_device(AccessToken="bad", DeviceKey=meta["DeviceKey"], DeviceSecretVerifierConfig=config)
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_devices_of_another_user_are_invisible(idp):
    pool, client, username = device_pool(idp)
    device = confirmed_device(idp, client, username)
    other = make_user(idp, pool["Id"])
    other_token = sign_in_new_device(idp, client, other)["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.get_device(AccessToken=other_token, DeviceKey=device["key"])
    assert error(exc) == ("ResourceNotFoundException", "Device does not exist.")


def test_admin_delete_user_forgets_devices(idp):
    pool, client, username = device_pool(idp)
    confirmed_device(idp, client, username)
    idp.admin_delete_user(UserPoolId=pool["Id"], Username=username)
    make_user(idp, pool["Id"], username)
    assert idp.admin_list_devices(UserPoolId=pool["Id"], Username=username)["Devices"] == []


def test_device_srp_sign_in_with_confirmed_verifier(idp, clock):
    pool, client, username = device_pool(idp, DeviceOnlyRememberedOnUserPrompt=False)
    device = confirmed_device(idp, client, username)
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD,
                                              "DEVICE_KEY": device["key"]})
    assert start["ChallengeName"] == "DEVICE_SRP_AUTH"
    a = int.from_bytes(os.urandom(128), "big") % srp.N
    big_a = pow(srp.G, a, srp.N)
    step = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="DEVICE_SRP_AUTH", Session=start.get("Session", ""),
        ChallengeResponses={"USERNAME": username, "DEVICE_KEY": device["key"], "SRP_A": format(big_a, "x")})
    assert step["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
    params = step["ChallengeParameters"]
    key = srp.client_session_key(device["group"], device["key"], device["password"], a,
                                 int(params["SRP_B"], 16), int(params["SALT"], 16))
    stamp = java_timestamp(clock.now())
    signature = srp.claim_signature(key, device["group"], device["key"], params["SECRET_BLOCK"], stamp)
    kwargs = {"Session": step["Session"]} if step.get("Session") else {}
    done = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="DEVICE_PASSWORD_VERIFIER", **kwargs,
        ChallengeResponses={"USERNAME": username, "DEVICE_KEY": device["key"],
                            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"], "TIMESTAMP": stamp,
                            "PASSWORD_CLAIM_SIGNATURE": signature})
    result = done["AuthenticationResult"]
    assert "NewDeviceMetadata" not in result
    got = idp.get_device(AccessToken=result["AccessToken"], DeviceKey=device["key"])["Device"]
    assert "DeviceLastAuthenticatedDate" in got


def test_refresh_needs_the_device_key(idp):
    """With device tracking on, a refresh token works only with the key of the device it was
    issued to (REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken alike)."""
    _pool, client, username = device_pool(idp)
    tokens = sign_in_new_device(idp, client, username)
    refresh, key = tokens["RefreshToken"], tokens["NewDeviceMetadata"]["DeviceKey"]
    for params in ({"REFRESH_TOKEN": refresh}, {"REFRESH_TOKEN": refresh, "DEVICE_KEY": "us-east-1_other"}):
        with pytest.raises(ClientError) as exc:
            idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params)
        assert error(exc) == ("NotAuthorizedException", "Invalid Refresh Token")
    with pytest.raises(ClientError) as exc:
        idp.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=refresh)
    assert error(exc) == ("NotAuthorizedException", "Invalid Refresh Token")
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                            AuthParameters={"REFRESH_TOKEN": refresh, "DEVICE_KEY": key})
    assert "AccessToken" in out["AuthenticationResult"]
    out = idp.get_tokens_from_refresh_token(ClientId=client["ClientId"], RefreshToken=refresh, DeviceKey=key)
    assert "AccessToken" in out["AuthenticationResult"]
