"""``MediaDistribution`` as the local edge reads it from template.yaml: behaviours, their origins, and the
cache and response headers policies they name.

Read once, when the edge is built, so a template the local edge cannot play fails at start with the
resource to fix (:class:`~pipeline.local.template.TemplateError`), and what it reads but does not do is
listed in :attr:`EdgeConfig.notes` instead of silently ignored. Only the distribution and the resources it
references are read: intrinsics elsewhere in the template that the local stack cannot resolve do not matter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pipeline.local.template import NO_VALUE, Stack, TemplateError, load_template

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"

MANAGED_CACHE_POLICIES: dict[str, tuple[str, int, int, int]] = {
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": ("Managed-CachingDisabled", 0, 0, 0),
    "658327ea-f89d-4fab-a63d-7e88639e58f6": ("Managed-CachingOptimized", 1, 86400, 31536000),
}
"""Managed cache policy id -> (name, MinTTL, DefaultTTL, MaxTTL) for the ids a template may name."""

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
