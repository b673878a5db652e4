"""Custom policies: built through botocore's CloudFrontSigner.build_policy, compact, one statement."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from pipeline.access.policy import (
    CustomPolicy,
    canned_policy_json,
    course_path,
    course_policy,
    course_resource,
    normalize_cidr,
)

NOW = 1_700_000_000


def test_course_policy_is_compact_json_in_cloudfront_order() -> None:
    policy = course_policy("media.example.com", "intro-1", expires=NOW + 3600)

    assert policy.to_json() == (
        '{"Statement":[{"Resource":"https://media.example.com/courses/intro-1/*",'
        '"Condition":{"DateLessThan":{"AWS:EpochTime":1700003600}}}]}'
    )


def test_optional_conditions_are_epoch_seconds_and_a_cidr() -> None:
    policy = course_policy(
        "media.example.com", "intro-1", expires=NOW + 3600, not_before=NOW - 60, source_ip="192.0.2.77/24"
    )

    doc = json.loads(policy.to_json())
    assert doc == {
        "Statement": [
            {
                "Resource": "https://media.example.com/courses/intro-1/*",
                "Condition": {
                    "DateLessThan": {"AWS:EpochTime": NOW + 3600},
                    "IpAddress": {"AWS:SourceIp": "192.0.2.0/24"},
                    "DateGreaterThan": {"AWS:EpochTime": NOW - 60},
                },
            }
        ]
    }
    assert not re.search(r"\s", policy.to_json())
    assert policy.to_bytes() == policy.to_json().encode()


def test_local_edge_resource_keeps_port_and_scheme() -> None:
    assert course_resource("127.0.0.1:8080", "c", scheme="http") == "http://127.0.0.1:8080/courses/c/*"
    assert course_resource("Media.Example.COM", "c") == "https://media.example.com/courses/c/*"
    assert course_path("intro-1") == "/courses/intro-1/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("192.0.2.5", "192.0.2.5/32"), ("192.0.2.5/24", "192.0.2.0/24"), (" 10.1.2.3/8 ", "10.0.0.0/8")],
)
def test_cidrs_are_canonical_ipv4(value: str, expected: str) -> None:
    assert normalize_cidr(value) == expected


@pytest.mark.parametrize("value", ["2001:db8::/32", "::1", "10.0.0.0/33", "not-an-ip", ""])
def test_ipv6_and_garbage_cidrs_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="IPv|CIDR"):
        normalize_cidr(value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"media_domain": "media.example.com/x"}, "not a host name"),
        ({"media_domain": "*.example.com"}, "not a host name"),
        ({"media_domain": "https://media.example.com"}, "not a host name"),
        ({"media_domain": "media.example.com:99999"}, "not a host name"),
        ({"course_id": "Intro"}, "course id"),
        ({"course_id": "a*"}, "course id"),
        ({"course_id": "../x"}, "course id"),
        ({"expires": 0}, "positive"),
        ({"expires": True}, "positive"),
        ({"not_before": NOW + 7200}, "never be valid"),
        ({"scheme": "ftp"}, "scheme"),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_signed(kwargs: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {
        "media_domain": "media.example.com",
        "course_id": "intro-1",
        "expires": NOW + 3600,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        course_policy(**args)  # type: ignore[arg-type]


def test_resource_must_be_an_http_url_without_whitespace() -> None:
    with pytest.raises(ValueError, match="https://"):
        CustomPolicy(resource="ftp://x/*", expires=NOW)
    with pytest.raises(ValueError, match="whitespace"):
        CustomPolicy(resource="https://x/a b", expires=NOW)


def test_canned_policy_matches_cloudfronts_documented_statement() -> None:
    assert canned_policy_json("https://d111111abcdef8.cloudfront.net/horizon.jpg?large=yes", 1357034400) == (
        '{"Statement":[{"Resource":"https://d111111abcdef8.cloudfront.net/horizon.jpg?large=yes",'
        '"Condition":{"DateLessThan":{"AWS:EpochTime":1357034400}}}]}'
    )


def test_access_code_does_not_import_boto3() -> None:
    code = "import sys, pipeline.access, pipeline.cli.access; assert 'boto3' not in sys.modules, 'boto3'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
