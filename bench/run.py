"""`make bench`: the emulator's speed, side by side with moto_server and cognito-local, in one run.

Sections (see bench/README.md for how each is measured and how to read it):

1. server stacks: a hello-world Flask app under werkzeug's threaded dev server, gunicorn gthread and
   granian, and how close the emulator's AdminGetUser comes to hello-world on its own stack;
2. point operations at each pool size (--users, default 1,000 and 100,000 users): AdminGetUser,
   GetUser, InitiateAuth USER_PASSWORD_AUTH, full USER_SRP_AUTH logins, SignUp and AdminCreateUser on
   an empty pool, a write mix; ListUsers Filter email = "..." latency; the time to populate the pool;
   the memory of each worker process;
3. cold start: process start to the first answered ListUserPools, median of --cold-starts;
4. with --database-url: PostgreSQL against SQLite on point reads, one node against two on the write mix.

Load: wrk (or, without it, Python processes) over --connections keep-alive connections for --seconds
per row. Answers are checked before each row (right user, tokens, a wrong password refused); a row
whose answers fail says so. The issue's targets are printed beside the figures, met or not met.

    python bench/run.py                                  # about 11 minutes on 2 cores
    python bench/run.py --quick                          # about a minute: 1,000 users, short rows
    python bench/run.py --users 1000,20000 --servers emulator,moto --output -
    python bench/run.py --database-url postgresql://bench@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import compileall
import csv
import datetime
import importlib.metadata
import io
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from load import (
    Api,
    ApiError,
    Load,
    Spec,
    http_load,
    load_tool,
    median_load,
    spec,
    srp_client_cost,
    srp_load,
    wrk_path,
)
from servers import BENCH, CognitoLocal, Emulator, Hello, Moto, Server

PASSWORD = "Bench-Passw0rd!"
WRONG_PASSWORD = "Wrong-Passw0rd!"
SIGNIN = "signin"
ROLE = "arn:aws:iam::000000000000:role/bench-import"


# ---------------------------------------------------------------------------------------------
# Plan and figures


@dataclass
class Plan:
    sizes: list[int] = field(default_factory=lambda: [1000, 100_000])
    seconds: float = 2.0               # per run of a load row
    runs: int = 3                      # runs per load row (the median is reported)
    warmup: float = 1.0
    connections: int = 8
    populate_seconds: float = 120.0    # bound on filling a pool, over all sizes
    populate: str = "auto"             # auto: the import job for the emulator, AdminCreateUser for peers
    list_repetitions: int = 50
    list_budget: float = 10.0
    cold_starts: int = 5
    profile_seconds: float = 10.0
    database_url: str = ""
    sections: tuple[str, ...] = ("stacks", "ops", "cold", "postgres")

    @classmethod
    def quick(cls) -> Plan:
        return cls(sizes=[1000], seconds=2.0, runs=1, warmup=0.5, populate_seconds=30.0, list_repetitions=20,
                   list_budget=3.0, cold_starts=3, profile_seconds=0.0)


@dataclass
class Figure:
    value: float | None          # the number compared (req/s, ms, s, MiB); None: no number
    text: str
    note: str = ""
    other: float | None = None   # cores other work on the machine took meanwhile (see Meter)
    server_cores: float | None = None  # cores the server's processes used during the row
    load_cores: float | None = None    # cores the load generators (the benchmark's own processes) used


def fail(error: BaseException) -> Figure:
    if isinstance(error, ApiError):
        if error.code in ("NotImplementedException", "Unsupported", "UnsupportedOperation"):
            return Figure(None, "n/a (not supported)", f"answers {error.code}: {error.message}")
        return Figure(None, f"error: {error.code}", error.message)
    return Figure(None, f"error: {type(error).__name__}", str(error)[:300])


def guard(fn: Callable[[], Figure]) -> Figure:
    try:
        return fn()
    except Exception as error:  # noqa: BLE001  (every failure is shown in its row)
        return fail(error)


def rate_figure(load: Load, unit: str = "req/s", note: str = "") -> Figure:
    text = f"{load.rate:,.0f} {unit}"
    notes = [note] if note else []
    errors, requests = load.all_errors or load.errors, load.all_requests or load.requests
    if errors:
        text += f" ({errors} errors)"
        notes.append(f"{errors} of {requests} requests failed: {'; '.join(load.details)[:300]}")
    if len(load.rates) > 1 and min(load.rates) > 0 and max(load.rates) / min(load.rates) > 1.15:
        notes.append(f"the {len(load.rates)} runs gave {', '.join(f'{r:,.0f}' for r in load.rates)} {unit}")
    return Figure(load.rate, text, " ".join(notes))


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat; idle and iowait excluded)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and its finished children (wrk, the Python load generators)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Meter:
    """What else ran on the machine during a row: the busy CPU time of the whole machine less the
    server's processes and the benchmark's own (its load generators included). A row during which
    other work took a noticeable share of the cores gets a note, since its figure is then low."""

    THRESHOLD = 0.10      # cores, on average over the row

    def __init__(self, server: Server) -> None:
        self.server = server
        self.other = 0.0

    def __enter__(self) -> Meter:
        self.began, self.busy, self.cpu, self.own = time.perf_counter(), busy_seconds(), self.server.cpu(), own_cpu()
        return self

    def __exit__(self, *_exc) -> None:
        elapsed = time.perf_counter() - self.began
        server, own = self.server.cpu() - self.cpu, own_cpu() - self.own
        other = (busy_seconds() - self.busy) - server - own
        self.other = max(0.0, other) / elapsed if elapsed > 0 else 0.0
        self.server_cores = server / elapsed if elapsed > 0 else 0.0
        self.load_cores = own / elapsed if elapsed > 0 else 0.0

    def mark(self, figure: Figure) -> Figure:
        if getattr(self.server, "store", "") == "postgres":
            return figure        # PostgreSQL's own processes are part of the server, not other work
        figure.other = self.other
        figure.server_cores, figure.load_cores = self.server_cores, self.load_cores
        if self.other >= self.THRESHOLD:
            note = f"other work on the machine took {self.other:.2f} of a core on average during this row"
            figure.note = f"{figure.note} {note}".strip()
            figure.text += " (disturbed)"
        return figure


def email(n: int) -> str:
    return f"user{n}@example.com"


def username(n: int) -> str:
    return f"user{n:06d}"


def human(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


# ---------------------------------------------------------------------------------------------
# 1. Server stacks


@dataclass
class StackResult:
    label: str
    version: str = ""
    figure: Figure | None = None


def measure_stacks(plan: Plan, log: Callable[[str], None]) -> list[StackResult]:
    results = []
    for stack in Hello.STACKS:
        server = Hello(stack)
        result = StackResult(server.label)
        results.append(result)
        missing = server.available()
        if missing:
            result.figure = Figure(None, "not measured", missing + (" — add gunicorn>=23 to the bench extra"
                                                                     if stack == "gunicorn" else ""))
            log(f"  {stack}: {missing}")
            continue
        result.version = server.version()
        try:
            server.start()
            body = spec(None, {"hello": "bench"})
            http_load(server.url, [body], plan.connections, plan.warmup)
            with Meter(server) as meter:
                load = median_load(lambda s=server, b=body: http_load(s.url, [b], plan.connections, plan.seconds),
                                   plan.runs)
            result.figure = rate_figure(load)
            result.figure.text += f", p50 {load.p50_ms:.2f} ms"
            meter.mark(result.figure)
        except Exception as error:  # noqa: BLE001
            result.figure = fail(error)
        finally:
            server.stop()
        log(f"  {stack}: {result.figure.text}" + (f"  (other work {result.figure.other:.2f} cores)"
                                                  if result.figure.other is not None else ""))
    return results


# ---------------------------------------------------------------------------------------------
# 2. Point operations at each size


OPS = [
    ("admin_get_user", "AdminGetUser", "req/s"),
    ("get_user", "GetUser (access token)", "req/s"),
    ("user_password_auth", "InitiateAuth USER_PASSWORD_AUTH", "req/s"),
    ("srp", "USER_SRP_AUTH login (InitiateAuth + RespondToAuthChallenge)", "logins/s"),
    ("sign_up", "SignUp (empty pool)", "req/s"),
    ("admin_create_user", "AdminCreateUser SUPPRESS (empty pool)", "req/s"),
    ("write_mix", "Write mix: AdminCreateUser + AdminUpdateUserAttributes", "req/s"),
    ("list_filter", 'ListUsers Filter email = "…", p50 / p95 latency', "ms"),
    ("round_trip", "The same request to a pool that does not exist (the round trip's floor), p50 / p95", "ms"),
]


@dataclass
class SizeResult:
    target: int
    users: int = 0                   # users in the pool when measured (besides the sign-in user)
    populate: Figure | None = None
    populate_total: float = 0.0      # seconds to fill the pool from empty to `users`
    ops: dict[str, Figure] = field(default_factory=dict)
    memory: dict[int, tuple[float, float]] = field(default_factory=dict)
    profile: list[tuple[str, float]] = field(default_factory=list)
    profile_areas: list[tuple[str, float]] = field(default_factory=list)
    profile_note: str = ""
    memory_note: str = ""


@dataclass
class ServerResult:
    server: Server
    version: str = ""
    error: str = ""
    sizes: list[SizeResult] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    cold_error: str = ""
    cpu: float = 0.0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def figure(self, op: str, index: int) -> Figure | None:
        if index < len(self.sizes):
            return self.sizes[index].ops.get(op)
        return None


class PointOps:
    """The pool, its sign-in user and the rows of section 2 on one running server."""

    def __init__(self, server: Server, plan: Plan, log: Callable[[str], None]) -> None:
        self.server, self.plan, self.log = server, plan, log
        self.url = server.url
        self.api = Api(self.url, timeout=600)
        self.pool_id = self.client_id = self.access_token = ""
        self.created = 0                # users user000000 .. user{created-1}
        self.populate_spent = 0.0
        self.emulator = isinstance(server, Emulator)
        self.extra_pools = 0

    # -- setup -------------------------------------------------------------------------------
    def new_pool(self, name: str) -> tuple[str, str]:
        pool = self.api.call("CreateUserPool", {"PoolName": name})["UserPool"]["Id"]
        client = self.api.call("CreateUserPoolClient", {
            "UserPoolId": pool, "ClientName": "bench",
            "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                  "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]})["UserPoolClient"]["ClientId"]
        return pool, client

    def setup(self) -> None:
        self.pool_id, self.client_id = self.new_pool("bench")
        self.api.call("AdminCreateUser", {"UserPoolId": self.pool_id, "Username": SIGNIN, "MessageAction": "SUPPRESS",
                                          "UserAttributes": [{"Name": "email", "Value": "signin@example.com"}]})
        self.api.call("AdminSetUserPassword", {"UserPoolId": self.pool_id, "Username": SIGNIN, "Password": PASSWORD,
                                               "Permanent": True})

    # -- population --------------------------------------------------------------------------
    def populate(self, target: int) -> Figure:
        if self.created >= target:
            return Figure(self.populate_spent, f"— ({self.created:,} users already)")
        method = self.plan.populate
        if method == "auto":
            method = "import" if self.emulator else "create"
        began = time.perf_counter()
        before = self.created
        if method == "import":
            self.import_users(target)
        else:
            self.create_users(target)
        elapsed = time.perf_counter() - began
        self.populate_spent += elapsed
        added = self.created - before
        how = "CSV import job" if method == "import" else f"AdminCreateUser × {self.plan.connections} connections"
        text = f"{self.populate_spent:.1f} s to {self.created:,} users ({added / elapsed:,.0f} users/s, {how})"
        note = ""
        if self.created < target:
            note = (f"stopped at the {self.plan.populate_seconds:.0f} s population bound with {self.created:,} of "
                    f"{target:,} users: this column's rows for {human(target)} are measured over {self.created:,} users")
        return Figure(self.populate_spent, text, note)

    def import_users(self, target: int) -> None:
        header = self.api.call("GetCSVHeader", {"UserPoolId": self.pool_id})["CSVHeader"]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        column = {name: i for i, name in enumerate(header)}
        for n in range(self.created, target):
            row = [""] * len(header)
            row[column["cognito:username"]] = username(n)
            row[column["email"]] = email(n)
            row[column["email_verified"]] = "true"
            row[column["cognito:mfa_enabled"]] = "false"
            writer.writerow(row)
        job = self.api.call("CreateUserImportJob", {"UserPoolId": self.pool_id, "JobName": f"bench{target}",
                                                    "CloudWatchLogsRoleArn": ROLE})["UserImportJob"]
        put = urllib.request.Request(job["PreSignedUrl"], data=out.getvalue().encode(), method="PUT",
                                     headers={"Content-Type": "text/csv"})
        urllib.request.urlopen(put, timeout=600).close()
        self.api.call("StartUserImportJob", {"UserPoolId": self.pool_id, "JobId": job["JobId"]})
        deadline = time.monotonic() + self.plan.populate_seconds
        while True:
            job = self.api.call("DescribeUserImportJob", {"UserPoolId": self.pool_id,
                                                          "JobId": job["JobId"]})["UserImportJob"]
            if job["Status"] not in ("Pending", "InProgress", "Created"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"import job still {job['Status']} after {self.plan.populate_seconds:.0f} s")
            time.sleep(0.1)
        if job["Status"] != "Succeeded" or job["ImportedUsers"] != target - self.created:
            raise RuntimeError(f"import job {job['Status']}: {job.get('ImportedUsers')} of {target - self.created} "
                               f"users imported ({job.get('CompletionMessage')})")
        self.created = target

    def create_users(self, target: int) -> None:
        """AdminCreateUser over `connections` threads, numbers handed out in order, bounded in time."""
        lock = threading.Lock()
        numbers = iter(range(self.created, target))
        deadline = time.monotonic() + max(0.0, self.plan.populate_seconds - self.populate_spent)
        errors: list[Exception] = []
        done: list[int] = []

        def worker() -> None:
            api = Api(self.url, timeout=60)
            while time.monotonic() < deadline and not errors:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    break
                try:
                    api.call("AdminCreateUser", {"UserPoolId": self.pool_id, "Username": username(n),
                                                 "MessageAction": "SUPPRESS",
                                                 "UserAttributes": [{"Name": "email", "Value": email(n)}]})
                except Exception as error:  # noqa: BLE001
                    errors.append(error)
                    break
                with lock:
                    done.append(n)
            api.close()
        threads = [threading.Thread(target=worker) for _ in range(self.plan.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        # Numbers are handed out in order; the pool holds 0..k-1 where k is the first number not created.
        made = set(done)
        k = self.created
        while k in made:
            k += 1
        self.created = k

    # -- rows ----------------------------------------------------------------------------------
    def load(self, specs: list[Spec] | Callable[[], list[Spec]], unit: str = "req/s", note: str = "") -> Figure:
        """A load row: the median of `runs` runs; `specs` may be a function giving each run its own."""
        make = specs if callable(specs) else lambda: specs
        with Meter(self.server) as meter:
            load = median_load(lambda: http_load(self.url, make(), self.plan.connections, self.plan.seconds),
                               self.plan.runs)
        return meter.mark(rate_figure(load, unit, note))

    def admin_get_user(self) -> Figure:
        probe = username(min(self.created - 1, 123))
        answer = self.api.call("AdminGetUser", {"UserPoolId": self.pool_id, "Username": probe})
        if answer.get("Username") != probe:
            return Figure(None, "wrong result", f"AdminGetUser {probe} answered {answer.get('Username')!r}")
        template = spec("AdminGetUser", {"UserPoolId": self.pool_id, "Username": "user{n}"}, "cycle", self.created)
        return self.load([template])

    def sign_in(self) -> None:
        answer = self.api.call("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.client_id,
                                                "AuthParameters": {"USERNAME": SIGNIN, "PASSWORD": PASSWORD}})
        token = (answer.get("AuthenticationResult") or {}).get("AccessToken")
        if not token:
            raise RuntimeError(f"InitiateAuth gave no tokens: {sorted(answer)}")
        self.access_token = token

    def get_user(self) -> Figure:
        if not self.access_token:
            self.sign_in()
        answer = self.api.call("GetUser", {"AccessToken": self.access_token})
        if answer.get("Username") != SIGNIN:
            return Figure(None, "wrong result", f"GetUser answered {answer.get('Username')!r}")
        return self.load([spec("GetUser", {"AccessToken": self.access_token})])

    def wrong_password_note(self, attempt: Callable[[], object]) -> str:
        try:
            attempt()
        except ApiError as error:
            if error.code == "NotAuthorizedException":
                return ""
            return f"a wrong password answers {error.code}, not NotAuthorizedException"
        except Exception as error:  # noqa: BLE001
            return f"a wrong password fails with {type(error).__name__}: {error}"
        return "does not check the password: a wrong password signs in too"

    def user_password_auth(self) -> Figure:
        def attempt(password: str) -> dict:
            return self.api.call("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.client_id,
                                                  "AuthParameters": {"USERNAME": SIGNIN, "PASSWORD": password}})
        if not (attempt(PASSWORD).get("AuthenticationResult") or {}).get("AccessToken"):
            return Figure(None, "wrong result", "InitiateAuth with the right password gave no tokens")
        note = self.wrong_password_note(lambda: attempt(WRONG_PASSWORD))
        return self.load([spec("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": self.client_id,
                                                "AuthParameters": {"USERNAME": SIGNIN, "PASSWORD": PASSWORD}})],
                         note=note)

    def srp(self) -> Figure:
        from load import SrpClient
        client = SrpClient(self.pool_id, self.client_id)
        client.login(self.api, SIGNIN, PASSWORD)
        note = self.wrong_password_note(lambda: client.login(self.api, SIGNIN, WRONG_PASSWORD))
        with Meter(self.server) as meter:
            load = median_load(lambda: srp_load(self.url, self.pool_id, self.client_id, SIGNIN, PASSWORD,
                                                self.plan.connections, self.plan.seconds), self.plan.runs)
        return meter.mark(rate_figure(load, "logins/s", note))

    def empty_pool(self) -> tuple[str, str]:
        self.extra_pools += 1
        return self.new_pool(f"empty{self.extra_pools}")

    def sign_up(self) -> Figure:
        def body(client: str) -> dict:
            return {"ClientId": client, "Username": "new{n}", "Password": PASSWORD,
                    "UserAttributes": [{"Name": "email", "Value": "new{n}@example.com"}]}
        _pool, client = self.empty_pool()
        self.api.call("SignUp", {**body(client), "Username": "check", "UserAttributes": [
            {"Name": "email", "Value": "check@example.com"}]})
        return self.load(lambda: [spec("SignUp", body(self.empty_pool()[1]), "unique")])  # a new pool per run

    def admin_create_user(self) -> Figure:
        def body(pool: str) -> dict:
            return {"UserPoolId": pool, "Username": "new{n}", "MessageAction": "SUPPRESS",
                    "UserAttributes": [{"Name": "email", "Value": "new{n}@example.com"}]}
        pool, _client = self.empty_pool()
        self.api.call("AdminCreateUser", {**body(pool), "Username": "check", "UserAttributes": [
            {"Name": "email", "Value": "check@example.com"}]})
        return self.load(lambda: [spec("AdminCreateUser", body(self.empty_pool()[0]), "unique")])

    def write_mix(self) -> Figure:
        with Meter(self.server) as meter:
            load = median_load(lambda: write_mix([self.url], self.pool_id, self.created, self.plan), self.plan.runs)
        return meter.mark(rate_figure(load))

    def list_filter(self) -> Figure:
        samples: list[float] = []
        began = time.perf_counter()
        for i in range(self.plan.list_repetitions):
            n = (i * 7919 + self.created // 2) % self.created
            start = time.perf_counter()
            answer = self.api.call("ListUsers", {"UserPoolId": self.pool_id, "Filter": f'email = "{email(n)}"'})
            samples.append(time.perf_counter() - start)
            names = [u["Username"] for u in answer.get("Users", [])]
            if names != [username(n)] or answer.get("PaginationToken"):
                return Figure(None, "wrong result", f'Filter email = "{email(n)}" answered {names[:3]} '
                                                    f"(token {bool(answer.get('PaginationToken'))})")
            if len(samples) >= 3 and time.perf_counter() - began > self.plan.list_budget:
                break
        samples.sort()
        p50 = statistics.median(samples) * 1000
        p95 = samples[max(0, -(-len(samples) * 95 // 100) - 1)] * 1000
        note = ""
        if len(samples) < self.plan.list_repetitions:
            note = f"{len(samples)} of {self.plan.list_repetitions} requests within the {self.plan.list_budget:.0f} s bound"
        return Figure(p50, f"{p50:.1f} / {p95:.1f} ms", note)

    def round_trip(self) -> Figure:
        """The ListUsers latency's floor: the same client and request, answered without a lookup."""
        samples: list[float] = []
        began = time.perf_counter()
        for i in range(self.plan.list_repetitions):
            start = time.perf_counter()
            try:
                self.api.call("ListUsers", {"UserPoolId": "us-east-1_Nonexist0", "Filter": f'email = "{email(i)}"'})
                return Figure(None, "wrong result", "ListUsers on a pool that does not exist answered")
            except ApiError as err:
                if err.code != "ResourceNotFoundException":
                    return fail(err)
            samples.append(time.perf_counter() - start)
            if len(samples) >= 3 and time.perf_counter() - began > self.plan.list_budget:
                break
        samples.sort()
        p50 = statistics.median(samples) * 1000
        p95 = samples[max(0, -(-len(samples) * 95 // 100) - 1)] * 1000
        return Figure(p50, f"{p50:.1f} / {p95:.1f} ms")

    def warm_up(self) -> None:
        template = spec("AdminGetUser", {"UserPoolId": self.pool_id, "Username": "user{n}"}, "cycle", self.created)
        http_load(self.url, [template], self.plan.connections, self.plan.warmup)

    # -- profile -------------------------------------------------------------------------------
    def profile(self, result: SizeResult) -> None:
        """py-spy on one worker during AdminGetUser load: the functions with the most own time."""
        pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(pyspy).exists():
            result.profile_note = "py-spy not installed (pip install py-spy)"
            return
        worker = self.server.workers()[0]
        seconds = self.plan.profile_seconds
        template = spec("AdminGetUser", {"UserPoolId": self.pool_id, "Username": "user{n}"}, "cycle", self.created)
        holder: list[Load] = []
        def load() -> None:
            try:
                holder.append(http_load(self.url, [template], self.plan.connections, seconds + 2))
            except Exception:  # noqa: BLE001  (the profile says it saw no load)
                pass
        loader = threading.Thread(target=load)
        loader.start()
        with tempfile.TemporaryDirectory(prefix="bench-pyspy-") as tmp:
            out = Path(tmp) / "profile.txt"
            time.sleep(1)
            done = subprocess.run([pyspy, "record", "--pid", str(worker), "--duration", str(int(seconds)),
                                   "--rate", "200", "--gil", "--full-filenames", "--format", "raw", "--output", str(out), "--nonblocking"],
                                  capture_output=True, text=True)
            loader.join()
            if done.returncode != 0 or not out.exists():
                result.profile_note = f"py-spy failed: {(done.stderr or done.stdout)[-300:]}"
                return
            own: Counter[str] = Counter()
            areas: Counter[str] = Counter()
            total = 0
            for line in out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                leaf = stack.split(";")[-1]
                name, _, where = leaf.partition(" (")
                where = where.rstrip(")").rsplit(":", 1)[0]
                short = "/".join(Path(where).parts[-2:]) if where else ""
                own[f"{name} ({short})"] += int(count)
                areas[area(where)] += int(count)
                total += int(count)
        result.profile = [(name, count / total) for name, count in own.most_common(12)] if total else []
        result.profile_areas = [(name, count / total) for name, count in areas.most_common(8)] if total else []
        rate = holder[0].rate if holder else 0.0
        result.profile_note = (f"py-spy {seconds:.0f} s at 200 Hz on worker {worker} (--gil: the thread holding the GIL, "
                               f"{total} samples) during AdminGetUser at {rate:,.0f} req/s")

    # -- one size -------------------------------------------------------------------------------
    def run_size(self, target: int, last: bool) -> SizeResult:
        result = SizeResult(target)
        began = time.perf_counter()
        before, users_before = self.server.memory(), self.created
        result.populate = guard(lambda: self.populate(target))
        imported = result.populate.text.endswith("CSV import job)")
        for pid, (rss, _pss) in self.server.memory().items():
            if len(before) > 1 and pid in before and rss - before[pid][0] >= 20:
                why = (f" (it served the import job: {self.created - users_before:,} CSV rows in one request)"
                       if imported else "")
                result.memory_note += (f"worker {pid} grew from {before[pid][0]:.0f} to {rss:.0f} MiB while the "
                                       f"pool was populated{why}. ")
        result.populate_total = self.populate_spent
        result.users = self.created
        self.log(f"    populate {time.perf_counter() - began:6.1f}s  {result.populate.text}")
        if self.created == 0:
            return result
        guard(lambda: (self.warm_up(), Figure(None, ""))[1])
        rows = [("admin_get_user", self.admin_get_user), ("get_user", self.get_user),
                ("user_password_auth", self.user_password_auth), ("srp", self.srp),
                ("list_filter", self.list_filter), ("round_trip", self.round_trip), ("sign_up", self.sign_up),
                ("admin_create_user", self.admin_create_user), ("write_mix", self.write_mix)]
        for key, row in rows:
            began = time.perf_counter()
            result.ops[key] = guard(row)
            other = result.ops[key].other
            self.log(f"    {key:<18} {time.perf_counter() - began:5.1f}s  {result.ops[key].text}"
                     + (f"  (other work {other:.2f} cores)" if other is not None else ""))
        result.memory = self.server.memory()
        if last and self.emulator and self.plan.profile_seconds > 0:
            try:
                self.profile(result)
            except Exception as error:  # noqa: BLE001
                result.profile_note = f"profile failed: {error}"
            self.log(f"    profile: {result.profile_note}")
        return result


def area(path: str) -> str:
    """Where a frame's code lives: a package of the project, a third-party package, or the stdlib."""
    parts = Path(path).parts
    if "site-packages" in parts:
        rest = parts[parts.index("site-packages") + 1:]
        return rest[0].removesuffix(".py") if rest else "?"
    root = Path(__file__).resolve().parent.parent.parts
    if parts[:len(root)] == root and len(parts) > len(root) + 1:
        rest = parts[len(root):]
        return "/".join(rest[:2]) if rest[0] == "emulator" and len(rest) > 2 else rest[0]
    return "stdlib " + (parts[-1].removesuffix(".py") if parts else "?")


def write_mix(urls: list[str], pool_id: str, population: int, plan: Plan) -> Load:
    """AdminCreateUser (new users) alternating with AdminUpdateUserAttributes (users of the pool),
    from two load generators at once, spread over `urls` (one node, or one per node)."""
    def specs(prefix: str) -> list[Spec]:
        return [spec("AdminCreateUser", {"UserPoolId": pool_id, "Username": f"{prefix}{{n}}",
                                         "MessageAction": "SUPPRESS",
                                         "UserAttributes": [{"Name": "email", "Value": f"{prefix}{{n}}@example.com"}]},
                     "unique"),
                spec("AdminUpdateUserAttributes", {"UserPoolId": pool_id, "Username": "user{n}",
                                                   "UserAttributes": [{"Name": "name", "Value": "Updated"}]},
                     "cycle", population)]
    stamp = f"mix{int(time.time() * 1000) % 10**8}"
    halves = [(urls[i % len(urls)], f"{stamp}{'ab'[i]}") for i in range(2)]
    results: list[Load] = [Load(), Load()]
    errors: list[Exception] = []

    def run(i: int) -> None:
        url, prefix = halves[i]
        try:
            results[i] = http_load(url, specs(prefix), max(1, plan.connections // 2), plan.seconds)
        except Exception as error:  # noqa: BLE001  (raised below, in the caller's thread)
            errors.append(error)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results[0].add(results[1])


def measure_server(server: Server, plan: Plan, log: Callable[[str], None]) -> ServerResult:
    result = ServerResult(server)
    missing = server.available()
    if missing:
        result.error = f"not run ({missing})"
        log(f"{server.label}: {result.error}")
        return result
    result.version = server.version()
    log(f"{server.label}: starting")
    began = time.perf_counter()
    try:
        server.start()
    except Exception as error:  # noqa: BLE001
        result.error = f"did not start: {error}"
        log(f"{server.label}: {result.error}")
        return result
    try:
        ops = PointOps(server, plan, log)
        try:
            ops.setup()
        except Exception as error:  # noqa: BLE001
            result.error = f"pool setup failed: {fail(error).text} {fail(error).note}"
            return result
        for i, size in enumerate(plan.sizes):
            log(f"  {human(size)} users")
            result.sizes.append(ops.run_size(size, i == len(plan.sizes) - 1))
        result.cpu = server.cpu()
    finally:
        server.stop()
        result.seconds = time.perf_counter() - began
    return result


# ---------------------------------------------------------------------------------------------
# 3. Cold start


def cold_start(make: Callable[[], Server], runs: int) -> tuple[list[float], str]:
    """Seconds from starting the process to its first answered ListUserPools, `runs` times."""
    # As installed from a wheel (pip compiles it): this checkout's modules compiled to bytecode
    # once, which PYTHONDONTWRITEBYTECODE would otherwise leave to every start.
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "emulator"), quiet=1)
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "protocol"), quiet=1)
    times = []
    for _ in range(runs):
        server = make()
        began = time.perf_counter()
        server.launch()
        try:
            while True:
                if server.proc.poll() is not None:
                    return times, f"exited with {server.proc.returncode}: {server.log_tail()}"
                if time.perf_counter() - began > 60:
                    return times, "no answer within 60 s"
                try:
                    Api(server.url, timeout=5).call("ListUserPools", {"MaxResults": 10})
                    break
                except (OSError, ApiError):
                    time.sleep(0.005)
            times.append(time.perf_counter() - began)
        finally:
            server.stop()
    return times, ""


# ---------------------------------------------------------------------------------------------
# 4. PostgreSQL


@dataclass
class PostgresResult:
    error: str = ""
    version: str = ""
    users: int = 0
    reads: dict[str, Figure] = field(default_factory=dict)
    one_node: Figure | None = None
    two_nodes: Figure | None = None


def measure_postgres(plan: Plan, log: Callable[[str], None]) -> PostgresResult:
    result = PostgresResult(version=postgres_version(plan.database_url).removeprefix("PostgreSQL "))
    size = plan.sizes[0]
    node = Emulator("postgres", plan.database_url)
    log(f"{node.label}: starting")
    try:
        node.start()
    except Exception as error:  # noqa: BLE001
        result.error = f"did not start: {error}"
        log(f"  {result.error}")
        return result
    try:
        ops = PointOps(node, plan, log)
        ops.setup()
        populated = guard(lambda: ops.populate(size))
        result.users = ops.created
        if not ops.created:
            result.error = f"populating failed: {populated.text} {populated.note}"
            return result
        ops.warm_up()
        for key, row in (("admin_get_user", ops.admin_get_user), ("get_user", ops.get_user)):
            result.reads[key] = guard(row)
            log(f"  {key:<18} {result.reads[key].text}")
        result.one_node = guard(lambda: rate_figure(median_load(
            lambda: write_mix([node.url], ops.pool_id, ops.created, plan), plan.runs)))
        log(f"  write mix, one node   {result.one_node.text}")
        second = Emulator("postgres", plan.database_url, suffix=" node 2")
        try:
            second.start()
            result.two_nodes = guard(lambda: rate_figure(median_load(
                lambda: write_mix([node.url, second.url], ops.pool_id, ops.created, plan), plan.runs)))
        except Exception as error:  # noqa: BLE001
            result.two_nodes = fail(error)
        finally:
            second.stop()
        log(f"  write mix, two nodes  {result.two_nodes.text}")
    except Exception as error:  # noqa: BLE001
        result.error = f"{fail(error).text} {fail(error).note}".strip()
    finally:
        node.stop()
    return result


def postgres_version(url: str) -> str:
    if url:
        try:
            import psycopg
            with psycopg.connect(url, connect_timeout=5) as conn:
                return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
        except Exception as error:  # noqa: BLE001
            return f"PostgreSQL (version unknown: {type(error).__name__})"
    binary = shutil.which("postgres") or shutil.which("psql")
    if binary:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
        return f"{out} (installed, not used: no --database-url)"
    return "not used (no --database-url)"


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal"))
        ram = f"{mem / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM ?"
    return [f"nproc {len(os.sched_getaffinity(0))}", cpu, ram,
            f"{platform.system()} {platform.release()} {platform.machine()}"]


def version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(plan: Plan, results: list[ServerResult]) -> list[str]:
    found = [f"Python {platform.python_version()}", f"granian {version('granian')}", f"flask {version('flask')}",
             f"werkzeug {version('werkzeug')}", f"gunicorn {version('gunicorn')}", f"moto {version('moto')}",
             f"SQLite {sqlite3.sqlite_version}", postgres_version(plan.database_url), f"boto3 {version('boto3')}",
             f"pycognito {version('pycognito')}", f"gmpy2 {version('gmpy2')}", f"load: {load_tool()}"]
    found += [r.version for r in results if r.version and not r.version.startswith(("moto", "cognito-emulator"))]
    return found


def load_average() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return a / b


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}×" if value >= 100 else f"{value:.1f}×" if value >= 10 else f"{value:.2f}×"


