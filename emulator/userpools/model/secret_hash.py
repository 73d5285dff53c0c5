"""SECRET_HASH: Base64(HMAC-SHA256(key=client secret, msg=username + client id)).

Checked for every call made with a client that has a secret (SignUp, ConfirmSignUp,
ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword, and each sign-in step).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from emulator.userpools import errors
from emulator.userpools.model import clients


def compute(secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _secrets(db, client: dict) -> list[str]:
    found = clients.client_secrets(db, client["ClientId"])
    if not found and client.get("ClientSecret"):
        found = [client["ClientSecret"]]
    return list(found)


def check_secret_hash(db, client: dict, usernames: list[str], provided: str | None) -> None:
    """Raise NotAuthorizedException unless `provided` matches one of the client's secrets
    for one of `usernames` (e.g. what the user typed and the canonical username).
    Clients without a secret accept anything."""
    client_secrets = _secrets(db, client)
    if not client_secrets:
        return
    client_id = client["ClientId"]
    if not provided:
        raise errors.NotAuthorizedException(f"Client {client_id} is configured for secret but secret was not received")
    # Bytes: compare_digest refuses a str with non-ASCII characters, and `provided` is the caller's.
    given = provided.encode()
    for secret in client_secrets:
        for username in usernames:
            if username is not None and hmac.compare_digest(compute(secret, username, client_id).encode(), given):
                return
    raise errors.NotAuthorizedException(f"Unable to verify secret hash for client {client_id}")
