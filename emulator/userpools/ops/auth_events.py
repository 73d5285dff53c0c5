"""auth_events_ops: split from auth_events.py (see ARCHITECTURE.md)."""

from __future__ import annotations

from emulator import paging
from emulator.store import loads
from emulator.userpools import registry
from emulator.userpools.model.auth_events import (
    ADMIN_PROVIDER,
    PAGE,
    pool_with_add_on,
    resolve,
    set_feedback,
    submit_user_feedback,
)


@registry.handler
def admin_list_user_auth_events(ctx, req):
    db = ctx.db
    pool = pool_with_add_on(db, req["UserPoolId"])
    username = resolve(db, pool, req["Username"])
    # Newest first, as AWS lists them (events of the same instant: the later recorded first).
    rows, token = paging.page(
        db, "SELECT rowid, created, data FROM user_pool_auth_events WHERE pool_id = ? AND username = ?",
        [pool["Id"], username], ["created", "rowid"], req.get("MaxResults") or PAGE, req.get("NextToken"),
        descending=True)
    return {"AuthEvents": [loads(r["data"]) for r in rows], "NextToken": token}


@registry.handler
def admin_update_auth_event_feedback(ctx, req):
    pool = pool_with_add_on(ctx.db, req["UserPoolId"])
    username = resolve(ctx.db, pool, req["Username"])
    set_feedback(ctx, pool, username, req["EventId"], req["FeedbackValue"], ADMIN_PROVIDER)
    return {}


@registry.handler
def update_auth_event_feedback(ctx, req):
    submit_user_feedback(ctx, req["UserPoolId"], req["Username"], req["EventId"], req["FeedbackToken"],
                         req["FeedbackValue"])
    return {}