@dataclass
class Report:
    plan: Plan
    quick: bool
    started: datetime.datetime
    load_before: str
    stacks: list[StackResult] = field(default_factory=list)
    results: list[ServerResult] = field(default_factory=list)
    postgres: PostgresResult | None = None
    stack_note: str = ""
    srp_cost: float = 0.0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> str:
        if not text:
            return ""
        text = text.replace("\n", " ").replace("|", "\\|")
        if text not in self.notes:
            self.notes.append(text)
        return f" [{self.notes.index(text) + 1}]"

    def cell(self, figure: Figure | None, owner: str = "") -> str:
        if figure is None:
            return "—"
        return figure.text.replace("|", "\\|") + self.note(f"{owner}: {figure.note}" if owner and figure.note
                                                            else figure.note)

    def by_key(self, prefix: str) -> ServerResult | None:
        return next((r for r in self.results if r.server.key.startswith(prefix)), None)

    # -- the targets ---------------------------------------------------------------------
    def targets(self) -> list[tuple[str, str, str, bool | None]]:
        emu, moto = self.by_key("emulator"), self.by_key("moto")
        sizes = self.plan.sizes
        rows: list[tuple[str, str, str, bool | None]] = []

        def per_size(op: str, title: str, goal: float) -> None:
            values = []
            for i, size in enumerate(sizes):
                r = ratio(emu.figure(op, i).value if emu and emu.figure(op, i) else None,
                          moto.figure(op, i).value if moto and moto.figure(op, i) else None)
                values.append((size, r))
            measured = ", ".join(f"{fmt_ratio(r)} at {human(s)}" for s, r in values)
            known = [r for _, r in values if r is not None]
            rows.append((title, f"≥ {goal:g}× moto", measured,
                         all(r >= goal for r in known) if len(known) == len(values) else None))

        per_size("admin_get_user", "AdminGetUser", 6)
        per_size("get_user", "GetUser", 5)
        per_size("user_password_auth", "InitiateAuth USER_PASSWORD_AUTH", 3)
        srp = [(s, emu.figure("srp", i)) for i, s in enumerate(sizes)] if emu else []
        known = [f.value for _, f in srp if f and f.value is not None]
        rows.append(("USER_SRP_AUTH logins", "≥ 150 logins/s",
                     ", ".join(f"{f.value:,.0f}/s at {human(s)}" if f and f.value is not None else f"— at {human(s)}"
                               for s, f in srp) or "—",
                     all(v >= 150 for v in known) if srp and len(known) == len(srp) else None))
        per_size("sign_up", "SignUp (empty pool)", 3)
        per_size("admin_create_user", "AdminCreateUser (empty pool)", 3)
        last = len(sizes) - 1
        big = human(sizes[last])
        e_list = emu.figure("list_filter", last) if emu else None
        m_list = moto.figure("list_filter", last) if moto else None
        speedup = ratio(m_list.value if m_list else None, e_list.value if e_list else None)
        measured = f"{fmt_ratio(speedup)} (p50)"
        if speedup is not None and moto and moto.sizes[last].users < sizes[last]:
            m_users = moto.sizes[last].users
            measured = (f"{fmt_ratio(speedup)} (p50; moto at {m_users:,} users, its filter is a linear scan: "
                        f"≈ {fmt_ratio(speedup * sizes[last] / m_users)} at {big} by extrapolation)")
        floor = emu.figure("round_trip", last) if emu else None
        if floor and floor.value is not None and m_list and m_list.value is not None:
            measured += (f"; the round trip alone takes {floor.value:.2f} ms p50 here, so 300× would need "
                         f"{m_list.value / 300:.2f} ms")
        rows.append((f"ListUsers Filter at {big}", "≥ 300× moto", measured,
                     None if speedup is None else speedup >= 300))
        if len(sizes) > 1 and emu:
            growth = ratio(emu.figure("list_filter", last).value if emu.figure("list_filter", last) else None,
                           emu.figure("list_filter", 0).value if emu.figure("list_filter", 0) else None)
            rows.append((f"ListUsers Filter p50 growth {human(sizes[0])} → {big}", "≤ 1.5×", fmt_ratio(growth),
                         None if growth is None else growth <= 1.5))
        populate = emu.sizes[last] if emu and len(emu.sizes) > last else None
        if populate and populate.populate and populate.users >= sizes[last]:
            rows.append((f"Populate {big} users", "≤ 60 s", f"{populate.populate_total:.1f} s",
                         populate.populate_total <= 60))
        else:
            rows.append((f"Populate {big} users", "≤ 60 s", "—", None))
        cold = statistics.median(emu.cold) if emu and emu.cold else None
        rows.append(("Cold start (to the first ListUserPools)", "≤ 0.3 s",
                     f"{cold:.2f} s" if cold is not None else "—", None if cold is None else cold <= 0.3))
        rss = max((m[0] for m in populate.memory.values()), default=None) if populate else None
        every = ", ".join(f"{m[0]:.0f}" for m in populate.memory.values()) if populate else ""
        rows.append((f"RSS per worker at {big}", "≤ 100 MiB", f"{every} MiB (each worker)" if rss else "—",
                     None if rss is None else rss <= 100))
        granian = next((s.figure for s in self.stacks if s.label.startswith("granian")), None)
        get = emu.figure("admin_get_user", 0) if emu else None
        share = ratio(get.value if get else None, granian.value if granian else None)
        rows.append(("AdminGetUser vs hello-world on granian", "≥ 40%",
                     f"{share * 100:.1f}%" if share is not None else "—", None if share is None else share >= 0.40))
        pg = self.postgres
        if pg and not pg.error and pg.reads and emu:
            parts, ok = [], True
            for op, title in (("admin_get_user", "AdminGetUser"), ("get_user", "GetUser")):
                r = ratio(emu.figure(op, 0).value if emu.figure(op, 0) else None,
                          pg.reads[op].value if op in pg.reads else None)
                parts.append(f"SQLite/PostgreSQL {fmt_ratio(r)} on {title}")
                ok = ok and r is not None and r <= 2
            rows.append(("PostgreSQL point reads", "within 2× of SQLite", ", ".join(parts), ok))
            r = ratio(pg.two_nodes.value if pg.two_nodes else None, pg.one_node.value if pg.one_node else None)
            rows.append(("Two nodes on the write mix (PostgreSQL)", "≥ 1.6× one node", fmt_ratio(r),
                         None if r is None else r >= 1.6))
        else:
            why = "not measured yet" if pg is None else f"not measured yet ({pg.error})"
            rows.append(("PostgreSQL point reads", "within 2× of SQLite", why, None))
            rows.append(("Two nodes on the write mix (PostgreSQL)", "≥ 1.6× one node", why, None))
        return rows

    # -- rendering -------------------------------------------------------------------------------
    def render(self) -> str:
        p = self.plan
        lines = [f"# cognito-emulator benchmark — {self.started:%Y-%m-%d %H:%M} UTC", "",
                 f"- Machine: {', '.join(machine())}; load average {self.load_before} before, "
                 f"{load_average()} after (other work on the machine skews the numbers).",
                 f"- Load: {load_tool()}, {p.connections} keep-alive connections "
                 f"({'2 threads' if wrk_path() else '2 processes'}); each row is the median of {p.runs} "
                 f"run{'s' if p.runs != 1 else ''} of {p.seconds:g} s on new connections, after a "
                 f"{p.warmup:g} s warm-up at each size; on the same machine as the server (client and server share the "
                 f"{len(os.sched_getaffinity(0))} cores). USER_SRP_AUTH: {p.connections} connections from "
                 f"2 Python processes, client SRP math with gmpy2 and pycognito's formulas ({self.srp_cost * 1000:.1f} "
                 "ms of client CPU per login, one ephemeral A per connection). ListUsers latency: sequential requests over one connection"
                 f" (up to {p.list_repetitions}, or {p.list_budget:g} s).",
                 f"- Pool sizes: {', '.join(f'{s:,}' for s in p.sizes)} users{' (--quick)' if self.quick else ''}; "
                 f"population bound {p.populate_seconds:g} s.",
                 "- Versions: " + ", ".join(versions(p, self.results)) + ".",
                 "- Servers:"]
        for r in self.results:
            extra = r.error or (f"{r.seconds:.0f} s wall, server CPU {r.cpu:.0f} s" if r.seconds else "")
            lines.append(f"  - {r.server.label}: {r.version or '?'}" + (f" — {extra}" if extra else ""))
        lines += ["", "## The issue's targets", "", "| Target | Goal | Measured | |", "|---|---|---|---|"]
        for title, goal, measured, met in self.targets():
            mark = "met" if met else "**not met**" if met is False else "not measured"
            lines.append(f"| {title} | {goal} | {measured.replace('|', '/')} | {mark} |")
        lines += self.render_stacks() + self.render_ops() + self.render_cold() + self.render_postgres()
        lines += self.render_profile()
        if self.notes:
            lines += ["", "## Notes", ""] + [f"{i}. {n}" for i, n in enumerate(self.notes, 1)]
        return "\n".join(lines) + "\n"

    def render_stacks(self) -> list[str]:
        if "stacks" not in self.plan.sections:
            return []
        lines = ["", "## 1. Server stacks: hello world", "",
                 "`bench/hello.py` (Flask, POST / answering a small JSON) under each stack, same load as above.", "",
                 "| Stack | Version | Throughput |", "|---|---|---|"]
        for s in self.stacks:
            lines.append(f"| {s.label} | {s.version or '—'} | {self.cell(s.figure, s.label)} |")
        emu = self.by_key("emulator")
        granian = next((s.figure for s in self.stacks if s.label.startswith("granian")), None)
        if emu and emu.sizes and granian and granian.value:
            for i, size in enumerate(self.plan.sizes):
                f = emu.figure("admin_get_user", i)
                if f and f.value:
                    lines.append(f"| emulator AdminGetUser at {human(size)} users (granian) | | {f.value:,.0f} req/s = "
                                 f"**{f.value / granian.value * 100:.1f}%** of hello-world on granian |")
        return lines

    def render_cpu(self, emu: ServerResult | None, moto: ServerResult | None) -> list[str]:
        """CPU per request: what bounds a throughput on this machine whatever the locks."""
        if not emu:
            return []
        cores = os.cpu_count() or 1
        lines = ["", f"CPU per request at {human(self.plan.sizes[0])} users, over each whole row (server processes; "
                 f"the load generators beside them): with {cores} cores shared, a rate cannot pass "
                 f"{cores} × 1000 / (server + load generator ms).", "",
                 "| Operation | emulator server | load generator | ceiling on this machine | measured | "
                 "moto_server server |", "|---|---|---|---|---|---|"]
        for key, title, unit in OPS:
            if unit == "ms":
                continue
            e = emu.figure(key, 0)
            m = moto.figure(key, 0) if moto else None
            if not e or not e.value or e.server_cores is None:
                continue
            server_ms = e.server_cores / e.value * 1000
            load_ms = (e.load_cores or 0.0) / e.value * 1000
            ceiling = cores * 1000 / (server_ms + load_ms)
            moto_ms = f"{m.server_cores / m.value * 1000:.2f} ms" if m and m.value and m.server_cores else "—"
            lines.append(f"| {title} | {server_ms:.2f} ms | {load_ms:.2f} ms | {ceiling:,.0f} {unit} | "
                         f"{e.value:,.0f} {unit} | {moto_ms} |")
        return lines

    def render_ops(self) -> list[str]:
        if "ops" not in self.plan.sections or not self.results:
            return []
        emu, moto = self.by_key("emulator"), self.by_key("moto")
        header = ["Operation", "Users", *(r.server.label for r in self.results), "emulator / moto"]
        lines = ["", "## 2. Point operations", "",
                 "Throughput over the whole row (higher is better) or latency (lower is better). \"Users\" is the "
                 "pool's size asked for; a server that could not be filled that far in the population bound is "
                 "measured over the users it reached (its population row says how many).", "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for key, title, _unit in OPS:
            for i, size in enumerate(self.plan.sizes):
                row = [title if i == 0 else "", human(size)]
                for r in self.results:
                    row.append(self.cell(r.figure(key, i), r.server.label) if not r.error else "not run")
                e = emu.figure(key, i) if emu else None
                m = moto.figure(key, i) if moto else None
                latency = key in ("list_filter", "round_trip")
                value = ratio(m.value, e.value) if latency and e and m else \
                    ratio(e.value if e else None, m.value if m else None)
                row.append(fmt_ratio(value) + (" faster" if value is not None and latency else ""))
                lines.append("| " + " | ".join(row) + " |")
        if emu and len(emu.sizes) > 1:
            first, last = emu.figure("list_filter", 0), emu.figure("list_filter", len(emu.sizes) - 1)
            growth = ratio(last.value if last else None, first.value if first else None)
            row = ["ListUsers Filter p50 growth", f"{human(self.plan.sizes[0])} → {human(self.plan.sizes[-1])}"]
            for r in self.results:
                a, b = r.figure("list_filter", 0), r.figure("list_filter", len(self.plan.sizes) - 1)
                g = ratio(b.value if b else None, a.value if a else None)
                row.append(fmt_ratio(g) + (f" (to {r.sizes[-1].users:,} users)"
                                           if r.sizes and r.sizes[-1].users < self.plan.sizes[-1] else ""))
            row.append("")
            if growth is not None:
                lines.append("| " + " | ".join(row) + " |")
        lines += self.render_cpu(emu, moto)
        for i, size in enumerate(self.plan.sizes):
            row = ["Populate the pool" if i == 0 else "", human(size)]
            for r in self.results:
                s = r.sizes[i] if i < len(r.sizes) else None
                row.append(self.cell(s.populate, r.server.label) if s else "—")
            row.append("")
            lines.append("| " + " | ".join(row) + " |")
        for i, size in enumerate(self.plan.sizes):
            row = ["Memory of each serving process (RSS / PSS)" if i == 0 else "", human(size)]
            for r in self.results:
                s = r.sizes[i] if i < len(r.sizes) else None
                row.append((", ".join(f"{rss:.0f} / {pss:.0f} MiB" for rss, pss in s.memory.values())
                            + self.note(f"{r.server.label}: {s.memory_note.strip()}" if s.memory_note else ""))
                           if s and s.memory else "—")
            row.append("")
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", "Memory: the emulator's granian worker processes (children of the `serve` process), "
                  "moto_server's and cognito-local's single process, after the rows of that size. RSS counts "
                  "the pages a worker shares with the others (copy-on-write after fork, the SQLite page cache "
                  "is per process); PSS divides shared pages among the processes that share them."]
        return lines

    def render_cold(self) -> list[str]:
        if "cold" not in self.plan.sections:
            return []
        lines = ["", "## 3. Cold start", "",
                 f"From starting the process to its first answered ListUserPools (polled every 5 ms on fresh "
                 f"connections); median of {self.plan.cold_starts} starts, each in a fresh temporary directory.",
                 "", "| Server | Median | All starts |", "|---|---|---|"]
        for r in self.results:
            if r.cold:
                lines.append(f"| {r.server.label} | {statistics.median(r.cold):.2f} s | "
                             f"{', '.join(f'{t:.2f}' for t in r.cold)} s |")
            elif r.cold_error:
                lines.append(f"| {r.server.label} | — | {r.cold_error[:200]} |")
        return lines

    def render_postgres(self) -> list[str]:
        if "postgres" not in self.plan.sections:
            return []
        pg = self.postgres
        size = human(self.plan.sizes[0])
        command = "make bench BENCH_ARGS='--database-url postgresql://USER:PASS@127.0.0.1/DB'"
        lines = ["", "## 4. PostgreSQL", ""]
        if pg is None or pg.error:
            why = "no --database-url given" if pg is None else pg.error
            return lines + [f"Not measured yet ({why}). To measure: `{command}` (an empty database the "
                            "benchmark may write to)."]
        emu = self.by_key("emulator")
        host = urllib.parse.urlsplit(self.plan.database_url).hostname or "localhost"
        where = (" on this machine (its processes share the cores with the emulator and the load generator)"
                 if host in ("localhost", "127.0.0.1", "::1") or host.startswith("/") else f" at {host}")
        lines += [f"PostgreSQL {pg.version}{where}, the emulator's default workers, a pool of {pg.users:,} users; the "
                  "write mix is AdminCreateUser alternating with AdminUpdateUserAttributes from two load "
                  f"generators of {max(1, self.plan.connections // 2)} connections each, both at one node or one "
                  "at each of two nodes (two `serve` processes on the same database).", "",
                  "| Operation | SQLite (file) | PostgreSQL | SQLite / PostgreSQL |", "|---|---|---|---|"]
        for op, title in (("admin_get_user", "AdminGetUser"), ("get_user", "GetUser")):
            s = emu.figure(op, 0) if emu else None
            p = pg.reads.get(op)
            lines.append(f"| {title} ({size} users) | {self.cell(s, emu.server.label if emu else '')} | "
                         f"{self.cell(p, 'emulator (PostgreSQL)')} | "
                         f"{fmt_ratio(ratio(s.value if s else None, p.value if p else None))} |")
        s = emu.figure("write_mix", 0) if emu else None
        lines.append(f"| Write mix, one node | {self.cell(s, emu.server.label if emu else '')} | "
                     f"{self.cell(pg.one_node, 'emulator (PostgreSQL)')} | "
                     f"{fmt_ratio(ratio(s.value if s else None, pg.one_node.value if pg.one_node else None))} |")
        r = ratio(pg.two_nodes.value if pg.two_nodes else None, pg.one_node.value if pg.one_node else None)
        lines.append(f"| Write mix, two nodes | — | {self.cell(pg.two_nodes, 'emulator (PostgreSQL), two nodes')} | "
                     f"two nodes / one: {fmt_ratio(r)} |")
        return lines

    def render_profile(self) -> list[str]:
        emu = self.by_key("emulator")
        if not emu or not emu.sizes or not (emu.sizes[-1].profile or emu.sizes[-1].profile_note):
            return []
        last = emu.sizes[-1]
        lines = ["", f"## Profile: AdminGetUser at {human(last.target)} users", "", last.profile_note + ".", ""]
        if last.profile:
            lines += ["| Function (own time) | Share of samples |", "|---|---|"]
            lines += [f"| `{name}` | {share * 100:.1f}% |" for name, share in last.profile]
        if last.profile_areas:
            lines += ["", "| Where the own time is (package or module) | Share of samples |", "|---|---|"]
            lines += [f"| {name} | {share * 100:.1f}% |" for name, share in last.profile_areas]
        return lines


