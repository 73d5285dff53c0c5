"""`make bench`: the emulator's speed on realistic work, side by side with moto and cognito-local.

Each server is started fresh on a free loopback port, one after the other, and driven by the
same boto3 client code (no retries, keep-alive connections). Every scenario is a bounded number
of calls or a bounded time; latencies are reported as median / p95. Answers are checked: a
server that returns a wrong result, accepts a wrong password or cannot do an operation is shown
as such in the table, never silently skipped. See bench/README.md for how to read the results.

    python bench/run.py                  # defaults: 10,000 users, ~5 minutes
    python bench/run.py --quick          # ~1 minute
    python bench/run.py --users 50000 --servers emulator-file,moto
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import importlib.metadata
import itertools
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REGION = "us-east-1"
PASSWORD = "Bench-Passw0rd!"
WRONG_PASSWORD = "Wrong-Passw0rd!"
STARTUP_TIMEOUT = 60.0


# ---------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until something answers HTTP at url (any status counts)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"did not answer on {url} within {timeout:.0f}s")


class Server:
    """One peer: started fresh in its own temp dir, stopped after its scenarios."""

    key = ""
    label = ""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self.url = ""

    def available(self) -> str | None:
        """None when it can run here; else why not."""
        return None

    def version(self) -> str:
        return "?"

    def command(self, port: int) -> tuple[list[str], dict]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write what the server reads from its working directory (self.tmp) at start."""

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.key}-"))
        port = free_port()
        self.prepare()
        cmd, env = self.command(port)
        log = self.tmp / "server.log"
        self._log = open(log, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **env})
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_http(self.url + "/", self.proc, log)
        except Exception:
            self.stop()
            raise

    def usage(self) -> str:
        """CPU time and peak memory of the server process so far (Linux /proc), or ''."""
        if not self.proc or self.proc.poll() is not None:
            return ""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
            peak = re.search(r"VmHWM:\s+(\d+) kB", status)
        except (OSError, ValueError, IndexError):
            return ""
        return f"server CPU {cpu:.0f}s" + (f", peak memory {int(peak.group(1)) // 1024} MB" if peak else "")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Emulator(Server):
    def __init__(self, in_memory: bool) -> None:
        super().__init__()
        self.in_memory = in_memory
        self.key = "emulator-memory" if in_memory else "emulator-file"
        self.label = "emulator (in-memory)" if in_memory else "emulator (file, default)"

    def version(self) -> str:
        text = (ROOT / "emulator" / "__init__.py").read_text()
        match = re.search(r'__version__ = "([^"]+)"', text)
        return f"cognito-emulator {match.group(1) if match else '?'}"

    def command(self, port: int) -> tuple[list[str], dict]:
        store = ["--in-memory"] if self.in_memory else ["--data-dir", str(self.tmp / "data")]
        cmd = [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "WARNING", *store]
        return cmd, {"PYTHONPATH": str(ROOT)}


class Moto(Server):
    key = "moto"
    label = "moto (server mode)"

    def available(self) -> str | None:
        try:
            importlib.metadata.version("moto")
            import flask_cors  # noqa: F401  (moto[server] extra)
        except (importlib.metadata.PackageNotFoundError, ImportError):
            return "not installed: pip install -e '.[bench]'"
        return None

    def version(self) -> str:
        return f"moto {importlib.metadata.version('moto')}"

    def command(self, port: int) -> tuple[list[str], dict]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {}


class CognitoLocal(Server):
    key = "cognito-local"
    label = "cognito-local"
    package = BENCH / "node_modules" / "cognito-local"

    def available(self) -> str | None:
        if not shutil.which("node"):
            return "node not found"
        if not (self.package / "package.json").exists():
            return "not installed: npm ci --prefix bench"
        return None

    def version(self) -> str:
        meta = json.loads((self.package / "package.json").read_text())
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        return f"cognito-local {meta['version']} (node {node})"

    def prepare(self) -> None:
        # Its pools default to UsernameAttributes ["email"], unlike AWS (plain usernames); its
        # documented config file sets the default back so the same calls work everywhere.
        (self.tmp / ".cognito").mkdir()
        (self.tmp / ".cognito" / "config.json").write_text(
            json.dumps({"UserPoolDefaults": {"UsernameAttributes": []}}))

    def command(self, port: int) -> tuple[list[str], dict]:
        return ["node", str(self.package / "lib" / "bin" / "start.js")], {"PORT": str(port), "HOST": "127.0.0.1"}


