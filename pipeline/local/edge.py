"""The local edge: ``MediaDistribution``'s cache behaviours from template.yaml, enforced on 127.0.0.1.

What CloudFront does for a viewer request, in the order done here, and where the local edge differs:

1. **Behaviour.** The request path is compared with each ``CacheBehaviors[].PathPattern`` in template
   order; the first match wins, else ``DefaultCacheBehavior``. Patterns are case-sensitive, ``*`` matches
   any run of characters (``/`` included), ``?`` exactly one, and a leading ``/`` makes no difference
   (CacheBehavior.PathPattern in the CloudFront API reference). The query string is not part of the match.
   Locally the path is matched once percent-decoded (the form the origin key takes), and paths with ``.``
   or ``..`` segments are refused with 400 before any behaviour is chosen: a file server resolving them
   after the check would serve one course's files under another's path (or a public pattern's).
2. **Method.** A method the behaviour's ``AllowedMethods`` lacks is refused with 403 ("This distribution is
   not configured to allow the HTTP request method that was used for this request").
3. **Signed cookies / URL** when the behaviour lists ``TrustedKeyGroups``: ``pipeline.access.verify``
   decides on ``{scheme}://{Host}{path}?{query}`` as requested, and a refusal is CloudFront's 403 with an
   XML body (``Content-Type: text/xml``): ``MissingKey``, ``InvalidKey``, ``MalformedPolicy``,
   ``AccessDenied``. Every signed behaviour trusts the one local key group (key id -> public key).
4. **Viewer-request functions.** The one CloudFront Function shape our template uses (copy the viewer's
   ``Host`` into a header for the origin) is recognised in ``FunctionCode`` and emulated; any other
   function is listed in :attr:`EdgeConfig.notes` and not run.
5. **Origin.** Bucket behaviours read the publish bucket (:func:`bucket_origin`, moto) or an export folder
   laid out by key (:func:`directory_origin`); API behaviours call the route the caller passes (the
   session handler, the catalog ``lambda_route``), or answer 404 JSON without one. The origin's
   ``Cache-Control`` reaches the viewer unchanged (cache policy TTLs only govern the edge's own cache,
   which the local edge does not have: the TTLs are read for inspection and tests). A missing object is
   404 here; behind Origin Access Control without ``s3:ListBucket`` S3 answers 403.
6. **Compression** (ServingCompressedFiles in the CloudFront Developer Guide): with ``Compress`` on, a
   ``200`` whose ``Content-Type`` is on CloudFront's list, with a ``Content-Length`` of 1,000 to
   10,000,000 bytes and no ``Content-Encoding``, is gzipped for a viewer whose ``Accept-Encoding`` takes
   gzip (never over HTTP/1.0); a strong ``ETag`` becomes weak (``W/``). ``text/vtt`` and media segments
   are not on the list. Brotli (which CloudFront prefers when the viewer takes both) is not emulated.
7. **Response headers policy**: security headers, custom headers and CORS (for a request with an
   ``Origin`` the policy allows) are added per their ``Override`` flags, also to the edge's own 403s.

Not emulated: caching, ``ViewerProtocolPolicy`` (the local edge is plain HTTP), origin request policies
(every header reaches the origin routes), field-level encryption, Lambda@Edge.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pipeline.access.cookies import parse_cookie_header
from pipeline.access.policy import check_media_domain
from pipeline.access.verify import PublicKeyLike, load_key_group, verify_request
from pipeline.content_types import content_type_for
from pipeline.local.front import (
    CHUNK,
    RangeNotSatisfiableError,
    Reply,
    Request,
    Route,
    _etag_matches,
    _http_date,
    _not_modified_since,
    json_reply,
    range_not_satisfiable,
    requested_span,
    s3_route,
    text_reply,
)
from pipeline.local.template import NO_VALUE, Stack, TemplateError, load_template
from pipeline.publish import cache_control_for

DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"
COMPRESS_MIN_BYTES = 1_000
COMPRESS_MAX_BYTES = 10_000_000
COMPRESSIBLE_TYPES = frozenset(
    {
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/opentype",
        "application/otf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.ms-fontobject",
        "application/xhtml+xml",
        "application/xml",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "font/eot",
        "font/opentype",
        "font/otf",
        "font/ttf",
        "image/svg+xml",
        "text/css",
        "text/csv",
        "text/html",
        "text/javascript",
        "text/js",
        "text/plain",
        "text/richtext",
        "text/tab-separated-values",
        "text/xml",
        "text/x-component",
        "text/x-java-source",
        "text/x-script",
        "vnd.apple.mpegurl",
    }
)
"""CloudFront's documented list ("File types that CloudFront compresses"), matched case-insensitively."""

