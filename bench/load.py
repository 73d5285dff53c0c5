"""Load generation for the benchmark: a raw JSON client, wrk, and a Python fallback.

Every request is a cognito-idp JSON call over a keep-alive HTTP/1.1 connection, with a syntactically
valid but unchecked SigV4 Authorization header (neither the emulator by default nor its peers verify
signatures; they read the region from it). Bodies come from `Spec`s: a JSON template in which `{n}`
is replaced per request, so that reads spread over the pool's users and creates never collide.

- `wrk` (when /usr/bin/wrk or another wrk is on PATH) drives single-request operations: it is written
  in C, so the client takes little of the machine's two cores from the server.
- `python_load` does the same from Python processes (two, each with threads), when wrk is missing.
- `srp_load` runs full USER_SRP_AUTH logins (InitiateAuth + RespondToAuthChallenge PASSWORD_VERIFIER)
  from Python processes, with the client's SRP math done by gmpy2 (pycognito's formulas).
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REGION = "us-east-1"
TARGET_PREFIX = {"cognito-idp": "AWSCognitoIdentityProviderService.",
                 "cognito-identity": "AWSCognitoIdentityService."}
AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=AKIABENCHMARK/20250101/{region}/{service}/aws4_request, "
                 "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64)


def headers(action: str | None, service: str = "cognito-idp") -> dict[str, str]:
    """The headers of one JSON call (action None: a plain JSON POST, for the hello-world apps)."""
    result = {"Content-Type": "application/x-amz-json-1.1"}
    if action:
        result.update({"X-Amz-Target": TARGET_PREFIX[service] + action, "X-Amz-Date": "20250101T000000Z",
                       "Authorization": AUTHORIZATION.format(region=REGION, service=service)})
    return result


# ---------------------------------------------------------------------------------------------
# One client


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.status = status
        self.code = code
        self.message = message


class Api:
    """A cognito-idp client over one keep-alive connection, for setting up and checking (the load
    itself is wrk's or python_load's). No retries, except that a request sent on a kept-alive
    connection which the server had closed while it was idle is sent again on a new one."""

    def __init__(self, url: str, timeout: float = 120.0, service: str = "cognito-idp") -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.service = service
        self.conn: http.client.HTTPConnection | None = None

    def raw(self, method: str, path: str, body: bytes, hdrs: dict[str, str]) -> tuple[int, bytes]:
        fresh = self.conn is None
        if fresh:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body, hdrs)
        except (ConnectionError, http.client.HTTPException):
            self.close()
            if fresh:
                raise
            return self.raw(method, path, body, hdrs)     # the idle connection was closed: nothing was sent
        try:
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if fresh:
                raise
            # a kept-alive connection the server closed while it was idle: it did not read the request
            return self.raw(method, path, body, hdrs)
        except Exception:
            self.close()
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data

    def call(self, action: str, body: dict) -> dict:
        status, data = self.raw("POST", "/", json.dumps(body).encode(), headers(action, self.service))
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            answer = {"message": data[:300].decode(errors="replace")}
        if status != 200:
            code = str(answer.get("__type") or answer.get("code") or f"HTTP {status}").rsplit("#", 1)[-1]
            raise ApiError(status, code, str(answer.get("message") or answer.get("Message") or ""))
        return answer

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------------------------------------
# Request specs and results


@dataclass
class Spec:
    """One kind of request. `{n}` in the template becomes, per request:
    - mode "fixed": nothing (the body is sent as is);
    - mode "cycle": a six-digit number below `population` (user000000 ... spread over the pool);
    - mode "unique": a token unique to the benchmark (r<load>t<thread>n<counter>), for creates."""

    action: str | None
    template: str
    mode: str = "fixed"
    population: int = 1
    path: str = "/"

    def body(self, thread: int, counter: int, nonce: str = "") -> str:
        if self.mode == "fixed":
            return self.template
        if self.mode == "cycle":
            token = f"{(thread * 7919 + counter) % self.population:06d}"
        else:
            token = f"{nonce}t{thread}n{counter}"
        return self.template.replace("{n}", token)


def spec(action: str | None, body: dict, mode: str = "fixed", population: int = 1) -> Spec:
    return Spec(action, json.dumps(body), mode, population)


_nonces = itertools.count(1)


def next_nonce() -> str:
    """A prefix that makes the "unique" tokens of one load differ from every other load's."""
    return f"r{next(_nonces)}"