SERVERS: dict[str, Callable[[], Server]] = {
    "emulator-file": lambda: Emulator(in_memory=False),
    "emulator-memory": lambda: Emulator(in_memory=True),
    "moto": Moto,
    "cognito-local": CognitoLocal,
}


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="AKIABENCHMARK",
                        aws_secret_access_key="secret",
                        config=BotoConfig(retries={"max_attempts": 1}, max_pool_connections=16,
                                          read_timeout=120, connect_timeout=10))


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Cell:
    text: str
    note: str = ""          # becomes a footnote under the table


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def latency(samples: list[float], note: str = "", planned: int = 0) -> Cell:
    if planned and len(samples) < planned:
        note = f"{len(samples)} of {planned} repetitions within the time bound. {note}".strip()
    return Cell(f"{ms(statistics.median(samples))} / {ms(p95(samples))} ms", note)


class Unavailable(Exception):
    """The server cannot do this operation; carries the cell to show."""

    def __init__(self, cell: Cell) -> None:
        super().__init__(cell.text)
        self.cell = cell


UNSUPPORTED = {"Unsupported", "UnsupportedOperation", "NotImplemented", "NotImplementedError"}


def classify(error: Exception) -> Cell:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "?")
        message = error.response.get("Error", {}).get("Message", "")
        if code in UNSUPPORTED:
            return Cell("n/a (not supported)", f"answers {code}: {message}")
        if code == "NotImplementedException":
            return Cell("NotImplementedException", message)
        return Cell(f"error: {code}", message)
    return Cell(f"error: {type(error).__name__}", str(error)[:300])


def call(fn: Callable, *args, **kwargs):
    """Run one request; any failure becomes an Unavailable cell."""
    try:
        return fn(*args, **kwargs)
    except Exception as error:  # noqa: BLE001  (every failure is reported in the table)
        raise Unavailable(classify(error)) from error


def repeat(fn: Callable[[int], object], times: int, budget: float = 15.0) -> list[float]:
    """Time fn(i) for i in range(times), stopping early once `budget` seconds are spent.

    The first failure stops and is reported. A row cut short by the budget says so (see `latency`).
    """
    samples = []
    began = time.perf_counter()
    for i in range(times):
        start = time.perf_counter()
        call(fn, i)
        samples.append(time.perf_counter() - start)
        if time.perf_counter() - began > budget:
            break
    return samples


# ---------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Plan:
    users: int
    pairs: int = 20
    creates: int = 300
    signins: int = 100
    srp: int = 30
    list_filtered: int = 20
    walks: int = 3
    get_user: int = 200
    identities: int = 50
    throughput_seconds: float = 10.0
    populate_seconds: float = 50.0
    threads: int = 4

    @classmethod
    def quick(cls, users: int) -> Plan:
        return cls(users=users, pairs=5, creates=100, signins=20, srp=5, list_filtered=10, walks=1,
                   get_user=50, identities=10, throughput_seconds=2.0, populate_seconds=10.0)


ROWS = [
    ("pool", "CreateUserPool + CreateUserPoolClient"),
    ("create", "AdminCreateUser (SUPPRESS)"),
    ("admin_auth", "Sign-in ADMIN_USER_PASSWORD_AUTH"),
    ("user_auth", "Sign-in USER_PASSWORD_AUTH"),
    ("srp", "Sign-in USER_SRP_AUTH (pycognito AWSSRP, full round-trip)"),
    ("get_user", "GetUser (access token)"),
    ("populate", "Create the pool's users (4 threads)"),
    ("list_filter", 'ListUsers Filter email ^= "user1234"'),
    ("walk", "ListUsers full paginated walk (Limit=60)"),
    ("throughput", "AdminGetUser throughput, 4 threads"),
    ("identity", "Identity pool GetId + GetCredentialsForIdentity"),
]


