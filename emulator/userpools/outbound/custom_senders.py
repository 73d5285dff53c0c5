"""CustomEmailSender and CustomSMSSender: a pool's messages go to a function instead of the outbox.

When a pool's LambdaConfig names a sender for a channel, every code, temporary password or
MFA code of that channel is handed to the function (and nothing is put in the outbox).
The function is invoked asynchronously, after the operation committed, with the event:

    {"version": "1", "triggerSource": "CustomEmailSender_SignUp", "region", "userPoolId",
     "userName", "callerContext": {...},
     "request": {"type": "customEmailSenderRequestV1", "code": "<encrypted>",
                 "clientMetadata": {...}, "userAttributes": {...}}, "response": {}}

`request.code` is the secret, encrypted with the pool's `LambdaConfig.KMSKeyID`:
- with a KMS endpoint configured (`kms_endpoint` setting, env COGNITO_EMULATOR_KMS_ENDPOINT, e.g.
  LocalStack), it is the base64 CiphertextBlob of a KMS `Encrypt` call with that key, so the
  function decrypts it with KMS `Decrypt` (not with the AWS Encryption SDK message format);
- otherwise it is a local envelope: base64 of the JSON
  `{"envelope": "cognito-emulator/plaintext-v1", "keyId": "<KMSKeyID>", "code": "<the code>"}`;
  `decode_local(code)` returns the code (functions may base64-decode and read `code` themselves).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.error
import urllib.request

from emulator import lambdas
from emulator.userpools.model import users
from emulator.userpools.outbound import triggers

log = logging.getLogger(__name__)

ENVELOPE = "cognito-emulator/plaintext-v1"
SENDERS = {"EMAIL": "CustomEmailSender", "SMS": "CustomSMSSender"}
REQUEST_TYPES = {"CustomEmailSender": "customEmailSenderRequestV1", "CustomSMSSender": "customSMSSenderRequestV1"}
# The purposes AWS sends through a custom sender (`kind` of delivery.send_code / send_invitation).
SOURCES = ("SignUp", "ResendCode", "ForgotPassword", "UpdateUserAttribute", "VerifyUserAttribute",
           "AdminCreateUser", "Authentication", "AccountTakeOverNotification")
KMS_TIMEOUT = 5.0


def configured(pool: dict, medium: str) -> bool:
    """True when the pool hands `medium` (EMAIL | SMS) messages to a function."""
    trigger = SENDERS.get(medium)
    return trigger is not None and triggers.has_trigger(pool, trigger)


def send(ctx, pool: dict, user: dict, kind: str, medium: str, code: str, *, client_id: str | None = None,
         client_metadata: dict | None = None, user_attributes: dict | None = None) -> None:
    """Hand a message to the pool's sender function once the operation has committed."""
    trigger = SENDERS[medium]
    arn = triggers.trigger_arn(pool, trigger)
    if user_attributes is None:
        user_attributes = users.event_user_attributes(pool, user)
    event = triggers.build_event(ctx, pool, f"{trigger}_{kind}", username=user["username"], client_id=client_id,
                                 request={"type": REQUEST_TYPES[trigger], "code": None,
                                          "clientMetadata": dict(client_metadata or {}),
                                          "userAttributes": dict(user_attributes)})
    key_id = (pool.get("LambdaConfig") or {}).get("KMSKeyID")
    config = ctx.config
    region = pool["Id"].split("_", 1)[0] or ctx.region

    def deliver() -> None:
        try:
            event["request"]["code"] = encrypt_code(config, key_id, code, region)
            lambdas.invoke(config, arn, event)
        except lambdas.LambdaError as err:
            log.warning("%s %s for %s failed: %s", trigger, arn, user["username"], err)
        except Exception:  # an asynchronous invocation never fails the operation
            log.exception("%s %s for %s failed", trigger, arn, user["username"])

    ctx.after_commit.append(lambda: threading.Thread(target=deliver, name=f"{trigger}-invoke",
                                                     daemon=True).start())


def kms_endpoint(config) -> str | None:
    return config.kms_endpoint or None


def encrypt_code(config, key_id: str | None, code: str, region: str) -> str:
    """The `request.code` text for `code`: KMS ciphertext (base64) or the local envelope."""
    endpoint = kms_endpoint(config)
    if endpoint and key_id:
        return _kms_encrypt(endpoint, key_id, code, _key_region(key_id) or region)
    envelope = {"envelope": ENVELOPE, "keyId": key_id, "code": code}
    return base64.b64encode(json.dumps(envelope).encode()).decode()


def decode_local(text: str) -> str:
    """The code inside a local envelope (what a function does instead of KMS Decrypt)."""
    envelope = json.loads(base64.b64decode(text))
    if not isinstance(envelope, dict) or envelope.get("envelope") != ENVELOPE:
        raise ValueError("not a cognito-emulator code envelope")
    return envelope["code"]


def _key_region(key_id: str) -> str | None:
    parts = key_id.split(":")
    return parts[3] if key_id.startswith("arn:") and len(parts) > 3 and parts[3] else None


def _kms_encrypt(endpoint: str, key_id: str, code: str, region: str) -> str:
    url = endpoint.rstrip("/") + "/"
    body = json.dumps({"KeyId": key_id, "Plaintext": base64.b64encode(code.encode()).decode()}).encode()
    headers = lambdas.signed_headers("POST", url, body, "kms", region, {
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.Encrypt"})
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=KMS_TIMEOUT) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as err:
        raise lambdas.LambdaError("unreachable", f"KMS Encrypt failed: HTTP {err.code} "
                                  f"{err.read().decode(errors='replace')[:200]}") from None
    except (OSError, ValueError) as err:
        raise lambdas.LambdaError("unreachable", f"KMS Encrypt failed: {err}") from None
    blob = answer.get("CiphertextBlob") if isinstance(answer, dict) else None
    if not isinstance(blob, str):
        raise lambdas.LambdaError("bad_response", "KMS Encrypt answered without a CiphertextBlob")
    return blob
