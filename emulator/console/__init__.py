"""The web console at /_emulator/console: browse and act on user pools, users, identity pools and
Sync data (through the API operations), the live outbox, the trigger and API call logs, a token
inspector, the clock and reset, and how to point an app at a pool.

Server-rendered pages (a Flask Blueprint and Jinja templates, autoescaped), a little plain
JavaScript for the live outbox and copy buttons, no build step. `GET /` sends browsers here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

from flask import abort, request
from werkzeug.wrappers import Response

from emulator import lambdas
from emulator.console import activity, common, identities, pools, tools
from emulator.console.activity import ActivityLog

if TYPE_CHECKING:
    from emulator.app import Emulator

# Each route module is imported above: its routes are on common.blueprint.
ROUTE_MODULES = (identities, pools, tools)


def install(emulator: Emulator) -> None:
    """Mount the console on `emulator.flask` (once), and record its API calls and trigger calls."""
    app = emulator.flask
    if common.EXTENSION in app.extensions:
        return
    log = ActivityLog(activity.path_for(emulator.config, getattr(emulator.store.backend, "path", None)))
    activity.register(emulator.config, log)
    app.extensions[common.EXTENSION] = common.Console(emulator=emulator, activity=log)
    emulator.call_observers.append(_api_call_recorder(log))
    emulator.on_reset.append(log.clear)
    if activity.trigger_observer not in lambdas.observers:
        lambdas.observers.append(activity.trigger_observer)
    app.jinja_env.filters["console_time"] = _time
    app.jinja_env.filters["console_json"] = _json
    app.jinja_env.filters["console_attrs"] = _attributes
    app.register_blueprint(common.blueprint)
    app.add_url_rule("/", "console_root", _root, methods=["GET"])


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
            logging.getLogger("cognito_emulator.console").debug("API call not recorded", exc_info=True)
    return record


def _root() -> Response:
    """Browsers (asking for HTML by name) go to the console; any other GET / is answered as before."""
    if any(value == "text/html" and quality > 0 for value, quality in request.accept_mimetypes):
        response = Response("", 302)
        response.headers["Location"] = common.PREFIX + "/"
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