@dataclass
class Outcome:
    server: Server
    cells: dict[str, Cell] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    usage: str = ""


def email(n: int) -> str:
    return f"user{n}@example.com"


def username(n: int) -> str:
    return f"user{n:06d}"


class Bench:
    def __init__(self, server: Server, plan: Plan, log: Callable[[str], None]) -> None:
        self.server = server
        self.plan = plan
        self.log = log
        self.idp = client("cognito-idp", server.url)
        self.cells: dict[str, Cell] = {}
        self.pool_id = ""
        self.client_id = ""
        self.created = 0            # users user000000..user{created-1}, besides the sign-in user
        self.next_user = 0
        self.access_token = ""

    def run(self) -> dict[str, Cell]:
        steps = [
            ("pool", self.pool_pairs),
            ("setup", self.setup),
            ("create", self.admin_create_user),
            ("signin", self.sign_in),
            ("get_user", self.get_user),
            ("populate", self.populate),
            ("list_filter", self.list_filtered),
            ("walk", self.walk),
            ("throughput", self.throughput),
            ("identity", self.identity),
        ]
        for key, step in steps:
            started = time.perf_counter()
            try:
                cell = step()
                if cell is not None:
                    self.cells[key] = cell
            except Unavailable as failure:
                self.cells.setdefault(key, failure.cell)
                if key == "setup":      # nothing else can run without the pool
                    for row, _ in ROWS:
                        self.cells.setdefault(row, Cell("not run", f"pool setup failed: {failure.cell.text}"))
                    break
            except Exception as error:  # noqa: BLE001  (a bench bug must not lose the other servers' rows)
                self.cells.setdefault(key, classify(error))
            self.log(f"  {key:<12} {time.perf_counter() - started:6.1f}s  {self.cells.get(key, Cell('')).text}")
        return self.cells

    # 1. CreateUserPool + CreateUserPoolClient
    def pool_pairs(self) -> Cell:
        def pair(i: int) -> None:
            pool = self.idp.create_user_pool(PoolName=f"pair{i}")["UserPool"]["Id"]
            self.idp.create_user_pool_client(UserPoolId=pool, ClientName="app")
        return latency(repeat(pair, self.plan.pairs), planned=self.plan.pairs)

    def setup(self) -> None:
        self.pool_id = call(self.idp.create_user_pool, PoolName="bench")["UserPool"]["Id"]
        self.client_id = call(self.idp.create_user_pool_client, UserPoolId=self.pool_id, ClientName="bench",
                              ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                                 "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                              )["UserPoolClient"]["ClientId"]

    def create(self, _i: int) -> None:
        """Create the next user of the pool (sequentially numbered)."""
        self.create_user(self.idp, self.next_user)
        self.next_user += 1

    def create_user(self, idp, n: int) -> None:
        idp.admin_create_user(UserPoolId=self.pool_id, Username=username(n), MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email(n)}])

    # 2. AdminCreateUser
    def admin_create_user(self) -> Cell:
        try:
            samples = repeat(lambda i: self.create(i), self.plan.creates)
        finally:
            self.created = self.next_user
        return latency(samples, planned=self.plan.creates)

    # 3. Sign-in
    def sign_in(self) -> None:
        try:
            call(self.idp.admin_create_user, UserPoolId=self.pool_id, Username="signin",
                 MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": "signin@example.com"}])
            call(self.idp.admin_set_user_password, UserPoolId=self.pool_id, Username="signin",
                 Password=PASSWORD, Permanent=True)
        except Unavailable as failure:
            for key in ("admin_auth", "user_auth", "srp"):
                self.cells[key] = Cell("not run", f"creating the user with a permanent password failed: "
                                                  f"{failure.cell.text} {failure.cell.note}")
            return

        def admin(password: str) -> dict:
            return self.idp.admin_initiate_auth(UserPoolId=self.pool_id, ClientId=self.client_id,
                                                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                                AuthParameters={"USERNAME": "signin", "PASSWORD": password})

        def user(password: str) -> dict:
            return self.idp.initiate_auth(ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                          AuthParameters={"USERNAME": "signin", "PASSWORD": password})

        def srp(password: str) -> dict:
            from pycognito.aws_srp import AWSSRP
            return AWSSRP("signin", password, self.pool_id, self.client_id, client=self.idp).authenticate_user()

        for key, fn, times in (("admin_auth", admin, self.plan.signins), ("user_auth", user, self.plan.signins),
                               ("srp", srp, self.plan.srp)):
            try:
                samples = repeat(lambda _i, fn=fn: self.check_tokens(fn(PASSWORD)), times)
            except Unavailable as failure:
                self.cells[key] = failure.cell
                continue
            self.cells[key] = latency(samples, self.wrong_password_note(fn), planned=times)

    def check_tokens(self, answer: dict) -> None:
        result = answer.get("AuthenticationResult") or {}
        if not result.get("AccessToken"):
            raise RuntimeError(f"no tokens in answer: {sorted(answer)} {answer.get('ChallengeName')}")
        self.access_token = result["AccessToken"]

    @staticmethod
    def wrong_password_note(fn: Callable[[str], dict]) -> str:
        try:
            fn(WRONG_PASSWORD)
        except ClientError as error:
            if error.response["Error"]["Code"] == "NotAuthorizedException":
                return ""
            return f"a wrong password answers {error.response['Error']['Code']}, not NotAuthorizedException"
        except Exception as error:  # noqa: BLE001
            return f"a wrong password fails with {type(error).__name__}: {error}"
        return "does not check the password: a wrong password signs in too"

    # 5. GetUser with an access token
    def get_user(self) -> Cell:
        if not self.access_token:
            return Cell("n/a (no access token)", "no sign-in flow gave an access token")

        def one(_i: int) -> None:
            answer = self.idp.get_user(AccessToken=self.access_token)
            if answer["Username"] != "signin":
                raise RuntimeError(f"GetUser answered user {answer['Username']!r}")
        return latency(repeat(one, self.plan.get_user), planned=self.plan.get_user)

    # 4. the pool of N users, filtered ListUsers, full walk
    def populate(self) -> Cell:
        target = self.plan.users
        if self.created >= target:
            return Cell(f"— ({self.created} users from the AdminCreateUser row)")
        todo = iter(range(self.created, target))
        lock = threading.Lock()
        deadline = time.monotonic() + self.plan.populate_seconds
        errors: list[Exception] = []
        done = [0]

        def worker() -> None:
            idp = client("cognito-idp", self.server.url)
            while time.monotonic() < deadline and not errors:
                with lock:
                    n = next(todo, None)
                if n is None:
                    return
                try:
                    self.create_user(idp, n)
                except Exception as error:  # noqa: BLE001
                    errors.append(error)
                    return
                with lock:
                    done[0] += 1

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(self.plan.threads) as pool:
            for future in [pool.submit(worker) for _ in range(self.plan.threads)]:
                future.result()
        elapsed = time.perf_counter() - start
        # Numbers are handed out in order and each one taken is created: the pool holds 0..created-1.
        self.created += done[0]
        if errors:
            raise Unavailable(classify(errors[0]))
        rate = done[0] / elapsed if elapsed else 0.0
        if self.created < target:
            return Cell(f"{rate:.0f} users/s ({self.created} of {target} in {elapsed:.0f}s)",
                        f"stopped at the {self.plan.populate_seconds:.0f}s bound; later rows use "
                        f"{self.created} users")
        return Cell(f"{rate:.0f} users/s ({elapsed:.1f}s)")

    def expected_filtered(self) -> set[str]:
        return {username(n) for n in range(self.created) if email(n).startswith("user1234")}

    def list_filtered(self) -> Cell:
        expected = self.expected_filtered()
        found: list[set[str]] = []

        def one(_i: int) -> None:
            names, token = set(), None
            while True:
                kwargs = {"PaginationToken": token} if token else {}
                answer = self.idp.list_users(UserPoolId=self.pool_id, Filter='email ^= "user1234"', **kwargs)
                names |= {u["Username"] for u in answer["Users"]}
                token = answer.get("PaginationToken")
                if not token:
                    break
            found.append(names)
        samples = repeat(one, self.plan.list_filtered)
        cell = latency(samples, self.smaller_pool(), planned=self.plan.list_filtered)
        if found[-1] != expected:
            cell.text += " (wrong result)"
            cell.note = f"returned {len(found[-1])} users where {len(expected)} match. {cell.note}".strip()
        return cell

    def smaller_pool(self) -> str:
        """A note when the pool did not reach --users within the population bound."""
        if self.created >= self.plan.users:
            return ""
        return f"over {self.created + 1} users only (see the population row)"

    def walk(self) -> Cell:
        expected = self.created + 1          # + the sign-in user
        pages_seen, counts = [], []

        def one(_i: int) -> None:
            names, token, pages = set(), None, 0
            while True:
                kwargs = {"PaginationToken": token} if token else {}
                answer = self.idp.list_users(UserPoolId=self.pool_id, Limit=60, **kwargs)
                pages += 1
                names |= {u["Username"] for u in answer["Users"]}
                token = answer.get("PaginationToken")
                if not token:
                    break
            pages_seen.append(pages)
            counts.append(len(names))
        samples = repeat(one, self.plan.walks, budget=8.0)
        value = statistics.median(samples)
        pages = pages_seen[-1]
        text = f"{value:.2f} s ({pages} page{'s' if pages != 1 else ''})"
        notes = [self.smaller_pool()]
        if len(samples) < self.plan.walks:
            notes.append(f"{len(samples)} of {self.plan.walks} walks within the time bound.")
        if counts[-1] != expected:
            text += " (wrong result)"
            notes.append(f"walked {counts[-1]} distinct users of {expected}.")
        elif pages < math.ceil(expected / 60):
            notes.append(f"pages of more than 60 users: Limit=60 is ignored ({expected} users in {pages}).")
        return Cell(text, " ".join(n for n in notes if n))

    # 6. throughput
    def throughput(self) -> Cell:
        clients = [client("cognito-idp", self.server.url) for _ in range(self.plan.threads)]
        population = max(self.created, 1)
        counts = [0] * self.plan.threads
        errors: list[Exception] = []
        stop = threading.Event()

        def worker(index: int) -> None:
            idp = clients[index]
            for n in itertools.count(index * 7919):
                if stop.is_set():
                    return
                try:
                    idp.admin_get_user(UserPoolId=self.pool_id, Username=username(n % population))
                except Exception as error:  # noqa: BLE001
                    errors.append(error)
                    stop.set()
                    return
                counts[index] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(self.plan.threads)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        stop.wait(self.plan.throughput_seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise Unavailable(classify(errors[0]))
        return Cell(f"{sum(counts) / elapsed:.0f} req/s")

    # identity pools: an unauthenticated identity and its credentials
    def identity(self) -> Cell:
        identity = client("cognito-identity", self.server.url)
        pool = call(identity.create_identity_pool, IdentityPoolName="bench",
                    AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
        try:
            call(identity.set_identity_pool_roles, IdentityPoolId=pool,
                 Roles={"unauthenticated": "arn:aws:iam::000000000000:role/bench-unauth"})
        except Unavailable:
            pass  # some peers hand out credentials without roles

        def one(_i: int) -> None:
            identity_id = identity.get_id(IdentityPoolId=pool, AccountId="000000000000")["IdentityId"]
            answer = identity.get_credentials_for_identity(IdentityId=identity_id)
            if not answer.get("Credentials", {}).get("AccessKeyId"):
                raise RuntimeError("no credentials in the answer")
        return latency(repeat(one, self.plan.identities), planned=self.plan.identities)


# ---------------------------------------------------------------------------------------------
# Report


def machine() -> str:
    return (f"nproc {len(os.sched_getaffinity(0))}, {platform.machine()}, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def render(outcomes: list[Outcome], plan: Plan, quick: bool, started: datetime.datetime,
           load_before: str) -> str:
    lines = [f"# cognito-emulator benchmark — {started:%Y-%m-%d %H:%M} UTC", "",
             f"- Machine: {machine()}; load average {load_before} before, {load()} after "
             "(other work on the machine skews the numbers)",
             f"- Pool size: {plan.users} users{' (--quick)' if quick else ''}; client: boto3 "
             f"{importlib.metadata.version('boto3')}, no retries, on the same machine",
             "- Latency cells: median / p95 over the row's repetitions; lower is better.",
             "- Servers:"]
    for o in outcomes:
        try:
            version = o.server.version()
        except Exception:  # noqa: BLE001  (not installed: the error says so)
            version = "version unknown"
        lines.append(f"  - {o.server.label}: {version}"
                     + (f" — {o.error}" if o.error else
                        f" ({o.seconds:.0f}s wall{', ' + o.usage if o.usage else ''})"))
    counts = {
        "pool": plan.pairs, "create": plan.creates, "admin_auth": plan.signins, "user_auth": plan.signins,
        "srp": plan.srp, "get_user": plan.get_user, "list_filter": plan.list_filtered, "walk": plan.walks,
        "identity": plan.identities,
    }
    header = ["Operation", *(o.server.label for o in outcomes)]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes: list[str] = []
    for key, title in ROWS:
        label = title + (f" ×{counts[key]}" if key in counts else "")
        if key == "throughput":
            label += f", {plan.throughput_seconds:.0f}s"
        if key == "populate":
            label = f"Create {plan.users} users (4 threads)"
        row = [label]
        for o in outcomes:
            cell = o.cells.get(key) or Cell("—" if o.error else "not run")
            text = cell.text
            if cell.note:
                notes.append(f"{o.server.label}, {title}: {cell.note}")
                text += f" [{len(notes)}]"
            row.append(text.replace("|", "\\|"))
        lines.append("| " + " | ".join(row) + " |")
    if notes:
        lines += ["", "Notes:", ""] + [f"{i}. {n.replace(chr(10), ' ')}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=None, help="users in the ListUsers pool (default 10000; "
                        "--quick 1000)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, about a minute in all")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma-separated, from: {', '.join(SERVERS)}")
    parser.add_argument("--output", default=str(BENCH / "results.md"), help="where to write the table "
                        "('-' for nowhere)")
    args = parser.parse_args(argv)
    users = args.users if args.users is not None else (1000 if args.quick else 10000)
    plan = Plan.quick(users) if args.quick else Plan(users=users)
    plan.creates = min(plan.creates, users)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose from {list(SERVERS)}")

    started = datetime.datetime.now(datetime.UTC)
    load_before = load()
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    outcomes = []
    for name in names:
        server = SERVERS[name]()
        outcome = Outcome(server)
        outcomes.append(outcome)
        missing = server.available()
        if missing:
            outcome.error = f"not run ({missing})"
            log(f"{server.label}: {outcome.error}")
            continue
        log(f"{server.label}: starting")
        began = time.perf_counter()
        try:
            server.start()
        except Exception as error:  # noqa: BLE001
            outcome.error = f"did not start: {error}"
            log(f"{server.label}: {outcome.error}")
            continue
        try:
            outcome.cells = Bench(server, plan, log).run()
            outcome.usage = server.usage()
        finally:
            server.stop()
        outcome.seconds = time.perf_counter() - began

    table = render(outcomes, plan, args.quick, started, load_before)
    print(table)
    if args.output != "-":
        Path(args.output).write_text(table)
        log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
