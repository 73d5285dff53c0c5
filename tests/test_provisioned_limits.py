"""GetProvisionedLimit / UpdateProvisionedLimit: per account, region and API category."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import boto_client, error


def _definition(category: str) -> dict:
    return {"LimitClass": "API_CATEGORY", "Attributes": {"Category": category}}


def test_default_limit(idp):
    limit = idp.get_provisioned_limit(LimitDefinition=_definition("UserList"))["Limit"]
    assert limit["LimitDefinition"] == _definition("UserList")
    assert limit["FreeLimitValue"] == 30
    assert limit["ProvisionedLimitValue"] >= 30


def test_update_and_read_back_per_region(idp, endpoint):
    other_region = boto_client("cognito-idp", endpoint, region="eu-west-1")
    before = other_region.get_provisioned_limit(LimitDefinition=_definition("UserPoolRead"))["Limit"]
    out = idp.update_provisioned_limit(LimitDefinition=_definition("UserPoolRead"), RequestedLimitValue=40)["Limit"]
    assert out == {"LimitDefinition": _definition("UserPoolRead"), "ProvisionedLimitValue": 40, "FreeLimitValue": 15}
    assert idp.get_provisioned_limit(LimitDefinition=_definition("UserPoolRead"))["Limit"] == out
    after = other_region.get_provisioned_limit(LimitDefinition=_definition("UserPoolRead"))["Limit"]
    assert after == before
    # Back to the free rate is allowed.
    idp.update_provisioned_limit(LimitDefinition=_definition("UserPoolRead"), RequestedLimitValue=15)
    assert idp.get_provisioned_limit(LimitDefinition=_definition("UserPoolRead"))["Limit"]["ProvisionedLimitValue"] == 15


def test_bounds(idp):
    with pytest.raises(ClientError) as exc:
        idp.update_provisioned_limit(LimitDefinition=_definition("UserCreation"), RequestedLimitValue=49)
    assert error(exc) == ("InvalidParameterException",
                          "RequestedLimitValue 49 is below the default limit of 50 for UserCreation.")
    with pytest.raises(ClientError) as exc:
        idp.update_provisioned_limit(LimitDefinition=_definition("UserCreation"), RequestedLimitValue=501)
    assert error(exc) == ("ServiceQuotaExceededException",
                          "RequestedLimitValue 501 exceeds the account maximum of 500 for UserCreation.")
    out = idp.update_provisioned_limit(LimitDefinition=_definition("UserCreation"), RequestedLimitValue=500)
    assert out["Limit"]["ProvisionedLimitValue"] == 500
    idp.update_provisioned_limit(LimitDefinition=_definition("UserCreation"), RequestedLimitValue=50)


def test_bad_definitions(idp):
    with pytest.raises(ClientError) as exc:
        idp.get_provisioned_limit(LimitDefinition=_definition("Nothing"))
    assert error(exc) == ("ResourceNotFoundException", "Limit for category Nothing does not exist.")
    message = "Attributes must contain exactly one key, Category, for the API_CATEGORY limit class."
    for attributes in ({}, {"category": "UserList"}, {"Category": "UserList", "Pool": "x"}):
        with pytest.raises(ClientError) as exc:
            idp.get_provisioned_limit(LimitDefinition={"LimitClass": "API_CATEGORY", "Attributes": attributes})
        assert error(exc) == ("InvalidParameterException", message)
    with pytest.raises(ClientError) as exc:
        idp.update_provisioned_limit(LimitDefinition={"LimitClass": "RATE", "Attributes": {"Category": "UserList"}},
                                     RequestedLimitValue=30)
    code, text = error(exc)
    assert code == "InvalidParameterException"
    assert "Member must satisfy enum value set: [API_CATEGORY]" in text
