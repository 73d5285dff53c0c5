"""App clients: create, describe, update, delete, list, and their secrets.

A client is stored as the UserPoolClientType dict DescribeUserPoolClient answers
(ClientSecret included). Sign-in reads it with `load_client`, checks SECRET_HASH against
every secret from `client_secrets` and gates flows with `allowed_flows`; its token validity
settings are read with UNIT_SECONDS, DEFAULT_UNITS and DEFAULT_VALUES (accounts.tokens.validity_seconds).
"""

from __future__ import annotations

import sqlite3
import string

from emulator.store import loads, register_schema
from emulator.userpools import errors, registry
from emulator.userpools.model import keys, pools
from protocol import ServiceError

register_schema("userpools.clients", [
    """
    CREATE TABLE user_pool_clients (
        id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX user_pool_clients_pool ON user_pool_clients(pool_id, created, id);
    CREATE TABLE user_pool_client_secrets (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        secret TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX user_pool_client_secrets_client ON user_pool_client_secrets(client_id, created);
    """,
], owned={"user_pool": ("user_pool_client_secrets", "user_pool_clients")})

MAX_CLIENTS = 1000
MAX_SECRETS = 2
LOWER = string.ascii_lowercase + string.digits
# Plain HTTP is accepted only for these hosts (localhost, and the loopback IP literals).
LOOPBACK = {"localhost", "127.0.0.1", "::1"}

LEGACY_FLOWS = {"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"}
# The M2M flow of GetClientToken: must be a client's only flow.
CLIENT_TOKEN_FLOW = "ALLOW_CLIENT_TOKEN_AUTH"
DEFAULT_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
STANDARD_SCOPES = {"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DEFAULT_UNITS = {"AccessToken": "hours", "IdToken": "hours", "RefreshToken": "days"}
DEFAULT_VALUES = {"AccessToken": 1, "IdToken": 1, "RefreshToken": 30}


# The service accepts this flow although botocore's model does not list it (yet).
registry.extend_enum("ExplicitAuthFlowsType", CLIENT_TOKEN_FLOW)


def not_found(client_id: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"User pool client {client_id} does not exist.")


# -- contracts for other modules ---------------------------------------------------------------
def load_client(db: sqlite3.Connection, client_id: str, pool_id: str | None = None) -> dict:
    """The client's UserPoolClientType dict (with ClientSecret when it has one).

    ResourceNotFoundException when there is no such client, or it belongs to another pool.
    """
    row = db.execute("SELECT pool_id, data FROM user_pool_clients WHERE id = ?", (client_id,)).fetchone()
    if row is None or (pool_id is not None and row["pool_id"] != pool_id):
        raise not_found(client_id)
    return loads(row["data"])


def pool_and_client(db: sqlite3.Connection, req: dict) -> tuple[dict, dict | None]:
    """The pool a request names (UserPoolId) and its client (ClientId; None when the request names
    none); not-found errors as AWS answers them."""
    pool = pools.load_pool(db, req["UserPoolId"])
    client = load_client(db, req["ClientId"], pool["Id"]) if req.get("ClientId") else None
    return pool, client


def secret_rows(db: sqlite3.Connection, client_id: str) -> list[sqlite3.Row]:
    return db.execute("SELECT id, secret, created FROM user_pool_client_secrets WHERE client_id = ? "
                      "ORDER BY created, id", (client_id,)).fetchall()


def client_secrets(db: sqlite3.Connection, client_id: str) -> list[str]:
    """Every secret currently valid for the client (oldest first); empty for a public client."""
    return [r["secret"] for r in secret_rows(db, client_id)]


def allowed_flows(client: dict) -> set[str]:
    """The ALLOW_* flows a client permits, legacy names translated as AWS does."""
    flows = set(client.get("ExplicitAuthFlows") or DEFAULT_FLOWS)
    if flows & LEGACY_FLOWS:
        # Legacy clients always allowed SRP and refresh; CUSTOM_AUTH_FLOW_ONLY allows only custom auth.
        out = {"ALLOW_REFRESH_TOKEN_AUTH"}
        if "CUSTOM_AUTH_FLOW_ONLY" in flows:
            out.add("ALLOW_CUSTOM_AUTH")
        else:
            out |= {"ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"}
        if "ADMIN_NO_SRP_AUTH" in flows:
            out.add("ALLOW_ADMIN_USER_PASSWORD_AUTH")
        if "USER_PASSWORD_AUTH" in flows:
            out.add("ALLOW_USER_PASSWORD_AUTH")
        return out
    return flows


# -- validation ----------------------------------------------------------------------------------


SETTINGS = ("ClientName", "ReadAttributes", "WriteAttributes", "SupportedIdentityProviders",
             "CallbackURLs", "LogoutURLs", "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes",
             "AnalyticsConfiguration", "RefreshTokenRotation")


# -- operations -------------------------------------------------------------------------------


def pool_id_of(db: sqlite3.Connection, params: dict) -> str | None:
    """The pool an API request addresses: UserPoolId, else its ClientId's, else its access token's."""
    pool_id = params.get("UserPoolId")
    if isinstance(pool_id, str):
        return pool_id
    client_id = params.get("ClientId")
    if isinstance(client_id, str):
        # Asked up to three times per request (region routing, recovery, threat protection).
        memo = db.memo
        key = ("client pool", client_id)
        if key not in memo:
            row = db.execute("SELECT pool_id FROM user_pool_clients WHERE id = ?", (client_id,)).fetchone()
            memo[key] = row["pool_id"] if row is not None else None
        return memo[key]
    token = params.get("AccessToken")
    if isinstance(token, str):
        return keys.token_pool_id(token)
    return None