MANAGED_CACHE_POLICIES: dict[str, tuple[str, int, int, int]] = {
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": ("Managed-CachingDisabled", 0, 0, 0),
    "658327ea-f89d-4fab-a63d-7e88639e58f6": ("Managed-CachingOptimized", 1, 86400, 31536000),
}
"""Managed cache policy id -> (name, MinTTL, DefaultTTL, MaxTTL) for the ids a template may name."""

METHOD_NOT_ALLOWED = (
    "403 ERROR\nThe request could not be satisfied.\n"
    "This distribution is not configured to allow the HTTP request method that was used for this request. "
    "The distribution supports only cachable requests.\n"
)
EDGE_NAME = "coursepipe-edge"

# The one viewer-request function shape emulated: ``request.headers['x-name'] = { value:
# request.headers.host.value };`` (what ViewerHostFunction does for the session API).
_HOST_COPY_RE = re.compile(
    r"request\.headers\[\s*['\"](?P<header>[A-Za-z0-9-]+)['\"]\s*\]\s*=\s*\{\s*value\s*:\s*"
    r"request\.headers\.host\.value\s*\}"
)


class OriginKind(StrEnum):
    """What stands behind a behaviour's origin, as far as the local edge is concerned."""

    BUCKET = "bucket"
    SESSION = "session"
    CATALOG = "catalog"


# ---------------------------------------------------------------- configuration from the template
@dataclass(frozen=True)
class CachePolicy:
    name: str
    """The CachePolicy resource's logical id, or a managed policy's name (its id when unknown)."""
    min_ttl: int | None
    default_ttl: int | None
    max_ttl: int | None
    gzip: bool = False
    brotli: bool = False


@dataclass(frozen=True)
class CorsRule:
    allow_origins: tuple[str, ...]
    allow_credentials: bool
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age_s: int | None
    origin_override: bool

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins


@dataclass(frozen=True)
class ResponseHeadersPolicy:
    name: str
    headers: tuple[tuple[str, str, bool], ...] = ()
    """(header, value, override) from the security and custom headers configs."""
    remove: tuple[str, ...] = ()
    cors: CorsRule | None = None


@dataclass(frozen=True)
class Behaviour:
    path_pattern: str
    """``*`` for the default behaviour."""
    origin_id: str
    origin: OriginKind
    signed: bool
    """The behaviour lists ``TrustedKeyGroups``: every request needs a valid signed URL or cookies."""
    compress: bool
    allowed_methods: frozenset[str]
    cache_policy: CachePolicy | None = None
    response_headers: ResponseHeadersPolicy | None = None
    copy_host_to: tuple[str, ...] = ()
    """Headers a viewer-request function sets to the viewer's ``Host``."""
    default: bool = False

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return compile_path_pattern(self.path_pattern)

    def matches(self, path: str) -> bool:
        return self._regex.fullmatch(path.lstrip("/")) is not None


def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """CloudFront path-pattern semantics: case-sensitive, ``*`` any run (``/`` too), ``?`` one character,
    a leading ``/`` optional. Match the result against the path without its leading ``/``."""
    wildcards = {"*": ".*", "?": "."}
    body = "".join(wildcards.get(ch) or re.escape(ch) for ch in pattern.lstrip("/"))
    return re.compile(body, re.DOTALL)


