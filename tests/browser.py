"""What the browser tests share: the Debian `chromium` driven by Playwright with a fresh profile
per test (the browser's own storage, cookies and all), and the app's redirect target.

A test module calls `require()` first: without chromium or playwright the module is skipped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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
