"""SigV4: who signed a request (the credential scope) and, when asked, whether the signature is right.

`read_caller` only reads the credential scope. `Verifier.verify` checks a request the way AWS
does (header form and presigned query form): the canonical request, the string to sign and
the signing key exactly as SigV4 defines them, the request date within 15 minutes of the
server's clock, the access key known to the server and, for temporary credentials, the
session token. It raises `SignatureError`, whose `code(protocol)` is AWS's error code for a
JSON/rest-json service or a query-protocol one (STS).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import hashlib
import hmac
import re
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]*)/([^/]+)/aws4_request")


@dataclasses.dataclass(frozen=True)
class Caller:
    """The signer of a request; `signed` is False for unsigned requests."""

    signed: bool
    access_key: str | None = None
    region: str | None = None
    service: str | None = None
    security_token: str | None = None


def read_caller(headers, query: dict | None = None) -> Caller:
    """Parse the credential scope from the Authorization header or a presigned query."""
    auth = headers.get("Authorization", "")
    token = headers.get("X-Amz-Security-Token")
    match = _CREDENTIAL.search(auth) if auth.startswith("AWS4-HMAC-SHA256") else None
    if match is None and query and query.get("X-Amz-Credential"):
        match = _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"])
        token = token or query.get("X-Amz-Security-Token")
    if match is None:
        return Caller(signed=False, security_token=token)
    key, _date, region, service = match.groups()
    return Caller(signed=True, access_key=key, region=region or None, service=service,
                  security_token=token)


# -- verification -------------------------------------------------------------------------
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service "
                      "documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"

# kind -> (JSON and rest-json code, query-protocol code)
_CODES = {
    "incomplete": ("IncompleteSignatureException", "IncompleteSignature"),
    "unrecognized": ("UnrecognizedClientException", "InvalidClientTokenId"),
    "mismatch": ("InvalidSignatureException", "SignatureDoesNotMatch"),
    "expired_token": ("ExpiredTokenException", "ExpiredToken"),
}


class SignatureError(Exception):
    """A request whose signature cannot be accepted; `kind` is one of _CODES."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def code(self, protocol: str = "json") -> str:
        """AWS's error code: protocol "json" (JSON 1.1 and rest-json) or "query" (STS)."""
        json_code, query_code = _CODES[self.kind]
        return query_code if protocol == "query" else json_code


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """What the server knows of an access key: its secret and, for temporary credentials,
    the session token (in clear, or a check when only a digest of it is kept) and expiry."""

    secret: str
    session_token: str | None = None
    token_check: Callable[[str], bool] | None = None
    expires_at: float | None = None

    @property
    def temporary(self) -> bool:
        return self.session_token is not None or self.token_check is not None

    def token_matches(self, token: str | None) -> bool:
        if not self.temporary:
            return token is None
        if token is None:
            return False
        if self.session_token is not None:
            return hmac.compare_digest(self.session_token.encode(), token.encode())
        return bool(self.token_check(token))


# access key -> SigningKey, or None for an unknown key
CredentialsLookup = Callable[[str], "SigningKey | None"]


@dataclasses.dataclass(frozen=True)
class _Signed:
    """The signing parts of one request, from its Authorization header or its query."""

    access_key: str
    scope_date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str  # the request time as SigV4's basic ISO-8601 (yyyymmddThhmmssZ)
    when: dt.datetime
    token: str | None
    presigned: bool


