"""Decide a request for signed content as CloudFront does, for a behavior with a trusted key group.

Used by the local edge: given the request URL, its cookies, the key group (key id -> public key), the time
and the client's address, :func:`verify_request` returns a :class:`Decision` (never raises for a denial).

What CloudFront does, in the order checked here:

1. **Signed URL or cookies.** If the query string holds any of ``Expires``, ``Policy``, ``Signature``,
   ``Key-Pair-Id``, ``Hash-Algorithm``, the request is a signed URL and cookies are not looked at, even
   valid ones. Otherwise the ``CloudFront-*`` cookies are used.
2. **Key.** No (or empty) key pair id -> ``MissingKey``; an id that is not in the key group -> ``InvalidKey``.
3. **Policy.** ``Policy`` (custom) must be CloudFront base64 of UTF-8 JSON with exactly one statement;
   otherwise ``MalformedPolicy``. Without ``Policy``, ``Expires`` (canned) rebuilds the one-URL statement.
4. **Signature** over the policy bytes with the key and ``Hash-Algorithm`` (SHA1 unless SHA256) ->
   ``AccessDenied`` when it does not verify.
5. **Conditions** -> ``AccessDenied``: ``DateLessThan <= now`` (expired), ``DateGreaterThan > now`` (not yet
   valid), client address outside ``IpAddress.AWS:SourceIp``, or ``Resource`` not matching
   ``scheme://host/path?query``: ``*`` matches any run of characters, ``?`` exactly one, the query string
   is part of the matched URL (minus the signed-URL parameters) and a statement without ``Resource``
   matches every URL.

One deliberate difference: a path with ``.`` or ``..`` segments (also percent-encoded) is refused with
``AccessDenied``. Browsers and ffmpeg resolve them before sending, and a file server that resolves them
after the check would serve another course's files under this course's policy.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from pipeline.access.cookies import (
    EXPIRES_COOKIE,
    HASH_ALGORITHM_COOKIE,
    KEY_PAIR_ID_COOKIE,
    POLICY_COOKIE,
    SIGNATURE_COOKIE,
)
from pipeline.access.policy import canned_policy_json
from pipeline.access.signing import HashAlgorithm, b64decode, load_public_key, verify_signature

if TYPE_CHECKING:
    from collections.abc import Mapping

SIGNED_URL_PARAMS = frozenset({"Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm"})
_EPOCH_RE = re.compile(r"[0-9]{1,11}")  # up to year 5138: a datetime can hold it

Source = Literal["url", "cookies"]
PublicKeyLike = str | bytes | RSAPublicKey
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DenyCode(StrEnum):
    """CloudFront's ``<Code>`` for a refused signed request (HTTP 403)."""

    MISSING_KEY = "MissingKey"
    INVALID_KEY = "InvalidKey"
    MALFORMED_POLICY = "MalformedPolicy"
    ACCESS_DENIED = "AccessDenied"


