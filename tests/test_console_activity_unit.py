"""The console's activity log under another worker's write: a request never waits for it."""

from __future__ import annotations

import sqlite3
import time

from emulator.console.activity import ActivityLog


def test_a_request_does_not_wait_for_a_busy_log_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "activity.sqlite3")
    log = ActivityLog(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another worker is writing the file
    log.record_api_call(service="cognito-idp", operation="AdminGetUser", status=200, error=None, error_body=None,
                        seconds=0.001, request_id="r1")
    started = time.monotonic()
    log.flush(wait=False)  # what a request does: gives up at once
    assert time.monotonic() - started < 0.5
    other.execute("COMMIT")
    log.record_api_call(service="cognito-idp", operation="GetUser", status=200, error=None, error_body=None,
                        seconds=0.001, request_id="r2")
    log.flush()
    rows = sqlite3.connect(path).execute("SELECT operation, request_id FROM api_calls ORDER BY seq").fetchall()
    assert rows == [("AdminGetUser", "r1"), ("GetUser", "r2")]  # nothing lost, in order