# ---------------------------------------------------------------------------------------------


SERVERS: dict[str, Callable[[], Server]] = {
    "emulator": lambda: Emulator("file"),
    "emulator-memory": lambda: Emulator("memory"),
    "moto": Moto,
    "cognito-local": CognitoLocal,
}
ALIASES = {"emulator-file": "emulator"}


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        scale = 1000 if part.endswith("k") else 1
        sizes.append(int(float(part.rstrip("k")) * scale))
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes are positive numbers of users, e.g. 1000,100000 or 1k,100k")
    return sorted(set(sizes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=parse_sizes, default=None,
                        help="pool sizes, comma-separated (default 1000,100000; --quick 1000)")
    parser.add_argument("--quick", action="store_true", help="one size, short rows: about a minute")
    parser.add_argument("--servers", default="emulator,moto,cognito-local",
                        help=f"comma-separated, from: {', '.join(SERVERS)}")
    parser.add_argument("--sections", default=None,
                        help="comma-separated, from: stacks, ops, cold, postgres (default: all)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per run of a load row (default 2)")
    parser.add_argument("--runs", type=int, default=None, help="runs per load row, the median is reported "
                        "(default 3; --quick 1)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--populate-seconds", type=float, default=None,
                        help="bound on filling a server's pool, all sizes together (default 120)")
    parser.add_argument("--populate", choices=("auto", "import", "create"), default="auto",
                        help="how pools are filled: auto (the emulator's CSV import job; AdminCreateUser for "
                             "the peers), import, or create (AdminCreateUser over the connections)")
    parser.add_argument("--cold-starts", type=int, default=None, help="cold starts per server (default 5)")
    parser.add_argument("--profile-seconds", type=float, default=None,
                        help="py-spy on an emulator worker during AdminGetUser at the largest size "
                             "(default 10; 0: no profile)")
    parser.add_argument("--database-url", default="", help="postgresql://...: also measure the emulator on "
                        "PostgreSQL (point reads, one node against two)")
    parser.add_argument("--output", default=str(BENCH / "results.md"),
                        help="where to write the report ('-' for nowhere)")
    args = parser.parse_args(argv)

    plan = Plan.quick() if args.quick else Plan()
    if args.users:
        plan.sizes = args.users
    for name in ("seconds", "runs", "populate_seconds", "cold_starts", "profile_seconds"):
        if getattr(args, name) is not None:
            setattr(plan, name, getattr(args, name))
    plan.connections = max(1, args.connections)
    plan.populate = args.populate
    plan.database_url = args.database_url
    if args.sections:
        plan.sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    names = [ALIASES.get(n.strip(), n.strip()) for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose from {list(SERVERS)}")

    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    report = Report(plan, args.quick, datetime.datetime.now(datetime.UTC), load_average())
    report.srp_cost = srp_client_cost("us-east-1_bench")
    if not wrk_path():
        log("wrk not found: the Python load generator drives the rows (apt-get install wrk for less client load)")

    if "stacks" in plan.sections:
        log("server stacks (hello world)")
        report.stacks = measure_stacks(plan, log)
    for name in names:
        make = SERVERS[name]
        server = make()
        if "ops" in plan.sections:
            result = measure_server(server, plan, log)
        else:
            result = ServerResult(server, version=server.version() if not server.available() else "")
            result.error = server.available() and f"not run ({server.available()})" or ""
        if "cold" in plan.sections and not result.error:
            log(f"{server.label}: cold start ×{plan.cold_starts}")
            result.cold, result.cold_error = cold_start(make, plan.cold_starts)
            log(f"  {', '.join(f'{t:.2f}' for t in result.cold)} s {result.cold_error}")
        report.results.append(result)
    if "postgres" in plan.sections and plan.database_url:
        report.postgres = measure_postgres(plan, log)

    text = report.render()
    print(text)
    if args.output != "-":
        Path(args.output).write_text(text)
        log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
