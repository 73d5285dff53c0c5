"""/{poolId}/.well-known/jwks.json and /{poolId}/.well-known/openid-configuration."""

from __future__ import annotations

from flask import jsonify, request

from emulator.userpools.model import keys


def _pool_region(db, pool_id: str) -> str | None:
    row = db.execute("SELECT region FROM user_pools WHERE id = ?", (pool_id,)).fetchone()
    return row["region"] if row else None


def _not_found(pool_id: str):
    response = jsonify({"__type": "ResourceNotFoundException",
                        "message": f"User pool {pool_id} does not exist."})
    response.status_code = 404
    return response


def install(emulator) -> None:
    app = emulator.flask

    @app.get("/<pool_id>/.well-known/jwks.json")
    def jwks(pool_id: str):
        with emulator.store.transaction() as db:
            if _pool_region(db, pool_id) is None:
                return _not_found(pool_id)
            return jsonify(keys.jwks(db, pool_id))

    @app.get("/<pool_id>/.well-known/openid-configuration")
    def openid_configuration(pool_id: str):
        with emulator.store.transaction() as db:
            region = _pool_region(db, pool_id)
            if region is None:
                return _not_found(pool_id)
        base = emulator.base_url(request)
        iss = keys.issuer(emulator.config, base, region, pool_id)
        return jsonify({
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "end_session_endpoint": f"{base}/logout",
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": iss,
            "jwks_uri": f"{base}/{pool_id}/.well-known/jwks.json",
            "response_types_supported": ["code", "token"],
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint": f"{base}/oauth2/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "userinfo_endpoint": f"{base}/oauth2/userInfo",
        })