@dataclass
class Load:
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0                      # non-2xx answers, socket errors and timeouts
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    tool: str = ""
    details: list[str] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)     # of every run, when several were made
    all_requests: int = 0                # over every run
    all_errors: int = 0

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def add(self, other: Load) -> Load:
        """Two loads run at the same time (their rates add up)."""
        seconds = max(self.seconds, other.seconds)
        return Load(self.requests + other.requests, seconds, self.errors + other.errors,
                    max(self.p50_ms, other.p50_ms), max(self.p99_ms, other.p99_ms), self.tool or other.tool)


# ---------------------------------------------------------------------------------------------
# wrk

WRK_SCRIPT = r"""
local specs = {
%(specs)s
}
local nonce = %(nonce)s
wrk.method = "POST"
local counter = 0
local threads = 0
local prepared = {}

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  tid = tid or 0
  for i, s in ipairs(specs) do
    if s.mode == "fixed" then prepared[i] = wrk.format("POST", s.path, s.headers, s.template) end
  end
end

function request()
  counter = counter + 1
  local i = (counter %% #specs) + 1
  if prepared[i] then return prepared[i] end
  local s = specs[i]
  local token
  if s.mode == "cycle" then
    token = string.format("%%06d", (tid * 7919 + counter) %% s.population)
  else
    token = nonce .. "t" .. tid .. "n" .. counter
  end
  return wrk.format("POST", s.path, s.headers, (string.gsub(s.template, "{n}", token)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\": %%d, \"duration_us\": %%d, \"connect\": %%d, \"read\": %%d, \"write\": %%d, " ..
    "\"status\": %%d, \"timeout\": %%d, \"p50_us\": %%d, \"p99_us\": %%d}\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(text: str) -> str:
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if not path:
        return ""
    out = subprocess.run([path, "-v"], capture_output=True, text=True)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "wrk"


def wrk_script(specs: list[Spec], nonce: str) -> str:
    entries = []
    for s in specs:
        hdrs = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers(s.action).items())
        entries.append(f"  {{path = {lua_string(s.path)}, mode = {lua_string(s.mode)}, population = "
                       f"{max(1, s.population)}, headers = {{{hdrs}}}, template = {lua_string(s.template)}}},")
    return WRK_SCRIPT % {"specs": "\n".join(entries), "nonce": lua_string(nonce)}


def wrk_load(url: str, specs: list[Spec], connections: int, seconds: float, timeout: float = 30.0) -> Load:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "load.lua"
        script.write_text(wrk_script(specs, next_nonce()))
        cmd = [wrk_path() or "wrk", "-t", str(min(2, connections)), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "--timeout", f"{timeout:.0f}s", "-s", str(script), url + "/"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout + 30)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {(out.stderr or out.stdout)[-500:]}")
    r = json.loads(line.split(" ", 1)[1])
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    details = [f"{r[k]} {k}" for k in ("status", "timeout", "connect", "read", "write") if r[k]]
    return Load(r["requests"], r["duration_us"] / 1e6, min(errors, r["requests"]), r["p50_us"] / 1000,
                r["p99_us"] / 1000, "wrk", details)


# ---------------------------------------------------------------------------------------------
# The Python load generator (processes x threads, one keep-alive connection per thread)


def _processes(connections: int) -> tuple[int, int]:
    """(processes, threads per process) for `connections` connections on this machine."""
    procs = max(1, min(connections, len(os.sched_getaffinity(0))))
    return procs, max(1, connections // procs)


def _run_in_processes(worker, args: tuple, connections: int) -> list:
    procs, threads = _processes(connections)
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(procs, mp_context=context) as pool:
        futures = [pool.submit(worker, index, threads, *args) for index in range(procs)]
        return [f.result() for f in futures]


def _threads(threads: int, fn) -> list:
    results: list = [None] * threads

    def run(i: int) -> None:
        results[i] = fn(i)
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return results


def _http_process(index: int, threads: int, url: str, specs: list[Spec], seconds: float, nonce: str) -> tuple:
    deadline = time.monotonic() + seconds

    def thread(t: int) -> tuple[int, int, list[float], str]:
        api, tid = Api(url, timeout=60), index * 100 + t + 1
        count = errors = 0
        samples: list[float] = []
        first = ""
        for counter in range(1, 1 << 40):
            if time.monotonic() >= deadline:
                break
            s = specs[counter % len(specs)]
            began = time.perf_counter()
            try:
                status, data = api.raw("POST", s.path, s.body(tid, counter, nonce).encode(), headers(s.action))
            except Exception as error:  # noqa: BLE001  (counted as an error, like wrk's socket errors)
                status, data = 0, str(error).encode()
                api.close()
            samples.append(time.perf_counter() - began)
            count += 1
            if not 200 <= status < 400:
                errors += 1
                first = first or f"{status} {data[:200].decode(errors='replace')}"
        api.close()
        return count, errors, samples, first
    began = time.perf_counter()
    results = _threads(threads, thread)
    return results, time.perf_counter() - began


def python_load(url: str, specs: list[Spec], connections: int, seconds: float) -> Load:
    parts = _run_in_processes(_http_process, (url, specs, seconds, next_nonce()), connections)
    return _merged(parts, "python")


def _merged(parts, tool: str) -> Load:
    """One Load from the processes' (results, elapsed) parts."""
    load = Load(tool=tool)
    samples: list[float] = []
    for results, elapsed in parts:
        load.seconds = max(load.seconds, elapsed)
        for count, errors, times, first in results:
            load.requests += count
            load.errors += errors
            samples += times
            if first and first not in load.details:
                load.details.append(first)
    if samples:
        samples.sort()
        load.p50_ms = statistics.median(samples) * 1000
        load.p99_ms = samples[min(len(samples) - 1, int(0.99 * len(samples)))] * 1000
    return load


