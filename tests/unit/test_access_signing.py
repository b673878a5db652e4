"""Signing: our cookies verify with the public key and match botocore's CloudFrontSigner byte for byte."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from pipeline.access.cookies import (
    HASH_ALGORITHM_COOKIE,
    cookie_header,
    cookie_values,
    parse_cookie_header,
    set_cookie_headers,
)
from pipeline.access.keypair import generate_private_key, key_id_for, private_key_pem, public_key_pem
from pipeline.access.policy import course_policy
from pipeline.access.signing import (
    HashAlgorithm,
    b64decode,
    b64encode,
    load_private_key,
    load_public_key,
    sign_policy,
)

NOW = 1_700_000_000
KEY = generate_private_key()
KEY_ID = key_id_for(KEY.public_key())
URL = "https://media.example.com/courses/intro-1/video/master.m3u8"
POLICY = course_policy("media.example.com", "intro-1", expires=NOW + 7200)


def test_cloudfront_base64_alphabet_round_trips() -> None:
    data = bytes(range(256)) * 3 + b"\xfb\xff"
    encoded = b64encode(data)
    assert re.fullmatch(r"[A-Za-z0-9\-_~]+", encoded)
    assert "~" in encoded and "-" in encoded and encoded.endswith("_")
    assert b64decode(encoded) == data
    with pytest.raises(ValueError, match="base64"):
        b64decode("abc+/")  # the standard alphabet is not CloudFront's


@pytest.mark.parametrize(("algorithm", "digest"), [("SHA1", hashes.SHA1()), ("SHA256", hashes.SHA256())])
def test_signed_policy_verifies_against_the_public_key(algorithm: str, digest: hashes.HashAlgorithm) -> None:
    signed = sign_policy(POLICY, KEY, KEY_ID, hash_algorithm=HashAlgorithm(algorithm))

    assert b64decode(signed.policy) == POLICY.to_bytes()
    KEY.public_key().verify(b64decode(signed.signature), POLICY.to_bytes(), padding.PKCS1v15(), digest)
    assert (signed.key_pair_id, signed.expires, signed.resource) == (KEY_ID, NOW + 7200, POLICY.resource)


def test_cloudfront_signer_presigned_url_carries_the_same_policy_and_signature() -> None:
    def rsa_signer(message: bytes) -> bytes:
        return KEY.sign(message, padding.PKCS1v15(), hashes.SHA1())

    presigned = CloudFrontSigner(KEY_ID, rsa_signer).generate_presigned_url(URL, policy=POLICY.to_json())
    query = {name: values[0] for name, values in parse_qs(urlsplit(presigned).query).items()}
    ours = cookie_values(sign_policy(POLICY, KEY, KEY_ID))

    assert query == {
        "Policy": ours["CloudFront-Policy"],
        "Signature": ours["CloudFront-Signature"],
        "Key-Pair-Id": ours["CloudFront-Key-Pair-Id"],
    }


def test_set_cookie_headers_are_host_only_on_the_course_path_and_expire_with_the_policy() -> None:
    headers = set_cookie_headers(sign_policy(POLICY, KEY, KEY_ID), path="/courses/intro-1/", now=NOW + 0.4)

    names = [h.partition("=")[0] for h in headers]
    assert names == [
        "CloudFront-Policy",
        "CloudFront-Signature",
        "CloudFront-Key-Pair-Id",
        HASH_ALGORITHM_COOKIE,
    ]
    for header in headers[:3]:
        attrs = dict(a.partition("=")[::2] for a in header.split("; ")[1:])
        assert attrs == {
            "Path": "/courses/intro-1/",
            "Expires": "Wed, 15 Nov 2023 00:13:20 GMT",
            "Max-Age": "7200",
            "Secure": "",
            "HttpOnly": "",
            "SameSite": "Lax",
        }
        assert parsedate_to_datetime(attrs["Expires"]) == datetime.fromtimestamp(NOW + 7200, tz=UTC)
        assert "Domain" not in header
    # SHA-1 cookies delete a CloudFront-Hash-Algorithm=SHA256 left by an earlier session on that path.
    assert headers[3].startswith(f"{HASH_ALGORITHM_COOKIE}=; Path=/courses/intro-1/;")
    assert "Max-Age=0" in headers[3]


def test_sha256_cookies_name_their_hash_algorithm() -> None:
    signed = sign_policy(POLICY, KEY, KEY_ID, hash_algorithm=HashAlgorithm.SHA256)
    headers = set_cookie_headers(
        signed, path="/courses/intro-1/", now=NOW, same_site="None", persistent=False
    )

    assert len(headers) == 4
    assert headers[3].startswith(f"{HASH_ALGORITHM_COOKIE}=SHA256; Path=/courses/intro-1/; Secure;")
    assert all(h.endswith("; Secure; HttpOnly; SameSite=None") for h in headers)
    assert not any("Expires=" in h or "Max-Age" in h for h in headers)
    assert cookie_values(signed)[HASH_ALGORITHM_COOKIE] == "SHA256"


def test_expired_policy_and_bad_paths_are_refused() -> None:
    signed = sign_policy(POLICY, KEY, KEY_ID)
    with pytest.raises(ValueError, match="expired"):
        set_cookie_headers(signed, path="/courses/intro-1/", now=NOW + 7200)
    with pytest.raises(ValueError, match="path"):
        set_cookie_headers(signed, path="/courses/intro-1/; Domain=evil.example", now=NOW)


def test_cookie_header_round_trips_through_the_parser() -> None:
    signed = sign_policy(POLICY, KEY, KEY_ID)
    header = cookie_header(signed)

    assert header.count("; ") == 2
    assert parse_cookie_header(header) == cookie_values(signed)
    assert parse_cookie_header(f"a=1; {header}; CloudFront-Policy=stale; b") == {
        "a": "1",
        **cookie_values(signed),
    }
    assert parse_cookie_header('x="quoted"; =nameless; ') == {"x": "quoted"}
    assert parse_cookie_header(None) == {}


def test_keys_load_from_pkcs1_and_pkcs8_and_must_be_rsa_2048() -> None:
    pkcs8 = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for pem in (private_key_pem(KEY), pkcs8, pkcs8.decode()):
        assert key_id_for(load_private_key(pem).public_key()) == KEY_ID
    assert key_id_for(load_public_key(public_key_pem(KEY.public_key()))) == KEY_ID

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="RSA-1024"):
        load_private_key(private_key_pem(small))
    with pytest.raises(ValueError, match="RSA-1024"):
        load_public_key(public_key_pem(small.public_key()))
    curve = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="not RSA"):
        load_private_key(
            curve.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with pytest.raises(ValueError, match="PEM"):
        load_private_key(b"-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n")


@pytest.mark.parametrize("key_id", ["", "K1 2", "K;x", "K=1"])
def test_key_pair_ids_are_letters_and_digits(key_id: str) -> None:
    with pytest.raises(ValueError, match="key pair id"):
        sign_policy(POLICY, KEY, key_id)
