"""`cognito-emulator gateway`: a reverse proxy that authorizes requests as API Gateway's
Cognito authorizers do (REST `COGNITO_USER_POOLS`, HTTP API `JWT`) before forwarding them to
an HTTP backend or invoking a Lambda function with API Gateway's proxy event.

- `routes.py`      the declared API: authorizers and routes, from a routes file; path matching
- `template.py`    the same from a SAM / CloudFormation template
- `verifier.py`    token checks against the emulator (over HTTP, or through its store)
- `authorizers.py` API Gateway's decisions and refusals for each authorizer type
- `events.py`      the Lambda proxy events (payload 1.0 and 2.0) and their responses
- `server.py`      the HTTP server
- `command.py`     the `gateway` subcommand's arguments
"""