def median_load(run, runs: int) -> Load:
    """`runs` loads one after the other (each on new connections, which the kernel spreads over the
    server's worker processes anew); the one with the median rate, with every run's rate and errors."""
    loads = [run() for _ in range(max(1, runs))]
    chosen = sorted(loads, key=lambda load: load.rate)[len(loads) // 2]
    chosen.rates = [load.rate for load in loads]
    chosen.all_requests = sum(load.requests for load in loads)
    chosen.all_errors = sum(load.errors for load in loads)
    chosen.details = list(dict.fromkeys(d for load in loads for d in load.details))
    return chosen


def http_load(url: str, specs: list[Spec], connections: int, seconds: float) -> Load:
    """wrk when installed, else the Python load generator."""
    if wrk_path():
        return wrk_load(url, specs, connections, seconds)
    return python_load(url, specs, connections, seconds)


def load_tool() -> str:
    return wrk_version() or "the Python load generator (wrk not found)"


# ---------------------------------------------------------------------------------------------
# SRP logins (pycognito's formulas, with gmpy2's modular exponentiation)

try:
    from gmpy2 import mpz, powmod
except ImportError:  # pragma: no cover - gmpy2 is a dependency of the emulator
    mpz = int

    def powmod(base, exponent, modulus):
        return pow(base, exponent, modulus)


class SrpClient:
    """USER_SRP_AUTH: InitiateAuth with SRP_A, then RespondToAuthChallenge PASSWORD_VERIFIER."""

    def __init__(self, pool_id: str, client_id: str) -> None:
        from pycognito import aws_srp
        self.h = aws_srp
        self.pool_id, self.client_id = pool_id, client_id
        self.pool_suffix = pool_id.split("_", 1)[1]
        self.big_n = mpz(aws_srp.hex_to_long(aws_srp.N_HEX))
        self.g = mpz(2)
        self.k = mpz(aws_srp.hex_to_long(aws_srp.hex_hash("00" + aws_srp.N_HEX + "0" + aws_srp.G_HEX)))
        self._gx: dict[tuple[str, str, str], tuple[int, object]] = {}
        self._a: tuple[object, int] | None = None

    def _x(self, salt: str, user_id: str, password: str) -> tuple[int, object]:
        key = (salt, user_id, password)
        if key not in self._gx:
            h = self.h
            inner = h.hash_sha256(f"{self.pool_suffix}{user_id}:{password}".encode())
            x = h.hex_to_long(h.hex_hash(h.pad_hex(salt) + inner))
            self._gx[key] = (x, powmod(self.g, x, self.big_n))
        return self._gx[key]

    def ephemeral(self) -> tuple[object, int]:
        """The client's secret a and public A = g^a. A client makes a new pair per login; this one
        keeps its pair for its whole run (the server's work is the same: it cannot tell), so that
        the client's share of the machine's cores is one modular exponentiation per login, not two."""
        if self._a is None:
            small_a = mpz(self.h.get_random(128)) % self.big_n
            self._a = (small_a, int(powmod(self.g, small_a, self.big_n)))
        return self._a

    def login(self, api: Api, username: str, password: str) -> dict:
        h = self.h
        small_a, big_a = self.ephemeral()
        answer = api.call("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "ClientId": self.client_id,
                                           "AuthParameters": {"USERNAME": username, "SRP_A": f"{big_a:x}"}})
        if answer.get("ChallengeName") != "PASSWORD_VERIFIER":
            raise RuntimeError(f"InitiateAuth answered challenge {answer.get('ChallengeName')!r}")
        params = answer["ChallengeParameters"]
        user_id = params["USER_ID_FOR_SRP"]
        big_b = h.hex_to_long(params["SRP_B"])
        u = h.calculate_u(big_a, big_b)
        x, gx = self._x(params["SALT"], user_id, password)
        s = int(powmod((big_b - self.k * gx) % self.big_n, small_a + u * x, self.big_n))
        key = h.compute_hkdf(bytearray.fromhex(h.pad_hex(s)), bytearray.fromhex(h.pad_hex(h.long_to_hex(u))))
        timestamp = h.AWSSRP.get_cognito_formatted_timestamp(datetime.datetime.now(datetime.UTC))
        message = (self.pool_suffix.encode() + user_id.encode() + base64.standard_b64decode(params["SECRET_BLOCK"])
                   + timestamp.encode())
        signature = base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        answer = api.call("RespondToAuthChallenge", {
            "ClientId": self.client_id, "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": {"TIMESTAMP": timestamp, "USERNAME": params.get("USERNAME", username),
                                   "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
                                   "PASSWORD_CLAIM_SIGNATURE": signature}})
        if not (answer.get("AuthenticationResult") or {}).get("AccessToken"):
            raise RuntimeError(f"no tokens in the answer: {sorted(answer)}")
        return answer


