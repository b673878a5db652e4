"""CloudFront custom policies: one statement that grants one course's files until a moment.

The JSON comes from botocore's ``CloudFrontSigner.build_policy``: compact separators (CloudFront wants
no whitespace), ``Resource`` before ``Condition``, ``DateLessThan`` / ``IpAddress`` / ``DateGreaterThan``
as integer epoch seconds. This module adds what it does not do: the course's ``Resource``, checks on
every input (a policy is signed once and trusted until it expires), and CIDRs in canonical IPv4 form
(CloudFront's ``AWS:SourceIp`` takes IPv4 only; botocore would append ``/32`` to an IPv6 address too).

A course policy grants ``{scheme}://{media-domain}/courses/{courseId}/*``; ``*`` also covers any query
string, which CloudFront matches as part of the URL.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.signers import CloudFrontSigner

from pipeline.keys import COURSE_ID_RE, INGEST_PREFIX

# Host names (or IPv4 literals) with an optional port: the Resource is matched character by character,
# so anything that could smuggle a wildcard ('*', '?') or a path into it is refused.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"(?P<host>(?:{_LABEL}\.)*{_LABEL})(?::(?P<port>[0-9]{{1,5}}))?")
_SCHEMES = ("https", "http")
_RESOURCE_PREFIXES = ("https://", "http://", "http*://")


def _refuse_to_sign(message: bytes) -> bytes:
    raise RuntimeError("the policy builder does not sign: use pipeline.access.signing.sign_policy")


# build_policy does not use the key id or the signer; one instance serves every policy.
_BUILDER = CloudFrontSigner("", _refuse_to_sign)


def course_path(course_id: str) -> str:
    """``/courses/{courseId}/``: where a course's published files live, and the cookies' ``Path``."""
    if not COURSE_ID_RE.fullmatch(course_id):
        raise ValueError(
            f"course id {course_id!r} is not valid: use 1-63 of a-z, 0-9 and '-', "
            "starting with a letter or digit"
        )
    return f"/{INGEST_PREFIX}{course_id}/"


def check_media_domain(media_domain: str) -> str:
    """The media domain as the policy names it: a lowercase host name or IPv4 literal, optional port."""
    domain = media_domain.strip().lower()
    match = _HOST_RE.fullmatch(domain)
    if not match or len(match["host"]) > 253 or not 0 < int(match["port"] or 443) < 65536:
        raise ValueError(
            f"media domain {media_domain!r} is not a host name: give it without scheme or path, "
            "e.g. d111111abcdef8.cloudfront.net, media.example.com or 127.0.0.1:8080"
        )
    return domain


def course_resource(media_domain: str, course_id: str, *, scheme: str = "https") -> str:
    """``https://{media-domain}/courses/{courseId}/*``."""
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme {scheme!r} is not one of {', '.join(_SCHEMES)}")
    return f"{scheme}://{check_media_domain(media_domain)}{course_path(course_id)}*"


def normalize_cidr(value: str) -> str:
    """An IPv4 address or network in the canonical ``a.b.c.d/n`` form CloudFront takes.

    Host bits are cleared (``192.0.2.7/24`` -> ``192.0.2.0/24``, the network the prefix describes); a bare
    address becomes ``/32``. IPv6 is refused: CloudFront's custom policies accept IPv4 only.
    """
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 address or CIDR range (e.g. 192.0.2.0/24)") from exc
    if network.version != 4:
        raise ValueError(f"{value!r} is IPv6: CloudFront policies restrict by IPv4 address only")
    return str(network)


def _epoch(value: object, name: str) -> int:
    # bool is an int subclass; True is not a moment.
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number of epoch seconds, got {value!r}")
    return value


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


@dataclass(frozen=True)
class CustomPolicy:
    """A one-statement custom policy. Times are integer epoch seconds (UTC)."""

    resource: str
    expires: int
    """``DateLessThan``: requests at or after this second are refused."""
    not_before: int | None = None
    """``DateGreaterThan``: requests before this second are refused."""
    source_ip: str | None = None
    """``IpAddress.AWS:SourceIp``: an IPv4 CIDR, normalized on construction."""

    def __post_init__(self) -> None:
        if not self.resource.startswith(_RESOURCE_PREFIXES):
            raise ValueError(f"policy resource {self.resource!r} must start with https:// or http://")
        if any(ch.isspace() or ord(ch) < 0x20 for ch in self.resource):
            raise ValueError(f"policy resource {self.resource!r} contains whitespace or control characters")
        _epoch(self.expires, "expires")
        if self.not_before is not None and _epoch(self.not_before, "not_before") >= self.expires:
            raise ValueError(
                f"not_before ({self.not_before}) must be earlier than expires ({self.expires}): "
                "the policy would never be valid"
            )
        if self.source_ip is not None:
            object.__setattr__(self, "source_ip", normalize_cidr(self.source_ip))

    def to_json(self) -> str:
        """The compact policy statement, exactly the bytes that are base64-encoded and signed."""
        return _BUILDER.build_policy(
            self.resource,
            _utc(self.expires),
            date_greater_than=_utc(self.not_before) if self.not_before is not None else None,
            ip_address=self.source_ip,
        )

    def to_bytes(self) -> bytes:
        return self.to_json().encode("utf-8")


def course_policy(
    media_domain: str,
    course_id: str,
    *,
    expires: int,
    not_before: int | None = None,
    source_ip: str | None = None,
    scheme: str = "https",
) -> CustomPolicy:
    """The policy that grants every file of one course on the media domain until ``expires``."""
    return CustomPolicy(
        resource=course_resource(media_domain, course_id, scheme=scheme),
        expires=expires,
        not_before=not_before,
        source_ip=source_ip,
    )


def canned_policy_json(url: str, expires: int) -> str:
    """The statement CloudFront rebuilds for a canned policy (``Expires``): the URL itself, until ``expires``.

    Its bytes must match CloudFront's exactly (the signature covers them); build_policy keeps that order.
    No checks: this rebuilds what a client sent, to verify its signature.
    """
    return _BUILDER.build_policy(url, _utc(expires))