class Verifier:
    """Checks SigV4 signatures against the keys `lookup` knows, at the time `now()` says."""

    def __init__(self, lookup: CredentialsLookup, now: Callable[[], float]) -> None:
        self.lookup = lookup
        self.now = now

    def verify(self, request, service: str | None = None) -> None:
        """Raise SignatureError unless `request` (a werkzeug Request) is signed right for `service`."""
        signed = _parse(request)
        if service and signed.service != service:
            raise SignatureError("mismatch", f"Credential should be scoped to correct service: '{service}'. ")
        _check_date(signed, self.now())
        key = self.lookup(signed.access_key)
        if key is None:
            raise SignatureError("unrecognized", INVALID_TOKEN)
        if not key.token_matches(signed.token):
            raise SignatureError("unrecognized", INVALID_TOKEN)
        given = signed.signature.encode("utf-8", "surrogatepass")  # bytes: the caller's text may be any
        if not any(hmac.compare_digest(expected.encode(), given)
                   for expected in expected_signatures(request, signed, key.secret)):
            raise SignatureError("mismatch", SIGNATURE_MISMATCH)
        if key.expires_at is not None and self.now() >= key.expires_at:
            raise SignatureError("expired_token", EXPIRED_TOKEN)


def expected_signatures(request, signed: _Signed, secret: str) -> list[str]:
    """The signatures the request may carry (a presigned request may or may not sign its body)."""
    body = request.get_data(cache=True)
    actual = hashlib.sha256(body).hexdigest()
    if signed.presigned:
        claimed = request.args.get("X-Amz-Content-Sha256")
        hashes = [claimed] if claimed else [actual, UNSIGNED_PAYLOAD]
    else:
        claimed = request.headers.get("X-Amz-Content-Sha256")
        # A claimed hash that is not the body's own cannot match what the client signed over it.
        hashes = [UNSIGNED_PAYLOAD if claimed == UNSIGNED_PAYLOAD else actual]
    path, query = _raw_target(request)
    key = signing_key(secret, signed.scope_date, signed.region, signed.service)
    scope = f"{signed.scope_date}/{signed.region}/{signed.service}/aws4_request"
    out = []
    for payload_hash in hashes:
        canonical = canonical_request(request.method, path, query, _header_values(request, signed),
                                      signed.signed_headers, payload_hash,
                                      skip_query=("X-Amz-Signature",) if signed.presigned else ())
        to_sign = "\n".join([ALGORITHM, signed.amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        out.append(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest())
    return out


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_request(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                      signed_headers: list[str], payload_hash: str, skip_query: tuple[str, ...] = ()) -> str:
    """SigV4's canonical request. `raw_path` and `raw_query` are as sent on the wire; the path
    is normalized and URI-encoded once more (every service but S3 double-encodes)."""
    lines = [method.upper(), canonical_uri(raw_path), canonical_query(raw_query, skip_query)]
    lines.extend(f"{name}:{_header_text(headers.get(name, []))}" for name in signed_headers)
    lines.extend(["", ";".join(signed_headers), payload_hash])
    return "\n".join(lines)


def canonical_uri(raw_path: str) -> str:
    """Dot segments and empty segments removed, then each character outside SigV4's
    unreserved set (and '/') percent-encoded."""
    if not raw_path:
        return "/"
    segments: list[str] = []
    for segment in raw_path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
        else:
            segments.append(segment)
    path = ("/" if raw_path.startswith("/") else "") + "/".join(segments)
    if segments and raw_path.endswith("/"):
        path += "/"
    return quote(path or "/", safe="/~")


def canonical_query(raw_query: str, skip: tuple[str, ...] = ()) -> str:
    """Parameters decoded, then encoded SigV4's way and sorted by name, then value."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        name, value = unquote(name), unquote(value)
        if name in skip:
            continue
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _header_text(values: list[str]) -> str:
    return ",".join(" ".join(v.split()) for v in values)


def _header_values(request, signed: _Signed) -> dict[str, list[str]]:
    return {name: request.headers.getlist(name) for name in signed.signed_headers}


def _raw_target(request) -> tuple[str, str]:
    """The request's path and query exactly as the client sent them."""
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if raw.startswith(("http://", "https://")):
            parts = urlsplit(raw)
            return parts.path or "/", parts.query
        path, _, query = raw.partition("?")
        return path or "/", query
    # A server that keeps no raw target: SDKs percent-encode all but unreserved characters.
    path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
    return quote(path, safe="/~"), environ.get("QUERY_STRING", "")


# -- parsing ---------------------------------------------------------------------------------
def _parse(request) -> _Signed:
    auth = request.headers.get("Authorization")
    if auth is None and "X-Amz-Credential" in request.args:
        return _parse_query(request)
    return _parse_header(request, auth or "")


def _parse_header(request, auth: str) -> _Signed:
    algorithm, _, rest = auth.strip().partition(" ")
    fields: dict[str, str] = {}
    if algorithm == ALGORITHM:
        for part in (p.strip() for p in rest.split(",")):
            if not part:
                continue
            name, eq, value = part.partition("=")
            if not eq:
                raise SignatureError("incomplete", f"'{part}' not a valid key=value pair "
                                                   f"(missing equal-sign) in Authorization header: '{auth}'.")
            fields[name.strip()] = value.strip()
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    amz_date = request.headers.get("X-Amz-Date")
    http_date = request.headers.get("Date")
    if not amz_date and not http_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise SignatureError("incomplete", " ".join(missing) + f" Authorization={auth}")
    when = _iso_date(amz_date) if amz_date else _http_date(http_date)
    if when is None:
        raise SignatureError("incomplete", "Authorization header requires existence of either a "
                                           f"'X-Amz-Date' or a 'Date' header. Authorization={auth}")
    return _signed(fields["Credential"], fields["SignedHeaders"], fields["Signature"], when,
                   request.headers.get("X-Amz-Security-Token"), presigned=False)


def _parse_query(request) -> _Signed:
    args = request.args
    names = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    if any(not args.get(n) for n in names) or args.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureError("incomplete", "AWS query-string parameters must include 'X-Amz-Algorithm', "
                                           "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', "
                                           "'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")
    when = _iso_date(args["X-Amz-Date"])
    if when is None:
        raise SignatureError("incomplete", f"X-Amz-Date must be in the ISO8601 Long Format "
                                           f"\"yyyyMMdd'T'HHmmss'Z'\", not '{args['X-Amz-Date']}'.")
    return _signed(args["X-Amz-Credential"], args["X-Amz-SignedHeaders"], args["X-Amz-Signature"], when,
                   args.get("X-Amz-Security-Token") or request.headers.get("X-Amz-Security-Token"),
                   presigned=True)


def _signed(credential: str, signed_headers: str, signature: str, when: dt.datetime, token: str | None,
            presigned: bool) -> _Signed:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureError("incomplete", "Credential should be scoped with a valid terminator: "
                                           f"'aws4_request', not '{parts[-1]}'. ")
    access_key, scope_date, region, service, _ = parts
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    if scope_date != amz_date[:8]:
        raise SignatureError("mismatch", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                                         f"version of date from HTTP: '{scope_date}' != '{amz_date[:8]}', "
                                         f"from '{amz_date}'.")
    names = signed_headers.split(";")
    if "host" not in names:
        raise SignatureError("mismatch", "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                                         "Authorization.")
    return _Signed(access_key, scope_date, region, service, names, signature, amz_date, when, token or None,
                   presigned)


def _iso_date(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _http_date(text: str | None) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text or "")
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _check_date(signed: _Signed, now: float) -> None:
    """AWS refuses a request dated more than 15 minutes from its own clock (presigned ones too)."""
    when = signed.when.timestamp()
    now_text = _basic(now)
    if when < now - MAX_SKEW_SECONDS:
        raise SignatureError("mismatch", f"Signature expired: {signed.amz_date} is now earlier than "
                                         f"{_basic(now - MAX_SKEW_SECONDS)} ({now_text} - 15 min.)")
    if when > now + MAX_SKEW_SECONDS:
        raise SignatureError("mismatch", f"Signature not yet current: {signed.amz_date} is still later than "
                                         f"{_basic(now + MAX_SKEW_SECONDS)} ({now_text} + 15 min.)")


def _basic(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y%m%dT%H%M%SZ")