@dataclass(frozen=True)
class EdgeConfig:
    """The distribution's behaviours, in the order CloudFront evaluates them."""

    behaviours: tuple[Behaviour, ...]
    default: Behaviour
    notes: tuple[str, ...] = ()
    """What the template asks for that the local edge does not do."""

    def behaviour_for(self, path: str) -> Behaviour:
        """The first behaviour whose pattern matches ``path`` (no query string), else the default."""
        return next((b for b in self.behaviours if b.matches(path)), self.default)

    @classmethod
    def from_template(
        cls,
        path: Path,
        *,
        distribution: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> EdgeConfig:
        """Read ``distribution`` (default: the template's only ``AWS::CloudFront::Distribution``).

        ``parameters`` feed the response headers policies (e.g. ``CorsAllowedOrigins``); nothing else
        of the distribution is resolved, so intrinsics the local stack cannot resolve do not matter.
        """
        template = load_template(path)
        stack = Stack(template=template, root=path.parent, parameters=dict(parameters or {}))
        return _Reader(stack).config(distribution)


class _Reader:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.resources: dict[str, Any] = stack.template["Resources"]
        self.notes: list[str] = []

    def config(self, distribution: str | None) -> EdgeConfig:
        found = [k for k, v in self.resources.items() if v.get("Type") == DISTRIBUTION_TYPE]
        if distribution is None:
            if len(found) != 1:
                raise TemplateError(f"expected one {DISTRIBUTION_TYPE}, found {found or 'none'}")
            distribution = found[0]
        elif distribution not in found:
            raise TemplateError(f"{distribution} is not an {DISTRIBUTION_TYPE} of the template")
        config = self.resources[distribution].get("Properties", {}).get("DistributionConfig", {})
        origins = {str(o["Id"]): self._origin_kind(o) for o in config.get("Origins", [])}
        behaviours = tuple(self._behaviour(b, origins) for b in config.get("CacheBehaviors", []))
        if "DefaultCacheBehavior" not in config:
            raise TemplateError(f"{distribution} has no DefaultCacheBehavior")
        default = self._behaviour({**config["DefaultCacheBehavior"], "PathPattern": "*"}, origins, True)
        return EdgeConfig(behaviours=behaviours, default=default, notes=tuple(dict.fromkeys(self.notes)))

    @staticmethod
    def _origin_kind(origin: Mapping[str, Any]) -> OriginKind:
        origin_id = str(origin.get("Id", ""))
        text = (origin_id + " " + json.dumps(origin.get("DomainName"))).lower()
        if "S3OriginConfig" in origin or "bucket" in text:
            return OriginKind.BUCKET
        if "session" in text:
            return OriginKind.SESSION
        if "catalog" in text:
            return OriginKind.CATALOG
        raise TemplateError(
            f"origin {origin_id!r}: cannot tell whether it is the publish bucket, the session API or the "
            "catalog API (name it after one in its Id)"
        )

    def _behaviour(
        self, spec: Mapping[str, Any], origins: Mapping[str, OriginKind], default: bool = False
    ) -> Behaviour:
        pattern = str(spec["PathPattern"])
        target = str(spec.get("TargetOriginId"))
        if target not in origins:
            raise TemplateError(f"behaviour {pattern!r} targets unknown origin {target!r}")
        methods = spec.get("AllowedMethods") or ["GET", "HEAD"]
        return Behaviour(
            path_pattern=pattern,
            origin_id=target,
            origin=origins[target],
            signed=bool(spec.get("TrustedKeyGroups")),
            compress=spec.get("Compress") is True,
            allowed_methods=frozenset(str(m).upper() for m in methods),
            cache_policy=self._cache_policy(spec.get("CachePolicyId")),
            response_headers=self._response_headers(spec.get("ResponseHeadersPolicyId")),
            copy_host_to=self._viewer_functions(pattern, spec.get("FunctionAssociations") or []),
            default=default,
        )

    def _referenced(self, value: Any, kind: str) -> tuple[str, dict[str, Any]] | None:
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in self.resources:
            resource = self.resources[value["Ref"]]
            if resource.get("Type") == kind:
                return str(value["Ref"]), dict(resource.get("Properties", {}))
        return None

    def _cache_policy(self, value: Any) -> CachePolicy | None:
        if value is None:
            return None
        if isinstance(value, str):
            name, low, default, high = MANAGED_CACHE_POLICIES.get(value, (value, None, None, None))
            if low is None:
                self.notes.append(f"managed cache policy {value}: TTLs unknown locally")
            return CachePolicy(name, low, default, high)
        found = self._referenced(value, "AWS::CloudFront::CachePolicy")
        if found is None:
            raise TemplateError(f"CachePolicyId {value!r} is neither a managed id nor a Ref to a CachePolicy")
        logical_id, props = found
        conf = props.get("CachePolicyConfig", {})
        params = conf.get("ParametersInCacheKeyAndForwardedToOrigin", {})
        return CachePolicy(
            logical_id,
            _int_or_none(conf.get("MinTTL")),
            _int_or_none(conf.get("DefaultTTL")),
            _int_or_none(conf.get("MaxTTL")),
            gzip=params.get("EnableAcceptEncodingGzip") is True,
            brotli=params.get("EnableAcceptEncodingBrotli") is True,
        )

    def _response_headers(self, value: Any) -> ResponseHeadersPolicy | None:
        if value is None:
            return None
        found = self._referenced(value, "AWS::CloudFront::ResponseHeadersPolicy")
        if found is None:
            self.notes.append(f"response headers policy {value!r} (managed) is not applied locally")
            return None
        logical_id, props = found
        conf = props.get("ResponseHeadersPolicyConfig", {})
        try:
            parts = {
                key: self._resolved(conf.get(key))
                for key in (
                    "CorsConfig",
                    "SecurityHeadersConfig",
                    "CustomHeadersConfig",
                    "RemoveHeadersConfig",
                )
            }
        except TemplateError as exc:
            self.notes.append(f"response headers policy {logical_id} is not applied locally: {exc}")
            return None
        headers = _security_headers(parts["SecurityHeadersConfig"] or {})
        for item in (parts["CustomHeadersConfig"] or {}).get("Items", []):
            headers.append((str(item["Header"]), str(item["Value"]), item.get("Override") is True))
        remove = tuple(str(i["Header"]) for i in (parts["RemoveHeadersConfig"] or {}).get("Items", []))
        cors = _cors_rule(parts["CorsConfig"]) if parts["CorsConfig"] else None
        if cors is not None and not cors.allow_origins:
            cors = None  # e.g. a CommaDelimitedList parameter left empty: no origin is allowed
        return ResponseHeadersPolicy(logical_id, tuple(headers), remove, cors)

    def _resolved(self, value: Any) -> Any:
        if value is None:
            return None
        resolved = self.stack.resolve(value)
        return None if resolved is NO_VALUE else resolved

    def _viewer_functions(self, pattern: str, associations: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
        headers: list[str] = []
        for association in associations:
            arn = association.get("FunctionARN")
            logical = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
            resource = self.resources.get(str(logical), {})
            code = str(resource.get("Properties", {}).get("FunctionCode", ""))
            match = _HOST_COPY_RE.search(code)
            if association.get("EventType") == "viewer-request" and match:
                headers.append(match["header"].lower())
            else:
                self.notes.append(
                    f"behaviour {pattern!r}: {association.get('EventType')} function {logical or arn!r} "
                    "is not emulated locally"
                )
        return tuple(headers)


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def _items(value: Any) -> tuple[str, ...]:
    items = value.get("Items", []) if isinstance(value, dict) else []
    if isinstance(items, str):  # a CommaDelimitedList parameter, as the local Stack resolves it
        items = [i for i in items.split(",") if i]
    return tuple(str(i).strip() for i in items)


def _cors_rule(conf: Mapping[str, Any]) -> CorsRule:
    max_age = conf.get("AccessControlMaxAgeSec")
    return CorsRule(
        allow_origins=_items(conf.get("AccessControlAllowOrigins")),
        allow_credentials=conf.get("AccessControlAllowCredentials") is True,
        allow_methods=_items(conf.get("AccessControlAllowMethods")),
        allow_headers=_items(conf.get("AccessControlAllowHeaders")),
        expose_headers=_items(conf.get("AccessControlExposeHeaders")),
        max_age_s=int(max_age) if max_age is not None else None,
        origin_override=conf.get("OriginOverride") is True,
    )


def _security_headers(conf: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    headers: list[tuple[str, str, bool]] = []
    hsts = conf.get("StrictTransportSecurity")
    if hsts:
        value = f"max-age={int(hsts['AccessControlMaxAgeSec'])}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        headers.append(("Strict-Transport-Security", value, hsts.get("Override") is True))
    if conf.get("ContentTypeOptions"):
        headers.append(
            ("X-Content-Type-Options", "nosniff", conf["ContentTypeOptions"].get("Override") is True)
        )
    frame = conf.get("FrameOptions")
    if frame:
        headers.append(("X-Frame-Options", str(frame["FrameOption"]), frame.get("Override") is True))
    referrer = conf.get("ReferrerPolicy")
    if referrer:
        headers.append(("Referrer-Policy", str(referrer["ReferrerPolicy"]), referrer.get("Override") is True))
    csp = conf.get("ContentSecurityPolicy")
    if csp:
        headers.append(
            ("Content-Security-Policy", str(csp["ContentSecurityPolicy"]), csp.get("Override") is True)
        )
    xss = conf.get("XSSProtection")
    if xss:
        value = "1" if xss.get("Protection") else "0"
        value += "; mode=block" if xss.get("ModeBlock") else ""
        value += f"; report={xss['ReportUri']}" if xss.get("ReportUri") else ""
        headers.append(("X-XSS-Protection", value, xss.get("Override") is True))
    return headers


# ---------------------------------------------------------------- origins
NOT_FOUND_TEXT = "Not Found\n"


def _decoded_path(request: Request) -> str | None:
    """The percent-decoded path, or None when it is not UTF-8 or holds NUL, ``.`` or ``..`` segments."""
    try:
        path = unquote(request.path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\x00" in path or any(segment in (".", "..") for segment in path.split("/")):
        return None
    return path


def bucket_origin(client_factory: Callable[[], Any], bucket: str) -> Route:
    """The publish bucket (moto, or any S3 endpoint) as CloudFront's S3 origin reads it: by key.

    A path ending in ``/`` is a key no object has (the distribution has no index documents)."""
    objects = s3_route(client_factory, bucket)

    def route(request: Request) -> Reply:
        if request.path.endswith("/"):
            return text_reply(404, NOT_FOUND_TEXT)
        return objects(request)

    return route


@dataclass
class _FileTag:
    size: int
    mtime_ns: int
    etag: str


def directory_origin(root: Path) -> Route:
    """An export folder laid out by publish key (``coursepipe-out/site``) served as the bucket would be:
    Content-Type and Cache-Control as ``publish`` sets them, an S3-style ETag (the MD5 of the bytes),
    Last-Modified, conditional requests and single byte ranges. Nothing outside ``root`` is served."""
    base = root.resolve()
    tags: dict[Path, _FileTag] = {}
    tags_lock = threading.Lock()

    def etag_for(path: Path, size: int, mtime_ns: int) -> str:
        with tags_lock:
            known = tags.get(path)
        if known is not None and (known.size, known.mtime_ns) == (size, mtime_ns):
            return known.etag
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
        etag = f'"{digest.hexdigest()}"'
        with tags_lock:
            tags[path] = _FileTag(size, mtime_ns, etag)
        return etag

    def route(request: Request) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return text_reply(405, "Method Not Allowed\n", [("Allow", "GET, HEAD")])
        path = _decoded_path(request)
        if path is None or "\\" in path:
            return text_reply(400, "Bad Request: the path is not a plain UTF-8 key\n")
        key = path.lstrip("/")
        if not key or key.endswith("/"):
            return text_reply(404, NOT_FOUND_TEXT)
        file = (base / key).resolve()
        if base not in file.parents or not file.is_file():
            return text_reply(404, NOT_FOUND_TEXT)
        stat = file.stat()
        etag = etag_for(file, stat.st_size, stat.st_mtime_ns)
        modified = datetime.fromtimestamp(int(stat.st_mtime), tz=UTC)
        validators = [("ETag", etag), ("Last-Modified", _http_date(modified))]
        validators.append(("Cache-Control", cache_control_for(key)))
        if_none_match = request.header("If-None-Match")
        since = request.header("If-Modified-Since")
        if (if_none_match is not None and _etag_matches(if_none_match, etag)) or (
            if_none_match is None and since and _not_modified_since(since, modified)
        ):
            return Reply(304, validators)
        headers = [("Content-Type", content_type_for(key)), *validators, ("Accept-Ranges", "bytes")]
        size = stat.st_size
        try:
            span = requested_span(request, size, etag)
        except RangeNotSatisfiableError:
            return range_not_satisfiable(size)
        start, length, status = 0, size, 200
        if span is not None:
            start, length, status = span[0], span[1] - span[0] + 1, 206
            headers.append(("Content-Range", f"bytes {span[0]}-{span[1]}/{size}"))
        if request.method == "HEAD" or length == 0:
            return Reply(status, headers, b"", length=length)
        return Reply(status, headers, _read_span(file, start, length), length=length)

    return route


def _read_span(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


# ---------------------------------------------------------------- the edge
def _api_not_found(request: Request) -> Reply:
    return json_reply(404, {"message": "Not Found"})


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value takes gzip (``gzip`` or ``*`` with a non-zero q)."""
    for part in (header or "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _without(headers: Iterable[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    drop = {n.lower() for n in names}
    return [(k, v) for k, v in headers if k.lower() not in drop]


@dataclass
class Edge:
    """A route (mount it at ``""`` on an ``HttpFront``) that plays ``MediaDistribution`` locally.

    ``bucket`` serves the bucket behaviours (:func:`directory_origin` or :func:`bucket_origin`);
    ``session`` and ``catalog`` serve ``/auth/*`` and ``/catalog/*`` (404 JSON when not given).
    ``key_group`` maps key ids to public keys (PEM or loaded) trusted by every signed behaviour.
    ``log`` receives one line per request (behaviour, status, and why a signed request was refused).
    """

    config: EdgeConfig
    bucket: Route
    key_group: Mapping[str, PublicKeyLike]
    session: Route | None = None
    catalog: Route | None = None
    scheme: str = "http"
    clock: Callable[[], float] = time.time
    log: Callable[[str], None] | None = None
    _keys: Mapping[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = load_key_group(self.key_group)

    def routes(self) -> list[tuple[str, Route]]:
        """For ``HttpFront(routes=...)``: the edge decides every path itself."""
        return [("", self)]

    def __call__(self, request: Request) -> Reply:
        path = _decoded_path(request)
        if path is None:
            reply = text_reply(400, "Bad Request: '.' and '..' path segments are refused\n")
            self._note(request, None, reply, "dot segments or undecodable path")
            return reply
        behaviour = self.config.behaviour_for(path)
        reply, why = self._respond(request, behaviour)
        reply = self._finish(request, behaviour, reply)
        self._note(request, behaviour, reply, why)
        return reply

    def _respond(self, request: Request, behaviour: Behaviour) -> tuple[Reply, str]:
        if request.method.upper() not in behaviour.allowed_methods:
            reply = Reply(403, [("Content-Type", "text/plain; charset=utf-8")], METHOD_NOT_ALLOWED.encode())
            return reply, f"{request.method} not in {sorted(behaviour.allowed_methods)}"
        why = "public"
        if behaviour.signed:
            raw_host = request.header("Host") or f"{request.server[0]}:{request.server[1]}"
            try:
                # Only host[:port]: a Host carrying '/' would move the checked URL's path away from the
                # path actually served (CloudFront never sees such a Host).
                host = check_media_domain(raw_host)
            except ValueError:
                return text_reply(400, "Bad Request: invalid Host header"), f"invalid Host {raw_host!r}"
            url = f"{self.scheme}://{host}{request.path}" + (f"?{request.query}" if request.query else "")
            cookies: dict[str, str] = {}
            for header in request.header_values("Cookie"):
                for name, value in parse_cookie_header(header).items():
                    cookies.setdefault(name, value)
            decision = verify_request(url, cookies, self._keys, now=self.clock(), client_ip=request.client[0])
            if not decision.allowed:
                body = decision.error_xml().encode()
                return Reply(decision.status, [("Content-Type", "text/xml")], body), decision.detail
            why = f"signed {decision.source} {decision.key_pair_id}"
        if behaviour.copy_host_to:
            host_value = request.header("Host") or ""
            headers = _without(request.headers, *behaviour.copy_host_to)
            headers += [(name, host_value) for name in behaviour.copy_host_to]
            request = replace(request, headers=headers)
        origin = {
            OriginKind.BUCKET: self.bucket,
            OriginKind.SESSION: self.session,
            OriginKind.CATALOG: self.catalog,
        }[behaviour.origin]
        return (origin or _api_not_found)(request), why

    def _finish(self, request: Request, behaviour: Behaviour, reply: Reply) -> Reply:
        if behaviour.compress:
            reply = _compressed(request, reply)
        if behaviour.response_headers is not None:
            reply = _with_policy(request, behaviour.response_headers, reply)
        cache = "Error" if reply.status >= 400 else "Miss"
        reply.headers += [
            ("X-Cache", f"{cache} from {EDGE_NAME}"),
            ("X-Edge-Behavior", behaviour.path_pattern),
        ]
        return reply

    def _note(self, request: Request, behaviour: Behaviour | None, reply: Reply, why: str) -> None:
        if self.log is None:
            return
        pattern = behaviour.path_pattern if behaviour else "-"
        self.log(f"{request.method} {request.path} -> {reply.status} [{pattern}] {why}")


def _compressed(request: Request, reply: Reply) -> Reply:
    content_type = (reply.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    length = reply.length if reply.length is not None else _bytes_length(reply.body)
    if (
        reply.status != 200
        or request.method != "GET"
        or request.protocol == "HTTP/1.0"
        or not accepts_gzip(request.header("Accept-Encoding"))
        or reply.header("Content-Encoding") is not None
        or content_type not in COMPRESSIBLE_TYPES
        or length is None
        or not COMPRESS_MIN_BYTES <= length <= COMPRESS_MAX_BYTES
    ):
        return reply
    data = _read_all(reply.body)
    body = gzip.compress(data, compresslevel=6, mtime=0)
    headers = _without(reply.headers, "Content-Length", "Accept-Ranges", "ETag", "Vary")
    etag = reply.header("ETag")
    if etag and etag.startswith('"'):
        headers.append(("ETag", f"W/{etag}"))
    elif etag and etag.startswith("W/"):
        headers.append(("ETag", etag))
    vary = [v.strip() for v in (reply.header("Vary") or "").split(",") if v.strip()]
    if "accept-encoding" not in {v.lower() for v in vary}:
        vary.append("Accept-Encoding")
    headers += [("Content-Encoding", "gzip"), ("Vary", ", ".join(vary))]
    return Reply(200, headers, body)


def _bytes_length(body: bytes | Iterable[bytes]) -> int | None:
    return len(body) if isinstance(body, bytes | bytearray) else None


def _read_all(body: bytes | Iterable[bytes]) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()


def _with_policy(request: Request, policy: ResponseHeadersPolicy, reply: Reply) -> Reply:
    headers = _without(reply.headers, *policy.remove)
    present = {k.lower() for k, _ in headers}
    for name, value, override in policy.headers:
        if name.lower() in present and not override:
            continue
        headers = [*_without(headers, name), (name, value)]
    origin = request.header("Origin")
    cors = policy.cors
    if cors is not None and origin and cors.allows(origin):
        names = [
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials",
            "Access-Control-Expose-Headers",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Max-Age",
        ]
        if cors.origin_override or not present & {n.lower() for n in names}:
            headers = _without(headers, *names)
            allow = "*" if "*" in cors.allow_origins and not cors.allow_credentials else origin
            headers.append(("Access-Control-Allow-Origin", allow))
            if cors.allow_credentials:
                headers.append(("Access-Control-Allow-Credentials", "true"))
            if cors.expose_headers:
                headers.append(("Access-Control-Expose-Headers", ", ".join(cors.expose_headers)))
            if request.method == "OPTIONS" and request.header("Access-Control-Request-Method"):
                headers.append(("Access-Control-Allow-Methods", ", ".join(cors.allow_methods)))
                if cors.allow_headers:
                    headers.append(("Access-Control-Allow-Headers", ", ".join(cors.allow_headers)))
                if cors.max_age_s is not None:
                    headers.append(("Access-Control-Max-Age", str(cors.max_age_s)))
            if allow != "*":
                headers.append(("Vary", "Origin"))
    return Reply(reply.status, headers, reply.body, reply.length)
