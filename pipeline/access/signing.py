"""Signing and checking CloudFront policies: RSA PKCS#1 v1.5 over SHA-1 (CloudFront's default) or SHA-256,
and CloudFront's URL-safe base64 (``+`` -> ``-``, ``=`` -> ``_``, ``/`` -> ``~``).

Keys are RSA-2048: the size CloudFront key groups take (``AWS::CloudFront::PublicKey``), checked when a key
is loaded so a wrong key fails at start-up rather than as 403s at the edge.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

if TYPE_CHECKING:
    from pipeline.access.policy import CustomPolicy

KEY_BITS = 2048
_KEY_PAIR_ID_RE = re.compile(r"[A-Za-z0-9]{1,128}")
_TO_CLOUDFRONT = str.maketrans("+=/", "-_~")
_FROM_CLOUDFRONT = str.maketrans("-_~", "+=/")


class HashAlgorithm(StrEnum):
    """The values of the ``CloudFront-Hash-Algorithm`` cookie and ``Hash-Algorithm`` query parameter."""

    SHA1 = "SHA1"
    SHA256 = "SHA256"

    def hash(self) -> hashes.HashAlgorithm:
        return hashes.SHA256() if self is HashAlgorithm.SHA256 else hashes.SHA1()


def b64encode(data: bytes) -> str:
    """Base64 in CloudFront's alphabet, safe in cookies and query strings without escaping."""
    return base64.b64encode(data).decode("ascii").translate(_TO_CLOUDFRONT)


def b64decode(text: str) -> bytes:
    """The inverse of :func:`b64encode`; ``ValueError`` on anything outside the alphabet or bad padding."""
    try:
        return base64.b64decode(text.translate(_FROM_CLOUDFRONT), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not CloudFront base64: {exc}") from exc


def check_key_pair_id(key_pair_id: str) -> str:
    if not _KEY_PAIR_ID_RE.fullmatch(key_pair_id):
        raise ValueError(
            f"key pair id {key_pair_id!r} is not valid: use the public key's ID (letters and digits, "
            "e.g. K2JCJMDEHXQW5F)"
        )
    return key_pair_id


def _check_size(bits: int, what: str) -> None:
    if bits != KEY_BITS:
        raise ValueError(f"{what} is RSA-{bits}: CloudFront key groups take RSA-{KEY_BITS} keys")


def load_private_key(pem: bytes | str) -> RSAPrivateKey:
    """An unencrypted RSA-2048 private key from PEM (PKCS#1 ``RSA PRIVATE KEY`` or PKCS#8 ``PRIVATE KEY``)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(
            f"the private key is {type(key).__name__}, not RSA: CloudFront key groups take RSA-2048"
        )
    _check_size(key.key_size, "the private key")
    return key


def load_public_key(pem: bytes | str) -> RSAPublicKey:
    """An RSA-2048 public key from PEM (``PUBLIC KEY``, SubjectPublicKeyInfo: what CloudFront stores)."""
    return _load_public_key(pem.encode() if isinstance(pem, str) else pem)


@lru_cache(maxsize=64)
def _load_public_key(data: bytes) -> RSAPublicKey:
    # Cached: a verifier is handed the same few PEMs on every request.
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, RSAPublicKey):
        raise ValueError(
            f"the public key is {type(key).__name__}, not RSA: CloudFront key groups take RSA-2048"
        )
    _check_size(key.key_size, "the public key")
    return key


def sign(message: bytes, private_key: RSAPrivateKey, algorithm: HashAlgorithm = HashAlgorithm.SHA1) -> bytes:
    """RSASSA-PKCS1-v1_5 over ``message``: deterministic, so equal inputs give equal signatures."""
    return private_key.sign(message, padding.PKCS1v15(), algorithm.hash())


def verify_signature(
    message: bytes, signature: bytes, public_key: RSAPublicKey, algorithm: HashAlgorithm = HashAlgorithm.SHA1
) -> bool:
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), algorithm.hash())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class SignedPolicy:
    """A policy and its signature, encoded as CloudFront reads them (cookie or query parameter values)."""

    policy: str
    """The policy JSON in CloudFront base64 (``CloudFront-Policy`` / ``Policy``)."""
    signature: str
    """The signature in CloudFront base64 (``CloudFront-Signature`` / ``Signature``)."""
    key_pair_id: str
    hash_algorithm: HashAlgorithm
    resource: str
    expires: int


def sign_policy(
    policy: CustomPolicy,
    private_key: RSAPrivateKey,
    key_pair_id: str,
    *,
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA1,
) -> SignedPolicy:
    """Sign the policy's compact JSON with the private key whose public key has ``key_pair_id``."""
    message = policy.to_bytes()
    return SignedPolicy(
        policy=b64encode(message),
        signature=b64encode(sign(message, private_key, hash_algorithm)),
        key_pair_id=check_key_pair_id(key_pair_id),
        hash_algorithm=hash_algorithm,
        resource=policy.resource,
        expires=policy.expires,
    )
