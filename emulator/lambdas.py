"""How a Lambda ARN from a pool's LambdaConfig (or a Sync trigger) is invoked.

Interface used by every caller: `invoke(config, function_arn, payload, timeout=None, attempts=1)
-> dict` returns the function's JSON response, or raises LambdaError whose `kind` says what went
wrong: "not_found" (no way to invoke that ARN), "function_error" (the function threw; `message`
is its error message), "unreachable", "timeout", "throttled" and "service_error" (`message` is
the Lambda error type, e.g. TooManyRequestsException), "bad_response" (not a JSON object).
`timeout` defaults to the `lambda_timeout` setting (5 seconds, as Cognito waits). With
`attempts` > 1 a timed out, throttled or service-failed invocation is tried again, up to
`attempts` in all; a function error is never retried (Cognito's rule for user pool triggers).

A function is found, in this order, by its full ARN then by its name in:
1. the config file (`--config-file`, JSON or TOML), table `lambdas`:
   `{"lambdas": {"<arn or name>": {"url": "http://..."} | {"callable": "pkg.module:function"}}}`;
2. the environment: `COGNITO_EMULATOR_LAMBDA_<NAME>` = a URL or `pkg.module:function`, where
   NAME is the function name upper-cased with every other character than A-Z and 0-9 as `_`;
3. the Lambda Invoke API at `--lambda-endpoint` (LocalStack, `sam local start-lambda`).

A URL answering HTTP 429 is a throttled function and 502, 503 or 504 a Lambda service error;
any other non-2xx answer is the function's error (message from `errorMessage` or `message`).
"""

from __future__ import annotations

import concurrent.futures
import importlib
import json
import logging
import os
import re
import socket
import threading
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from emulator.config import Config

log = logging.getLogger("cognito_emulator.lambdas")

DEFAULT_CREDENTIALS = ("test", "test")
DEFAULT_TIMEOUT = 5.0
RETRIED = frozenset({"timeout", "throttled", "service_error"})
_ENV_PREFIX = "COGNITO_EMULATOR_LAMBDA_"
# COGNITO_EMULATOR_LAMBDA_ENDPOINT and _TIMEOUT are the --lambda-endpoint and --lambda-timeout settings
_RESERVED_ENV = {"ENDPOINT", "TIMEOUT"}
_ARN = re.compile(r"^arn:[^:]+:lambda:([^:]*):([^:]*):function:([^:]+)(?::([^:]+))?$")
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

# Told of every invocation once it is over (the console's trigger log):
# observer(config, function_arn, payload, response or None, error message or None, seconds).
observers: list[Any] = []


class LambdaError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def function_name(function_arn: str) -> str:
    """The function name from an ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`), or the text."""
    match = _ARN.match(function_arn)
    return match.group(3) if match else function_arn.split(":", 1)[0]


def is_function_arn(text: str) -> bool:
    """True for `arn:aws:lambda:{region}:{account}:function:{name}[:qualifier]`."""
    return _ARN.match(text) is not None


def env_variable(name: str) -> str:
    """The environment variable that maps function `name` to a URL or callable."""
    return _ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


def invoke(config: Config, function_arn: str, payload: dict, timeout: float | None = None, attempts: int = 1) -> dict:
    """Invoke the function named by `function_arn` with `payload` (RequestResponse), trying up
    to `attempts` times when an attempt times out, is throttled or meets a service error."""
    if timeout is None:
        timeout = float(config.lambda_timeout or DEFAULT_TIMEOUT)
    attempt = 1
    started = time.perf_counter()
    while True:
        try:
            result = _invoke_once(config, function_arn, payload, timeout)
            _tell_observers(config, function_arn, payload, result, None, started)
            return result
        except LambdaError as err:
            if err.kind not in RETRIED or attempt >= attempts:
                _tell_observers(config, function_arn, payload, None, str(err), started)
                raise
            log.info("invocation %d of %s failed (%s); retrying", attempt, function_arn, err)
            attempt += 1


