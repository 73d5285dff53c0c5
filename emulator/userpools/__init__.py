"""cognito-idp: user pools, in layers (see ARCHITECTURE.md), imports pointing down only:

model/     records and rules (pools, clients, users, groups, codes, keys, passwords, SRP, ...)
outbound/  what calls out: Lambda triggers, message delivery, custom senders
accounts/  account lifecycle, tokens, MFA factors, passkeys, CIMD, threat protection
signin/    the sign-in engine (flows and challenges) the API and managed login share
ops/       the operations (one handler per API operation) and the HTTP surfaces; nothing imports ops

The app loads every module (emulator.service_modules.load_services); each operation module
registers its handlers on `registry`.
"""

from protocol import Registry

registry = Registry("cognito-idp", validation_error="InvalidParameterException")
# Custom domains (auth.example.com) are accepted although the model's Domain pattern has no dots.
for _op in ("CreateUserPoolDomain", "UpdateUserPoolDomain", "DescribeUserPoolDomain", "DeleteUserPoolDomain"):
    registry.exempt_pattern(_op, "domain")
