"""``coursepipe keys generate`` and ``coursepipe cookies``: TTLs, exit codes, output the edge accepts."""

from __future__ import annotations

import argparse
import json
import stat
import time
from typing import TYPE_CHECKING

import pytest

from pipeline.access.cookies import parse_cookie_header
from pipeline.access.verify import DenyCode, verify_request
from pipeline.cli import access
from pipeline.cli.access import default_scheme, parse_ttl
from pipeline.cli.registry import Registry

if TYPE_CHECKING:
    from pathlib import Path


def coursepipe(*argv: str) -> int:
    """The access commands alone, dispatched as ``coursepipe`` does (usage errors become exit 2)."""
    registry = Registry()
    access.register(registry)
    parser = argparse.ArgumentParser(prog="coursepipe")
    registry.attach(parser)
    return registry.dispatch(parser.parse_args(argv))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 3H ", 10800), ("366d", 366 * 86400)],
)
def test_ttls_take_a_unit(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["2", "2hours", "-1h", "1.5h", "0s", "367d", "h", ""])
def test_bad_ttls_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 90s|between 1s"):
        parse_ttl(text)


@pytest.mark.parametrize(
    ("domain", "scheme"),
    [
        ("127.0.0.1:8080", "http"),
        ("localhost", "http"),
        ("media.example.com", "https"),
        ("10.0.0.1", "https"),
    ],
)
def test_the_local_edge_is_plain_http(domain: str, scheme: str) -> None:
    assert default_scheme(domain) == scheme


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_keys_generate_then_cookies_that_the_verifier_accepts(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert coursepipe("keys", "generate") == 0
    out = capsys.readouterr().out
    key_id = out.split("local key id: ")[1].split()[0]
    assert (in_tmp / "coursepipe-keys/public_key.pem").read_text() in out
    assert stat.S_IMODE((in_tmp / "coursepipe-keys/private_key.pem").stat().st_mode) == 0o600
    pem = "$(cat coursepipe-keys/public_key.pem)"
    hint = f'sam deploy --parameter-overrides "CloudFrontPublicKeyPem=\\"{pem}\\""'
    assert hint in out

    assert coursepipe("cookies", "intro-1", "--ttl", "15m", "--domain", "media.example.com", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["resource"] == "https://media.example.com/courses/intro-1/*"
    assert doc["path"] == "/courses/intro-1/"
    assert (doc["keyPairId"], doc["hashAlgorithm"]) == (key_id, "SHA1")
    assert abs(doc["expires"] - (time.time() + 900)) < 5
    assert all("Path=/courses/intro-1/" in line for line in doc["setCookie"])

    group = {key_id: (in_tmp / "coursepipe-keys/public_key.pem").read_text()}
    jar = parse_cookie_header(doc["cookieHeader"])
    url = "https://media.example.com/courses/intro-1/video/master.m3u8"
    assert verify_request(url, jar, group, now=time.time(), client_ip="192.0.2.1").allowed
    other = verify_request(
        url.replace("intro-1", "intro-2"), jar, group, now=time.time(), client_ip="192.0.2.1"
    )
    assert other.code == DenyCode.ACCESS_DENIED


def test_cookies_prints_set_cookie_lines_for_the_local_edge(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coursepipe("keys", "generate", "--dir", "k")
    capsys.readouterr()

    assert coursepipe("cookies", "c1", "--key", "k/private_key.pem", "--sha256", "--key-id", "KLOCAL1") == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "Set-Cookie: CloudFront-Policy",
        "Set-Cookie: CloudFront-Signature",
        "Set-Cookie: CloudFront-Key-Pair-Id",
        "Set-Cookie: CloudFront-Hash-Algorithm",
    ]
    assert "CloudFront-Key-Pair-Id=KLOCAL1;" in lines[2]
    assert "http://127.0.0.1:8080/courses/c1/*" in captured.err


def test_usage_errors_exit_2(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert coursepipe("cookies", "c1") == 2
    assert "coursepipe keys generate" in capsys.readouterr().err

    assert coursepipe("keys", "generate") == 0
    assert coursepipe("keys", "generate") == 2
    assert "--force" in capsys.readouterr().err
    assert coursepipe("keys", "generate", "--force") == 0

    assert coursepipe("cookies", "Not_A_Course") == 2
    assert coursepipe("cookies", "c1", "--ip", "2001:db8::/32") == 2
    (in_tmp / "bad.pem").write_text("not a key")
    assert coursepipe("cookies", "c1", "--key", "bad.pem") == 2
    assert "bad.pem" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        coursepipe("cookies", "c1", "--ttl", "2")
    assert exit_info.value.code == 2


def test_the_access_module_registers_keys_and_cookies_only() -> None:
    registry = Registry()
    access.register(registry)
    assert registry.names() == ["keys", "cookies"]