def _tell_observers(config: Config, function_arn: str, payload: dict, result: dict | None, error: str | None,
                    started: float) -> None:
    for observe in observers:
        try:
            observe(config, function_arn, payload, result, error, time.perf_counter() - started)
        except Exception:  # an observer never fails the invocation
            log.debug("lambda observer failed", exc_info=True)


def _invoke_once(config: Config, function_arn: str, payload: dict, timeout: float) -> dict:
    target = resolve(config, function_arn)
    if target is None:
        if config.lambda_endpoint:
            return _invoke_api(config.lambda_endpoint, function_arn, payload, timeout)
        raise LambdaError("not_found", f"Function not found: {function_arn}")
    kind, value = target
    if kind == "url":
        return _invoke_url(value, payload, timeout)
    return _invoke_callable(value, function_arn, payload, timeout)


def resolve(config: Config, function_arn: str) -> tuple[str, str] | None:
    """("url", URL) or ("callable", "pkg.module:function") for the ARN, or None."""
    name = function_name(function_arn)
    mapping = _file_mapping(config.config_file)
    for key in (function_arn, name):
        entry = mapping.get(key)
        if entry is not None:
            return entry
    variable = env_variable(name)
    if variable[len(_ENV_PREFIX):] not in _RESERVED_ENV:
        text = os.environ.get(variable, "").strip()
        if text:
            return _target(text, variable)
    return None


# -- the config file -----------------------------------------------------------------
_file_cache: dict[str, tuple[float, dict[str, tuple[str, str]]]] = {}
_file_lock = threading.Lock()


def load_config_file(path: str) -> dict[str, Any]:
    """The parsed config file (TOML when it ends in .toml, else JSON)."""
    with open(path, "rb") as f:
        data = f.read()
    if path.lower().endswith(".toml"):
        return tomllib.loads(data.decode())
    return json.loads(data)


def _file_mapping(path: str | None) -> dict[str, tuple[str, str]]:
    if not path:
        return {}
    try:
        mtime = os.stat(path).st_mtime
    except OSError as err:
        raise LambdaError("not_found", f"Config file {path} cannot be read: {err}") from None
    with _file_lock:
        cached = _file_cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        document = load_config_file(path)
    except (OSError, ValueError) as err:
        raise LambdaError("not_found", f"Config file {path} is not valid JSON or TOML: {err}") from None
    mapping: dict[str, tuple[str, str]] = {}
    for key, entry in ((document or {}).get("lambdas") or {}).items():
        if isinstance(entry, str):
            mapping[key] = _target(entry, f"lambdas.{key}")
        elif isinstance(entry, dict) and isinstance(entry.get("url"), str):
            mapping[key] = ("url", entry["url"])
        elif isinstance(entry, dict) and isinstance(entry.get("callable"), str):
            mapping[key] = ("callable", entry["callable"])
        else:
            raise LambdaError("not_found", f'Config file {path}: lambdas.{key} needs "url" or "callable"')
    with _file_lock:
        _file_cache[path] = (mtime, mapping)
    return mapping


def _target(text: str, where: str) -> tuple[str, str]:
    if text.startswith(("http://", "https://")):
        return ("url", text)
    if _CALLABLE.match(text):
        return ("callable", text)
    raise LambdaError("not_found", f"{where}: {text!r} is neither a URL nor package.module:function")


# -- the three ways ------------------------------------------------------------------
def _invoke_callable(spec: str, function_arn: str, payload: dict, timeout: float) -> dict:
    module_name, _, attr = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise LambdaError("not_found", f"Function not found: {function_arn} ({spec}: {err})") from None
    context = LambdaContext(function_arn, timeout)
    event = json.loads(json.dumps(payload))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda")
    future = pool.submit(func, event, context)
    pool.shutdown(wait=False)
    try:
        result = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        raise LambdaError("timeout", f"Task timed out after {timeout:.2f} seconds") from None
    except Exception as exc:  # the function threw: that is its error message
        raise LambdaError("function_error", str(exc)) from None
    try:
        result = json.loads(json.dumps(result))
    except (TypeError, ValueError) as err:
        raise LambdaError("bad_response", f"The function's result is not JSON: {err}") from None
    return _object(result)


