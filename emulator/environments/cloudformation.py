"""A CloudFormation or CDK-synthesized template's AWS::Cognito::* resources, made through the same
operations as a seed file, in the order their references need: each resource's properties are
resolved (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, ...) once what they name exists.

Resources of other services (IAM roles, Lambda functions) are not made; a reference to one resolves
to the ARN or name it would have, so that e.g. a trigger or a group's role names it. A resource
without a name property is named after its logical id, which is also how an existing pool, client
or identity pool is found again (applying a template twice changes nothing).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from emulator import identitypools, userpools
from emulator.environments.documents import Path
from emulator.environments.seed import Seeder

COGNITO = "AWS::Cognito::"
NO_VALUE = object()  # AWS::NoValue: the property or list item is dropped
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")
# Services whose ARNs name a region and an account (IAM names neither region).
_ARN_SERVICE = {"AWS::IAM::Role": ("iam", "role/"), "AWS::Lambda::Function": ("lambda", "function:"),
                "AWS::SNS::Topic": ("sns", ""), "AWS::KMS::Key": ("kms", "key/"),
                "AWS::SES::ConfigurationSet": ("ses", "configuration-set/")}


class Template:
    def __init__(self, seeder: Seeder, data: dict) -> None:
        self.seeder, self.data = seeder, data
        self.region, self.account = seeder.ctx.config.region, seeder.ctx.account_id
        resources = data.get("Resources")
        if not isinstance(resources, dict) or not resources:
            raise seeder.error(("Resources",), "expected a mapping of resources")
        self.resources: dict[str, dict] = {}
        for name, resource in resources.items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise seeder.error(("Resources", name), "expected a resource with a Type")
            self.resources[name] = resource
        self.made: dict[str, dict[str, Any]] = {}  # logical id -> {"Ref": ..., attribute: ...}
        self.conditions: dict[str, bool] = {}

    # -- intrinsic functions ---------------------------------------------------------------------
    def resolve(self, value: Any, path: Path) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v, (*path, i)) for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, arg), = value.items()
            function = FUNCTIONS.get(name)
            if function is not None:
                return function(self, arg, (*path, name))
        out = {k: self.resolve(v, (*path, k)) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def ref(self, name: Any, path: Path) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                  "AWS::StackName": "cognito-emulator", "AWS::URLSuffix": "amazonaws.com",
                  "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/cognito-emulator/local",
                  "AWS::NoValue": NO_VALUE}
        if name in pseudo:
            return pseudo[name]
        parameters = self.data.get("Parameters") or {}
        if name in parameters:
            parameter = parameters[name] if isinstance(parameters[name], dict) else {}
            if "Default" not in parameter:
                raise self.seeder.error(("Parameters", name), "a parameter without a Default cannot be resolved here")
            return parameter["Default"]
        return self.attribute(name, "Ref", path)

    def attribute(self, name: Any, attribute: str, path: Path) -> Any:
        if not isinstance(name, str) or name not in self.resources:
            raise self.seeder.error(path, f"{name!r} is not a resource or parameter of the template")
        kind = self.resources[name]["Type"]
        if not kind.startswith(COGNITO):
            return self.outside(name, kind, attribute)
        if name not in self.made:
            self.make(name)
        values = self.made[name]
        if not values:  # being made: its properties lead back to it
            raise self.seeder.error(path, f"{name} is referred to while it is being made (a circular reference)")
        if attribute not in values:
            raise self.seeder.error(path, f"{kind} has no attribute {attribute} here "
                                    f"(known: {', '.join(a for a in values if a != 'Ref')})")
        return values[attribute]

    def outside(self, name: str, kind: str, attribute: str) -> str:
        """What a reference to a resource of another service resolves to."""
        if attribute not in ("Arn", "Ref") or kind not in _ARN_SERVICE:
            return name
        service, prefix = _ARN_SERVICE[kind]
        region = "" if service == "iam" else self.region
        arn = f"arn:aws:{service}:{region}:{self.account}:{prefix}{name}"
        return arn if attribute == "Arn" or service == "sns" else name

    # -- making resources ------------------------------------------------------------------------
    def make_all(self) -> None:
        for name, resource in self.resources.items():
            if resource["Type"].startswith(COGNITO) and name not in self.made:
                self.make(name)

    def make(self, name: str) -> None:
        resource = self.resources[name]
        path: Path = ("Resources", name)
        self.made[name] = {}  # a reference back to itself resolves to nothing below
        if resource.get("Condition") and not self.condition(resource["Condition"], (*path, "Condition")):
            self.made[name] = {"Ref": NO_VALUE}
            return
        for dependency in _list(resource.get("DependsOn")):
            if dependency in self.resources and self.resources[dependency]["Type"].startswith(COGNITO) \
                    and dependency not in self.made:
                self.make(dependency)
        maker = MAKERS.get(resource["Type"][len(COGNITO):])
        if maker is None:
            raise self.seeder.error((*path, "Type"), f"{resource['Type']} is not a resource the emulator makes "
                                    f"(it makes {', '.join(COGNITO + k for k in MAKERS)})")
        properties = self.resolve(resource.get("Properties") or {}, (*path, "Properties"))
        if not isinstance(properties, dict):
            raise self.seeder.error((*path, "Properties"), "expected a mapping")
        self.made[name] = maker(self, name, properties, (*path, "Properties"))

    def condition(self, name: Any, path: Path) -> bool:
        if name not in self.conditions:
            conditions = self.data.get("Conditions") or {}
            if name not in conditions:
                raise self.seeder.error(path, f"{name!r} is not a condition of the template")
            self.conditions[name] = bool(self.resolve(conditions[name], ("Conditions", name)))
        return self.conditions[name]


# -- intrinsic functions -------------------------------------------------------------------------
def _get_att(t: Template, arg: Any, path: Path) -> Any:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not isinstance(arg, list) or len(arg) != 2:
        raise t.seeder.error(path, "expected [resource, attribute]")
    return t.attribute(arg[0], t.resolve(arg[1], path), path)


def _sub(t: Template, arg: Any, path: Path) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg + [{}])[:2] if isinstance(arg, list) else (None, None)
    if not isinstance(text, str) or not isinstance(variables, dict):
        raise t.seeder.error(path, "expected a string, or [string, {variables}]")
    values = {k: t.resolve(v, (*path, k)) for k, v in variables.items()}

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        if "." in name and not name.startswith("AWS::"):
            resource, attribute = name.split(".", 1)
            return str(t.attribute(resource, attribute, path))
        return str(t.ref(name, path))
    return _SUB.sub(one, text).replace("${!", "${")


def _join(t: Template, arg: Any, path: Path) -> str:
    if not isinstance(arg, list) or len(arg) != 2:
        raise t.seeder.error(path, "expected [delimiter, [values]]")
    items = t.resolve(arg[1], path)
    return str(arg[0]).join(str(i) for i in _list(items))


def _select(t: Template, arg: Any, path: Path) -> Any:
    index, items = (t.resolve(a, path) for a in arg) if isinstance(arg, list) and len(arg) == 2 else (None, None)
    try:
        return items[int(index)]
    except (TypeError, ValueError, IndexError):
        raise t.seeder.error(path, "expected [index, [values]] with the index in range") from None


def _split(t: Template, arg: Any, path: Path) -> list:
    if not isinstance(arg, list) or len(arg) != 2:
        raise t.seeder.error(path, "expected [delimiter, string]")
    return str(t.resolve(arg[1], path)).split(str(arg[0]))


def _if(t: Template, arg: Any, path: Path) -> Any:
    if not isinstance(arg, list) or len(arg) != 3:
        raise t.seeder.error(path, "expected [condition, value if true, value if false]")
    return t.resolve(arg[1] if t.condition(arg[0], path) else arg[2], path)


def _find_in_map(t: Template, arg: Any, path: Path) -> Any:
    keys = [t.resolve(a, path) for a in arg] if isinstance(arg, list) and len(arg) == 3 else None
    try:
        return t.data["Mappings"][keys[0]][keys[1]][keys[2]]
    except (KeyError, TypeError):
        raise t.seeder.error(path, f"no such mapping entry {keys}") from None


def _unsupported(t: Template, arg: Any, path: Path) -> Any:
    raise t.seeder.error(path, f"{path[-1]} names another stack's outputs, which a single template cannot resolve")


FUNCTIONS = {
    "Ref": lambda t, arg, path: t.ref(arg, path),
    "Fn::GetAtt": _get_att, "Fn::Sub": _sub, "Fn::Join": _join, "Fn::Select": _select, "Fn::Split": _split,
    "Fn::If": _if, "Fn::FindInMap": _find_in_map, "Fn::ImportValue": _unsupported,
    "Fn::Base64": lambda t, arg, path: base64.b64encode(str(t.resolve(arg, path)).encode()).decode(),
    "Fn::GetAZs": lambda t, arg, path: [f"{t.region}{z}" for z in "abc"],
    "Fn::Equals": lambda t, arg, path: len(arg) == 2 and t.resolve(arg[0], path) == t.resolve(arg[1], path),
    "Fn::Not": lambda t, arg, path: not t.resolve(arg[0], path),
    "Fn::And": lambda t, arg, path: all(t.resolve(a, path) for a in arg),
    "Fn::Or": lambda t, arg, path: any(t.resolve(a, path) for a in arg),
    "Condition": lambda t, arg, path: t.condition(arg, path),
}


# -- resources -----------------------------------------------------------------------------------
def _list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _pool(t: Template, properties: dict, path: Path) -> dict:
    pool_id = properties.pop("UserPoolId", None)
    if not isinstance(pool_id, str):
        raise t.seeder.error((*path, "UserPoolId"), "expected a user pool (e.g. !Ref UserPool)")
    return t.seeder.load_pool(pool_id)


def _user_pool(t: Template, name: str, p: dict, path: Path) -> dict:
    p["PoolName"] = p.pop("UserPoolName", name)
    enabled = p.pop("EnabledMfas", None)
    tags = p.get("UserPoolTags")
    if isinstance(tags, list):  # some generators write tags as [{Key, Value}]
        p["UserPoolTags"] = {tag.get("Key"): tag.get("Value") for tag in tags if isinstance(tag, dict)}
    relying_party = {k: p.pop(k) for k in ("WebAuthnRelyingPartyID", "WebAuthnUserVerification") if k in p}
    mode = p.get("MfaConfiguration") or "OFF"
    mfa = None
    if mode != "OFF" or enabled or relying_party:
        factors = _list(enabled) or ["SMS_MFA"]
        mfa = {"MfaConfiguration": mode,
               "SoftwareTokenMfaConfiguration": {"Enabled": "SOFTWARE_TOKEN_MFA" in factors}}
        if "SMS_MFA" in factors and p.get("SmsConfiguration"):
            mfa["SmsMfaConfiguration"] = {"SmsConfiguration": p["SmsConfiguration"]}
        if "EMAIL_OTP" in factors:
            mfa["EmailMfaConfiguration"] = {}
        if relying_party:
            mfa["WebAuthnConfiguration"] = {"RelyingPartyId": relying_party.get("WebAuthnRelyingPartyID"),
                                            "UserVerification": relying_party.get("WebAuthnUserVerification")}
            mfa["WebAuthnConfiguration"] = {k: v for k, v in mfa["WebAuthnConfiguration"].items() if v}
        p["MfaConfiguration"] = "OFF"  # turned on by SetUserPoolMfaConfig, with its factors
    pool, created = t.seeder.user_pool(None, p, path)
    if created and mfa:
        t.seeder.mfa_config(pool, mfa, (*path, "MfaConfiguration"))
    pool_id, region = pool["Id"], pool["Id"].split("_")[0]
    return {"Ref": pool_id, "UserPoolId": pool_id, "Arn": pool["Arn"],
            "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
            "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"}


def _client(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    p.setdefault("ClientName", name)
    client_id = t.seeder.client(pool, p, path)
    row = t.seeder.db.execute("SELECT data FROM user_pool_clients WHERE id = ?", (client_id,)).fetchone()
    secret = json.loads(row[0]).get("ClientSecret") if row else None
    return {"Ref": client_id, "ClientId": client_id, "Name": p["ClientName"], "ClientSecret": secret or ""}


def _domain(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    t.seeder.domain(pool, p, path)
    return {"Ref": p.get("Domain"), "CloudFrontDistribution": f"{p.get('Domain')}.auth.{pool['Id'].split('_')[0]}"
            ".amazoncognito.com", "ManagedLoginVersion": p.get("ManagedLoginVersion", 1)}


def _group(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    p.setdefault("GroupName", name)
    t.seeder.group(pool, p, path)
    return {"Ref": p["GroupName"]}


def _resource_server(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    t.seeder.resource_server(pool, p, path)
    return {"Ref": p.get("Identifier")}


def _identity_provider(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    t.seeder.identity_provider(pool, p, path)
    return {"Ref": p.get("ProviderName")}


def _user(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    username = p.pop("Username", None) or name
    # What only matters for the invitation message; a template's users get a temporary password.
    for key in ("DesiredDeliveryMediums", "ForceAliasCreation", "MessageAction", "ClientMetadata", "ValidationData"):
        p.pop(key, None)
    attributes = p.pop("UserAttributes", None)
    if p:
        key = next(iter(p))
        raise t.seeder.error((*path, key), "not a property of AWS::Cognito::UserPoolUser")
    t.seeder.user(pool, {"username": username, "attributes": attributes, "status": "FORCE_CHANGE_PASSWORD"}, path)
    return {"Ref": username}


def _user_to_group(t: Template, name: str, p: dict, path: Path) -> dict:
    pool = _pool(t, p, path)
    t.seeder.call(userpools.registry, "AdminAddUserToGroup",
                  {**p, "UserPoolId": pool["Id"]}, path)
    return {"Ref": name}


def _identity_pool(t: Template, name: str, p: dict, path: Path) -> dict:
    p.setdefault("IdentityPoolName", name)
    for key in ("CognitoEvents", "CognitoStreams", "PushSync"):
        if p.pop(key, None) is not None:
            t.seeder.summary.notes.append(f"{name}: {key} is not applied (set it through Cognito Sync's API)")
    tags = p.pop("IdentityPoolTags", None)
    if tags:
        p["IdentityPoolTags"] = {tag["Key"]: tag["Value"] for tag in tags} if isinstance(tags, list) else tags
    pool_id = t.seeder.identity_pool(p, path)
    return {"Ref": pool_id, "Id": pool_id, "Name": p["IdentityPoolName"]}


def _role_attachment(t: Template, name: str, p: dict, path: Path) -> dict:
    pool_id = p.get("IdentityPoolId")
    mappings = {}
    for key, mapping in (p.get("RoleMappings") or {}).items():
        if not isinstance(mapping, dict) or not mapping.get("IdentityProvider"):
            raise t.seeder.error((*path, "RoleMappings", key), "expected a role mapping with IdentityProvider")
        mapping = dict(mapping)
        mappings[mapping.pop("IdentityProvider")] = mapping
    request = {"IdentityPoolId": pool_id, "Roles": p.get("Roles") or {}}
    if mappings:
        request["RoleMappings"] = mappings
    row = t.seeder.db.execute("SELECT roles, role_mappings FROM identity_pools WHERE id = ?", (pool_id,)).fetchone()
    if row is not None and row[0] not in ("{}", None):
        t.seeder.summary.unchanged["role attachment"] += 1
    else:
        t.seeder.call(identitypools.registry,
                      "SetIdentityPoolRoles", request, path)
        t.seeder.summary.created["role attachment"] += 1
    return {"Ref": name}


MAKERS = {"UserPool": _user_pool, "UserPoolClient": _client, "UserPoolDomain": _domain, "UserPoolGroup": _group,
          "UserPoolUser": _user, "UserPoolUserToGroupAttachment": _user_to_group,
          "UserPoolResourceServer": _resource_server, "UserPoolIdentityProvider": _identity_provider,
          "IdentityPool": _identity_pool, "IdentityPoolRoleAttachment": _role_attachment}


def apply(seeder: Seeder, data: dict) -> None:
    Template(seeder, data).make_all()
