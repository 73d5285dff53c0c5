"""The routes a SAM or CloudFormation template declares, with their Cognito authorizers:

- `AWS::Serverless::Function` events of type `Api` (REST, authorizers of the `AWS::Serverless::Api`
  named by `RestApiId`, or of `Globals.Api` for the implicit API) and `HttpApi` (JWT authorizers of
  the `AWS::Serverless::HttpApi` named by `ApiId`, or of `Globals.HttpApi`);
- `AWS::ApiGateway::Method` with `AWS::ApiGateway::Resource` paths and `AWS::ApiGateway::Authorizer`;
- `AWS::ApiGatewayV2::Route` with `AWS::ApiGatewayV2::Integration` and `AWS::ApiGatewayV2::Authorizer`.

References are resolved (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, parameters' defaults): a user pool or
app client of the template is the emulator's pool or client of the same name (its name property,
else its logical id, as `serve --seed template.yaml` names them); a function is named by its
FunctionName, else its logical id (as `sam local start-lambda` knows it).
"""

from __future__ import annotations

import re
from typing import Any

from emulator.environments.documents import DeclarationError, Document, read
from emulator.gateway.routes import HTTP, REST, Api, Authorizer, Route, pool_id
from emulator.gateway.verifier import Verifier

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")
_LAMBDA_URI = re.compile(r"functions/(arn:[^/]+)/invocations")


class _Resolver:
    def __init__(self, doc: Document, verifier: Verifier, region: str, account_id: str) -> None:
        self.doc, self.verifier, self.region, self.account = doc, verifier, region, account_id
        self.resources: dict[str, dict] = doc.data.get("Resources") or {}
        self.parameters: dict[str, Any] = doc.data.get("Parameters") or {}

    def error(self, path: tuple, message: str):
        return self.doc.error(path, message)

    def props(self, name: str) -> dict:
        return self.resources[name].get("Properties") or {}

    def value(self, value: Any, path: tuple) -> Any:
        if isinstance(value, list):
            return [self.value(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (function, arg), = value.items()
            if function == "Ref":
                return self.ref(arg, path)
            if function == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(parts[0], parts[1], path)
            if function == "Fn::Sub":
                return self.sub(arg, path)
            if function == "Fn::Join":
                return str(arg[0]).join(str(self.value(v, path)) for v in self.value(arg[1], path))
        return {k: self.value(v, (*path, k)) for k, v in value.items()}

    def ref(self, name: str, path: tuple) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "cognito-emulator"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            parameter = self.parameters[name] if isinstance(self.parameters[name], dict) else {}
            if "Default" not in parameter:
                raise self.error(("Parameters", name), "a parameter without a Default cannot be resolved here")
            return str(parameter["Default"])
        if name not in self.resources:
            raise self.error(path, f"{name!r} is not a resource or parameter of the template")
        kind = self.resources[name].get("Type")
        if kind == "AWS::Cognito::UserPool":
            return self.pool(name, path)
        if kind == "AWS::Cognito::UserPoolClient":
            props = self.props(name)
            pool = self.value(props.get("UserPoolId"), path)
            client_name = self.value(props.get("ClientName"), path) or name
            found = self.verifier.client_id_named(pool, client_name)
            if found is None:
                raise self.error(path, f"app client {client_name!r} ({name}) is not in user pool {pool} of the "
                                       "emulator: apply the template first (serve --seed)")
            return found
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return self.value(self.props(name).get("FunctionName"), path) or name
        return name

    def pool(self, name: str, path: tuple) -> str:
        pool_name = self.value(self.props(name).get("UserPoolName"), path) or name
        found = self.verifier.pool_id_named(pool_name)
        if found is None:
            raise self.error(path, f"user pool {pool_name!r} ({name}) is not in the emulator: apply the template "
                                   "first (serve --seed)")
        return found

    def get_att(self, name: str, attribute: str, path: tuple) -> str:
        if name not in self.resources:
            raise self.error(path, f"{name!r} is not a resource of the template")
        kind = self.resources[name].get("Type")
        if kind == "AWS::Cognito::UserPool":
            pid = self.pool(name, path)
            return {"Arn": f"arn:aws:cognito-idp:{self.region}:{self.account}:userpool/{pid}",
                    "ProviderName": f"cognito-idp.{self.region}.amazonaws.com/{pid}",
                    "ProviderURL": f"https://cognito-idp.{self.region}.amazonaws.com/{pid}",
                    "UserPoolId": pid}.get(attribute, pid)
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function") and attribute == "Arn":
            return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.ref(name, path)}"
        if kind == "AWS::ApiGateway::RestApi" and attribute == "RootResourceId":
            return f"{name}.root"
        return f"{name}.{attribute}"

    def sub(self, arg: Any, path: tuple) -> str:
        text, variables = (arg[0], self.value(arg[1], path)) if isinstance(arg, list) else (arg, {})

        def replace(match: re.Match) -> str:
            key = match.group(1)
            if key in variables:
                return str(variables[key])
            if "." in key:
                return self.get_att(*key.split(".", 1), path)
            return self.ref(key, path)

        return _SUB.sub(replace, str(text))


def load_template(path: str, verifier: Verifier, *, region: str = "us-east-1", account_id: str = "000000000000") -> Api:
    doc = read(path)
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("Resources"), dict):
        raise doc.error((), "expected a template with Resources")
    r = _Resolver(doc, verifier, region, account_id)
    routes: list[Route] = []
    for name, resource in r.resources.items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        try:
            if kind == "AWS::Serverless::Function":
                routes += _function_events(r, name)
            elif kind == "AWS::ApiGateway::Method":
                routes.append(_rest_method(r, name))
            elif kind == "AWS::ApiGatewayV2::Route":
                routes.append(_http_route(r, name))
        except DeclarationError:
            raise
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as err:
            # A property of an unexpected shape (a string where a mapping belongs, ...).
            raise doc.error(("Resources", name), f"a property of an unexpected shape ({err})") from None
    return Api(routes)


