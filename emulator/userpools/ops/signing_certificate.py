"""signing_certificate_ops: split from signing_certificate.py (see ARCHITECTURE.md)."""

from __future__ import annotations

from emulator.userpools import registry
from emulator.userpools.model import pools
from emulator.userpools.model.signing_certificate import signing_certificate


@registry.handler
def get_signing_certificate(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    return {"Certificate": signing_certificate(ctx.db, pool, ctx.now())}
