"""What the browser tests share: the Debian `chromium` driven by Playwright with a fresh profile
per test (the browser's own storage, cookies and all), and the app's redirect target.

A test module calls `require()` first: without chromium or playwright the module is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("TMPDIR", "/tmp")) / "cognito-emulator-screenshots"


def require():
    """playwright.sync_api; skips the calling test module when chromium or playwright is missing."""
    if not CHROMIUM:
        pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


class Callback:
    """The app's redirect target: records every query it receives."""

    def __init__(self) -> None:
        self.hits: queue.Queue = queue.Queue()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                hits.put({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = b"<html><body><h1 id='done'>Signed in</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self) -> dict:
        return self.hits.get(timeout=20)

    def close(self) -> None:
        self.server.shutdown()


@contextlib.contextmanager
def chromium_page():
    """A page of a Chromium with a profile of its own (15 s for anything to appear)."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with require().sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS)
        context.set_default_timeout(15_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


def amplify_redirect_sign_in(page, env: dict, callback: Callback, sign_in) -> tuple[dict, str]:
    """Amplify v6's signInWithRedirect run in node (tests/node/redirect_sign_in.mjs, configured by
    `env`): this browser opens the authorize URL Amplify made, `sign_in(page, query)` goes through
    the pages, and the callback goes back to Amplify, which finishes the flow. (Amplify's result
    object, the authorize URL)."""
    from node_runner import NODE_DIR

    node = subprocess.Popen(["node", "redirect_sign_in.mjs"], cwd=NODE_DIR, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(node.stdout.readline() or "{}")
        assert "authorize" in first, node.stderr.read()
        query = parse_qs(urlsplit(first["authorize"]).query)
        page.goto(first["authorize"])
        sign_in(page, query)
        hit = callback.next()
        assert hit["state"] == query["state"][0]
        node.stdin.write(callback.url + "?" + urlencode(hit) + "\n")
        node.stdin.flush()
        out, errors = node.communicate(timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    assert "error" not in result, (result, errors)
    return result, first["authorize"]
