"""The model-driven fuzzer (tests/fuzz.py), short: a few thousand generated requests over every
operation of cognito-idp, cognito-identity and cognito-sync against an emulator of its own.
Every answer must be JSON with a status below 500, and the server must count no internal error.

The long run: `python -m tests.fuzz --requests 20000` (make fuzz). COGNITO_FUZZ_SEED and
COGNITO_FUZZ_REQUESTS change this test's seed and size.
"""

from __future__ import annotations

import os

import fuzz
import pytest
from conftest import EmulatorProcess

SEED = int(os.environ.get("COGNITO_FUZZ_SEED", "20260101"))
REQUESTS = int(os.environ.get("COGNITO_FUZZ_REQUESTS", "3000"))


@pytest.fixture(scope="module")
def fuzz_server():
    """An emulator of the fuzzer's own, so that a crash takes down no other test."""
    server = EmulatorProcess("--in-memory")
    yield server
    server.stop()


def test_generated_requests_never_break_the_server(fuzz_server):
    result = fuzz.run(fuzz_server.url, REQUESTS, SEED, threads=8, log_reader=fuzz_server.log)
    print(result.summary())
    if not result.ok:
        pytest.fail(f"{result.report()}\n{result.summary()}\n"
                    f"replay one: python -m tests.fuzz --seed {SEED} --only <#>", pytrace=False)
    assert len(result.operations) == len(fuzz.all_operations())
    assert fuzz_server.proc.poll() is None


def test_generation_is_reproducible():
    resources = [{"pool": ["us-east-1_abc"], "client": ["c1"], "username": ["u"], "password": ["p"]}]
    for index in (0, 1, 57, 999):
        one, two = fuzz.build_request(index, 7, resources), fuzz.build_request(index, 7, resources)
        assert (one.operation, one.kind, one.method, one.path, one.headers, one.body, one.raw) == \
               (two.operation, two.kind, two.method, two.path, two.headers, two.body, two.raw)


def test_every_operation_comes_in_turn():
    n = len(fuzz.all_operations())
    assert len({(r.service, r.operation) for r in (fuzz.build_request(i, 3, None) for i in range(n))}) == n


@pytest.mark.parametrize("status, ctype, body, method, problem", [
    (200, "application/x-amz-json-1.1", b"{}", "POST", None),
    (400, "application/x-amz-json-1.1", b'{"__type": "X", "message": "m"}', "POST", None),
    (400, "application/json", b'{"__type": "X", "Message": "m"}', "GET", None),
    (404, "application/json", b"", "HEAD", None),
    (500, "application/json", b'{"__type": "X", "message": "m"}', "POST", "status 500"),
    (400, "text/html", b"<html></html>", "POST", "HTML answer"),
    (400, "application/json", b"<!DOCTYPE HTML>", "POST", "HTML answer"),
    (400, "text/plain", b"", "POST", "Content-Type 'text/plain'"),
    (400, "application/json", b"{", "POST", "body is not JSON"),
    (400, "application/json", b"[]", "POST", "body is not a JSON object"),
    (400, "application/json", b'{"message": "m"}', "POST", "error without __type"),
    (400, "application/json", b'{"__type": "X"}', "POST", "error without message"),
])
def test_answer_checks(status, ctype, body, method, problem):
    assert fuzz.check_response(status, {"Content-Type": ctype}, body, method) == problem
