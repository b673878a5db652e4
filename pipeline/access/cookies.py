"""CloudFront signed cookies: ``Set-Cookie`` header values for browsers, a ``Cookie`` header for other clients
(``ffmpeg -headers "Cookie: ..."``), and parsing a request's ``Cookie`` header for the local edge.

Attributes, and why:

- ``Path=/courses/{courseId}/``: the browser sends a course's cookies only with that course's requests,
  so cookies for several courses live side by side (each policy covers one course).
- No ``Domain``: host-only on the media domain. The session API is served under ``/auth/*`` of the same
  distribution, so the response that sets them comes from that host; sibling subdomains never see them.
- ``Secure``, ``HttpOnly``: HTTPS only, and out of reach of page scripts (hls.js needs none of them; the
  browser attaches them to its XHRs).
- ``SameSite=Lax`` (default): the player page is served by the same distribution (or a same-*site*
  subdomain such as ``learn.example.com`` for ``media.example.com``), and SameSite is about sites, not
  origins: hls.js's ``withCredentials`` XHRs from a same-site page carry Lax cookies. ``None`` is only needed
  when the player runs on another site (say the app on ``example.com`` with media on a bare
  ``*.cloudfront.net`` name, which is its own site); then the cookies are third-party and browsers that
  block those (Safari, Firefox strict mode) will not send them, so give the distribution an alternate
  domain under the app's site instead.
- ``Expires`` and ``Max-Age`` equal to the policy's ``DateLessThan`` (``persistent=True``): the browser
  drops the cookies when CloudFront would start refusing them. AWS's guide suggests session cookies
  (``persistent=False``) to shorten exposure on shared machines; the policy's expiry bounds access either way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal

from pipeline.access.signing import HashAlgorithm, SignedPolicy

POLICY_COOKIE = "CloudFront-Policy"
SIGNATURE_COOKIE = "CloudFront-Signature"
KEY_PAIR_ID_COOKIE = "CloudFront-Key-Pair-Id"
HASH_ALGORITHM_COOKIE = "CloudFront-Hash-Algorithm"
EXPIRES_COOKIE = "CloudFront-Expires"
"""Canned-policy cookies only; never set here, read by the verifier."""

SameSite = Literal["Lax", "Strict", "None"]
_PATH_RE = re.compile(r"/[!-:<-~]*")  # printable ASCII without ';' (it would end the attribute)
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def cookie_values(signed: SignedPolicy) -> dict[str, str]:
    """Name -> value, in the order CloudFront documents them. The hash algorithm only when not SHA-1."""
    values = {
        POLICY_COOKIE: signed.policy,
        SIGNATURE_COOKIE: signed.signature,
        KEY_PAIR_ID_COOKIE: signed.key_pair_id,
    }
    if signed.hash_algorithm is not HashAlgorithm.SHA1:
        values[HASH_ALGORITHM_COOKIE] = signed.hash_algorithm.value
    return values


def cookie_header(signed: SignedPolicy) -> str:
    """``CloudFront-Policy=...; CloudFront-Signature=...; CloudFront-Key-Pair-Id=...`` for ``Cookie:``.

    The values use CloudFront's base64 alphabet (``A-Z a-z 0-9 - _ ~``): valid cookie octets, no quoting.
    """
    return "; ".join(f"{name}={value}" for name, value in cookie_values(signed).items())


def set_cookie_headers(
    signed: SignedPolicy,
    *,
    path: str,
    now: float,
    same_site: SameSite = "Lax",
    persistent: bool = True,
) -> list[str]:
    """One ``Set-Cookie`` header value per cookie (a header can carry only one), host-only on ``path``.

    With SHA-1 a ``CloudFront-Hash-Algorithm`` left over from earlier SHA-256 cookies on the same path is
    deleted (``Max-Age=0``): CloudFront would check the new SHA-1 signature as SHA-256 and refuse it.
    """
    if not _PATH_RE.fullmatch(path):
        raise ValueError(f"cookie path {path!r} must start with '/' and hold printable ASCII without ';'")
    if same_site not in ("Lax", "Strict", "None"):
        raise ValueError(f"SameSite {same_site!r} is not one of Lax, Strict, None")
    max_age = signed.expires - int(now)
    if max_age <= 0:
        raise ValueError(f"the policy expired at {signed.expires}, before now ({int(now)})")
    common = f"; Path={path}"
    tail = f"; Secure; HttpOnly; SameSite={same_site}"
    lifetime = ""
    if persistent:
        expires = format_datetime(datetime.fromtimestamp(signed.expires, tz=UTC), usegmt=True)
        lifetime = f"; Expires={expires}; Max-Age={max_age}"
    headers = [f"{name}={value}{common}{lifetime}{tail}" for name, value in cookie_values(signed).items()]
    if signed.hash_algorithm is HashAlgorithm.SHA1:
        headers.append(f"{HASH_ALGORITHM_COOKIE}={common}; Expires={_EPOCH}; Max-Age=0{tail}")
    return headers


def parse_cookie_header(header: str | None) -> dict[str, str]:
    """Name -> value from a request's ``Cookie`` header; the first of duplicate names wins.

    Browsers send cookies with longer (more specific) paths first (RFC 6265 5.4), so when a course's
    cookies and a stale set on ``/`` both apply, the course's are the ones used.
    """
    cookies: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies.setdefault(name, value)
    return cookies
