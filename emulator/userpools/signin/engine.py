"""The sign-in engine: `SignIn`, one sign-in attempt from its first step to its end.

One state machine serves the API (InitiateAuth, RespondToAuthChallenge and their Admin twins) and
the managed login's pages. A first step (signin.flows: SRP, password, USER_AUTH factor, custom
auth) identifies the user; then `SignIn.proceed` takes AWS's order: NEW_PASSWORD_REQUIRED, MFA
(SMS_MFA / EMAIL_OTP / SOFTWARE_TOKEN_MFA / SELECT_MFA_TYPE / MFA_SETUP) unless a remembered device
suppresses it, DEVICE_SRP_AUTH when the client named a confirmed device, and finally the end of
the sign-in. Between steps the state lives in a Session (signin.sessions); an answer
(signin.challenges) resumes it. Every step answers a `Step`.

A sign-in the managed login started (`hosted`) runs the same steps and checks; it ends with the
signed-in user (the page then redirects with a code or tokens) instead of API tokens and a new
device, and its sessions answer only the pages (and API sessions only the API).

With threat protection, `threat_protection.assess_sign_in` judges the sign-in once the password is
proven (it may block, or ask for MFA through the state's `risk_mfa`), and `record_event`
completes its auth event.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from typing import Any

from emulator.userpools import errors
from emulator.userpools.accounts import lifecycle as accounts
from emulator.userpools.accounts import mfa, threat_protection, tokens
from emulator.userpools.model import (
    attributes,
    codes,
    devices,
    lockout,
    mfa_config,
    passwords,
    secret_hash,
    users,
)
from emulator.userpools.outbound import delivery, triggers
from emulator.userpools.signin import sessions
from protocol import ServiceError

INCORRECT = "Incorrect username or password."
USER_NOT_FOUND = "User does not exist."
OTP_ATTRIBUTE = {"SMS_MFA": "phone_number", "SMS_OTP": "phone_number", "EMAIL_OTP": "email"}
MFA_FACTORS = ("SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP")


def missing(name: str) -> ServiceError:
    return errors.InvalidParameterException(f"Missing required parameter {name}")


@dataclasses.dataclass
class Step:
    """What a step answers: the challenge to answer next (name, parameters, Session, and the user
    when known), or the end of the sign-in (`challenge` None: `user` is signed in, `result` is
    the API's AuthenticationResult)."""

    challenge: str | None = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    session: str | None = None
    available: list[str] | None = None
    user: dict | None = None
    result: dict | None = None

    @property
    def done(self) -> bool:
        return self.challenge is None

    def answer(self) -> dict:
        """The API's answer (InitiateAuth, RespondToAuthChallenge and their Admin twins)."""
        if self.challenge is None:
            return {"ChallengeParameters": {}, "AuthenticationResult": self.result}
        out: dict[str, Any] = {"ChallengeName": self.challenge, "ChallengeParameters": self.parameters}
        if self.session is not None:
            out["Session"] = self.session
        if self.available is not None:
            out["AvailableChallenges"] = self.available
        return out


class SignIn:
    """One sign-in: the request's context, the pool, the app client, the user once known, and the
    state its sessions carry from step to step (keys: see signin.sessions)."""

    def __init__(self, ctx, pool: dict, client: dict, state: dict, user: dict | None = None) -> None:
        self.ctx, self.pool, self.client = ctx, pool, client
        # The session this sign-in was resumed from (sessions.load's `_session`, `_id_hash`), spent by `consume`.
        self.origin = {k: v for k, v in state.items() if k.startswith("_")}
        self.state = {k: v for k, v in state.items() if not k.startswith("_")}
        self.user = user

    @classmethod
    def begin(cls, ctx, pool: dict, client: dict, flow: str, *, admin: bool = False, typed: str | None = None,
              hosted: bool = False) -> SignIn:
        """A new sign-in with AuthFlow `flow`; `typed` is the USERNAME the client sent."""
        state = {"pool_id": pool["Id"], "client_id": client["ClientId"], "flow": flow, "admin": admin,
                 "typed_username": typed, "username": None, "source": "TokenGeneration_Authentication"}
        if hosted:
            state["hosted"] = True
        return cls(ctx, pool, client, state)

    @classmethod
    def resume(cls, ctx, pool: dict, client: dict, state: dict, *, admin: bool, hosted: bool) -> SignIn:
        """The sign-in a loaded session `state` continues; refused when the session belongs to
        another pool, to the Admin API and not the public one (or the reverse), or to the other
        surface (managed login, API)."""
        if state.get("pool_id") != pool["Id"] or bool(state.get("admin")) != admin \
                or bool(state.get("hosted")) != hosted:
            raise errors.NotAuthorizedException(sessions.INVALID)
        return cls(ctx, pool, client, state)

    # -- what the sign-in knows ------------------------------------------------------------------
    @property
    def hosted(self) -> bool:
        return bool(self.state.get("hosted"))

    @property
    def challenge(self) -> str | None:
        """The challenge the resumed session waits for."""
        return self.state.get("challenge")

    @property
    def username(self) -> str | None:
        return self.state.get("username")

    @property
    def prevents_existence_errors(self) -> bool:
        return self.client.get("PreventUserExistenceErrors") == "ENABLED"

    def find_user(self, name: str | None) -> dict | None:
        if not name:
            return None
        return users.find_user(self.ctx.db, self.pool, name)

    def load_user(self) -> dict | None:
        """The user the state names (None when gone)."""
        self.user = self.find_user(self.state.get("username"))
        return self.user

    def identify(self, params: dict) -> dict | None:
        """The user AuthParameters' USERNAME names (None when unknown), who becomes this sign-in's
        user, once the SECRET_HASH is checked (for the name typed or the user's)."""
        typed = params["USERNAME"]
        self.user = self.find_user(typed)
        self.check_secret([typed, self.user and self.user["username"]], params.get("SECRET_HASH"))
        return self.user

    def check_secret(self, names: list[str | None], provided: str | None) -> None:
        secret_hash.check_secret_hash(self.ctx.db, self.client, [n for n in dict.fromkeys(names) if n], provided)

    def consume(self) -> None:
        """Spend the session this sign-in was resumed from."""
        sessions.consume(self.ctx, self.origin)

    # -- user state at sign-in ---------------------------------------------------------------------
    def status_before_password(self) -> None:
        # An unconfirmed user is told so whatever the password (amazon-cognito-identity-js#288:
        # AWS's stated intent, so apps can route to confirmation; measured again in ministack#1758).
        status = self.user.get("status")
        if status == "UNCONFIRMED":
            raise errors.UserNotConfirmedException("User is not confirmed.")
        if status == "RESET_REQUIRED":
            raise errors.PasswordResetRequiredException("Password reset required for the user")

    def status_after_password(self) -> None:
        if self.user.get("enabled") is False:
            raise errors.NotAuthorizedException("User is disabled.")
        self.status_before_password()
        if self.user.get("status") == "FORCE_CHANGE_PASSWORD" and \
                passwords.temporary_expired(self.user, self.ctx.now()):
            raise errors.NotAuthorizedException(
                "Temporary password has expired and must be reset by an administrator.")

    def check_lockout(self) -> None:
        lockout.check(self.ctx, self.pool["Id"], self.user["username"])

    def password_failed(self) -> ServiceError:
        """Count a wrong password (lockout, auth event), kept although the operation fails."""
        lockout.failure(self.ctx, self.pool["Id"], self.user["username"])
        self.record_event(False)
        self.ctx.commit_now()
        return errors.NotAuthorizedException(INCORRECT)

    def record_event(self, passed: bool, challenge: str = "Password", *, with_state: bool = False) -> None:
        """The SignIn auth event of a pool with threat protection: the one the state carries
        (`with_state`), else a new one."""
        if self.user is not None:
            threat_protection.finish_sign_in(self.ctx, self.pool, self.user, self.state if with_state else None,
                                             passed, challenge)

    def check_password(self, password: str, client_metadata: dict | None) -> None:
        """Lockout, user state, PreAuthentication, the password itself and threat protection's
        judgement (raises with the API's errors)."""
        self.check_lockout()
        self.status_before_password()
        if self.pre_authentication(client_metadata):
            self.check_lockout()  # again: concurrent failures while the function ran
        if not passwords.password_matches(self.pool, self.user, password):
            raise self.password_failed()
        self.status_after_password()
        lockout.success(self.ctx, self.pool["Id"], self.user["username"])
        self.state = threat_protection.assess_sign_in(self.ctx, self.pool, self.client, self.user, self.state,
                                                      password=password)

    # -- triggers -----------------------------------------------------------------------------------
    def pre_authentication(self, validation: dict | None) -> bool:
        """Call PreAuthentication; whether the pool has one (the store was released meanwhile)."""
        if not triggers.has_trigger(self.pool, "PreAuthentication"):
            return False
        triggers.run_trigger(self.ctx, self.pool, "PreAuthentication", "PreAuthentication_Authentication",
                             username=self.user["username"], client_id=self.client["ClientId"],
                             request={"userAttributes": users.event_user_attributes(self.pool, self.user),
                                      "validationData": dict(validation or {}), "userNotFound": False})
        self.reload_after_trigger()
        return True

    def post_authentication(self, new_device: bool, client_metadata: dict | None) -> None:
        if not triggers.has_trigger(self.pool, "PostAuthentication"):
            return
        triggers.run_trigger(self.ctx, self.pool, "PostAuthentication", "PostAuthentication_Authentication",
                             username=self.user["username"], client_id=self.client["ClientId"],
                             request={"userAttributes": users.event_user_attributes(self.pool, self.user),
                                      "newDeviceUsed": new_device, "clientMetadata": dict(client_metadata or {})})
        self.reload_after_trigger()

    def reload_after_trigger(self) -> None:
        """The store was released while the function ran: re-read the user (in place), so that a
        user deleted or disabled meanwhile goes no further (no tokens) and what follows sees the
        current record (password, status, attributes)."""
        enabled = self.user.get("enabled") is not False
        try:
            users.reload_user(self.ctx.db, self.pool, self.user)
        except ServiceError:
            if self.prevents_existence_errors:
                raise errors.NotAuthorizedException(INCORRECT) from None
            raise
        if enabled and self.user.get("enabled") is False:
            raise errors.NotAuthorizedException("User is disabled.")

    def migrate_user(self, name: str, password: str, client_metadata: dict | None) -> dict | None:
        """UserMigration_Authentication: create the user the function vouches for (it becomes
        this sign-in's user), or None.

        InitiateAuth's ClientMetadata reaches the function as `validationData`, as AWS documents."""
        if not triggers.has_trigger(self.pool, "UserMigration"):
            return None
        response = triggers.run_trigger(
            self.ctx, self.pool, "UserMigration", "UserMigration_Authentication", username=name,
            client_id=self.client["ClientId"],
            request={"password": password, "validationData": dict(client_metadata or {})},
            response={"userAttributes": None, "finalUserStatus": None, "messageAction": None,
                      "desiredDeliveryMediums": None, "forceAliasCreation": None, "enableSMSMFA": None})
        if not response or response.get("userAttributes") is None:
            return None
        user = accounts.migrate_user(self.ctx, self.pool, name, password, response)
        self.ctx.commit_now()  # the migrated user stays although the sign-in may still fail
        self.user = users.reload_user(self.ctx.db, self.pool, user)  # the commit released the store
        return self.user

    # -- challenges -----------------------------------------------------------------------------------
    def issue(self, name: str, parameters: dict[str, Any], *, available: list[str] | None = None) -> Step:
        """The challenge `name`, with a fresh Session carrying the state."""
        self.state["challenge"] = name
        session = sessions.issue(self.ctx, self.state, self.client)
        return Step(name, parameters, session, available, user=self.user)

    def proceed(self, client_metadata: dict | None = None) -> Step:
        """The step after the user proved who they are: new password, MFA, device, or the end."""
        user, state = self.user, self.state
        state["username"] = user["username"]
        if user.get("status") == "FORCE_CHANGE_PASSWORD" and not state.get("new_password_done"):
            return self.issue("NEW_PASSWORD_REQUIRED", {
                "USER_ID_FOR_SRP": user["username"],
                "userAttributes": json.dumps({k: v for k, v in (user.get("attributes") or {}).items()
                                              if k != "sub" and v is not None}),
                "requiredAttributes": json.dumps(self.missing_required_attributes()),
            })
        device = self.load_device(state.get("device_key"))
        if not state.get("mfa_done") and not state.get("first_factor_otp"):
            # MFA that threat protection asks for (risk_mfa) is not waived by a remembered device.
            step = None
            if not (device and device.get("verifier") and device.get("remembered")) or state.get("risk_mfa"):
                step = self._mfa_step()
                if step is not None and self.state.get("risk_mfa"):
                    # The user's own MFA answers the risk's too (notified by MfaEmail when so configured).
                    threat_protection.mfa_challenged(self.ctx, self.pool, self.client, user, self.state)
            if step is None and self.state.get("risk_mfa"):
                step = self._risk_mfa_step()
            if step is not None:
                return step
        if device and device.get("verifier") and not self.state.get("device_done"):
            return self.issue("DEVICE_SRP_AUTH", {})
        return self._succeed(client_metadata)

    def missing_required_attributes(self) -> list[str]:
        have = self.user.get("attributes") or {}
        return [f"userAttributes.{n}" for n in attributes.required_names(self.pool) if not have.get(n)]

    def load_device(self, device_key: str | None) -> dict | None:
        if not device_key or self.hosted:
            return None
        return devices.load_device(self.ctx.db, self.pool["Id"], self.user["username"], device_key)

    def _mfa_step(self) -> Step | None:
        pool, user = self.pool, self.user
        mode = mfa.pool_mfa_mode(pool)
        if mode == "OFF":
            return None
        factors = mfa.enabled_factors(pool, user)
        offered = list(mfa_config.enabled_factors(pool))
        attrs = user.get("attributes") or {}
        if not factors and mode == "ON" and not mfa.user_factors(user):
            # Required MFA uses the phone number (or email) a user already has before asking for set-up.
            if "SMS_MFA" in offered and attrs.get("phone_number"):
                factors = ["SMS_MFA"]
            elif "EMAIL_OTP" in offered and attrs.get("email"):
                factors = ["EMAIL_OTP"]
        if not factors:
            if mode != "ON":
                return None
            # MFAS_CAN_SETUP lists the MFA types activated for the pool.
            can_setup = [f for f in MFA_FACTORS if f in offered] or ["SOFTWARE_TOKEN_MFA"]
            return self.issue("MFA_SETUP", {"MFAS_CAN_SETUP": json.dumps(can_setup)})
        return self._choose_mfa(factors)

    def _choose_mfa(self, factors: list[str]) -> Step:
        """The user's preferred factor among `factors`, the only one, or SELECT_MFA_TYPE."""
        preferred = mfa.preferred_factor(self.user)
        if preferred in factors:
            return self.mfa_challenge(preferred)
        if len(factors) == 1:
            return self.mfa_challenge(factors[0])
        self.state["available"] = factors
        return self.issue("SELECT_MFA_TYPE", {"MFAS_CAN_CHOOSE": json.dumps(factors)})

    def _risk_mfa_step(self) -> Step | None:
        """Adaptive authentication's MFA (MFA_IF_CONFIGURED / MFA_REQUIRED) for a user whom the
        pool's MFA settings would not challenge: a factor they can receive or have registered."""
        ctx, pool, client, user = self.ctx, self.pool, self.client, self.user
        factors = threat_protection.mfa_candidates(pool, user)
        if not factors:
            self.state = threat_protection.mfa_unavailable(ctx, pool, client, user, self.state)
            return None
        self.state = threat_protection.mfa_challenged(ctx, pool, client, user, self.state)
        return self._choose_mfa(factors)

    def mfa_challenge(self, factor: str) -> Step:
        self.state["mfa_factor"] = factor
        if factor == "SOFTWARE_TOKEN_MFA":
            name = (self.user.get("mfa") or {}).get("totp_device_name")
            return self.issue("SOFTWARE_TOKEN_MFA", {"FRIENDLY_DEVICE_NAME": name} if name else {})
        return self.issue(factor, self.send_otp(factor))

    def send_otp(self, challenge: str, user: dict | None = None) -> dict:
        """Send a one-time code for `challenge` (to `user`, by default this sign-in's) and keep its
        hash in the state; the challenge parameters naming where it went."""
        code = codes.new_code()
        details = delivery.send_code(self.ctx, self.pool, user or self.user, "Authentication",
                                     OTP_ATTRIBUTE[challenge], code, client_id=self.client["ClientId"])
        salt = secrets.token_hex(8)
        self.state.update(code_salt=salt, code_hash=codes.code_hash(salt, code))
        return {"CODE_DELIVERY_DELIVERY_MEDIUM": details.get("DeliveryMedium"),
                "CODE_DELIVERY_DESTINATION": details.get("Destination")}

    # -- the end ------------------------------------------------------------------------------------------
    def _succeed(self, client_metadata: dict | None) -> Step:
        ctx, pool, user, state = self.ctx, self.pool, self.user, self.state
        if self.hosted:
            lockout.success(ctx, pool["Id"], user["username"])
            self.record_event(True, with_state=True)
            self.post_authentication(False, client_metadata)
            return Step(user=user)
        device_key = state.get("device_key")
        device = self.load_device(device_key)
        new_device = None
        if device is None:
            device_key = None
            if pool.get("DeviceConfiguration"):
                new_device = devices.new_device(ctx.db, pool, user, ctx.now())
                device_key = new_device["DeviceKey"]
        else:
            devices.touch(ctx.db, pool["Id"], user["username"], device_key, ctx.now(), ctx.source_ip)
        lockout.success(ctx, pool["Id"], user["username"])
        self.record_event(True, with_state=True)
        self.post_authentication(new_device is not None, client_metadata)
        result = tokens.issue_tokens(ctx, pool, self.client, user, auth_time=ctx.now(), scopes=[tokens.ADMIN_SCOPE],
                                     device_key=device_key,
                                     source=state.get("source") or "TokenGeneration_Authentication",
                                     client_metadata=client_metadata)
        if new_device is not None:
            result["NewDeviceMetadata"] = new_device
        return Step(user=user, result=result)


def post_authentication(ctx, pool: dict, client: dict, user: dict) -> None:
    """PostAuthentication for a user signed in through a federated identity provider (OIDC, SAML)."""
    SignIn(ctx, pool, client, {}, user).post_authentication(False, None)
