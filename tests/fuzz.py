"""A seeded fuzzer for the emulator's API, generated from botocore's service models.

Every operation of cognito-idp, cognito-identity (JSON 1.1) and cognito-sync (rest-json) gets
raw HTTP requests built from its input shape: valid-looking values (model constraints
respected), then mutated: constraints violated, wrong JSON types and nulls at every depth,
unicode edge cases, huge numbers, deep nesting, oversized members, and protocol-level garbage
(bad targets, content types, truncated or non-UTF-8 bodies, gzip, bad Sync paths, query
parameters and headers). Real resources (a user pool, clients, users, tokens, an identity pool,
identities, a Sync dataset) are created first and their ids substituted into a good share of
the requests so that they reach the handlers, not only validation.

Every answer must be JSON (never HTML) with a JSON content type and a status below 500, and
errors must carry `__type` and `message`/`Message`; at the end /_emulator/health must be ok with
no new internal errors.

    python -m tests.fuzz --requests 20000            # (from the repository root) starts its own emulator
    python -m tests.fuzz --seed 7 --url http://127.0.0.1:9229
    python -m tests.fuzz --seed 7 --only 1234,5678  # replay single requests of a run
    python -m tests.fuzz --strict                    # the emulator verifies SigV4 (--verify-signatures)
    python -m tests.fuzz --kinds valid,null --ops 'cognito-idp:Admin'  # narrow the run

Request i of seed s is generated from its own random.Random, so it is the same whatever the
thread interleaving (the real ids differ between runs, the shape of the request does not).
Exit status 1 on any failure; the last line is a one-line summary.
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import functools
import gzip
import http.client
import json
import os
import random
import re
import socket
import string
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when run as `python -m tests.fuzz`
from re import _constants as _sre_c  # the regular expression parser: strings from model patterns
from re import _parser as _sre_p
from typing import Any
from urllib.parse import quote

import botocore.session
import requests
from emulator_process import ROOT, EmulatorProcess  # noqa: E402

from protocol.validate import pattern_matches

SERVICES = ("cognito-idp", "cognito-identity", "cognito-sync")
REGION = "us-east-1"
FIXED_DATE = "20260101T000000Z"  # the signing date of every request (moved to the emulator's with --strict)
JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json")


# -- the models -------------------------------------------------------------------------------
@functools.cache
def models() -> dict:
    session = botocore.session.get_session()
    return {name: session.get_service_model(name) for name in SERVICES}


@functools.cache
def all_operations() -> list[tuple[str, str]]:
    return [(svc, op) for svc, model in models().items() for op in model.operation_names]


def signed_auth(service: str, region: str = REGION, key: str = "AKIAEXAMPLE") -> str:
    return (f"AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=00")


# Operations whose real-id requests would destroy or lock up the shared resources: they only
# get the ids of the scratch resource sets.
DESTRUCTIVE = re.compile(
    r"^(Delete|AdminDelete|AdminDisable|GlobalSignOut|AdminUserGlobalSignOut|RevokeToken|Unlink|Merge|"
    r"AdminResetUserPassword|AdminSetUserPassword|ChangePassword|UpdateUserPool$|UpdateUserPoolClient|"
    r"SetUserPoolMfaConfig|UpdateIdentityPool|AdminRemoveUserFromGroup|StartUserPoolRestore|"
    r"AdminSetUserSettings|SetUserSettings|AdminSetUserMFAPreference|SetUserMFAPreference|"
    r"AssociateSoftwareToken|VerifySoftwareToken|AdminUpdateUserAttributes|UpdateUserAttributes|"
    r"AdminLinkProviderForUser|AdminDisableProviderForUser|UpdateGroup|SetRiskConfiguration|"
    r"SetUICustomization|SetLogDeliveryConfiguration|RotateSigningKey|ForgetDevice|AdminForgetDevice|"
    r"SetIdentityPoolRoles|SetIdentityPoolConfiguration|SetCognitoEvents|UpdateRecords|"
    r"UnsubscribeFromDataset|BulkPublish|AdminUpdateAuthEventFeedback|AddCustomAttributes)")

# Member name -> key of a resource set holding real values for it.
REAL_MEMBERS = {
    "UserPoolId": "pool", "ClientId": "client", "ClientSecret": "secret", "Username": "username",
    "AccessToken": "access", "RefreshToken": "refresh", "Token": "refresh", "IdToken": "id_token",
    "GroupName": "group", "Identifier": "rs_identifier", "Domain": "domain",
    "ProviderName": "provider", "IdentityPoolId": "identity_pool", "IdentityId": "identity_id",
    "DatasetName": "dataset", "DeviceId": "device_id", "DeveloperProviderName": "developer_provider",
    "ResourceArn": "arn", "Password": "password", "PreviousPassword": "password",
    "ProposedPassword": "password", "TemporaryPassword": "password", "DeveloperUserIdentifier": "dev_user",
    "SourceUserIdentifier": "dev_user", "DestinationUserIdentifier": "dev_user", "DeviceKey": "device_key",
    "TermsId": "terms_id", "ManagedLoginBrandingId": "branding_id", "JobId": "job_id",
    "CIMDPolicyId": "cimd_policy_id",
}


# -- raw JSON --------------------------------------------------------------------------------
class Raw:
    """JSON text embedded verbatim (bare tokens such as 1e400 or NaN, deep nesting)."""

    def __init__(self, text: str, label: str = "") -> None:
        self.text = text
        self.label = label or (text if len(text) <= 40 else f"{text[:20]}...({len(text)} chars)")

    def __str__(self) -> str:
        return self.text


class Pairs(list):
    """A JSON object written from (key, value) pairs: duplicate keys allowed."""


def encode(value: Any, ascii_only: bool = True) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:{encode(v, ascii_only)}"
                              for k, v in value) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:{encode(v, ascii_only)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def encode_bytes(value: Any, rng: random.Random) -> bytes:
    """Usually \\u-escaped ASCII (lone surrogates as JSON escapes), sometimes raw UTF-8 (lone
    surrogates then become invalid bytes)."""
    if rng.random() < 0.8:
        return encode(value, True).encode("ascii")
    return encode(value, False).encode("utf-8", "surrogatepass")


# -- strings matching the models' patterns ---------------------------------------------------------
_P_CLASSES = {"L": "a-zA-Z\u00e9\u00df\u4e2d", "M": "\u0301", "S": "$+<=>^`|~", "N": "0-9",
              "P": "!#%&*,./:;?@_\\-", "Z": " "}


def _python_pattern(pattern: str) -> str:
    """Java \\p{X} classes spelled as Python character ranges (good enough to generate from)."""
    out, depth, i = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            m = re.match(r"\\p\{(\w+)\}", pattern[i:])
            if m:
                chars = _P_CLASSES.get(m.group(1)[-1], "a-z")
                out.append(chars if depth else f"[{chars}]")
                i += len(m.group(0))
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        out.append(ch)
        i += 1
    return "".join(out)


@functools.cache
def _parsed(pattern: str):
    try:
        return _sre_p.parse(_python_pattern(pattern))
    except Exception:
        return None


_POOL = string.ascii_letters + string.digits + "_-.:/+=@!~ " + "\u00e9\u4e2d"


def _in_class(items, ch: str) -> bool:
    negate = False
    hit = False
    for op, av in items:
        if op is _sre_c.NEGATE:
            negate = True
        elif op is _sre_c.LITERAL:
            hit = hit or ord(ch) == av
        elif op is _sre_c.RANGE:
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif op is _sre_c.CATEGORY:
            name = str(av)
            test = {"DIGIT": ch.isdigit(), "WORD": ch.isalnum() or ch == "_", "SPACE": ch.isspace()}
            for key, value in test.items():
                if key in name:
                    hit = hit or (value != ("NOT" in name))
    return hit != negate


_CLASSES: dict[int, tuple[Any, list[str]]] = {}


def _class_choices(items) -> list[str]:
    # parsed patterns are cached for good, so a class's id stays its own
    found = _CLASSES.get(id(items))
    if found is None or found[0] is not items:
        found = _CLASSES[id(items)] = (items, [c for c in _POOL if _in_class(items, c)])
    return found[1]


def _emit(items, rng: random.Random, out: list[str], length: int) -> None:
    for op, av in items:
        if op is _sre_c.LITERAL:
            out.append(chr(av))
        elif op is _sre_c.NOT_LITERAL:
            out.append(rng.choice([c for c in "abcXYZ019" if ord(c) != av]))
        elif op is _sre_c.ANY:
            out.append(rng.choice(string.ascii_letters))
        elif op is _sre_c.IN:
            choices = _class_choices(av)
            out.append(rng.choice(choices) if choices else "a")
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT, getattr(_sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            top = hi if hi != _sre_c.MAXREPEAT else max(lo, length)
            for _ in range(rng.randint(lo, max(lo, min(top, lo + length)))):
                _emit(sub, rng, out, length)
        elif op is _sre_c.SUBPATTERN:
            _emit(av[-1], rng, out, length)
        elif op is _sre_c.BRANCH:
            _emit(rng.choice(av[1]), rng, out, length)
        # AT (anchors, \b), ASSERT, ASSERT_NOT: nothing to write; the result is checked anyway.


def pattern_string(pattern: str, lo: int, hi: int, rng: random.Random) -> str:
    parsed = _parsed(pattern)
    best = None
    for attempt in range(8):
        if parsed is None:
            break
        out: list[str] = []
        _emit(parsed, rng, out, rng.randint(max(lo, 1), max(lo, min(hi, 24 if attempt < 4 else lo + 4))))
        text = "".join(out)
        if len(text) > hi:
            text = text[:hi]
        if len(text) < lo and text:
            text = (text * (lo // len(text) + 1))[:lo]
        if pattern_matches(pattern, text):
            if lo <= len(text) <= hi:
                return text
            best = best or text
    return best if best is not None else "a" * max(lo, 1)


# -- edge values --------------------------------------------------------------------------------
EDGE_STRINGS = [
    "", " ", "\r", "\n", "a\r\nb", "line1\rline2", "\x00", "a\x00b", "\x01\x02\x1f\x7f", "\t",
    "\udfff", "\ud800", "a\udfffb", "\ud83d", "x\ud83dy", "\udc00\ud800",
    "\u202e", "abc\u202edef", "\u200f\u200e", "\u200b", "\ufeff", "\ufffe", "\uffff", "\U0010ffff",
    "\U0001f600", "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "e\u0301", "\u0130", "\u00df",
    "\u01c5", "\u4e2d\u6587", "\u0645\u0631\u062d\u0628\u0627", "\u1d00\u0299", "\\", '"', "'", "%00", "%s%n%x",
    "${jndi:ldap://x/a}", "{{7*7}}", "' OR '1'='1", "../../etc/passwd", "<script>alert(1)</script>",
    "null", "true", "NaN", "-1", "0", "1e400", "  padded  ", "a" * 257, "\u00e9" * 300,
    "\U0001f600" * 200, "us-east-1_", "us-east-1:", ":", "_", "arn:aws:", "cognito-idp.", "=",
    # URLs that urllib cannot split, or splits into surprises
    "https://[abc", "https://[::1/cb", "https://a]b/", "http://[v1.x]/", "https://x:99999999/cb", "https://x:y/",
    "https://*.[/", "https://u:p@h/", "https:///p", "//host/p", "https://h/%zz", "javascript:alert(1)",
    # digits that str.isdigit() accepts but are not ASCII
    "\u0661\u0662\u0663\u0664\u0665\u0666", "\uff11\uff12\uff13\uff14\uff15\uff16", "\u00b2" * 6,
]

NUMBER_TOKENS = [
    "1e400", "-1e400", "1E+400", "1e-400", str(2 ** 70), str(-(2 ** 70)), "-0.0", "-0", "0.0",
    "NaN", "Infinity", "-Infinity", "0.5", "1.0", "2147483648", "-2147483649", "9223372036854775808",
    "-9223372036854775809", "4.9e-324", "1.7976931348623157e308", "1" + "0" * 5000, "1e2", "1E2",
    "123456789012345678901234567890.5",
]

WRONG_TYPES = {
    "string": [123, 1.5, True, False, {}, [], {"a": "b"}, ["x"], 0],
    "integer": ["5", "abc", True, {}, [], 1.5, "1e3"],
    "long": ["5", "abc", False, {}, [], 0.25],
    "double": ["1.5", True, {}, [], "NaN"],
    "float": ["1.5", True, {}, []],
    "boolean": ["true", 1, 0, {}, [], "false", None],
    "timestamp": [True, {}, [], "not a date", "2026-13-45T99:00:00Z", "", "1e400"],
    "blob": [1, "!!!not base64!!!", "YQ", {}, [], "YQ==="],
    "structure": ["x", 1, [], True, [{}], 0.5],
    "list": ["x", {}, 1, {"member": "x"}, True],
    "map": [[], "x", 1, [["k", "v"]], True],
}


def _deep(rng: random.Random) -> Raw:
    n = rng.choice([1000, 2000, 5000, 10000, rng.randint(900, 10000)])
    kind = rng.random()
    if kind < 0.4:
        return Raw("[" * n + "]" * n, f"{n} x [")
    if kind < 0.8:
        return Raw('{"a":' * n + "1" + "}" * n, f"{n} x {{")
    if kind < 0.9:
        return Raw("[" * n, f"{n} x [ unclosed")
    return Raw('[{"a":' * (n // 2) + "null" + "}]" * (n // 2), f"{n // 2} x [{{")


# -- a request --------------------------------------------------------------------------------
@dataclasses.dataclass
class FuzzRequest:
    index: int
    service: str
    operation: str
    kind: str
    detail: str
    method: str = "POST"
    path: str = "/"
    headers: dict = dataclasses.field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False  # sent with Transfer-Encoding: chunked
    raw: bytes | None = None  # sent as these bytes on a socket of its own (malformed HTTP)

    def excerpt(self, n: int = 240) -> str:
        data = self.raw if self.raw is not None else self.body
        text = repr(data[:n])[2:-1]
        return text + (f"...({len(data)} bytes)" if len(data) > n else "")


@dataclasses.dataclass
class Slot:
    container: Any
    key: Any
    shape: Any
    path: str
    is_key: bool = False  # a map key (the slot's value is the key itself)


class Generator:
    """Builds one request from a seed, an operation and optionally real resources."""

    def __init__(self, rng: random.Random, real: dict | None = None) -> None:
        self.rng = rng
        self.real = real  # the resource set whose ids this request uses, if any
        self.slots: list[Slot] = []

    # -- valid-looking values ------------------------------------------------------------------
    def value(self, shape, name: str, path: str, depth: int) -> Any:
        rng = self.rng
        real = self._real(name, shape)
        if real is not None:
            self._register(shape, real, path)
            return real
        t = shape.type_name
        meta = shape.metadata
        if t == "structure":
            return self.structure(shape, path, depth)
        if t == "list":
            lo, hi = meta.get("min", 0), meta.get("max", 4)
            n = rng.randint(lo, max(lo, min(hi, lo + (2 if depth < 4 else 0), 3)))
            out: list = []
            for i in range(n):
                out.append(self.value(shape.member, "", f"{path}[{i}]", depth + 1))
                self.slots.append(Slot(out, i, shape.member, f"{path}[{i}]"))
            return out
        if t == "map":
            lo, hi = meta.get("min", 0), meta.get("max", 3)
            n = rng.randint(lo, max(lo, min(hi, lo + (2 if depth < 4 else 0))))
            out_map: dict = {}
            for _ in range(n):
                key = self.value(shape.key, "", f"{path}.<key>", depth + 1)
                out_map[key] = self.value(shape.value, "", f"{path}.{key}", depth + 1)
                self.slots.append(Slot(out_map, key, shape.value, f"{path}.{key}"))
                self.slots.append(Slot(out_map, key, shape.key, f"{path}.<key {key}>", is_key=True))
            return out_map
        if t == "string":
            if "enum" in meta:
                return rng.choice(meta["enum"])
            lo, hi = meta.get("min", 0), meta.get("max", 64)
            if "pattern" in meta:
                return pattern_string(meta["pattern"], lo, hi, rng)
            n = rng.randint(lo, max(lo, min(hi, 20)))
            return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))
        if t in ("integer", "long"):
            lo, hi = meta.get("min", -5 if rng.random() < 0.1 else 0), meta.get("max", 1000)
            return rng.randint(int(lo), int(hi)) if lo <= hi else int(lo)
        if t in ("double", "float"):
            return round(rng.uniform(meta.get("min", 0), meta.get("max", 100)), 3)
        if t == "boolean":
            return rng.random() < 0.5
        if t == "timestamp":
            if rng.random() < 0.7:
                return 1767225600 + rng.randint(-10 ** 6, 10 ** 6)
            return "2026-01-01T00:00:00Z"
        if t == "blob":
            lo, hi = meta.get("min", 1), meta.get("max", 32)
            return base64.b64encode(rng.randbytes(rng.randint(lo, max(lo, min(hi, 32))))).decode()
        return None  # document types and anything new

    def structure(self, shape, path: str, depth: int) -> dict:
        out: dict = {}
        required = set(shape.required_members)
        p_optional = 0.45 if depth < 2 else 0.25 if depth < 5 else 0.0
        for name, member in shape.members.items():
            if name in required or self.rng.random() < p_optional:
                member_path = f"{path}.{name}" if path else name
                out[name] = self.value(member, name, member_path, depth + 1)
                self.slots.append(Slot(out, name, member, member_path))
        return out

    def _register(self, shape, value: Any, path: str) -> None:
        """Slots inside a real value, so that mutations reach into it as well."""
        t = shape.type_name
        if t == "map" and isinstance(value, dict):
            for key in list(value):
                self.slots.append(Slot(value, key, shape.value, f"{path}.{key}"))
                self.slots.append(Slot(value, key, shape.key, f"{path}.<key {key}>", is_key=True))
        elif t == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                self.slots.append(Slot(value, i, shape.member, f"{path}[{i}]"))
                self._register(shape.member, item, f"{path}[{i}]")
        elif t == "structure" and isinstance(value, dict):
            for name, member in shape.members.items():
                if name in value:
                    self.slots.append(Slot(value, name, member, f"{path}.{name}"))
                    self._register(member, value[name], f"{path}.{name}")

    def _real(self, name: str, shape) -> Any:
        if self.real is None:
            return None
        rng = self.rng
        if rng.random() > 0.85:
            return None
        res = self.real
        key = REAL_MEMBERS.get(name)
        if key and res.get(key):
            values = res[key]
            # the first value (the public client, the unauthenticated identity, ...) goes furthest
            return values[0] if rng.random() < 0.5 else rng.choice(values)
        if name == "AuthFlow" and shape.type_name == "string":
            return rng.choice(["USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH",
                               "ADMIN_USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH", "USER_SRP_AUTH", "USER_AUTH"])
        if name == "AuthParameters" and shape.type_name == "map":
            params = {"USERNAME": rng.choice(res["username"]), "PASSWORD": rng.choice(res["password"])}
            if rng.random() < 0.3:
                params["REFRESH_TOKEN"] = rng.choice(res["refresh"])
            if rng.random() < 0.2:
                params["SRP_A"] = format(rng.getrandbits(1024), "x")
            if rng.random() < 0.2:
                params["SECRET_HASH"] = base64.b64encode(rng.randbytes(32)).decode()
            if rng.random() < 0.1:
                params["DEVICE_KEY"] = f"{REGION}_{uuid.UUID(int=rng.getrandbits(128))}"
            return params
        if name == "ChallengeResponses" and shape.type_name == "map":
            responses = {"USERNAME": rng.choice(res["username"])}
            for k, v in (("NEW_PASSWORD", rng.choice(res["password"])), ("ANSWER", "42"),
                         ("SMS_MFA_CODE", "123456"), ("SOFTWARE_TOKEN_MFA_CODE", "123456"),
                         ("EMAIL_OTP_CODE", "12345678"), ("PASSWORD", rng.choice(res["password"])),
                         ("PASSWORD_CLAIM_SIGNATURE", base64.b64encode(rng.randbytes(32)).decode()),
                         ("PASSWORD_CLAIM_SECRET_BLOCK", base64.b64encode(rng.randbytes(64)).decode()),
                         ("TIMESTAMP", "Thu Jan 1 00:00:00 UTC 2026"), ("ANSWER", "SMS_OTP"),
                         ("SECRET_HASH", "abc="), ("DEVICE_KEY", "us-east-1_x")):
                if rng.random() < 0.3:
                    responses[k] = v
            return responses
        if name == "Logins" and shape.type_name == "map":
            choice = rng.random()
            if choice < 0.6:
                return {f"cognito-idp.{REGION}.amazonaws.com/{res['pool'][0]}": rng.choice(res["id_token"])}
            if choice < 0.8:
                return {res["developer_provider"][0]: "fuzz-token"}
            return {rng.choice(["graph.facebook.com", "accounts.google.com", "www.amazon.com",
                                "api.twitter.com", "appleid.apple.com"]): "token"}
        if name in ("UserAttributes", "ValidationData") and shape.type_name == "list":
            attrs = [{"Name": "email", "Value": f"fuzz{rng.randint(0, 99)}@example.com"}]
            for n, v in (("name", "Fuzz"), ("phone_number", "+15555550100"), ("email_verified", "true"),
                         ("custom:tier", "gold"), ("locale", "en"), ("sub", str(uuid.uuid4()))):
                if rng.random() < 0.3:
                    attrs.append({"Name": n, "Value": v})
            return attrs
        return None

    # -- mutations ---------------------------------------------------------------------------------
    def mutate(self, params: dict, kind: str) -> str:
        rng = self.rng
        slots = [s for s in self.slots if _still_there(s)]
        if kind == "constraint":
            return self._violate(params, slots)
        if kind == "unknown":
            target = params
            structs = [s for s in slots if s.shape.type_name == "structure"
                       and isinstance(s.container.get(s.key) if isinstance(s.container, dict) else None, dict)]
            where = "top level"
            if structs and rng.random() < 0.5:
                s = rng.choice(structs)
                target, where = s.container[s.key], s.path
            key = rng.choice(["Unknown", "__type", "userPoolId", "", "\udfff", "a" * 300, "\u0000"])
            target[key] = rng.choice(["x", None, 1, {}, []])
            return f"unknown member {key[:20]!r} at {where}"
        if kind == "deep":
            value = _deep(rng)
            if not slots or rng.random() < 0.2:
                params[rng.choice(["Deep", next(iter(params), "Deep")])] = value
                return f"deep {value.label} at top level"
            s = rng.choice(slots)
            _set(s, value)
            return f"deep {value.label} at {s.path}"
        if not slots:
            return "no members to mutate"
        if kind == "null":
            s = rng.choice(slots)
            if s.is_key:
                s = Slot(s.container, s.key, s.shape, s.path)
            _set(s, None)
            return f"null at {s.path}"
        if kind == "wrongtype":
            s = rng.choice([x for x in slots if not x.is_key] or slots)
            value = rng.choice(WRONG_TYPES.get(s.shape.type_name, [1, "x", {}]))
            _set(s, value)
            return f"{type(value).__name__} {str(value)[:20]!r} at {s.path} ({s.shape.type_name})"
        if kind == "unicode":
            strings = [x for x in slots if x.shape.type_name == "string"] or slots
            s = rng.choice(strings)
            edge = rng.choice(EDGE_STRINGS)
            current = _get(s)
            if isinstance(current, str) and rng.random() < 0.5:
                edge = rng.choice([current + edge, edge + current, current[:len(current) // 2] + edge])
            _set(s, edge)
            return f"unicode {edge[:40]!r} at {s.path}"
        if kind == "number":
            numeric = [x for x in slots if x.shape.type_name in ("integer", "long", "double", "float",
                                                                  "timestamp")]
            s = rng.choice(numeric if numeric and rng.random() < 0.8 else slots)
            if s.is_key:
                s = Slot(s.container, s.key, s.shape, s.path)
            token = rng.choice(NUMBER_TOKENS)
            _set(s, Raw(token))
            return f"number {Raw(token).label} at {s.path}"
        if kind == "oversized":
            s = rng.choice(slots)
            size = rng.choice([1025, 2049, 10_000, 100_000, 300_000, rng.randint(1, 1_200_000)])
            t = s.shape.type_name
            if t == "list" and not s.is_key and rng.random() < 0.7:
                item = self.value(s.shape.member, "", s.path, 6)
                value: Any = [item] * min(size, 50_000)
                label = f"list of {len(value)}"
            elif t == "map" and not s.is_key and rng.random() < 0.7:
                value = {f"k{i}": "v" for i in range(min(size, 30_000))}
                label = f"map of {len(value)}"
            else:
                ch = rng.choice(["a", "\u00e9", "\U0001f600", "0", " "])
                value = ch * size
                label = f"string {ch!r} x {size}"
            _set(s, value)
            return f"oversized {label} at {s.path}"
        raise ValueError(kind)

    def _violate(self, params: dict, slots: list[Slot]) -> str:
        rng = self.rng
        constrained = [s for s in slots if not s.is_key and (
            s.shape.metadata.keys() & {"min", "max", "enum", "pattern"})]
        structs = [s for s in slots if s.shape.type_name == "structure" and s.shape.required_members]
        if (not constrained or rng.random() < 0.15) and (structs or params):
            # drop a required member
            if structs and rng.random() < 0.5:
                s = rng.choice(structs)
                target = s.container[s.key] if isinstance(s.container, (dict, list)) else None
                if isinstance(target, dict):
                    name = rng.choice(s.shape.required_members)
                    target.pop(name, None)
                    return f"missing required {s.path}.{name}"
            if params:
                name = rng.choice(list(params))
                params.pop(name)
                return f"missing {name}"
        if not constrained:
            return "nothing constrained"
        s = rng.choice(constrained)
        meta = s.shape.metadata
        t = s.shape.type_name
        options = []
        if "enum" in meta:
            options += ["NOT_AN_ENUM_VALUE", str(meta["enum"][0]).lower(), " " + str(meta["enum"][0]), ""]
        if t == "string":
            if "max" in meta and meta["max"] < 300_000:
                options.append("x" * (meta["max"] + 1))
            if meta.get("min", 0) > 0:
                options.append("x" * (meta["min"] - 1))
            if "pattern" in meta:
                options += [v for v in (" ", "a b", "!", "\x00", "\u00e9", "a\nb", "..", "%", "#", "a/b",
                                        "_", ":")
                            if not pattern_matches(meta["pattern"], v)][:4]
        elif t in ("integer", "long", "double", "float"):
            if "max" in meta:
                options += [meta["max"] + 1, 2 ** 31, 2 ** 63]
            if "min" in meta:
                options += [meta["min"] - 1, -(2 ** 31) - 1]
        elif t in ("list", "map", "blob"):
            item = None
            if t == "list":
                item = self.value(s.shape.member, "", s.path, 6)
            if "max" in meta and meta["max"] <= 2000:
                if t == "list":
                    options.append([item] * (meta["max"] + 1))
                elif t == "map":
                    options.append({f"k{i}": self.value(s.shape.value, "", s.path, 6)
                                    for i in range(meta["max"] + 1)})
                else:
                    options.append(base64.b64encode(b"x" * (meta["max"] + 1)).decode())
            if meta.get("min", 0) > 0:
                options.append([] if t == "list" else {} if t == "map" else "")
        if not options:
            options = ["x" * 5000]
        value = rng.choice(options)
        _set(s, value)
        shown = value if not isinstance(value, (str, list, dict)) or len(value) < 30 else f"<{len(value)}>"
        return f"violates {s.path} ({', '.join(sorted(meta.keys() & {'min', 'max', 'enum', 'pattern'}))}): " \
               f"{shown!r}"


def _get(slot: Slot) -> Any:
    if slot.is_key:
        return slot.key
    try:
        return slot.container[slot.key]
    except (KeyError, IndexError, TypeError):
        return None


def _still_there(slot: Slot) -> bool:
    try:
        if isinstance(slot.container, dict):
            return slot.key in slot.container
        return slot.key < len(slot.container)
    except TypeError:
        return False


def _set(slot: Slot, value: Any) -> None:
    if slot.is_key:
        if isinstance(value, (str, Raw)) and isinstance(slot.container, dict):
            old = slot.container.pop(slot.key, None)
            # keys must be strings in JSON: a Raw key is written as its text
            slot.container[value.text if isinstance(value, Raw) else value] = old
            return
        slot = Slot(slot.container, slot.key, slot.shape, slot.path)
    try:
        slot.container[slot.key] = value
    except (IndexError, TypeError):
        pass


# -- from an operation and a seed to a request ------------------------------------------------------
KIND_WEIGHTS = [("valid", 16), ("constraint", 12), ("wrongtype", 12), ("null", 11), ("unicode", 12),
                ("number", 7), ("deep", 4), ("oversized", 5), ("unknown", 4), ("protocol", 13),
                ("mixed", 4)]
MUTATIONS = ("constraint", "wrongtype", "null", "unicode", "number", "deep", "oversized", "unknown")


def build_request(index: int, seed: int, resources: list[dict] | None,
                  operations: list[tuple[str, str]] | None = None,
                  kinds: list[str] | None = None) -> FuzzRequest:
    rng = random.Random(f"{seed}:{index}")
    ops = operations or all_operations()
    # every operation in turn (a seeded order), so a short run still covers all of them
    order = list(range(len(ops)))
    random.Random(f"order:{seed}:{index // len(ops)}").shuffle(order)
    service, op_name = ops[order[index % len(ops)]]
    model = models()[service]
    op = model.operation_model(op_name)
    table = [(k, w) for k, w in KIND_WEIGHTS if not kinds or k in kinds]
    kind = rng.choices([k for k, _ in table], [w for _, w in table])[0]

    gen = Generator(rng)
    if resources and rng.random() < (0.9 if kind == "valid" else 0.75):
        allowed = resources[1:] if DESTRUCTIVE.match(op_name) and len(resources) > 1 else resources
        gen.real = rng.choice(allowed)
    params = gen.structure(op.input_shape, "", 0) if op.input_shape is not None else {}
    details = []
    if kind in MUTATIONS:
        details.append(gen.mutate(params, kind))
    elif kind == "mixed":
        for k in rng.sample(MUTATIONS, rng.randint(2, 3)):
            details.append(gen.mutate(params, k))
    req = FuzzRequest(index, service, op_name, kind, "; ".join(details))
    if service == "cognito-sync":
        _rest_request(req, op, params, rng, gen.real)
    else:
        _json_request(req, model, op, params, rng)
    if kind == "protocol":
        if service == "cognito-sync":
            _rest_garbage(req, op, params, rng)
        else:
            _json_garbage(req, model, op, params, rng)
    return req


def _auth_headers(req: FuzzRequest, service: str, rng: random.Random, real: dict | None = None) -> None:
    if rng.random() < 0.85:
        key = "AKIAEXAMPLE"
        if real and real.get("identity_credentials") and rng.random() < 0.5:
            _identity, key, token = rng.choice(real["identity_credentials"])
            req.headers["X-Amz-Security-Token"] = token
        req.headers["Authorization"] = signed_auth(service, key=key)
        if rng.random() < 0.5:
            req.headers["X-Amz-Date"] = FIXED_DATE


def _json_request(req: FuzzRequest, model, op, params: dict, rng: random.Random) -> None:
    req.headers["Content-Type"] = "application/x-amz-json-1.1"
    req.headers["X-Amz-Target"] = f"{model.metadata['targetPrefix']}.{op.name}"
    _auth_headers(req, model.metadata.get("signingName") or model.metadata["endpointPrefix"], rng)
    req.body = encode_bytes(params, rng)


def _path_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return encode(value)
    return str(value)


def _header_value(text: str) -> str | bytes:
    text = text.replace("\r", "").replace("\n", "").lstrip(" \t")
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _rest_request(req: FuzzRequest, op, params: dict, rng: random.Random, real: dict | None) -> None:
    uri = op.http["requestUri"]
    req.method = op.http["method"]
    body, query = {}, []
    shape = op.input_shape
    for name, member in (shape.members.items() if shape is not None else []):
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        present = name in params
        if loc == "uri":
            uri = uri.replace("{" + wire + "}", quote(_path_text(params.get(name)).encode(
                "utf-8", "surrogatepass"), safe=""))
        elif loc == "querystring":
            if present:
                query.append(f"{quote(wire)}={quote(_path_text(params[name]).encode('utf-8', 'surrogatepass'), safe='')}")
        elif loc == "header":
            if present:
                req.headers[wire] = _header_value(_path_text(params[name]))
        elif present:
            body[wire] = params[name]
    # members the generator added outside the model go to the body as well
    for name, value in params.items():
        if shape is None or name not in shape.members:
            body[name] = value
    req.path = uri + ("?" + "&".join(query) if query else "")
    if body or req.method in ("POST", "PUT") or rng.random() < 0.1:
        req.headers["Content-Type"] = "application/json"
        req.body = encode_bytes(body, rng)
    _auth_headers(req, "cognito-sync", rng, real)


# -- protocol-level garbage ---------------------------------------------------------------------
def _json_garbage(req: FuzzRequest, model, op, params: dict, rng: random.Random) -> None:
    prefix = model.metadata["targetPrefix"]
    choice = rng.randrange(17)
    body = req.body
    if choice == 0:
        target = rng.choice(["", ".", prefix, prefix + ".", "." + op.name, f"Foo.{op.name}",
                             f"{prefix}.{op.name.lower()}", f"{prefix}.{op.name}.Extra", f"{prefix}.{op.name} ",
                             f"{prefix}. {op.name}", f"{prefix}.__init__", f"{prefix}.{'X' * 5000}",
                             f"{prefix}.{op.name}\x00", "AWSCognitoIdentityProviderService.ListDatasets",
                             "AWSCognitoSyncService.ListDatasets", f"{prefix}..{op.name}"])
        req.headers["X-Amz-Target"] = target if rng.random() < 0.9 else (prefix + ".\u00e9").encode("latin-1")
        req.detail = f"X-Amz-Target {str(target)[:60]!r}"
    elif choice == 1:
        ctype = rng.choice([None, "", "text/plain", "application/json; charset=utf-16", "application/xml",
                            "application/x-www-form-urlencoded", "multipart/form-data; boundary=xx",
                            "application/x-amz-json-1.0", "application/json", "APPLICATION/X-AMZ-JSON-1.1",
                            "application/x-amz-json-1.1; charset=latin-1", "application/x-amz-json-1.1;;;",
                            "application/x-amz-cbor-1.1", "*/*", "application"])
        if ctype is None:
            req.headers.pop("Content-Type", None)
        else:
            req.headers["Content-Type"] = ctype
        req.detail = f"Content-Type {ctype!r}"
    elif choice == 2:
        cut = rng.randint(0, max(0, len(body) - 1))
        req.body = body[:cut]
        req.detail = f"truncated at {cut}/{len(body)}"
    elif choice == 3:
        junk = rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xb3\xbf", b"\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"])
        if body.startswith(b"{") and len(body) > 2 and rng.random() < 0.7:
            req.body = b'{"' + junk + b'":"' + junk + b'",' + body[1:]
        else:
            req.body = junk + body
        req.detail = f"non-UTF-8 bytes {junk!r}"
    elif choice == 4:
        req.body = rng.choice([b"[]", b"[{}]", b"1", b"-0.0", b"1e400", b"NaN", b'"str"', b"null", b"true",
                               b" ", b"\n\r\t", b"\xef\xbb\xbf{}", b"{}garbage", b"{}{}", b"{,}", b"{'a':1}",
                               b"{/*c*/}", b"{\"a\":1,}", b"\x00", body + b"]", body.replace(b":", b"=", 1),
                               b'{"a":"\\x41"}', b'{"a":"\\u12"}', b'{"a":"\\ud800\\u0041"}'])
        req.detail = f"body {req.body[:40]!r}"
    elif choice == 5:
        req.headers["Content-Encoding"] = rng.choice(["gzip", "deflate", "br", "gzip, gzip", "identity", "x"])
        if rng.random() < 0.5:
            req.body = rng.choice([b"\x1f\x8b\x08\x00garbage", rng.randbytes(rng.randint(0, 200)),
                                   gzip.compress(b"{")[:-4]])
        elif rng.random() < 0.5:
            req.body = gzip.compress(body)
        req.detail = f"Content-Encoding {req.headers['Content-Encoding']!r}"
    elif choice == 6:
        req.method = rng.choice(["GET", "PUT", "DELETE", "PATCH"])
        req.detail = f"method {req.method}"
    elif choice == 7:
        req.path = rng.choice(["/x", "//", "/?a=b", "/%ff", "/identitypools", "/" + "a" * 3000, "/..%2F..",
                               "/oauth2/token", "/login", "/.well-known/jwks.json"])
        req.detail = f"path {req.path[:40]!r}"
    elif choice == 8:
        auth = rng.choice(["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=", "Bearer x",
                           "AWS4-HMAC-SHA256 Credential=AKID/2026/" + "r" * 500 + "/cognito-idp/aws4_request",
                           "AWS4-HMAC-SHA256 Credential=AKID/20260101//cognito-idp/aws4_request",
                           "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1\u00e9/x/aws4_request",
                           "AWS4-HMAC-SHA256 Credential=AKID/20260101/../cognito-idp/aws4_request",
                           "AWS4-HMAC-SHA256 Credential=AKID/20260101/us_east_1:x/cognito-idp/aws4_request",
                           "AWS4-HMAC-SHA256 Credential=/////", "x" * 10000,
                           signed_auth("cognito-idp").replace("Signature=00", "Signature=\u00e9"),
                           signed_auth("cognito-idp").replace("SignedHeaders=host", "SignedHeaders=host;x-amz-date"),
                           signed_auth("cognito-idp").replace("Signature=00", "Signature=")])
        req.headers["Authorization"] = _header_value(auth)
        req.headers["X-Amz-Date"] = FIXED_DATE  # so that strict mode (--strict) reads the rest
        if rng.random() < 0.3:
            req.headers["X-Amz-Security-Token"] = rng.choice(["", "x" * 5000, "\u00e9"]).encode("utf-8")
        req.detail = f"Authorization {auth[:60]!r}"
    elif choice == 9:
        req.body = body + b" " * rng.choice([1_000_000, 3_000_000, 7_000_000])
        req.detail = f"padded body {len(req.body)} bytes"
    elif choice == 10:
        req.body = b""
        req.detail = "empty body"
    elif choice == 11:
        pairs = Pairs(list(params.items()) + list(params.items()))
        pairs.append(("UserPoolId", rng.choice(["a", None, 1])))
        req.body = encode(pairs).encode()
        req.detail = "duplicate keys"
    elif choice == 12:
        req.chunked = True
        req.detail = "chunked body"
    elif choice == 14:
        _raw_garbage(req, rng)
    elif choice == 15:
        if rng.random() < 0.5:
            for i in range(rng.choice([99, 101, 150])):
                req.headers[f"X-Fuzz-{i}"] = "1"
            req.detail = f"{len(req.headers)} headers"
        else:
            req.headers["X-Fuzz"] = "x" * rng.choice([8000, 65000, 70000])
            req.detail = f"header of {len(req.headers['X-Fuzz'])} bytes"
    else:
        req.headers[rng.choice(["Expect", "Host", "X-Amz-Content-Sha256", "Origin", "X-Forwarded-Host"])] = \
            rng.choice(["100-continue", "-1", "abc", "", "x" * 8000, "a b", "[::1]:99999"])
        req.detail = f"header {list(req.headers)[-1]}"


def _raw_garbage(req: FuzzRequest, rng: random.Random) -> None:
    """Malformed HTTP that no client library writes, on a socket of its own."""
    body = req.body if isinstance(req.body, bytes) else b"{}"
    lines = [f"{k}: {v}".encode("latin-1") if isinstance(v, str) else k.encode() + b": " + v
             for k, v in req.headers.items()]
    head = b"\r\n".join(lines)
    target = req.path.encode("utf-8", "surrogateescape")
    cases = [
        (b"GARBAGE\r\n\r\n", "request line GARBAGE"),
        (b"POST " + target + b" HTTP/1.1 extra\r\n" + head + b"\r\n\r\n", "request line with 4 parts"),
        (b"POST " + target + b" HTTP/1.x\r\n\r\n", "bad HTTP version"),
        (b"post " + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
         "lower-case method"),
        (b"POST http://localhost" + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: %d\r\n\r\n"
         % len(body) + body, "absolute-form target"),
        (b"POST " + target + b" HTTP/1.0\n" + head.replace(b"\r\n", b"\n") + b"\nContent-Length: %d\n\n"
         % len(body) + body, "bare LF line ends"),
        (b"POST " + target + b" HTTP/1.1\r\nNoColonHeader\r\n" + head + b"\r\n\r\n", "header without colon"),
        (b"POST " + target + b" HTTP/1.1\r\n" + head + b"\r\n folded continuation\r\nContent-Length: %d\r\n\r\n"
         % len(body) + body, "obsolete header folding"),
        (b"POST " + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: %d\r\nContent-Length: 1\r\n\r\n"
         % len(body) + body, "two Content-Length headers"),
        (b"POST " + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: -7\r\n\r\n" + body,
         "negative Content-Length"),
        (b"POST " + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: 1x\r\n\r\n" + body,
         "Content-Length 1x"),
        (b"POST " + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: %d\r\n\r\n" % (len(body) + 50)
         + body, "body shorter than Content-Length"),
        (b"POST " + target + b" HTTP/1.1\r\n" + head + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
         + body + b"\r\n0\r\n\r\n", "bad chunk size"),
        (b"POST /\xff\xfe\x00 HTTP/1.1\r\n" + head + b"\r\nX-\xff: \xfe\x00\r\n\r\n", "binary request line"),
        (b"\r\n\r\nPOST " + target + b" HTTP/1.1\r\n" + head + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
         + body, "leading empty lines"),
    ]
    req.raw, req.detail = rng.choice(cases)


def _rest_garbage(req: FuzzRequest, op, params: dict, rng: random.Random) -> None:
    choice = rng.randrange(13)
    path, _, query = req.path.partition("?")
    if choice == 0:
        segments = path.split("/")
        i = rng.randrange(1, len(segments))
        segments[i] = rng.choice(["", "%2F", "..", ".", "%00", "%ff%fe", "%ED%B3%BF", "a" * 5000, "%", "%zz",
                                  "%F0%9F%98%80", "us-east-1%3A" + "0" * 36, "%0D%0A", "%20", "~", "*", "%C0%AF"])
        req.path = "/".join(segments) + ("?" + query if query else "")
        req.detail = f"path segment {segments[i][:30]!r}"
    elif choice == 1:
        req.path = rng.choice([path + "/", path + "//", path + "/extra", path + "/extra/more", "/" + path,
                               path.replace("/", "//"), path + ";x=1", path + "#frag", path.upper(),
                               "/identitypools/", "/identitypools/x/identities/", "/identitypools//identities//datasets//"])
        req.detail = f"path {req.path[:60]!r}"
    elif choice == 2:
        req.method = rng.choice(["PUT", "PATCH", "DELETE", "GET", "POST"])
        req.detail = f"method {req.method}"
    elif choice == 3:
        name = rng.choice(["MaxResults", "maxResults", "NextToken", "nextToken", "LastSyncCount", "lastSyncCount",
                           "SyncSessionToken", "syncSessionToken", "x"])
        value = rng.choice(["abc", "1e400", "99999999999999999999999", "-5", "", "NaN", "0", "%zz", "%00", "1.5",
                            "1" * 5000, "%ED%B3%BF", "true", "-0", "+3", "0x10", "1_000", "\u0663".encode().hex()])
        extra = f"{name}={value}"
        if rng.random() < 0.3:
            extra += f"&{name}=1"
        req.path = path + "?" + (query + "&" if query else "") + extra
        req.detail = f"query {extra[:60]!r}"
    elif choice == 4:
        value = rng.choice(["!!!", "", "x" * 100_000, base64.b64encode(b"{not json").decode(),
                            base64.b64encode(b'{"client":{"installation_id":"x"}}').decode(), "\u00e9"])
        req.headers["x-amz-Client-Context"] = _header_value(value)
        req.detail = f"x-amz-Client-Context {value[:30]!r}"
    elif choice == 5:
        req.headers["Content-Type"] = rng.choice(["text/plain", "application/xml", "", "application/x-amz-json-1.1"])
        req.body = rng.choice([b"{", b"[]", b"1", b"\xff", b"null", b"<xml/>", req.body[:len(req.body) // 2],
                               b'{"RecordPatches": {}}', b'{"Events": []}'])
        req.detail = f"body {req.body[:40]!r} as {req.headers['Content-Type']!r}"
    elif choice == 6:
        # a Sync operation called as JSON 1.1 (there is no such target)
        req.headers["X-Amz-Target"] = f"AWSCognitoSyncService.{op.name}"
        req.headers["Content-Type"] = "application/x-amz-json-1.1"
        req.detail = "Sync operation as X-Amz-Target"
    elif choice == 7:
        req.headers["Content-Encoding"] = "gzip"
        req.body = rng.choice([b"\x1f\x8b garbage", gzip.compress(req.body or b"{}")])
        req.detail = "gzip body"
    elif choice == 8:
        req.body = req.body + b" " * 3_000_000
        req.headers.setdefault("Content-Type", "application/json")
        req.detail = f"padded body {len(req.body)} bytes"
    elif choice == 10:
        _raw_garbage(req, rng)
    elif choice == 11 and rng.random() < 0.5:
        query = (query + "&" if query else "") + (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fcognito-sync"
            "%2Faws4_request&X-Amz-Date=" + FIXED_DATE + "&X-Amz-SignedHeaders=host&X-Amz-Signature="
            + rng.choice(["00", "%C3%A9", "", "%00", "zz"]))
        req.headers.pop("Authorization", None)
        req.path = path + "?" + query
        req.detail = "presigned query"
    elif choice == 11:
        req.method = "HEAD"
        req.body = b""
        req.detail = "HEAD"
    else:
        req.headers.pop("Authorization", None)
        req.headers[rng.choice(["Authorization", "X-Amz-Security-Token", "X-Amz-Date"])] = rng.choice(
            ["AWS4-HMAC-SHA256 Credential=AKID/20260101/" + "\u00e9".encode().decode("latin-1") + "/cognito-sync/aws4_request",
             "garbage", "x" * 9000, "AWS4-HMAC-SHA256 Credential=A/B/C/D/E/F/G"])
        req.detail = "auth garbage"


# -- checking answers ---------------------------------------------------------------------------
# Statuses the HTTP server (granian) answers with an empty body when it cannot parse a request.
SERVER_REFUSALS = frozenset({400, 408, 413, 414, 431, 505})

def check_response(status: int, headers, content: bytes, method: str = "POST") -> str | None:
    """Why this answer is wrong, or None."""
    if status >= 500 and status not in SERVER_REFUSALS:
        return f"status {status}"
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if status in SERVER_REFUSALS and not content and not ctype:
        return None  # the HTTP server refused the request before the emulator saw it
    if content.lstrip()[:1] == b"<" or "html" in ctype:
        return "HTML answer"
    if ctype not in JSON_CONTENT_TYPES:
        return f"Content-Type {ctype!r}"
    if method == "HEAD":  # the headers of the GET answer, without its body
        return "HEAD answer with a body" if content else None
    try:
        body = json.loads(content)
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if status >= 300:
        if not isinstance(body.get("__type"), str) or not body["__type"]:
            return "error without __type"
        message = body.get("message", body.get("Message"))
        if not isinstance(message, str):
            return "error without message"
    return None


@dataclasses.dataclass
class Failure:
    request: FuzzRequest
    problem: str
    status: int | None
    response: str

    def line(self) -> str:
        r = self.request
        return (f"#{r.index} {r.service} {r.operation} [{r.kind}: {r.detail[:120]}] {r.method} {r.path[:80]} "
                f"body={r.excerpt(160)} -> {self.status} {self.problem}: {self.response[:200]}")

    def group_key(self) -> tuple:
        """(problem, __type, what the request did): one root cause, usually, whatever the operation."""
        error_type = "-"
        try:
            error_type = json.loads(self.response).get("__type", "-")
        except (ValueError, AttributeError):
            pass
        r = self.request
        what = r.kind
        if r.kind == "protocol":
            what = "protocol: " + " ".join(re.sub(r"\d+", "N", r.detail).split()[:3])
        return (self.problem, error_type, what)


@dataclasses.dataclass
class Result:
    seed: int
    sent: int = 0
    seconds: float = 0.0
    failures: list[Failure] = dataclasses.field(default_factory=list, repr=False)
    statuses: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    kinds: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    operations: set = dataclasses.field(default_factory=set)
    reached: set = dataclasses.field(default_factory=set)  # operations that answered 200 at least once
    slow: list = dataclasses.field(default_factory=list)
    health_problem: str | None = None
    internal_errors_before: int | None = None
    internal_errors_after: int | None = None
    server_log: str = dataclasses.field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures and self.health_problem is None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        grew = (self.internal_errors_after or 0) - (self.internal_errors_before or 0)
        return (f"fuzz: {'OK' if self.ok else 'FAILED'} seed={self.seed} requests={self.sent} "
                f"operations={len(self.operations)} reached_200={len(self.reached)} "
                f"{self.seconds:.1f}s {self.rate:.0f} req/s failures={len(self.failures)} "
                f"internal_errors=+{grew}" + (f" health: {self.health_problem}" if self.health_problem else ""))

    def report(self, limit: int = 40) -> str:
        lines = []
        groups: dict[tuple, list[Failure]] = collections.defaultdict(list)
        for f in sorted(self.failures, key=lambda f: f.request.index):
            groups[f.group_key()].append(f)
        if groups:
            lines.append(f"{len(self.failures)} failures in {len(groups)} groups (problem | __type | request):")
            for key, items in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:limit]:
                ops = sorted({f.request.operation for f in items})
                lines.append(f"- {len(items)} x {key[0]} | {key[1]} | {key[2]} | "
                             f"{', '.join(ops[:6])}{' ...' if len(ops) > 6 else ''}")
                lines.append(f"    {items[0].line()}")
            if len(groups) > limit:
                lines.append(f"  ... {len(groups) - limit} more groups")
        tracebacks = server_errors(self.server_log)
        if tracebacks:
            lines.append("internal errors in the server log (root cause, count):")
            for (where, exc), n in tracebacks.most_common(limit):
                lines.append(f"- {n} x {exc} at {where}")
        if self.slow:
            lines.append("slowest requests: " + ", ".join(
                f"#{i} {op} {s:.1f}s" for s, i, op in sorted(self.slow, reverse=True)[:8]))
        if self.health_problem:
            lines.append(f"health: {self.health_problem}")
        return "\n".join(lines)


_TB_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def server_errors(log: str) -> collections.Counter:
    """(innermost emulator/protocol frame, exception line) of every traceback in a server log."""
    found: collections.Counter = collections.Counter()
    for block in re.split(r"\n(?=\S.*(?:ERROR|Error on request))", log):
        if "Traceback" not in block:
            continue
        lines = block.rstrip().splitlines()
        frames = [m for m in (_TB_FRAME.search(x) for x in lines) if m]
        ours = [m for m in frames if "/site-packages/" not in m.group(1) and "/lib/python" not in m.group(1)]
        frame = (ours or frames or [None])[-1]
        where = f"{os.path.relpath(frame.group(1), ROOT)}:{frame.group(2)} {frame.group(3)}" if frame else "?"
        exc = next((x.strip() for x in reversed(lines) if re.match(r"^\s*[\w.]+(Error|Exception|Exit)\b", x)),
                   lines[-1].strip())
        found[(where, exc[:160])] += 1
    return found


# -- the real resources ----------------------------------------------------------------------------
PASSWORD = "Fuzz-Passw0rd!"
SETUP_KEY, SETUP_SECRET = "AKIAEXAMPLE", "secret"


def create_resources(url: str, sets: int = 3) -> list[dict]:
    """Resource sets whose ids are substituted into requests; set 0 is never given to
    destructive operations."""
    import boto3
    from botocore.config import Config

    def client(name):
        return boto3.client(name, endpoint_url=url, region_name=REGION, aws_access_key_id=SETUP_KEY,
                            aws_secret_access_key=SETUP_SECRET, config=Config(retries={"max_attempts": 1}))

    idp, identity, sync = client("cognito-idp"), client("cognito-identity"), client("cognito-sync")
    out = []
    for n in range(sets):
        tag = uuid.uuid4().hex[:8]
        pool = idp.create_user_pool(PoolName=f"fuzz{n}", AutoVerifiedAttributes=["email"],
                                    DeviceConfiguration={"ChallengeRequiredOnNewDevice": False,
                                                         "DeviceOnlyRememberedOnUserPrompt": True},
                                    Schema=[{"Name": "tier", "AttributeDataType": "String", "Mutable": True}],
                                    UserPoolTags={"fuzz": "1"})["UserPool"]
        flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
                 "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"]
        idp.create_resource_server(UserPoolId=pool["Id"], Identifier=f"https://api{n}.fuzz.example",
                                   Name="api", Scopes=[{"ScopeName": "read", "ScopeDescription": "read"}])
        public = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="public", ExplicitAuthFlows=flows,
            AllowedOAuthFlows=["code", "implicit"], AllowedOAuthScopes=["openid", "email"],
            AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=["https://app.example/cb"],
            SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]
        secret = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="secret", GenerateSecret=True, ExplicitAuthFlows=flows,
            AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=[f"https://api{n}.fuzz.example/read"],
            AllowedOAuthFlowsUserPoolClient=True)["UserPoolClient"]
        idp.create_group(UserPoolId=pool["Id"], GroupName="fuzzers", Precedence=1)
        idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain=f"fuzz-{tag}")
        idp.create_identity_provider(UserPoolId=pool["Id"], ProviderName="Facebook", ProviderType="Facebook",
                                     ProviderDetails={"client_id": "x", "client_secret": "y",
                                                      "authorize_scopes": "email"},
                                     AttributeMapping={"email": "email"})
        users, tokens, device_keys = [], [], []
        for u in range(2):
            name = f"fuzzer{u}-{tag}"
            idp.admin_create_user(UserPoolId=pool["Id"], Username=name, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"},
                                                  {"Name": "email_verified", "Value": "true"}])
            idp.admin_set_user_password(UserPoolId=pool["Id"], Username=name, Password=PASSWORD, Permanent=True)
            idp.admin_add_user_to_group(UserPoolId=pool["Id"], Username=name, GroupName="fuzzers")
            auth = idp.initiate_auth(ClientId=public["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})
            users.append(name)
            tokens.append(auth["AuthenticationResult"])
            device = auth["AuthenticationResult"].get("NewDeviceMetadata")
            if device:
                idp.confirm_device(AccessToken=auth["AuthenticationResult"]["AccessToken"],
                                   DeviceKey=device["DeviceKey"], DeviceName=f"fuzz device {u}",
                                   DeviceSecretVerifierConfig={"PasswordVerifier": base64.b64encode(b"v" * 32).decode(),
                                                               "Salt": base64.b64encode(b"s" * 16).decode()})
                device_keys.append(device["DeviceKey"])
        terms = idp.create_terms(UserPoolId=pool["Id"], ClientId=public["ClientId"], TermsName="terms-of-use",
                                 TermsSource="LINK", Enforcement="NONE",
                                 Links={"cognito:default": "https://app.example/terms"})["Terms"]
        branding = idp.create_managed_login_branding(UserPoolId=pool["Id"], ClientId=public["ClientId"],
                                                     UseCognitoProvidedValues=True)["ManagedLoginBranding"]
        job = idp.create_user_import_job(UserPoolId=pool["Id"], JobName="fuzz",
                                         CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/logs")["UserImportJob"]
        cimd = idp.create_cimd_policy(UserPoolId=pool["Id"], ClientId=public["ClientId"], PolicyName="fuzz",
                                      URLPatterns=["https://*.fuzz.example/client.json"])["CIMDPolicy"]
        provider = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
        ipool = identity.create_identity_pool(
            IdentityPoolName=f"fuzz{n}", AllowUnauthenticatedIdentities=True,
            DeveloperProviderName=f"login.fuzz{n}",
            CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": public["ClientId"]}])
        identity.set_identity_pool_roles(IdentityPoolId=ipool["IdentityPoolId"], Roles={
            "authenticated": "arn:aws:iam::000000000000:role/auth",
            "unauthenticated": "arn:aws:iam::000000000000:role/unauth"})
        unauth = identity.get_id(IdentityPoolId=ipool["IdentityPoolId"])["IdentityId"]
        authed = identity.get_id(IdentityPoolId=ipool["IdentityPoolId"],
                                 Logins={provider: tokens[0]["IdToken"]})["IdentityId"]
        dev = identity.get_open_id_token_for_developer_identity(
            IdentityPoolId=ipool["IdentityPoolId"], Logins={f"login.fuzz{n}": f"dev-{tag}"})["IdentityId"]
        records = sync.list_records(IdentityPoolId=ipool["IdentityPoolId"], IdentityId=unauth,
                                    DatasetName="fuzzset")
        sync.update_records(IdentityPoolId=ipool["IdentityPoolId"], IdentityId=unauth, DatasetName="fuzzset",
                            SyncSessionToken=records["SyncSessionToken"],
                            RecordPatches=[{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
        sync.set_identity_pool_configuration(IdentityPoolId=ipool["IdentityPoolId"], PushSync={
            "ApplicationArns": [f"arn:aws:sns:{REGION}:000000000000:app/GCM/Fuzz"],
            "RoleArn": "arn:aws:iam::000000000000:role/push"})
        creds = identity.get_credentials_for_identity(IdentityId=unauth)["Credentials"]
        as_identity = boto3.client("cognito-sync", endpoint_url=url, region_name=REGION,
                                   aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretKey"],
                                   aws_session_token=creds["SessionToken"],
                                   config=Config(retries={"max_attempts": 1}))
        device = as_identity.register_device(IdentityPoolId=ipool["IdentityPoolId"], IdentityId=unauth,
                                             Platform="GCM", Token="fuzz-device-token")["DeviceId"]
        as_identity.subscribe_to_dataset(IdentityPoolId=ipool["IdentityPoolId"], IdentityId=unauth,
                                         DatasetName="fuzzset", DeviceId=device)
        out.append({
            "pool": [pool["Id"]], "client": [public["ClientId"], secret["ClientId"]],
            "secret": [secret["ClientSecret"]], "username": users,
            "access": [t["AccessToken"] for t in tokens], "refresh": [t["RefreshToken"] for t in tokens],
            "id_token": [t["IdToken"] for t in tokens], "group": ["fuzzers"],
            "rs_identifier": [f"https://api{n}.fuzz.example"], "domain": [f"fuzz-{tag}"],
            "provider": ["Facebook"], "identity_pool": [ipool["IdentityPoolId"]],
            "identity_id": [unauth, authed, dev], "dataset": ["fuzzset"], "device_id": [device],
            "developer_provider": [f"login.fuzz{n}"], "dev_user": [f"dev-{tag}"],
            "arn": [pool["Arn"], f"arn:aws:cognito-identity:{REGION}:000000000000:identitypool/"
                                 f"{ipool['IdentityPoolId']}"],
            "password": [PASSWORD], "device_key": device_keys, "terms_id": [terms["TermsId"]],
            "branding_id": [branding["ManagedLoginBrandingId"]], "job_id": [job["JobId"]],
            "cimd_policy_id": [cimd.get("CIMDPolicyId") or cimd.get("PolicyId")],
            # Sync's identity-only operations want the identity's own credentials
            "identity_credentials": [(unauth, creds["AccessKeyId"], creds["SessionToken"])],
        })
    return out


# -- the server -------------------------------------------------------------------------------
def start_server(strict: bool = False) -> EmulatorProcess:
    """A fresh `cognito-emulator serve --in-memory` of the fuzzer's own (strict: SigV4 verified,
    with the credentials the resources are created with)."""
    args = ["--in-memory"]
    if strict:
        args += ["--verify-signatures", "--credentials", json.dumps({SETUP_KEY: SETUP_SECRET})]
    return EmulatorProcess(*args)


# -- running ------------------------------------------------------------------------------------
@dataclasses.dataclass
class RawResponse:
    status_code: int
    headers: Any
    content: bytes


def send_raw(url: str, data: bytes, timeout: float) -> RawResponse:
    """Write `data` on a new connection, half-close it, and read the answer."""
    host, _, port = url.split("://", 1)[1].partition(":")
    with socket.create_connection((host, int(port or 80)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may answer and close before all of a garbage request is sent
            pass
        response = http.client.HTTPResponse(sock, method="POST")
        try:
            response.begin()
        except (http.client.HTTPException, OSError) as err:
            raise requests.ConnectionError(f"no HTTP answer: {err!r}") from None
        try:
            content = response.read()
        except http.client.IncompleteRead as err:
            content = err.partial
        return RawResponse(response.status, response.headers, content)


def with_date(req: FuzzRequest, stamp: str) -> FuzzRequest:
    """The request with its signing date (X-Amz-Date, credential scope) moved to `stamp`, so that a
    strict server gets past its clock-skew check to the rest of the signature."""
    def moved(value):
        if isinstance(value, bytes):
            return value.replace(FIXED_DATE.encode(), stamp.encode()).replace(b"/20260101/", f"/{stamp[:8]}/".encode())
        return value.replace(FIXED_DATE, stamp).replace("/20260101/", f"/{stamp[:8]}/")
    return dataclasses.replace(req, headers={k: moved(v) for k, v in req.headers.items()},
                               path=moved(req.path).replace("%2F20260101%2F", f"%2F{stamp[:8]}%2F"))


def send(session: requests.Session, url: str, req: FuzzRequest, timeout: float):
    if req.raw is not None:
        return send_raw(url, req.raw, timeout)
    data: Any = req.body
    if req.chunked:  # a generator: requests sends it with Transfer-Encoding: chunked
        data = (req.body[i:i + 7] for i in range(0, len(req.body), 7))
    prepared = requests.Request(req.method, url + "/", headers=req.headers, data=data).prepare()
    prepared.url = url + req.path  # exactly as generated: no re-quoting
    return session.send(prepared, timeout=(10, timeout), allow_redirects=False)


def run(url: str, requests_count: int = 2000, seed: int = 0, threads: int = 8,
        only: list[int] | None = None, kinds: list[str] | None = None, op_filter: str | None = None,
        timeout: float = 60.0, resources: list[dict] | None = None, progress: bool = False,
        log_reader=None, current_dates: bool = False) -> Result:
    """Send the generated requests to the emulator at `url` and check every answer."""
    url = url.rstrip("/")
    result = Result(seed=seed)
    health = requests.get(url + "/_emulator/health", timeout=10).json()
    result.internal_errors_before = health.get("internal_errors")
    emulator_now = requests.get(url + "/_emulator/clock", timeout=10).json()["epoch"] if current_dates else 0
    if resources is None:
        resources = create_resources(url)
    operations = all_operations()
    if op_filter:
        operations = [o for o in operations if re.search(op_filter, f"{o[0]}:{o[1]}")]
    indices = only if only is not None else range(requests_count)
    todo = iter(indices)
    lock = threading.Lock()
    local = threading.local()
    started = time.perf_counter()
    last_note = [started]

    def worker() -> None:
        session = local.session = requests.Session()
        while True:
            with lock:
                index = next(todo, None)
            if index is None:
                return
            req = build_request(index, seed, resources, operations, kinds)
            if current_dates:
                req = with_date(req, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(emulator_now)))
            t0 = time.perf_counter()
            for attempt in (1, 2):
                try:
                    response = send(session, url, req, timeout)
                    status, problem = response.status_code, check_response(
                        response.status_code, response.headers, response.content, req.method)
                    text = response.content[:400].decode("utf-8", "replace")
                except requests.RequestException as err:
                    status, problem, text = None, f"no answer ({type(err).__name__})", str(err)[:300]
                    if req.kind == "protocol":  # a request that is not HTTP may be answered by closing
                        problem = None
                    session = local.session = requests.Session()
                    # A kept-alive connection the server had closed after refusing the previous
                    # request (granian closes after its own refusals) may take this one: sent again
                    # on a new connection, only a request the server itself drops fails.
                    if attempt == 1 and req.kind != "protocol":
                        continue
                break
            elapsed = time.perf_counter() - t0
            with lock:
                result.sent += 1
                result.statuses[status] += 1
                result.kinds[req.kind] += 1
                result.operations.add(f"{req.service}:{req.operation}")
                if status is not None and 200 <= status < 300:
                    result.reached.add(f"{req.service}:{req.operation}")
                if elapsed > 5:
                    result.slow.append((elapsed, index, req.operation))
                if problem:
                    result.failures.append(Failure(req, problem, status, text))
                if progress and time.perf_counter() - last_note[0] > 10:
                    last_note[0] = time.perf_counter()
                    print(f"  ... {result.sent} sent, {len(result.failures)} failures, "
                          f"{result.sent / (last_note[0] - started):.0f} req/s", file=sys.stderr, flush=True)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result.seconds = time.perf_counter() - started
    try:
        health = requests.get(url + "/_emulator/health", timeout=10)
        body = health.json()
        result.internal_errors_after = body.get("internal_errors")
        if health.status_code != 200 or body.get("status") != "ok":
            result.health_problem = f"/_emulator/health answered {health.status_code} {health.text[:200]}"
        elif result.internal_errors_after != result.internal_errors_before:
            result.health_problem = (f"internal_errors grew from {result.internal_errors_before} "
                                     f"to {result.internal_errors_after}")
    except (requests.RequestException, ValueError) as err:
        result.health_problem = f"/_emulator/health unreachable: {err}"
    if log_reader is not None:
        result.server_log = log_reader()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="how many requests (default 20000)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: random, printed)")
    parser.add_argument("--url", help="an emulator to fuzz (default: start a fresh --in-memory one)")
    parser.add_argument("--strict", action="store_true",
                        help="start the emulator with --verify-signatures (requests then fail their signature check)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", help="comma-separated request indices to send (replay)")
    parser.add_argument("--kinds", help="comma-separated kinds: " + ",".join(k for k, _ in KIND_WEIGHTS))
    parser.add_argument("--ops", help="regular expression on 'service:Operation'")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--report", type=int, default=40, help="how many failure groups to print")
    parser.add_argument("--save-failures", help="write every failing request as JSON lines here")
    parser.add_argument("--verbose", action="store_true", help="also list the operations never answered 200")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10 ** 6)
    only = [int(x) for x in args.only.split(",")] if args.only else None
    kinds = args.kinds.split(",") if args.kinds else None
    server = None if args.url else start_server(strict=args.strict)
    url = args.url or server.url
    print(f"fuzzing {url} with seed {seed} ({args.requests if only is None else len(only)} requests, "
          f"{args.threads} threads)", file=sys.stderr, flush=True)
    try:
        result = run(url, args.requests, seed, args.threads, only, kinds, args.ops, args.timeout,
                     progress=True, log_reader=server.log if server else None, current_dates=args.strict)
    finally:
        if server:
            server.stop()
    if server and server.proc.returncode not in (0, -15, None):
        result.health_problem = f"server exited with {server.proc.returncode}"
    if args.save_failures:
        with open(args.save_failures, "w") as out:
            for f in result.failures:
                r = f.request
                body = r.body
                out.write(json.dumps({"index": r.index, "seed": seed, "service": r.service,
                                      "operation": r.operation, "kind": r.kind, "detail": r.detail,
                                      "method": r.method, "path": r.path,
                                      "headers": {k: v if isinstance(v, str) else v.decode("latin-1")
                                                  for k, v in r.headers.items()},
                                      "body_base64": base64.b64encode(body).decode(), "status": f.status,
                                      "problem": f.problem, "response": f.response}) + "\n")
    report = result.report(args.report)
    if report:
        print(report)
    if server and not result.ok:
        print(f"server log: {server.log_path}")
    elif server:
        server.log_path.unlink(missing_ok=True)
    print(f"statuses: {dict(sorted(result.statuses.items(), key=lambda kv: str(kv[0])))}")
    if args.verbose:
        print("never answered 200: " + " ".join(sorted(result.operations - result.reached)))
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