def _invoke_url(url: str, payload: dict, timeout: float) -> dict:
    status, headers, body = _post(url, json.dumps(payload).encode(), {"Content-Type": "application/json"},
                                  timeout)
    if status == 429:
        raise LambdaError("throttled", "TooManyRequestsException")
    if status in (502, 503, 504):
        raise LambdaError("service_error", "ServiceException")
    if not 200 <= status < 300:
        raise LambdaError("function_error", _error_message(body) or f"HTTP {status}")
    return _object(_parse(body))


def _invoke_api(endpoint: str, function_arn: str, payload: dict, timeout: float) -> dict:
    match = _ARN.match(function_arn)
    name = match.group(3) if match else function_arn
    region = (match.group(1) if match else "") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    url = endpoint.rstrip("/") + "/2015-03-31/functions/" + urllib.parse.quote(name, safe="") + "/invocations"
    if match and match.group(4):
        url += "?Qualifier=" + urllib.parse.quote(match.group(4), safe="")
    body = json.dumps(payload).encode()
    headers = signed_headers("POST", url, body, "lambda", region, {
        "Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"})
    status, response_headers, response = _post(url, body, headers, timeout)
    if status == 404:
        raise LambdaError("not_found", _error_message(response) or f"Function not found: {function_arn}")
    if response_headers.get("X-Amz-Function-Error"):
        raise LambdaError("function_error", _error_message(response) or response.decode(errors="replace"))
    if status == 429:
        raise LambdaError("throttled", _error_type(response_headers) or "TooManyRequestsException")
    if status >= 500:
        raise LambdaError("service_error", _error_type(response_headers) or "ServiceException")
    if not 200 <= status < 300:
        raise LambdaError("unreachable", f"Lambda endpoint answered HTTP {status}: "
                          f"{_error_message(response) or response.decode(errors='replace')[:200]}")
    return _object(_parse(response))


def signed_headers(method: str, url: str, body: bytes, service: str, region: str,
                   headers: dict[str, str]) -> dict[str, str]:
    """`headers` plus a SigV4 signature (credentials from AWS_* variables, else dummy ones)."""
    access_key = os.environ.get("AWS_ACCESS_KEY_ID") or DEFAULT_CREDENTIALS[0]
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY") or DEFAULT_CREDENTIALS[1]
    token = os.environ.get("AWS_SESSION_TOKEN") if os.environ.get("AWS_ACCESS_KEY_ID") else None
    # botocore's signer is imported when first needed: it would add 30 ms to every start.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    SigV4Auth(Credentials(access_key, secret_key, token), service, region).add_auth(request)
    return dict(request.headers.items())


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()
    except TimeoutError:
        raise LambdaError("timeout", f"Task timed out after {timeout:.2f} seconds") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (TimeoutError, socket.timeout)):
            raise LambdaError("timeout", f"Task timed out after {timeout:.2f} seconds") from None
        raise LambdaError("unreachable", f"{url}: {err.reason}") from None
    except (OSError, ValueError) as err:
        raise LambdaError("unreachable", f"{url}: {err}") from None


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise LambdaError("bad_response", "The function's response is not JSON.") from None


def _object(value: Any) -> dict:
    if not isinstance(value, dict):
        raise LambdaError("bad_response", "The function's response is not a JSON object.")
    return value


def _error_type(headers) -> str | None:
    """The Lambda API's error type (x-amzn-ErrorType, without its ':…' suffix)."""
    text = (headers.get("x-amzn-ErrorType") or "").split(":", 1)[0].strip()
    return text or None


def _error_message(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body.decode(errors="replace").strip()
        return text or None
    if isinstance(parsed, dict):
        for key in ("errorMessage", "message", "Message"):
            if isinstance(parsed.get(key), str):
                return parsed[key]
    if isinstance(parsed, str):
        return parsed
    return None


class LambdaContext:
    """The `context` argument a Python callable receives, like the Lambda runtime's."""

    def __init__(self, function_arn: str, timeout: float) -> None:
        self.function_name = function_name(function_arn)
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
