"""The verifier decides as CloudFront does: valid cookies pass, every forgery gets CloudFront's error code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from botocore.signers import CloudFrontSigner

from pipeline.access.cookies import cookie_header, cookie_values, parse_cookie_header
from pipeline.access.keypair import generate_private_key, key_id_for, public_key_pem
from pipeline.access.policy import CustomPolicy, course_policy
from pipeline.access.signing import HashAlgorithm, b64encode, sign, sign_policy
from pipeline.access.verify import Decision, DenyCode, load_key_group, verify_request

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = 1_700_000_000
DOMAIN = "media.example.com"
COURSE = "intro-1"
BASE = f"https://{DOMAIN}/courses/{COURSE}"
URL = f"{BASE}/video/master.m3u8"
CLIENT = "203.0.113.9"

KEY = generate_private_key()
KEY_ID = key_id_for(KEY.public_key())
STRANGER = generate_private_key()  # a key CloudFront does not trust
STRANGER_ID = key_id_for(STRANGER.public_key())
KEY_GROUP = {KEY_ID: public_key_pem(KEY.public_key()).decode()}


def policy(**kwargs: object) -> CustomPolicy:
    args: dict[str, object] = {"expires": NOW + 3600}
    args.update(kwargs)
    return course_policy(DOMAIN, COURSE, **args)  # type: ignore[arg-type]


def cookies(
    signed_policy: CustomPolicy | None = None,
    *,
    key: object = KEY,
    key_id: str = KEY_ID,
    algorithm: HashAlgorithm = HashAlgorithm.SHA1,
) -> dict[str, str]:
    signed = sign_policy(signed_policy or policy(), key, key_id, hash_algorithm=algorithm)  # type: ignore[arg-type]
    return cookie_values(signed)


def raw_policy_cookies(document: object, *, signed: bool = True) -> dict[str, str]:
    """Cookies carrying an arbitrary policy document; its signature is real (by the trusted key) or not."""
    data = json.dumps(document, separators=(",", ":")).encode()
    signature = sign(data, KEY) if signed else sign(policy().to_bytes(), KEY)
    return {
        "CloudFront-Policy": b64encode(data),
        "CloudFront-Signature": b64encode(signature),
        "CloudFront-Key-Pair-Id": KEY_ID,
    }


def statement(**condition: object) -> dict[str, object]:
    return {
        "Resource": f"{BASE}/*",
        "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 3600}, **condition},
    }


def without(values: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in values.items() if k != name}


def flip_one_char(value: str) -> str:
    middle = len(value) // 2
    return value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]


def presigned(url: str, signed_policy: CustomPolicy | None = None, *, expires: int | None = None) -> str:
    signer = CloudFrontSigner(KEY_ID, lambda message: sign(message, KEY))
    if expires is not None:
        return signer.generate_presigned_url(url, date_less_than=datetime.fromtimestamp(expires, tz=UTC))
    return signer.generate_presigned_url(url, policy=(signed_policy or policy()).to_json())


def check(url: str, jar: dict[str, str], *, now: float = NOW, ip: str | None = CLIENT) -> Decision:
    return verify_request(url, jar, KEY_GROUP, now=now, client_ip=ip)


@dataclass(frozen=True)
class Case:
    name: str
    jar: Callable[[], dict[str, str]]
    expected: DenyCode | None
    url: str = URL
    now: float = NOW
    ip: str | None = CLIENT
    source: str | None = field(default="cookies")
    """None: refused before looking for credentials."""


CASES = [
    # Accepted.
    Case("valid", cookies, None),
    Case("valid for a segment with a query string", cookies, None, url=f"{BASE}/video/720p/seg-00001.ts?v=3"),
    Case("valid one second before expiry", cookies, None, now=NOW + 3599.9),
    Case("valid from the not-before second", lambda: cookies(policy(not_before=NOW)), None),
    Case("valid from inside the CIDR", lambda: cookies(policy(source_ip="203.0.113.0/24")), None),
    Case(
        "valid from an IPv4-mapped IPv6 client",
        lambda: cookies(policy(source_ip="203.0.113.0/24")),
        None,
        ip="::ffff:203.0.113.9",
    ),
    Case("valid SHA-256", lambda: cookies(algorithm=HashAlgorithm.SHA256), None),
    Case(
        "a statement without Resource covers every URL (CloudFront docs)",
        lambda: raw_policy_cookies({"Statement": [{"Condition": statement()["Condition"]}]}),
        None,
        url="https://elsewhere.example.com/any/thing",
    ),
    # MissingKey / InvalidKey.
    Case("no cookies at all", dict, DenyCode.MISSING_KEY),
    Case("no key id", lambda: without(cookies(), "CloudFront-Key-Pair-Id"), DenyCode.MISSING_KEY),
    Case("empty key id", lambda: {**cookies(), "CloudFront-Key-Pair-Id": ""}, DenyCode.MISSING_KEY),
    Case("unknown key id", lambda: cookies(key=STRANGER, key_id=STRANGER_ID), DenyCode.INVALID_KEY),
    # MalformedPolicy.
    Case(
        "garbled policy base64",
        lambda: {**cookies(), "CloudFront-Policy": "eyJ!!not*base64"},
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "policy is not JSON",
        lambda: {**cookies(), "CloudFront-Policy": b64encode(b"{nope")},
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "policy with two statements (signed)",
        lambda: raw_policy_cookies({"Statement": [statement(), statement()]}),
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "policy with two statements (unsigned)",
        lambda: raw_policy_cookies({"Statement": [statement(), statement()]}, signed=False),
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "policy nested deeper than the JSON parser goes",
        lambda: {**cookies(), "CloudFront-Policy": b64encode(b"[" * 100_000)},
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "policy with no statement", lambda: raw_policy_cookies({"Statement": []}), DenyCode.MALFORMED_POLICY
    ),
    Case(
        "DateLessThan as a string",
        lambda: raw_policy_cookies(
            {"Statement": [{"Resource": f"{BASE}/*", "Condition": {"DateLessThan": {"AWS:EpochTime": "9"}}}]}
        ),
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "no DateLessThan",
        lambda: raw_policy_cookies({"Statement": [{"Resource": f"{BASE}/*", "Condition": {}}]}),
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "unknown condition",
        lambda: raw_policy_cookies({"Statement": [statement(NotIpAddress={"AWS:SourceIp": "0.0.0.0/0"})]}),
        DenyCode.MALFORMED_POLICY,
    ),
    Case(
        "source IP is not a CIDR",
        lambda: raw_policy_cookies({"Statement": [statement(IpAddress={"AWS:SourceIp": "everyone"})]}),
        DenyCode.MALFORMED_POLICY,
    ),
    Case("no policy cookie", lambda: without(cookies(), "CloudFront-Policy"), DenyCode.MALFORMED_POLICY),
    # AccessDenied.
    Case(
        "tampered signature (one character flipped)",
        lambda: {**cookies(), "CloudFront-Signature": flip_one_char(cookies()["CloudFront-Signature"])},
        DenyCode.ACCESS_DENIED,
    ),
    Case("no signature", lambda: without(cookies(), "CloudFront-Signature"), DenyCode.ACCESS_DENIED),
    Case("signed by another key under our id", lambda: cookies(key=STRANGER), DenyCode.ACCESS_DENIED),
    Case(
        "policy swapped for a longer one, old signature",
        lambda: {**cookies(), "CloudFront-Policy": cookies(policy(expires=NOW + 86400))["CloudFront-Policy"]},
        DenyCode.ACCESS_DENIED,
    ),
    Case("expired (DateLessThan == now)", cookies, DenyCode.ACCESS_DENIED, now=NOW + 3600),
    Case("expired long ago", cookies, DenyCode.ACCESS_DENIED, now=NOW + 86400),
    Case("not yet valid", lambda: cookies(policy(not_before=NOW + 60)), DenyCode.ACCESS_DENIED),
    Case("wrong IP", lambda: cookies(policy(source_ip="198.51.100.0/24")), DenyCode.ACCESS_DENIED),
    Case(
        "no client IP", lambda: cookies(policy(source_ip="198.51.100.0/24")), DenyCode.ACCESS_DENIED, ip=None
    ),
    Case(
        "IPv6 client, IPv4 range",
        lambda: cookies(policy(source_ip="203.0.113.0/24")),
        DenyCode.ACCESS_DENIED,
        ip="2001:db8::1",
    ),
    Case(
        "other course's path",
        cookies,
        DenyCode.ACCESS_DENIED,
        url=f"https://{DOMAIN}/courses/other/video/master.m3u8",
    ),
    Case(
        "course id prefix",
        cookies,
        DenyCode.ACCESS_DENIED,
        url=f"https://{DOMAIN}/courses/{COURSE}0/master.m3u8",
    ),
    Case(
        "other host",
        cookies,
        DenyCode.ACCESS_DENIED,
        url=f"https://evil.example.com/courses/{COURSE}/master.m3u8",
    ),
    Case("plain http", cookies, DenyCode.ACCESS_DENIED, url=f"http://{DOMAIN}/courses/{COURSE}/master.m3u8"),
    Case(
        "dot-dot into another course",
        cookies,
        DenyCode.ACCESS_DENIED,
        url=f"{BASE}/../other/master.m3u8",
        source=None,
    ),
    Case(
        "encoded dot-dot",
        cookies,
        DenyCode.ACCESS_DENIED,
        url=f"{BASE}/%2e%2E%2fother/master.m3u8",
        source=None,
    ),
    Case(
        "unknown hash algorithm",
        lambda: {**cookies(), "CloudFront-Hash-Algorithm": "MD5"},
        DenyCode.ACCESS_DENIED,
    ),
    Case(
        "SHA-256 signature read as SHA-1 (no hash cookie)",
        lambda: without(cookies(algorithm=HashAlgorithm.SHA256), "CloudFront-Hash-Algorithm"),
        DenyCode.ACCESS_DENIED,
    ),
    Case(
        "SHA-1 signature with a SHA256 hash cookie",
        lambda: {**cookies(), "CloudFront-Hash-Algorithm": "SHA256"},
        DenyCode.ACCESS_DENIED,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cookies(case: Case) -> None:
    decision = check(case.url, case.jar(), now=case.now, ip=case.ip)

    assert (decision.allowed, decision.code) == (case.expected is None, case.expected), decision.detail
    assert decision.status == (200 if case.expected is None else 403)
    if case.expected is not None:
        assert decision.source == case.source
        assert decision.error_xml() == (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{case.expected}</Code><Message>{decision.message}</Message></Error>\n"
        )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (f"{BASE}/video/master.m3u8?v=1", True),
        (f"{BASE}/video/master.m3u8?v=2", False),
        (f"{BASE}/video/master.m3u8", False),
        (f"{BASE}/video/master.m3u8?v=1&x=2", False),
    ],
)
def test_the_query_string_is_part_of_the_matched_url(url: str, allowed: bool) -> None:
    exact = CustomPolicy(resource=f"{BASE}/video/master.m3u8?v=1", expires=NOW + 60)

    decision = check(url, cookies(exact))

    assert decision.allowed is allowed, decision.detail
    assert decision.code == (None if allowed else DenyCode.ACCESS_DENIED)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (f"{BASE}/seg-1.ts", True),
        (f"{BASE}/seg-a.ts", True),
        (f"{BASE}/seg-10.ts", False),
        (f"{BASE}/seg-.ts", False),
    ],
)
def test_question_mark_matches_exactly_one_character(url: str, allowed: bool) -> None:
    one = CustomPolicy(resource=f"{BASE}/seg-?.ts", expires=NOW + 60)

    assert check(url, cookies(one)).allowed is allowed


def test_allowed_decision_names_its_source_key_and_expiry() -> None:
    decision = check(
        URL, parse_cookie_header("theme=dark; " + cookie_header(sign_policy(policy(), KEY, KEY_ID)))
    )

    assert decision == Decision(
        allowed=True,
        code=None,
        message="",
        detail=decision.detail,
        source="cookies",
        key_pair_id=KEY_ID,
        expires=NOW + 3600,
    )


def test_denials_carry_cloudfronts_messages() -> None:
    assert check(URL, {}).message == "Missing Key-Pair-Id query parameter or cookie value"
    assert check(URL, cookies(key=STRANGER, key_id=STRANGER_ID)).message == "Unknown Key"
    assert check(URL, raw_policy_cookies({"Statement": []})).message == "Malformed Policy"
    assert check(URL, cookies(), now=NOW + 3600).message == "Access denied"


# --------------------------------------------------------------- signed URLs take precedence over cookies


def test_signed_url_is_accepted_without_cookies() -> None:
    decision = check(presigned(URL), {})

    assert (decision.allowed, decision.source) == (True, "url"), decision.detail


def test_signed_url_wins_over_invalid_cookies() -> None:
    bad = {**cookies(), "CloudFront-Signature": "AAAA"}

    decision = check(presigned(URL), bad)

    assert (decision.allowed, decision.source) == (True, "url"), decision.detail


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Expires=1700003600", DenyCode.MISSING_KEY),
        ("Hash-Algorithm=SHA1", DenyCode.MISSING_KEY),
        (f"Key-Pair-Id={STRANGER_ID}", DenyCode.INVALID_KEY),
        (f"Key-Pair-Id={KEY_ID}&Policy=!!", DenyCode.MALFORMED_POLICY),
        (f"Key-Pair-Id={KEY_ID}&Expires=1700003600&Signature=AAAA", DenyCode.ACCESS_DENIED),
    ],
)
def test_any_signed_url_parameter_means_cookies_are_not_looked_at(query: str, code: DenyCode) -> None:
    decision = check(f"{URL}?{query}", cookies())

    assert (decision.code, decision.source) == (code, "url"), decision.detail


def test_signed_url_with_its_own_query_string() -> None:
    url = f"{BASE}/video/master.m3u8?lang=fr"
    exact = CustomPolicy(resource=url, expires=NOW + 60)

    assert check(presigned(url, exact), {}).allowed
    assert not check(presigned(url, exact).replace("lang=fr", "lang=de"), {}).allowed


def test_canned_signed_url_covers_exactly_its_url() -> None:
    url = f"{BASE}/notes.pdf?page=2"
    signed = presigned(url, expires=NOW + 60)

    assert "Policy=" not in signed and "Expires=1700000060" in signed
    assert check(signed, {}).allowed
    assert check(signed, {}, now=NOW + 60).code == DenyCode.ACCESS_DENIED
    tampered = signed.replace("page=2", "page=3")
    assert check(tampered, {}).code == DenyCode.ACCESS_DENIED
    for expires in ("soon", "-1", "1e9", "999999999999"):
        forged = signed.replace("Expires=1700000060", f"Expires={expires}")
        assert check(forged, {}).code == DenyCode.MALFORMED_POLICY, expires
    assert (
        check(signed.replace("Expires=1700000060", "Expires=99999999999"), {}).code == DenyCode.ACCESS_DENIED
    )


def test_sha256_signed_url() -> None:
    signed = sign_policy(policy(), KEY, KEY_ID, hash_algorithm=HashAlgorithm.SHA256)
    query = f"Policy={signed.policy}&Signature={signed.signature}&Key-Pair-Id={KEY_ID}"

    assert check(f"{URL}?{query}&Hash-Algorithm=SHA256", {}).allowed
    assert check(f"{URL}?{query}", {}).code == DenyCode.ACCESS_DENIED


def test_key_group_can_be_preloaded_and_bad_pems_fail_at_load() -> None:
    group = load_key_group(KEY_GROUP)

    assert verify_request(URL, cookies(), group, now=NOW, client_ip=CLIENT).allowed
    with pytest.raises(ValueError, match="PEM"):
        load_key_group({"K1": "not a key"})
