"""Applying a declared environment: user pools (with their ids), app clients (ids and secrets),
domains, resource servers, identity providers, groups, users (attributes, passwords, status,
groups, MFA), identity pools and their roles.

Everything is made by the operations' own handlers (called through the services' registries, with
their input validated against the model first, as on the wire) or, for users, by the model
functions AdminCreateUser and the user import use, so every rule of the API applies. The whole
file is applied in one unit of work: an error anywhere applies nothing.

Idempotent: what the file declares and already exists (a pool or identity pool with that id, or
else that name; a client with that id, or else that name; a group, user, resource server,
identity provider or domain of that name) is left as it is, so applying a file twice changes
nothing. In a declaration, lower-case keys are the file's own (`id`, `clients`, `users`, ...);
capitalised keys are the operation's input (CreateUserPool's `PoolName`, `Policies`, ...).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
import uuid
from collections import Counter
from typing import Any

from emulator import identitypools, userpools
from emulator.environments.documents import Document, Path
from emulator.environments.progress import Progress
from emulator.social import providers as social
from emulator.social import sandbox
from emulator.userpools.accounts import mfa
from emulator.userpools.model import attributes as attrs_mod
from emulator.userpools.model import passwords, pools, users
from protocol import Registry, ServiceError
from protocol.sigv4 import Caller
from protocol.validate import validate_input

USER_POOL_ID = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d)_[0-9a-zA-Z]+$")
IDENTITY_POOL_ID = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d):[0-9a-f-]+$")
CLIENT_ID = re.compile(r"^[\w+]{1,128}$")
STATUSES = ("CONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED", "UNCONFIRMED")
MFA_FACTORS = {"SMS": "SMSMfaSettings", "SMS_MFA": "SMSMfaSettings",
               "TOTP": "SoftwareTokenMfaSettings", "SOFTWARE_TOKEN_MFA": "SoftwareTokenMfaSettings",
               "EMAIL": "EmailMfaSettings", "EMAIL_OTP": "EmailMfaSettings"}

TOP_KEYS = ("user_pools", "identity_pools", "social_identities")
POOL_KEYS = ("id", "clients", "domain", "resource_servers", "identity_providers", "groups", "users",
             "mfa_config")
CLIENT_KEYS = ("id",)
USER_KEYS = ("username", "password", "temporary_password", "status", "attributes", "groups", "enabled",
             "mfa", "sub")
MFA_KEYS = ("totp_secret", "sms", "email", "totp", "preferred")
IDENTITY_POOL_KEYS = ("id", "roles", "role_mappings")


class Summary:
    """What an application did: created or left unchanged, per kind of thing."""

    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self.unchanged: Counter[str] = Counter()
        self.notes: list[str] = []

    def lines(self) -> list[str]:
        def listed(counts: Counter[str]) -> str:
            return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items()) or "nothing"
        return [f"created: {listed(self.created)}", f"unchanged: {listed(self.unchanged)}", *self.notes]


class Seeder:
    """Creates what a declaration names, inside one unit of work (`ctx`)."""

    def __init__(self, ctx, doc: Document, *, progress: bool | None = None) -> None:
        self.ctx, self.db, self.doc = ctx, ctx.db, doc
        self.progress = progress
        self.summary = Summary()

    # -- helpers ---------------------------------------------------------------------------------
    def error(self, path: Path, message: str):
        return self.doc.error(path, message)

    def in_region(self, region: str) -> None:
        """Later calls act as if signed for `region` (a pool's id names its region)."""
        self.ctx.caller = Caller(signed=False, region=region)

    def split(self, spec: Any, path: Path, own_keys: tuple[str, ...], what: str, *,
              operation: bool = True) -> tuple[dict, dict]:
        """(the file's own keys, the operation's input keys) of a declaration; unknown own keys
        are refused by name (and any other key where no `operation` takes input)."""
        if not isinstance(spec, dict):
            raise self.error(path, f"expected a mapping ({what})")
        own, api = {}, {}
        for key, value in spec.items():
            if not isinstance(key, str) or not key:
                raise self.error(path, f"field names must be text, not {key!r}")
            if key[0].isupper() and operation:
                api[key] = value
            elif key in own_keys:
                own[key] = value
            else:
                takes = f"{', '.join(own_keys)} and its operation's input fields" if operation else ", ".join(own_keys)
                raise self.error((*path, key), f"unknown field{_hint(key, own_keys)}; a {what} takes {takes}")
        return own, api

    def call(self, registry: Registry, operation: str, params: dict, path: Path, **ids: str) -> dict:
        """Run `operation` as its API would: input validated against the model, then the handler."""
        op_model = registry.model.operation_model(operation)
        members = op_model.input_shape.members
        for key in params:
            if key not in members:
                raise self.error((*path, key), f"not an input field of {operation}{_hint(key, list(members))}")
        try:
            clean = validate_input(op_model.input_shape, params, registry.validation_error,
                                   registry.pattern_exemptions(operation))
            return registry.get(operation)(self.ctx, clean, **ids) or {}
        except ServiceError as err:
            raise self.error(_member_path(path, err.message), f"{operation} refused it: {err.code}: {err.message}") \
                from None

    def text(self, value: Any, path: Path, what: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            raise self.error(path, f"expected {what} (text)")
        return str(value)

    def items(self, value: Any, path: Path) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, "expected a list")
        return value

    # -- the declaration -------------------------------------------------------------------------
    def apply_declaration(self, data: Any) -> None:
        own, _ = self.split(data, (), TOP_KEYS, "seed file", operation=False)
        for index, spec in enumerate(self.items(own.get("user_pools"), ("user_pools",))):
            self.user_pool_with_contents(spec, ("user_pools", index))
        for index, spec in enumerate(self.items(own.get("identity_pools"), ("identity_pools",))):
            self.identity_pool(spec, ("identity_pools", index))
        self.social_identities(own.get("social_identities"), ("social_identities",))

    def social_identities(self, spec: Any, path: Path) -> None:
        """Test identities of the social providers' sandbox: {google: [{email, name, ...}], ...}."""
        if spec is None:
            return
        if not isinstance(spec, dict):
            raise self.error(path, f"expected a mapping of providers ({', '.join(social.BY_SLUG)}) to lists")
        for slug, identities in spec.items():
            provider = social.BY_SLUG.get(slug)
            if provider is None:
                raise self.error((*path, slug), f"unknown provider{_hint(str(slug), list(social.BY_SLUG))}; "
                                 f"one of {', '.join(social.BY_SLUG)}")
            for index, fields in enumerate(self.items(identities, (*path, slug))):
                known = {i["id"] for i in sandbox.identities(self.db, provider)}
                try:
                    found = sandbox.declare_identity(self.db, provider, fields, self.ctx.now())
                except sandbox.IdentityError as err:
                    raise self.error((*path, slug, index), str(err)) from None
                # An identity declared again takes the file's values (the same id for the same email).
                counts = self.summary.unchanged if found["id"] in known else self.summary.created
                counts[f"{slug} test identity"] += 1

    def user_pool_with_contents(self, spec: Any, path: Path) -> dict:
        own, api = self.split(spec, path, POOL_KEYS, "user pool")
        pool, created = self.user_pool(own.get("id"), api, path)
        if created and own.get("mfa_config") is not None:
            self.mfa_config(pool, own["mfa_config"], (*path, "mfa_config"))
        for key, ensure in (("identity_providers", self.identity_provider),
                            ("resource_servers", self.resource_server), ("clients", self.client),
                            ("groups", self.group)):
            for index, item in enumerate(self.items(own.get(key), (*path, key))):
                ensure(pool, item, (*path, key, index))
        if own.get("domain") is not None:
            self.domain(pool, own["domain"], (*path, "domain"))
        declared = self.items(own.get("users"), (*path, "users"))
        bar = Progress(f"users of {pool['Id']}", len(declared), enabled=self.progress) if declared else None
        for index, item in enumerate(declared):
            self.user(pool, item, (*path, "users", index))
            bar.step()
        if bar:
            bar.finish()
        return pool

    # -- user pools ------------------------------------------------------------------------------
    def user_pool(self, pool_id: Any, api: dict, path: Path) -> tuple[dict, bool]:
        """(the pool, whether it was created now)."""
        if pool_id is not None:
            pool_id = self.text(pool_id, (*path, "id"), "a user pool id")
            match = USER_POOL_ID.match(pool_id)
            if not match:
                raise self.error((*path, "id"), f"{pool_id!r} is not a user pool id (region_Id, e.g. us-east-1_Example12)")
            self.in_region(match.group(1))
            row = self.db.execute("SELECT id FROM user_pools WHERE id = ?", (pool_id,)).fetchone()
        else:
            self.in_region(self.ctx.config.region)
            name = api.get("PoolName")
            row = self.db.execute("SELECT id FROM user_pools WHERE region = ? AND account_id = ? AND name = ? "
                                  "ORDER BY created, id LIMIT 1",
                                  (self.ctx.region, self.ctx.account_id, name)).fetchone() if name else None
        if row is not None:
            self.summary.unchanged["user pool"] += 1
            return self.load_pool(row[0]), False
        created = self.call(userpools.registry, "CreateUserPool", api, path, pool_id=pool_id)["UserPool"]
        self.summary.created["user pool"] += 1
        return self.load_pool(created["Id"]), True

    def load_pool(self, pool_id: str) -> dict:
        return pools.load_pool(self.db, pool_id)

    def mfa_config(self, pool: dict, spec: Any, path: Path) -> None:
        if not isinstance(spec, dict):
            raise self.error(path, "expected a mapping (SetUserPoolMfaConfig's input)")
        self.call(userpools.registry, "SetUserPoolMfaConfig", {**spec, "UserPoolId": pool["Id"]}, path)

    def client(self, pool: dict, spec: Any, path: Path) -> str:
        """The id of the declared client (made now, or there already)."""
        own, api = self.split(spec, path, CLIENT_KEYS, "app client")
        client_id = own.get("id")
        if client_id is not None:
            client_id = self.text(client_id, (*path, "id"), "an app client id")
            if not CLIENT_ID.match(client_id):
                raise self.error((*path, "id"), f"{client_id!r} is not an app client id (letters, digits, _ and +)")
            row = self.db.execute("SELECT pool_id FROM user_pool_clients WHERE id = ?", (client_id,)).fetchone()
            if row is not None and row[0] != pool["Id"]:
                raise self.error((*path, "id"), f"app client {client_id} already belongs to user pool {row[0]}")
        else:
            row = self.db.execute("SELECT id FROM user_pool_clients WHERE pool_id = ? AND name = ?",
                                  (pool["Id"], api.get("ClientName"))).fetchone()
        if row is not None:
            self.summary.unchanged["app client"] += 1
            return client_id or row[0]
        created = self.call(userpools.registry, "CreateUserPoolClient", {**api, "UserPoolId": pool["Id"]}, path,
                            client_id=client_id)
        self.summary.created["app client"] += 1
        return created["UserPoolClient"]["ClientId"]

    def domain(self, pool: dict, spec: Any, path: Path) -> None:
        params = {"Domain": spec} if isinstance(spec, str) else spec
        if not isinstance(params, dict) or not isinstance(params.get("Domain"), str):
            raise self.error(path, "expected a domain prefix, or a mapping with Domain (CreateUserPoolDomain's input)")
        current = self.load_pool(pool["Id"])
        if params["Domain"] in (current.get("Domain"), current.get("CustomDomain")):
            self.summary.unchanged["domain"] += 1
            return
        self.call(userpools.registry, "CreateUserPoolDomain", {**params, "UserPoolId": pool["Id"]}, path)
        self.summary.created["domain"] += 1

    def _named(self, pool: dict, spec: Any, path: Path, *, what: str, key: str, table: str, column: str,
               operation: str) -> None:
        own, api = self.split(spec, path, (), what)
        row = self.db.execute(f"SELECT 1 FROM {table} WHERE pool_id = ? AND {column} = ?",  # noqa: S608
                              (pool["Id"], api.get(key))).fetchone()
        if row is not None:
            self.summary.unchanged[what] += 1
            return
        self.call(userpools.registry, operation, {**api, "UserPoolId": pool["Id"]}, path)
        self.summary.created[what] += 1

    def resource_server(self, pool: dict, spec: Any, path: Path) -> None:
        self._named(pool, spec, path, what="resource server", key="Identifier",
                    table="user_pool_resource_servers", column="identifier", operation="CreateResourceServer")

    def identity_provider(self, pool: dict, spec: Any, path: Path) -> None:
        self._named(pool, spec, path, what="identity provider", key="ProviderName",
                    table="user_pool_identity_providers", column="name", operation="CreateIdentityProvider")

    def group(self, pool: dict, spec: Any, path: Path) -> None:
        self._named(pool, spec, path, what="group", key="GroupName", table="user_pool_groups", column="name",
                    operation="CreateGroup")

    # -- users -----------------------------------------------------------------------------------
    def user(self, pool: dict, spec: Any, path: Path) -> None:
        own, _ = self.split(spec, path, USER_KEYS, "user", operation=False)
        name = self.text(own.get("username"), (*path, "username"), "a username")
        if users.find_user(self.db, pool, name) is not None:
            self.summary.unchanged["user"] += 1
            return
        try:
            user = self.new_user(pool, name, own, path)
        except ServiceError as err:
            raise self.error(path, f"{err.code}: {err.message}") from None
        for index, group in enumerate(self.items(own.get("groups"), (*path, "groups"))):
            self.call(userpools.registry, "AdminAddUserToGroup",
                      {"UserPoolId": pool["Id"], "Username": user["username"], "GroupName": group},
                      (*path, "groups", index))
        self.summary.created["user"] += 1

    def new_user(self, pool: dict, name: str, own: dict, path: Path) -> dict:
        """A user made as AdminCreateUser makes one (no message sent, no trigger run), then given
        the declared password, status, MFA and enabled flag."""
        db, now = self.db, self.ctx.now()
        given = self.attributes(own.get("attributes"), (*path, "attributes"))
        try:
            attrs_mod.validate_values(pool, given, creating=True, admin=True)
        except ServiceError as err:
            raise self.error((*path, "attributes"), f"{err.code}: {err.message}") from None
        sub = own.get("sub")
        if sub is not None:
            sub = self.text(sub, (*path, "sub"), "a sub (a UUID)").lower()
            try:
                sub = str(uuid.UUID(sub))
            except ValueError:
                raise self.error((*path, "sub"), f"{sub!r} is not a UUID") from None
            if users.by_sub(db, pool["Id"], sub) is not None:
                raise self.error((*path, "sub"), f"another user of the pool has sub {sub}")
        username = users.resolve_new_username(pool, name, given)
        if sub is not None and users.username_attributes(pool):
            username = sub
        attrs_mod.normalise_flags(given)
        users.check_username_free(db, pool, username, given, message="User account already exists")
        password, temporary = own.get("password"), own.get("temporary_password")
        if password is not None and temporary is not None:
            raise self.error((*path, "temporary_password"), "declare password or temporary_password, not both")
        status = own.get("status") or ("CONFIRMED" if password is not None else
                                       "FORCE_CHANGE_PASSWORD" if temporary is not None else "RESET_REQUIRED")
        if status not in STATUSES:
            raise self.error((*path, "status"), f"{status!r} is not one of {', '.join(STATUSES)}")
        chosen = password if password is not None else temporary
        key = "password" if password is not None else "temporary_password"
        if chosen is not None:
            chosen = self.text(chosen, (*path, key), "a password")
            try:
                passwords.check_policy(pool, chosen, prefix=passwords.ADMIN_PREFIX)
            except ServiceError as err:
                raise self.error((*path, key), f"{err.code}: {err.message}") from None
        elif status in ("CONFIRMED", "UNCONFIRMED"):
            raise self.error(path, f"a {status} user needs a password")
        if status == "FORCE_CHANGE_PASSWORD" and chosen is None:
            chosen = passwords.generate_temporary(pool)
        user = users.new_user(pool, username, given, status=status, now=now,
                              sub=sub or (username if users.username_attributes(pool) else None))
        if chosen is not None:
            passwords.set_password(db, pool, user, chosen, temporary=status == "FORCE_CHANGE_PASSWORD", now=now)
        enabled = own.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.error((*path, "enabled"), "expected true or false")
        user["enabled"] = enabled
        if own.get("mfa") is not None:
            self.user_mfa(pool, user, own["mfa"], (*path, "mfa"))
        users.save_user(db, pool, user, exists_message="User account already exists")
        users.claim_aliases(db, pool, user, force=False)
        return user

    def attributes(self, value: Any, path: Path) -> dict[str, str]:
        if value is None:
            return {}
        if isinstance(value, list):  # [{Name, Value}], as the API writes them
            try:
                return {str(a["Name"]): _attribute_text(a.get("Value", "")) for a in value}
            except (TypeError, KeyError):
                raise self.error(path, "expected a mapping of names to values, or a list of {Name, Value}") from None
        if not isinstance(value, dict):
            raise self.error(path, "expected a mapping of attribute names to values")
        return {str(k): _attribute_text(v) for k, v in value.items()}

    def user_mfa(self, pool: dict, user: dict, spec: Any, path: Path) -> None:
        own, _ = self.split(spec, path, MFA_KEYS, "user's MFA", operation=False)
        state = mfa.settings(user)
        request: dict[str, dict] = {}
        secret = own.get("totp_secret")
        if secret is not None:
            secret = self.text(secret, (*path, "totp_secret"), "a base32 TOTP secret").replace(" ", "").upper()
            try:
                base64.b32decode(secret + "=" * (-len(secret) % 8))
            except (binascii.Error, ValueError):
                raise self.error((*path, "totp_secret"), "not a base32 secret (A-Z, 2-7)") from None
            state["totp_secret"] = secret
        for key, setting in (("sms", "SMSMfaSettings"), ("email", "EmailMfaSettings"),
                             ("totp", "SoftwareTokenMfaSettings")):
            enabled = own.get(key, True if key == "totp" and secret else None)
            if enabled is None:
                continue
            if not isinstance(enabled, bool):
                raise self.error((*path, key), "expected true or false")
            request[setting] = {"Enabled": enabled}
        preferred = own.get("preferred")
        if preferred is not None:
            setting = MFA_FACTORS.get(str(preferred).upper())
            if setting is None:
                raise self.error((*path, "preferred"), "expected SMS, TOTP or EMAIL")
            request.setdefault(setting, {"Enabled": True})["PreferredMfa"] = True
        try:
            mfa.apply_preferences(pool, user, request, admin=True)
        except ServiceError as err:
            raise self.error(path, f"{err.code}: {err.message}") from None

    # -- identity pools --------------------------------------------------------------------------
    def identity_pool(self, spec: Any, path: Path) -> str:
        own, api = self.split(spec, path, IDENTITY_POOL_KEYS, "identity pool")
        pool_id = own.get("id")
        if pool_id is not None:
            pool_id = self.text(pool_id, (*path, "id"), "an identity pool id")
            match = IDENTITY_POOL_ID.match(pool_id)
            if not match:
                raise self.error((*path, "id"), f"{pool_id!r} is not an identity pool id "
                                 "(region:UUID, e.g. us-east-1:0b5e6d4c-...)")
            self.in_region(match.group(1))
            row = self.db.execute("SELECT id FROM identity_pools WHERE id = ?", (pool_id,)).fetchone()
        else:
            self.in_region(self.ctx.config.region)
            row = self.db.execute("SELECT id FROM identity_pools WHERE region = ? AND name = ? "
                                  "ORDER BY created, id LIMIT 1",
                                  (self.ctx.region, api.get("IdentityPoolName"))).fetchone()
        if row is not None:
            self.summary.unchanged["identity pool"] += 1
            return row[0]
        api.setdefault("AllowUnauthenticatedIdentities", False)
        created = self.call(identitypools.registry, "CreateIdentityPool", api, path, pool_id=pool_id)
        if own.get("roles") is not None or own.get("role_mappings") is not None:
            roles = {"IdentityPoolId": created["IdentityPoolId"], "Roles": own.get("roles") or {}}
            if own.get("role_mappings") is not None:
                roles["RoleMappings"] = own["role_mappings"]
            self.call(identitypools.registry, "SetIdentityPoolRoles", roles, (*path, "roles"))
        self.summary.created["identity pool"] += 1
        return created["IdentityPoolId"]


_MEMBER = re.compile(r"at '([A-Za-z0-9.]+)'")


def _member_path(path: Path, message: str) -> Path:
    """The path of the field a validation message names ('policies.passwordPolicy.minimumLength' is
    Policies.PasswordPolicy.MinimumLength in the file)."""
    found = _MEMBER.search(message)
    if not found:
        return path
    return (*path, *(part[:1].upper() + part[1:] for part in found.group(1).split(".")))


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _hint(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
