"""The local JWT check (API Gateway's authorizer, played locally) on tokens signed with a key it trusts:
only a JSON-number ``exp``/``nbf`` in range makes a token valid, whatever else decodes to a float."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pipeline.local.identity import JwtAuthorizer, TokenError

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local"
CLIENT = "player-client"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def number(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def authorizer() -> JwtAuthorizer:
    public = KEY.public_key().public_numbers()
    jwks = {
        "keys": [{"kid": "k1", "kty": "RSA", "alg": "RS256", "n": number(public.n), "e": number(public.e)}]
    }
    return JwtAuthorizer(issuer=ISSUER, audience=CLIENT, jwks=jwks)


def token(payload: str) -> str:
    """``payload`` is the claims' JSON text as written (Python's json writes Infinity and NaN)."""
    head = b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode()) + "." + b64(payload.encode())
    signature = KEY.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"Bearer {head}.{b64(signature)}"


def claims(**times: Any) -> str:
    base = {"iss": ISSUER, "aud": CLIENT, "token_use": "id", "sub": "user-1"}
    return json.dumps(base | times)


def test_a_token_with_numeric_times_is_accepted() -> None:
    now = time.time()
    assert authorizer().claims(token(claims(exp=int(now) + 600, nbf=int(now) - 5)))["sub"] == "user-1"
    assert authorizer().claims(token(claims(exp=now + 600.5)))["sub"] == "user-1"  # nbf is optional


@pytest.mark.parametrize(
    ("exp", "nbf"),
    [
        (float("inf"), 0),  # json writes Infinity, json.loads reads it back
        ("inf", 0),  # a string float() accepts
        ("1e99", 0),
        (str(int(time.time()) + 600), 0),  # a number in a string is not a NumericDate
        (float("nan"), 0),  # NaN <= now is False: it never expired
        (True, 0),
        (None, 0),
        (int(time.time()) + 600, float("-inf")),
        (int(time.time()) + 600, "0"),
        (int(time.time()) + 600, float("nan")),
    ],
)
def test_times_that_are_not_numeric_dates_are_refused(exp: Any, nbf: Any) -> None:
    with pytest.raises(TokenError, match="numeric dates"):
        authorizer().claims(token(claims(exp=exp, nbf=nbf)))


def test_a_token_without_exp_is_refused() -> None:
    with pytest.raises(TokenError):
        authorizer().claims(token(json.dumps({"iss": ISSUER, "aud": CLIENT, "token_use": "id"})))


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(TokenError, match="expired"):
        authorizer().claims(token(claims(exp=int(time.time()) - 1)))
