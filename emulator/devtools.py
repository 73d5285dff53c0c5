"""/_emulator/* endpoints: health, outbox, clock, reset; and /moto-api/reset."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask import jsonify, request

from emulator import __version__, mail, messages
from protocol.serialize import parse_timestamp

if TYPE_CHECKING:
    from emulator.app import Emulator


def _bad_request(message: str):
    response = jsonify({"__type": "BadRequest", "message": message})
    response.status_code = 400
    return response


def install(emulator: Emulator) -> None:
    app = emulator.flask
    store = emulator.store
    clock = emulator.clock

    def clock_state():
        now = clock.now()
        return {"now": dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z"),
                "epoch": now, "offset_seconds": clock.offset, "frozen": clock.frozen}

    @app.get("/_emulator/health")
    def health():
        return jsonify({"status": "ok", "version": __version__,
                        "services": [r.service_name for r in emulator.registries],
                        "internal_errors": emulator.internal_errors,
                        "smtp": {"sent": store.counter(mail.SENT_COUNTER), "failed": store.counter(mail.FAILED_COUNTER)}})

    @app.get("/_emulator/messages")
    def get_messages():
        args = request.args
        try:
            limit = int(args.get("limit", 100))
        except ValueError:
            return _bad_request("limit must be a whole number")
        with store.transaction() as db:
            found = messages.list_messages(
                db, pool_id=args.get("pool_id"), username=args.get("username"),
                destination=args.get("destination"), kind=args.get("kind"),
                channel=args.get("channel"), limit=limit)
        return jsonify({"messages": found})

    @app.delete("/_emulator/messages")
    def delete_messages():
        with store.transaction() as db:
            messages.clear(db)
        return jsonify({"deleted": True})

    @app.get("/_emulator/clock")
    def get_clock():
        with store.transaction() as db:
            clock.load(db)
        return jsonify(clock_state())

    @app.post("/_emulator/clock")
    def post_clock():
        body = request.get_json(silent=True, force=True)
        usage = ('Send JSON: {"advance_seconds": N}, {"set": "<ISO-8601>"}, {"freeze": true|false} '
                 'or {"reset": true}')
        if not isinstance(body, dict):
            return _bad_request(usage)
        with store.transaction() as db:
            clock.load(db)
            if body.get("reset"):
                clock.reset()
            elif "advance_seconds" in body:
                try:
                    clock.set_offset(clock.offset + float(body["advance_seconds"]))
                except (TypeError, ValueError):
                    return _bad_request("advance_seconds must be a number")
            elif "set" in body:
                try:
                    target = parse_timestamp(str(body["set"]))
                except ValueError:
                    return _bad_request("set must be an ISO-8601 date-time or epoch seconds")
                clock.set_offset(target - (clock.now() - clock.offset))
            elif "freeze" not in body:
                return _bad_request(usage)
            if "freeze" in body:  # after any move, so the clock stops at the instant just set
                if body["freeze"]:
                    clock.freeze()
                else:
                    clock.unfreeze()
            clock.save(db)
        return jsonify(clock_state())

    def reset():
        emulator.reset()
        return jsonify({"reset": True})

    app.post("/_emulator/reset")(reset)
    app.add_url_rule("/moto-api/reset", "moto_reset", reset, methods=["POST"])
