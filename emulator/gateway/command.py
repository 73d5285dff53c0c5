"""The `gateway` subcommand's arguments; the server is imported only when it runs (every start of
`cognito-emulator` builds the parser)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("gateway", help="an API Gateway stand-in: Cognito authorizers in front of HTTP backends "
                                       "and Lambda functions (README: An authorizer gateway)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--routes", help="routes file (YAML or JSON): authorizers and routes")
    source.add_argument("--template", help="SAM or CloudFormation template whose APIs to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=3000, help="port to listen on (0: a free one)")
    p.add_argument("--emulator-url", default="http://127.0.0.1:9229",
                   help="the emulator whose pools' tokens are verified (its JWKS and clock)")
    p.add_argument("--data-dir", help="verify through the emulator's SQLite state in this directory instead "
                                      "(needed for --check-revocation)")
    p.add_argument("--database-url", help="verify through the emulator's PostgreSQL state instead")
    p.add_argument("--check-revocation", action="store_true",
                   help="also refuse tokens revoked by GlobalSignOut/RevokeToken (API Gateway does not)")
    p.add_argument("--lambda-endpoint", help="Lambda Invoke API base URL (sam local start-lambda, LocalStack)")
    p.add_argument("--config-file", help="JSON or TOML file mapping function names to URLs or callables")
    p.add_argument("--lambda-timeout", type=float, default=29.0, help="seconds a function may take (AWS: 29)")
    p.add_argument("--account-id", default="000000000000", help="account id in events and resolved ARNs")
    p.add_argument("--region", default="us-east-1", help="region of resolved ARNs")


def run(args: argparse.Namespace) -> None:
    from emulator.gateway import server

    server.run(args)
