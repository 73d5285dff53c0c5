"""Every setting, from command-line flags and COGNITO_EMULATOR_* environment variables."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from protocol.body import MAX_BODY_BYTES


@dataclasses.dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 9229
    data_dir: str = ".cognito-emulator"
    in_memory: bool = False
    database_url: str | None = None  # postgresql://...: state in PostgreSQL, shared by several nodes
    workers: int = 0  # worker processes of `serve` (0: one per core)
    threads: int = 8  # threads per worker process
    region: str = "us-east-1"
    account_id: str = "000000000000"
    public_url: str | None = None
    log_level: str = "INFO"
    issuer_style: str = "emulator"  # "emulator": {base URL}/{poolId}; "aws": https://cognito-idp...
    lambda_endpoint: str | None = None  # Lambda Invoke API base URL (LocalStack, sam local start-lambda)
    # JSON or TOML: {"lambdas": {arn-or-name: {"url"|"callable": ...}},
    #                "credentials": {access-key-id: secret | {"secret_access_key", "session_token"}}}
    config_file: str | None = None
    kinesis_endpoint: str | None = None  # Kinesis API base URL for Cognito Streams (e.g. LocalStack)
    kms_endpoint: str | None = None  # KMS API base URL that encrypts custom sender codes (e.g. LocalStack)
    tls: bool = False  # serve HTTPS with a self-signed certificate generated in {data_dir}/tls
    tls_cert: str | None = None  # PEM certificate (chain) to serve HTTPS with
    tls_key: str | None = None  # PEM private key of tls_cert
    verify_signatures: bool = False  # strict mode: refuse requests whose SigV4 signature is wrong
    credentials: str | None = None  # JSON {"AKID": "secret", ...}: keys strict mode knows (and the file's)
    lambda_timeout: float = 5.0  # seconds a trigger may run before the invocation fails (and is retried)
    max_request_bytes: int = MAX_BODY_BYTES  # larger request bodies are refused with 413 unread
    throttle: str = "off"  # "aws": refuse requests over AWS's request-rate quotas (emulator/throttling.py)
    throttle_scale: float = 1.0  # multiplies AWS's quotas (and provisioned limits) under --throttle aws
    throttle_rates: str | None = None  # JSON {"UserAuthentication": 5, "GetId": 2, ...}: quotas set outright
    seed: str | None = None  # a declared environment (seed file, amplify_outputs.json, template) applied at start
    smtp: str | None = None  # HOST:PORT of an SMTP server every email is also delivered to (Mailpit, MailHog)
    social: str = "auto"  # auto | sandbox | online, or per provider: google=sandbox,facebook=online

    @property
    def database_path(self) -> str | None:
        """The SQLite file, or None for the in-memory store."""
        if self.in_memory or self.database_url:
            return None
        return str(Path(self.data_dir) / "cognito.sqlite3")


# name -> (type, help); the CLI builds flags from this and the environment fills defaults.
SETTINGS: dict[str, tuple[type, str]] = {
    "host": (str, "address to listen on"),
    "port": (int, "port to listen on"),
    "data_dir": (str, "directory of the SQLite database and keys"),
    "in_memory": (bool, "keep all state in memory (nothing survives a restart)"),
    "database_url": (str, "postgresql://user:pass@host/db: keep state in PostgreSQL, shared by every emulator "
                     "node pointed at it (instead of SQLite under --data-dir)"),
    "workers": (int, "worker processes serving requests (0: one per CPU core)"),
    "threads": (int, "threads per worker process"),
    "region": (str, "default region when a request does not name one"),
    "account_id": (str, "AWS account id used in ARNs"),
    "public_url": (str, "base URL the emulator is reached at (issuer, hosted UI links)"),
    "log_level": (str, "DEBUG, INFO, WARNING or ERROR"),
    "issuer_style": (str, "'emulator' ({base URL}/{poolId}) or 'aws' (https://cognito-idp.{region}.amazonaws.com/{poolId})"),
    "lambda_endpoint": (str, "Lambda Invoke API base URL for functions not mapped otherwise (LocalStack, SAM)"),
    "config_file": (str, "JSON or TOML file: table lambdas (ARN or name to a URL or Python callable) "
                    "and table credentials (access key id to secret) for --verify-signatures"),
    "kinesis_endpoint": (str, "Kinesis API base URL that Cognito Streams records are put to"),
    "kms_endpoint": (str, "KMS API base URL used to encrypt codes for CustomEmailSender/CustomSMSSender"),
    "tls": (bool, "serve HTTPS with a self-signed certificate generated in {data_dir}/tls"),
    "tls_cert": (str, "PEM certificate to serve HTTPS with (with --tls-key)"),
    "tls_key": (str, "PEM private key of --tls-cert"),
    "verify_signatures": (bool, "strict mode: verify SigV4 signatures against known credentials"),
    "credentials": (str, 'JSON {"ACCESS_KEY_ID": "secret", ...} of credentials strict mode accepts'),
    "lambda_timeout": (float, "seconds a Lambda trigger may take per attempt (AWS: 5)"),
    "max_request_bytes": (int, "largest request body accepted (bytes; larger ones get 413 unread)"),
    "throttle": (str, "'off' or 'aws': answer TooManyRequestsException over AWS's request-rate quotas"),
    "throttle_scale": (float, "multiply AWS's request-rate quotas by this (e.g. 0.1) under --throttle aws"),
    "throttle_rates": (str, 'JSON {"UserAuthentication": 5, "GetId": 2, "PerUserPool": 1}: quotas in requests '
                       "per second that replace AWS's (categories, identity pool operations)"),
    "smtp": (str, "HOST:PORT of an SMTP server (Mailpit, MailHog) that every email is also delivered to"),
    "social": (str, "Google, Facebook, Amazon and Apple sign-in: 'auto' (the built-in sandbox for test client ids "
               "and its own tokens), 'sandbox', 'online', or per provider, e.g. 'google=sandbox,apple=online'"),
    "seed": (str, "declared environment applied before serving: a seed file (YAML/JSON/TOML), an Amplify "
             "amplify_outputs.json or a CloudFormation template (README: Declared environments)"),
}


def env_name(setting: str) -> str:
    return "COGNITO_EMULATOR_" + setting.upper()


def _parse(kind: type, text: str):
    if kind is bool:
        return text.strip().lower() in ("1", "true", "yes", "on")
    return kind(text)


def from_environment(environ: dict[str, str] | None = None) -> Config:
    """A Config whose fields come from COGNITO_EMULATOR_* variables where set."""
    environ = os.environ if environ is None else environ
    values = {}
    for name, (kind, _help) in SETTINGS.items():
        raw = environ.get(env_name(name))
        if raw is not None and raw != "":
            values[name] = _parse(kind, raw)
    return Config(**values)
