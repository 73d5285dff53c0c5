"""The credentials strict mode (`--verify-signatures`) accepts, for protocol.sigv4.Verifier.

Known keys come from, in this order:
1. `--credentials` / COGNITO_EMULATOR_CREDENTIALS: JSON `{"AKID": "secret", ...}`;
2. the config file's `credentials` table: `{"AKID": "secret"}` or
   `{"AKID": {"secret_access_key": "...", "session_token": "..."}}` (re-read when it changes);
3. temporary credentials the emulator issued (GetCredentialsForIdentity, STS), with their
   session token and expiry.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

from emulator import digests, lambdas
from emulator.config import Config
from protocol.sigv4 import SigningKey, Verifier


class CredentialsError(ValueError):
    """A credentials setting that cannot be read."""


def parse_credentials(document: Any, where: str) -> dict[str, SigningKey]:
    """{access key: SigningKey} from a mapping of access key ids to a secret or an object."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise CredentialsError(f"{where}: expected an object mapping access key ids to secrets")
    keys: dict[str, SigningKey] = {}
    for access_key, entry in document.items():
        if isinstance(entry, str) and entry:
            keys[access_key] = SigningKey(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("secret_access_key"), str):
            token = entry.get("session_token")
            keys[access_key] = SigningKey(entry["secret_access_key"],
                                          token if isinstance(token, str) and token else None)
        else:
            raise CredentialsError(f'{where}: {access_key} needs a secret or {{"secret_access_key": ...}}')
    return keys


def configured_credentials(config: Config) -> dict[str, SigningKey]:
    """The keys of --credentials / COGNITO_EMULATOR_CREDENTIALS."""
    if not config.credentials:
        return {}
    try:
        document = json.loads(config.credentials)
    except ValueError as err:
        raise CredentialsError(f"COGNITO_EMULATOR_CREDENTIALS is not JSON: {err}") from None
    return parse_credentials(document, "COGNITO_EMULATOR_CREDENTIALS")


_file_cache: dict[str, tuple[float, dict[str, SigningKey]]] = {}
_file_lock = threading.Lock()


def file_credentials(path: str | None) -> dict[str, SigningKey]:
    """The config file's `credentials` table (cached until the file changes)."""
    if not path:
        return {}
    try:
        mtime = os.stat(path).st_mtime
    except OSError as err:
        raise CredentialsError(f"Config file {path} cannot be read: {err}") from None
    with _file_lock:
        cached = _file_cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        document = lambdas.load_config_file(path) or {}
    except (OSError, ValueError) as err:
        raise CredentialsError(f"Config file {path} is not valid JSON or TOML: {err}") from None
    keys = parse_credentials(document.get("credentials"), f"Config file {path}: credentials")
    with _file_lock:
        _file_cache[path] = (mtime, keys)
    return keys


def _issued(db, access_key: str) -> SigningKey | None:
    # Temporary credentials are kept by emulator.identitypools.credentials (secret in clear, the
    # session token as its SHA-256); that module has no public reader for the secret yet.
    row = db.execute("SELECT secret_key, session_token_hash, expiration FROM identity_credentials "
                     "WHERE access_key_id = ?", (access_key,)).fetchone()
    if row is None:
        return None
    digest = row["session_token_hash"]

    def token_check(token: str) -> bool:
        return digests.matches(token, digest)

    return SigningKey(row["secret_key"], token_check=token_check, expires_at=float(row["expiration"]))


def credentials_lookup(emulator) -> Callable[[str], SigningKey | None]:
    """access key -> SigningKey for every key the emulator knows, or None."""
    static = configured_credentials(emulator.config)
    file_credentials(emulator.config.config_file)  # a broken file is reported at start-up

    def lookup(access_key: str) -> SigningKey | None:
        found = static.get(access_key)
        if found is None:
            try:
                found = file_credentials(emulator.config.config_file).get(access_key)
            except CredentialsError:
                found = None
        if found is not None:
            return found
        with emulator.store.transaction() as db:
            return _issued(db, access_key)

    return lookup


def verifier(emulator) -> Verifier | None:
    """The SigV4 verifier of strict mode, or None when signatures are not verified."""
    if not emulator.config.verify_signatures:
        return None

    def now() -> float:
        with emulator.store.transaction() as db:
            emulator.clock.load(db)
        return emulator.clock.now()

    return Verifier(credentials_lookup(emulator), now)
