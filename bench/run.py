"""`make bench`: time common operations against a running emulator.

Starts the emulator on a free port (in-memory store) and measures pool creation, user
creation, sign-in and filtered ListUsers over a pool of many users. Peers (moto,
cognito-local) are measured side by side when they are installed.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from conftest import EmulatorProcess, make_client  # noqa: E402


def timed(label: str, fn, repeat: int = 1) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    value = statistics.median(samples)
    print(f"{label:<48} {value * 1000:10.2f} ms")
    return value


def main(users: int = 2000) -> None:
    server = EmulatorProcess("--in-memory")
    try:
        idp = make_client("cognito-idp", server.url)
        pool = {}

        def create_pool():
            pool["id"] = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]

        timed("CreateUserPool", create_pool)
        counter = iter(range(10**9))

        def create_user():
            n = next(counter)
            idp.admin_create_user(UserPoolId=pool["id"], Username=f"user{n:07d}", MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": f"user{n}@example.com"}])

        timed("AdminCreateUser (median of 200)", create_user, repeat=200)
        for _ in range(users - 200):
            create_user()
        timed(f"ListUsers email ^= filter over {users} users",
              lambda: idp.list_users(UserPoolId=pool["id"], Filter='email ^= "user1999"'), repeat=20)
        timed(f"ListUsers page of 60 over {users} users",
              lambda: idp.list_users(UserPoolId=pool["id"], Limit=60), repeat=20)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
