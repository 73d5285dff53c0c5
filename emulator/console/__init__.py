"""The web console at /_emulator/console: browse and act on user pools, users, identity pools and
Sync data (through the API operations), the live outbox, the trigger and API call logs, a token
inspector, the clock and reset, and how to point an app at a pool.

Server-rendered pages (a Flask Blueprint and Jinja templates, autoescaped), a little plain
JavaScript for the live outbox and copy buttons, no build step. `GET /` sends browsers here.

The pages are a Flask app of their own, built by each worker at its first console request: their
forty routes and modules would otherwise add 30 ms to every start. Recording API and trigger calls
starts with the emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from emulator import lambdas
from emulator.console import activity
from emulator.console.activity import ActivityLog
from emulator.console.paths import PREFIX
from emulator.flaskapp import FlaskApp

if TYPE_CHECKING:
    from emulator.app import Emulator

log = logging.getLogger("cognito_emulator.console")


def install(emulator: Emulator) -> None:
    """Serve the console under /_emulator/console (once), and record API calls and trigger calls."""
    if "console_root" in emulator.flask.view_functions:
        return
    activity_log = ActivityLog(activity.path_for(emulator.config, getattr(emulator.store.backend, "path", None)))
    activity.register(emulator.config, activity_log)
    emulator.call_observers.append(_api_call_recorder(activity_log))
    emulator.on_reset.append(activity_log.clear)
    if activity.trigger_observer not in lambdas.observers:
        lambdas.observers.append(activity.trigger_observer)
    emulator.surfaces.append(_Pages(emulator, activity_log).surface)
    emulator.flask.add_url_rule("/", "console_root", _root, methods=["GET"])


class _Pages:
    """The console's Flask app, built at its first request in each process."""

    def __init__(self, emulator: Emulator, activity_log: ActivityLog) -> None:
        self.emulator, self.activity = emulator, activity_log
        self._app: Flask | None = None
        self._lock = threading.Lock()

    def surface(self, request: Request) -> Flask | None:
        path = request.path
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return None
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
        return self._app

    def _build(self) -> Flask:
        from emulator.console import common, identities, pools, tools  # noqa: F401 (their routes)

        app = FlaskApp("cognito_emulator_console")
        app.extensions[common.EXTENSION] = common.Console(emulator=self.emulator, activity=self.activity)
        app.jinja_env.filters["console_time"] = _time
        app.jinja_env.filters["console_json"] = _json
        app.jinja_env.filters["console_attrs"] = _attributes
        app.register_blueprint(common.blueprint)

        @app.errorhandler(Exception)
        def _unexpected(err: Exception):
            if isinstance(err, HTTPException):
                return err
            log.exception("internal error in the console")
            self.emulator._count_error()  # counted in /_emulator/health as the API's are
            return Response("Internal error.", 500, content_type="text/plain; charset=utf-8")

        return app


def _api_call_recorder(log: ActivityLog):
    def record(route: Any, response: Response, seconds: float) -> None:
        try:
            status = response.status_code
            failed = status >= 400
            error = (response.headers.get("x-amzn-ErrorType") or "").split(":")[0] or None if failed else None
            log.record_api_call(service=route.registry.service_name if route.registry else "-",
                                operation=route.operation, status=status, error=error,
                                error_body=response.get_data() if failed else None, seconds=seconds,
                                request_id=response.headers.get("x-amzn-RequestId"))
        except Exception:  # recording never fails the call
            log.debug("API call not recorded", exc_info=True)
    return record


def _root() -> Response:
    """Browsers (asking for HTML by name) go to the console; any other GET / is answered as before."""
    if any(value == "text/html" and quality > 0 for value, quality in request.accept_mimetypes):
        response = Response("", 302)
        response.headers["Location"] = PREFIX + "/"
        return response
    abort(404)


def _time(epoch: Any) -> str:
    if isinstance(epoch, dt.datetime):
        return epoch.isoformat()
    if not isinstance(epoch, (int, float)):
        return "" if epoch is None else str(epoch)
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _attributes(pairs: Any) -> dict[str, str]:
    """[{Name, Value}, ...] as a dict."""
    return {a.get("Name"): a.get("Value") for a in pairs or [] if isinstance(a, dict)}


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)