def _srp_process(index: int, threads: int, url: str, pool_id: str, client_id: str, username: str,
                 password: str, seconds: float) -> tuple:
    deadline = time.monotonic() + seconds

    def thread(_t: int) -> tuple[int, int, list[float], str]:
        api, srp = Api(url, timeout=60), SrpClient(pool_id, client_id)
        count = errors = 0
        samples: list[float] = []
        first = ""
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                srp.login(api, username, password)
            except Exception as error:  # noqa: BLE001  (counted, the first one is shown)
                errors += 1
                first = first or f"{type(error).__name__}: {error}"
                api.close()
            samples.append(time.perf_counter() - began)
            count += 1
        api.close()
        return count, errors, samples, first
    began = time.perf_counter()
    results = _threads(threads, thread)
    return results, time.perf_counter() - began


def srp_load(url: str, pool_id: str, client_id: str, username: str, password: str, connections: int,
             seconds: float) -> Load:
    parts = _run_in_processes(_srp_process, (url, pool_id, client_id, username, password, seconds), connections)
    return _merged(parts, "python SRP")


def srp_client_cost(pool_id: str, repetitions: int = 50) -> float:
    """Seconds of client CPU per login for the SRP math alone (no network, no JSON), for the notes."""
    srp = SrpClient(pool_id, "x")
    h = srp.h
    began = time.process_time()
    for _ in range(repetitions):
        small_a, big_a = srp.ephemeral()
        x, gx = srp._x("00ff", "someone", "password")
        u = h.calculate_u(big_a, big_a + 12345)
        int(powmod((big_a - srp.k * gx) % srp.big_n, small_a + u * x, srp.big_n))
    return (time.process_time() - began) / repetitions
