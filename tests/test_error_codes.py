"""Every error code the emulator raises is one the real service answers: an error shape of the
service's botocore model, a code declared for it (extra), or a common code of its protocol's front
end (protocol.errors). A typo in a code fails here, before any client sees it.

The source is read, not run: every `ServiceError("<Code>", ...)` literal, and every error class
taken from an errors catalog (`from emulator.userpools.errors import X`, `errors.X`), in
emulator/, checked against the catalog of the service its package serves.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from helpers import auth_header
from werkzeug.test import Client
from werkzeug.wrappers import Request

from protocol import Registry, ServiceError
from protocol.dispatch import Dispatcher
from protocol.errors import COMMON_ERRORS, QUERY_COMMON_ERRORS, CatalogError, ErrorCatalog, common

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "emulator"

# The errors module whose catalog a package's codes must be in (by the package under emulator/).
PACKAGE_ERRORS = {
    "userpools": "emulator.userpools.errors",
    "oauth": "emulator.userpools.errors",  # the hosted UI and OAuth endpoints serve user pools
    "identitypools": "emulator.identitypools.errors",
    "sync": "emulator.sync.errors",
}
# Modules of a package that serve another service.
MODULE_ERRORS = {"identitypools/sts.py": "emulator.identitypools.sts"}
# Modules directly in emulator/ serve every service: their codes must be known to all of them.
SHARED = tuple(sorted(set(PACKAGE_ERRORS.values())))


def _catalog(module_name: str) -> ErrorCatalog:
    module = importlib.import_module(module_name)
    return module.catalog if hasattr(module, "catalog") else module.errors


def catalogs_for(relative: str) -> list[ErrorCatalog]:
    """The catalogs a module under emulator/ (path relative to it) answers from."""
    if relative in MODULE_ERRORS:
        return [_catalog(MODULE_ERRORS[relative])]
    package = relative.split("/", 1)[0]
    if "/" in relative and package in PACKAGE_ERRORS:
        return [_catalog(PACKAGE_ERRORS[package])]
    return [_catalog(name) for name in SHARED]


def _is_service_error(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "ServiceError") or \
        (isinstance(func, ast.Attribute) and func.attr == "ServiceError")


def problems_in(source: str, relative: str, catalogs: list[ErrorCatalog]) -> tuple[list[str], int]:
    """(problems, how many codes and class names were checked) of one module's source."""
    tree = ast.parse(source)
    problems: list[str] = []
    checked = 0
    # Names bound to an errors catalog in this module: imported errors modules, ErrorCatalog(...) values.
    aliases: dict[str, ErrorCatalog] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if node.module.endswith(".errors") and node.module.startswith("emulator."):
                    catalog = _catalog(node.module)
                    checked += 1
                    if catalog.get(alias.name) is None:
                        problems.append(f"{relative}:{node.lineno}: {alias.name} is not in {node.module}")
                elif alias.name == "errors" and node.module.startswith("emulator."):
                    aliases[alias.asname or alias.name] = _catalog(f"{node.module}.errors")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.endswith(".errors") and alias.name.startswith("emulator.") and alias.asname:
                    aliases[alias.asname] = _catalog(alias.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "ErrorCatalog":
            for target in node.targets:
                if isinstance(target, ast.Name):
                    aliases[target.id] = catalogs[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_service_error(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            code = node.args[0].value
            checked += 1
            missing = [c.service_name or "common" for c in catalogs if code not in c.codes()]
            if missing:
                problems.append(f"{relative}:{node.lineno}: ServiceError({code!r}) is no error of "
                                f"{', '.join(missing)}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and isinstance(node.ctx, ast.Load):
            catalog = aliases[node.value.id]
            if node.attr in dir(ErrorCatalog) or node.attr in vars(catalog) or node.attr == "catalog":
                continue  # the catalog's own methods (names, codes, get, ...), an errors module's catalog
            checked += 1
            if catalog.get(node.attr) is None:
                problems.append(f"{relative}:{node.lineno}: {node.value.id}.{node.attr} is no error of "
                                f"{catalog.service_name}")
    return problems, checked


def test_every_raised_code_is_known_to_its_service():
    problems: list[str] = []
    checked = 0
    for path in sorted(EMULATOR.rglob("*.py")):
        relative = path.relative_to(EMULATOR).as_posix()
        found, n = problems_in(path.read_text(), relative, catalogs_for(relative))
        problems += found
        checked += n
    assert checked > 100, "the scan found almost no error codes: is it still reading the right files?"
    assert not problems, "\n".join(problems)


def test_the_scan_catches_a_typo():
    idp = catalogs_for("userpools/users.py")
    source = ("from protocol import ServiceError\n"
              "from emulator.userpools import errors\n"
              "from emulator.userpools.errors import UserNotFoundExceptoin\n"
              "def f():\n"
              "    raise ServiceError('UserNotFoundExceptoin', 'User does not exist.')\n"
              "def g():\n"
              "    raise errors.UsernameExistException('x')\n"
              "def h():\n"
              "    raise ServiceError('UserNotFoundException', 'fine') from errors.SerializationException('ok')\n")
    problems, checked = problems_in(source, "userpools/users.py", idp)
    assert checked == 5
    assert [p.split(": ", 1)[1] for p in problems] == [
        "UserNotFoundExceptoin is not in emulator.userpools.errors",
        "ServiceError('UserNotFoundExceptoin') is no error of cognito-idp",
        "errors.UsernameExistException is no error of cognito-idp",
    ]
    # Shared modules answer for every service: a code one of them lacks is refused.
    problems, _ = problems_in("ServiceError('UserNotFoundException', 'x')", "paging.py", catalogs_for("paging.py"))
    assert problems and "cognito-identity" in problems[0] and "cognito-sync" in problems[0]


# -- the catalogs ---------------------------------------------------------------------------------------
def test_classes_carry_the_model_code_and_status():
    from emulator.sync import errors as sync_errors
    from emulator.userpools.errors import ResourceNotFoundException, UserNotFoundException

    err = UserNotFoundException("User does not exist.")
    assert isinstance(err, ServiceError) and isinstance(err, CatalogError)
    assert (err.code, err.message, err.status, err.headers) == \
        ("UserNotFoundException", "User does not exist.", None, {})  # the answering model decides
    assert str(err) == "UserNotFoundException: User does not exist."
    assert UserNotFoundException.__module__ == "emulator.userpools.errors"
    assert UserNotFoundException.error_code == "UserNotFoundException"
    assert UserNotFoundException.service == "cognito-idp"
    # the model's status (cognito-sync's model gives them; cognito-idp's does not, hence 400); an
    # instance leaves it to the service that answers, as Sync answers identity pools' errors
    assert sync_errors.ResourceNotFoundException.http_status == 404
    assert sync_errors.LambdaThrottledException.http_status == 429
    assert UserNotFoundException.http_status == 400
    assert ResourceNotFoundException is not sync_errors.ResourceNotFoundException
    # a status or headers of the call's own
    err = sync_errors.NotAuthorizedException("x", 400, headers={"Connection": "close"})
    assert (err.status, err.headers) == (400, {"Connection": "close"})


def test_query_service_codes_differ_from_shape_names():
    from emulator.identitypools.sts import errors as sts_errors

    err = sts_errors.InvalidIdentityTokenException("bad token")
    assert (err.code, type(err).http_status) == ("InvalidIdentityToken", 400)
    assert sts_errors.IDPRejectedClaimException.http_status == 403
    assert sts_errors.ValidationError("x").code == "ValidationError"  # a query common code
    assert sts_errors.get("SerializationException") is None  # JSON's, not the query front end's
    assert "InvalidIdentityToken" in sts_errors.codes() and "InvalidIdentityTokenException" in sts_errors.names()


def test_unknown_names_fail_on_import_and_access():
    import emulator.identitypools.errors as identity_errors

    with pytest.raises(ImportError):
        from emulator.userpools.errors import UserNotFoundExceptoin  # noqa: F401
    with pytest.raises(AttributeError, match="is not an error of cognito-identity's model"):
        identity_errors.UserNotFoundException  # noqa: B018 (cognito-idp's, not cognito-identity's)
    assert getattr(identity_errors, "install", None) is None  # what the emulator probes service modules for
    assert "ResourceConflictException" in dir(identity_errors)
    with pytest.raises(AttributeError):
        common.UserNotFoundException  # noqa: B018


def test_common_codes_are_shared_and_declared():
    from emulator.identitypools import errors as identity_errors
    from emulator.sync import errors as sync_errors
    from emulator.userpools import errors as idp_errors

    assert idp_errors.SerializationException is sync_errors.SerializationException is common.SerializationException
    assert identity_errors.ValidationException("x").status == 400
    assert common.RequestEntityTooLargeException("x").status == 413
    # a model's own shape wins over a common code of the same name
    assert sync_errors.InternalErrorException is not common.InternalErrorException
    assert set(COMMON_ERRORS) <= idp_errors.catalog.codes()
    assert set(QUERY_COMMON_ERRORS).isdisjoint(COMMON_ERRORS)


def test_a_raised_class_is_answered_with_its_code_and_status():
    from emulator.sync import errors as sync_errors

    registry = Registry("cognito-sync", validation_error="InvalidParameterException")

    def describe_identity_pool_usage(ctx, req):
        raise sync_errors.ResourceNotFoundException(f"IdentityPool {req['IdentityPoolId']} not found")

    registry.handler(describe_identity_pool_usage)
    dispatcher = Dispatcher([registry], lambda call, handler: handler(None, call.params))
    client = Client(lambda environ, start: dispatcher.handle(Request(environ))(environ, start))
    r = client.get("/identitypools/us-east-1:0a", headers=auth_header("cognito-sync"))
    assert r.status_code == 404
    assert r.json == {"__type": "ResourceNotFoundException", "message": "IdentityPool us-east-1:0a not found",
                      "Message": "IdentityPool us-east-1:0a not found"}
    assert r.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