MESSAGES: dict[DenyCode, str] = {
    DenyCode.MISSING_KEY: "Missing Key-Pair-Id query parameter or cookie value",
    DenyCode.INVALID_KEY: "Unknown Key",
    DenyCode.MALFORMED_POLICY: "Malformed Policy",
    DenyCode.ACCESS_DENIED: "Access denied",
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: DenyCode | None
    """None when allowed."""
    message: str
    """CloudFront's message for ``code`` (what the client sees); empty when allowed."""
    detail: str
    """Why, for logs and tests; never sent to the client (CloudFront does not say either)."""
    source: Source | None = None
    key_pair_id: str | None = None
    expires: int | None = None

    @property
    def status(self) -> int:
        return 200 if self.allowed else 403

    def error_xml(self) -> str:
        """The body CloudFront sends with the 403 (``Content-Type: text/xml``)."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code or ''}</Code><Message>{self.message}</Message></Error>\n"
        )


class _Denied(Exception):
    def __init__(self, code: DenyCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class _Credentials:
    source: Source
    matched_url: str
    """``scheme://host/path[?query]`` with the signed-URL parameters taken out: what Resource must match."""
    key_pair_id: str
    policy: str
    expires: str
    signature: str
    hash_algorithm: str


@dataclass(frozen=True)
class _Statement:
    resource: str | None
    date_less_than: int
    date_greater_than: int | None
    source_ip: IpNetwork | None


def load_key_group(keys: Mapping[str, PublicKeyLike]) -> dict[str, RSAPublicKey]:
    """Load every PEM of a key group up front, so a bad key fails at start-up, not on a request."""
    return {
        key_id: key if isinstance(key, RSAPublicKey) else load_public_key(key) for key_id, key in keys.items()
    }


def verify_request(
    url: str,
    cookies: Mapping[str, str],
    key_group: Mapping[str, PublicKeyLike],
    *,
    now: float,
    client_ip: str | None,
) -> Decision:
    """Allow or deny ``url`` (``scheme://host/path?query`` as requested) as CloudFront would."""
    creds: _Credentials | None = None
    try:
        creds = _credentials(url, cookies)
        public_key = _key(creds, key_group)
        algorithm = _hash_algorithm(creds.hash_algorithm)
        policy_bytes = _policy_bytes(creds)
        statement = _parse_policy(policy_bytes)
        _check_signature(creds, policy_bytes, public_key, algorithm)
        _check_conditions(statement, creds.matched_url, now, client_ip)
    except _Denied as denied:
        return Decision(
            allowed=False,
            code=denied.code,
            message=MESSAGES[denied.code],
            detail=denied.detail,
            source=creds.source if creds else None,
            key_pair_id=(creds.key_pair_id or None) if creds else None,
        )
    return Decision(
        allowed=True,
        code=None,
        message="",
        detail=f"signed {creds.source} valid until {statement.date_less_than}",
        source=creds.source,
        key_pair_id=creds.key_pair_id,
        expires=statement.date_less_than,
    )


def _credentials(url: str, cookies: Mapping[str, str]) -> _Credentials:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2].lower()
    if parts.scheme.lower() not in ("http", "https") or not netloc:
        raise _Denied(DenyCode.ACCESS_DENIED, f"{url!r} is not an absolute http(s) URL")
    segments = unquote(parts.path).split("/")
    if "." in segments or ".." in segments:
        raise _Denied(DenyCode.ACCESS_DENIED, f"path {parts.path!r} has '.' or '..' segments")
    base = f"{parts.scheme.lower()}://{netloc}{parts.path or '/'}"

    items = [(unquote(raw.partition("=")[0]), raw) for raw in parts.query.split("&") if raw]
    if any(name in SIGNED_URL_PARAMS for name, _ in items):
        params: dict[str, str] = {}
        for name, raw in items:
            if name in SIGNED_URL_PARAMS:
                params.setdefault(name, unquote(raw.partition("=")[2]))
        query = "&".join(raw for name, raw in items if name not in SIGNED_URL_PARAMS)
        return _Credentials(
            source="url",
            matched_url=f"{base}?{query}" if query else base,
            key_pair_id=params.get("Key-Pair-Id", ""),
            policy=params.get("Policy", ""),
            expires=params.get("Expires", ""),
            signature=params.get("Signature", ""),
            hash_algorithm=params.get("Hash-Algorithm", ""),
        )
    return _Credentials(
        source="cookies",
        matched_url=f"{base}?{parts.query}" if parts.query else base,
        key_pair_id=cookies.get(KEY_PAIR_ID_COOKIE, ""),
        policy=cookies.get(POLICY_COOKIE, ""),
        expires=cookies.get(EXPIRES_COOKIE, ""),
        signature=cookies.get(SIGNATURE_COOKIE, ""),
        hash_algorithm=cookies.get(HASH_ALGORITHM_COOKIE, ""),
    )


def _key(creds: _Credentials, key_group: Mapping[str, PublicKeyLike]) -> RSAPublicKey:
    if not creds.key_pair_id:
        raise _Denied(DenyCode.MISSING_KEY, f"no key pair id in the signed {creds.source}")
    key = key_group.get(creds.key_pair_id)
    if key is None:
        raise _Denied(DenyCode.INVALID_KEY, f"key {creds.key_pair_id!r} is not in the trusted key group")
    return key if isinstance(key, RSAPublicKey) else load_public_key(key)


def _hash_algorithm(value: str) -> HashAlgorithm:
    if not value:
        return HashAlgorithm.SHA1
    try:
        return HashAlgorithm(value)
    except ValueError:
        raise _Denied(DenyCode.ACCESS_DENIED, f"hash algorithm {value!r} is not SHA1 or SHA256") from None


def _policy_bytes(creds: _Credentials) -> bytes:
    if creds.policy:
        try:
            return b64decode(creds.policy)
        except ValueError as exc:
            raise _Denied(DenyCode.MALFORMED_POLICY, f"the policy is not CloudFront base64: {exc}") from None
    if creds.expires:
        if not _EPOCH_RE.fullmatch(creds.expires):
            raise _Denied(DenyCode.MALFORMED_POLICY, f"Expires {creds.expires!r} is not epoch seconds")
        return canned_policy_json(creds.matched_url, int(creds.expires)).encode("utf-8")
    raise _Denied(DenyCode.MALFORMED_POLICY, f"the signed {creds.source} has neither a policy nor Expires")