def _ref_name(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None


def _sam_authorizers(r: _Resolver, auth: dict, api: str, where: tuple) -> dict[str, Authorizer]:
    out = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        spec_path = (*where, "Authorizers", name)
        if api == REST:
            if "UserPoolArn" not in spec:
                continue  # a Lambda authorizer: not a Cognito one
            arns = r.value(spec["UserPoolArn"], (*spec_path, "UserPoolArn"))
            pools = [pool_id(a) or a for a in (arns if isinstance(arns, list) else [arns])]
            header = ((spec.get("Identity") or {}).get("Header")) or "Authorization"
            out[name] = Authorizer(name=name, type="COGNITO_USER_POOLS", pools=pools, identity_source=header)
        else:
            jwt = spec.get("JwtConfiguration")
            if not isinstance(jwt, dict):
                continue
            jwt = r.value(jwt, (*spec_path, "JwtConfiguration"))
            source = spec.get("IdentitySource") or "$request.header.Authorization"
            out[name] = Authorizer(name=name, type="JWT", issuer=jwt.get("issuer") or jwt.get("Issuer"),
                                   audience=list(jwt.get("audience") or jwt.get("Audience") or []),
                                   identity_source=str(source).rsplit(".", 1)[-1])
    return out


def _function_events(r: _Resolver, name: str) -> list[Route]:
    props = r.props(name)
    function = r.ref(name, ("Resources", name))
    globals_ = r.doc.data.get("Globals") or {}
    routes = []
    for event_name, event in (props.get("Events") or {}).items():
        where = ("Resources", name, "Properties", "Events", event_name)
        kind = event.get("Type")
        if kind not in ("Api", "HttpApi"):
            continue
        api = REST if kind == "Api" else HTTP
        ep = event.get("Properties") or {}
        api_ref = ep.get("RestApiId" if api == REST else "ApiId")
        if isinstance(api_ref, dict) and "Ref" in api_ref:
            api_props = r.props(api_ref["Ref"])
        else:
            api_props = (globals_.get("Api" if api == REST else "HttpApi")) or {}
        auth = api_props.get("Auth") or {}
        authorizers = _sam_authorizers(r, auth, api, where)
        event_auth = ep.get("Auth") or {}
        chosen = event_auth.get("Authorizer", auth.get("DefaultAuthorizer"))
        authorizer = None
        if chosen and chosen != "NONE":
            authorizer = authorizers.get(chosen)
            if authorizer is None:
                raise r.error((*where, "Properties", "Auth", "Authorizer"),
                              f"no Cognito authorizer {chosen!r} on the API")
        scopes = event_auth.get("AuthorizationScopes")
        if scopes is None and authorizer is not None:
            spec = (auth.get("Authorizers") or {}).get(chosen) or {}
            scopes = spec.get("AuthorizationScopes") or []
        method = str(ep.get("Method") or "ANY").upper()
        route_path = ep.get("Path") or "/{proxy+}"
        stage = r.value(api_props.get("StageName"), where) or ("Prod" if api == REST else "$default")
        payload = str(ep.get("PayloadFormatVersion") or ("1.0" if api == REST else "2.0"))
        routes.append(Route(method="ANY" if method == "ANY" else method, path=route_path, api=api,
                            authorizer=authorizer, scopes=list(r.value(scopes or [], where)), function=function,
                            payload_format=payload, stage=stage))
    return routes


def _resource_path(r: _Resolver, resource_id: Any, where: tuple) -> str:
    if isinstance(resource_id, dict) and "Ref" in resource_id and resource_id["Ref"] in r.resources:
        props = r.props(resource_id["Ref"])
        parent = _resource_path(r, props.get("ParentId"), where)
        return parent.rstrip("/") + "/" + str(r.value(props.get("PathPart"), where))
    return "/"  # the RestApi's RootResourceId


def _integration_target(r: _Resolver, integration: dict, where: tuple) -> tuple[str | None, str | None]:
    uri = str(r.value(integration.get("Uri") or integration.get("IntegrationUri") or "", where))
    found = _LAMBDA_URI.search(uri)
    if found:
        return None, found.group(1)
    if uri.startswith("arn:aws:lambda:") or ":function:" in uri:
        return None, uri
    if uri.startswith(("http://", "https://")):
        return uri, None
    raise r.error(where, f"an integration the gateway cannot call: {uri!r} (a Lambda function or an HTTP URL)")


def _rest_method(r: _Resolver, name: str) -> Route:
    props = r.props(name)
    where = ("Resources", name, "Properties")
    authorizer = None
    if props.get("AuthorizationType") == "COGNITO_USER_POOLS":
        ref = _ref_name(props.get("AuthorizerId"))
        if ref not in r.resources:
            raise r.error((*where, "AuthorizerId"), "expected a Ref to an AWS::ApiGateway::Authorizer")
        spec = r.props(ref)
        arns = r.value(spec.get("ProviderARNs") or [], ("Resources", ref, "Properties", "ProviderARNs"))
        source = str(spec.get("IdentitySource") or "method.request.header.Authorization")
        authorizer = Authorizer(name=ref, type="COGNITO_USER_POOLS", pools=[pool_id(a) or a for a in arns],
                                identity_source=source.rsplit(".", 1)[-1])
    upstream, function = _integration_target(r, props.get("Integration") or {}, (*where, "Integration"))
    return Route(method=str(props.get("HttpMethod") or "ANY").upper(),
                 path=_resource_path(r, props.get("ResourceId"), where), api=REST, authorizer=authorizer,
                 scopes=list(r.value(props.get("AuthorizationScopes") or [], where)), upstream=upstream,
                 function=function)


def _http_route(r: _Resolver, name: str) -> Route:
    props = r.props(name)
    where = ("Resources", name, "Properties")
    key = str(r.value(props.get("RouteKey"), (*where, "RouteKey")))
    method, _, route_path = key.partition(" ")
    if key == "$default":
        method, route_path = "ANY", "/{proxy+}"
    authorizer = None
    if props.get("AuthorizationType") == "JWT":
        ref = _ref_name(props.get("AuthorizerId"))
        if ref not in r.resources:
            raise r.error((*where, "AuthorizerId"), "expected a Ref to an AWS::ApiGatewayV2::Authorizer")
        spec = r.value(r.props(ref), ("Resources", ref, "Properties"))
        jwt = spec.get("JwtConfiguration") or {}
        sources = spec.get("IdentitySource") or ["$request.header.Authorization"]
        authorizer = Authorizer(name=ref, type="JWT", issuer=jwt.get("Issuer"), audience=list(jwt.get("Audience") or []),
                                identity_source=str(sources[0]).rsplit(".", 1)[-1])
    target = str(r.value(props.get("Target") or "", (*where, "Target")))
    integration_name = target.split("/", 1)[-1]
    if integration_name not in r.resources:
        raise r.error((*where, "Target"), "expected integrations/<an AWS::ApiGatewayV2::Integration>")
    integration = r.props(integration_name)
    upstream, function = _integration_target(r, integration, ("Resources", integration_name, "Properties"))
    return Route(method=method.upper(), path=route_path, api=HTTP, authorizer=authorizer,
                 scopes=list(r.value(props.get("AuthorizationScopes") or [], where)), upstream=upstream,
                 function=function, payload_format=str(integration.get("PayloadFormatVersion") or "2.0"),
                 stage="$default")