def _epoch_time(condition: object, name: str) -> int:
    if not isinstance(condition, dict) or set(condition) != {"AWS:EpochTime"}:
        raise _Denied(DenyCode.MALFORMED_POLICY, f'{name} must be {{"AWS:EpochTime": seconds}}')
    value = condition["AWS:EpochTime"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Denied(DenyCode.MALFORMED_POLICY, f"{name} AWS:EpochTime {value!r} is not a whole number")
    return value


def _parse_policy(data: bytes) -> _Statement:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: a few KB of '[' nest deeper than the parser goes; still just a bad policy.
        raise _Denied(DenyCode.MALFORMED_POLICY, f"the policy is not UTF-8 JSON: {exc!r:.200}") from None
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) != {"Statement"} or not isinstance(statements, list):
        raise _Denied(DenyCode.MALFORMED_POLICY, 'the policy is not {"Statement": [...]}')
    if len(statements) != 1 or not isinstance(statements[0], dict):
        raise _Denied(
            DenyCode.MALFORMED_POLICY, f"the policy has {len(statements)} statements, not exactly one"
        )
    statement = statements[0]
    if not set(statement) <= {"Resource", "Condition"}:
        raise _Denied(
            DenyCode.MALFORMED_POLICY,
            f"unknown statement keys {sorted(set(statement) - {'Resource', 'Condition'})}",
        )
    resource = statement.get("Resource")
    if resource is not None and not isinstance(resource, str):
        raise _Denied(DenyCode.MALFORMED_POLICY, "Resource is not a string")
    condition = statement.get("Condition")
    known = {"DateLessThan", "DateGreaterThan", "IpAddress"}
    if not isinstance(condition, dict) or "DateLessThan" not in condition or not set(condition) <= known:
        raise _Denied(
            DenyCode.MALFORMED_POLICY, "Condition needs DateLessThan and allows DateGreaterThan, IpAddress"
        )
    not_before = condition.get("DateGreaterThan")
    return _Statement(
        resource=resource,
        date_less_than=_epoch_time(condition["DateLessThan"], "DateLessThan"),
        date_greater_than=None if not_before is None else _epoch_time(not_before, "DateGreaterThan"),
        source_ip=_source_ip(condition.get("IpAddress")),
    )


def _source_ip(condition: object) -> IpNetwork | None:
    if condition is None:
        return None
    value = condition.get("AWS:SourceIp") if isinstance(condition, dict) else None
    if not isinstance(condition, dict) or set(condition) != {"AWS:SourceIp"} or not isinstance(value, str):
        raise _Denied(DenyCode.MALFORMED_POLICY, 'IpAddress must be {"AWS:SourceIp": "CIDR"}')
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _Denied(DenyCode.MALFORMED_POLICY, f"AWS:SourceIp {value!r} is not a CIDR range") from None


def _check_signature(
    creds: _Credentials, message: bytes, key: RSAPublicKey, algorithm: HashAlgorithm
) -> None:
    if not creds.signature:
        raise _Denied(DenyCode.ACCESS_DENIED, f"no signature in the signed {creds.source}")
    try:
        signature = b64decode(creds.signature)
    except ValueError:
        raise _Denied(DenyCode.ACCESS_DENIED, "the signature is not CloudFront base64") from None
    if not verify_signature(message, signature, key, algorithm):
        raise _Denied(
            DenyCode.ACCESS_DENIED,
            f"the {algorithm} signature does not match the policy and key {creds.key_pair_id!r}",
        )


def _check_conditions(statement: _Statement, matched_url: str, now: float, client_ip: str | None) -> None:
    if statement.date_less_than <= now:
        raise _Denied(DenyCode.ACCESS_DENIED, f"expired at {statement.date_less_than} (now {now:.0f})")
    if statement.date_greater_than is not None and statement.date_greater_than > now:
        raise _Denied(
            DenyCode.ACCESS_DENIED, f"not valid before {statement.date_greater_than} (now {now:.0f})"
        )
    if statement.source_ip is not None:
        address = _client_address(client_ip)
        if address is None or address not in statement.source_ip:
            raise _Denied(DenyCode.ACCESS_DENIED, f"client {client_ip!r} is not in {statement.source_ip}")
    if statement.resource is not None and not _resource_pattern(statement.resource).fullmatch(matched_url):
        raise _Denied(
            DenyCode.ACCESS_DENIED, f"{matched_url!r} does not match Resource {statement.resource!r}"
        )


def _client_address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=256)
def _resource_pattern(resource: str) -> re.Pattern[str]:
    wildcards = {"*": ".*", "?": "."}
    return re.compile("".join(wildcards.get(ch) or re.escape(ch) for ch in resource), re.DOTALL)
