"""Access to published courses: CloudFront signed cookies with a custom policy, and their verification.

- ``policy``: the one-statement custom policy for a course (built through botocore's ``CloudFrontSigner``).
- ``signing``: RSA-2048 PKCS#1 v1.5 signatures (SHA-1, or SHA-256), CloudFront's base64, key loading.
- ``cookies``: ``Set-Cookie`` values for browsers, a ``Cookie`` header for ffmpeg and friends.
- ``keypair``: generating the key pair (private key 0600, public key for ``AWS::CloudFront::PublicKey``).
- ``verify``: allow or deny a request as CloudFront would, with its error codes (for the local edge).

No AWS calls here; the private key reaches the session handler from Secrets Manager through an adapter.
"""

from __future__ import annotations

from pipeline.access.cookies import cookie_header, cookie_values, parse_cookie_header, set_cookie_headers
from pipeline.access.keypair import key_id_for, write_key_pair
from pipeline.access.policy import CustomPolicy, course_path, course_policy, course_resource
from pipeline.access.signing import (
    HashAlgorithm,
    SignedPolicy,
    load_private_key,
    load_public_key,
    sign_policy,
)
from pipeline.access.verify import Decision, DenyCode, load_key_group, verify_request

__all__ = [
    "CustomPolicy",
    "Decision",
    "DenyCode",
    "HashAlgorithm",
    "SignedPolicy",
    "cookie_header",
    "cookie_values",
    "course_path",
    "course_policy",
    "course_resource",
    "key_id_for",
    "load_key_group",
    "load_private_key",
    "load_public_key",
    "parse_cookie_header",
    "set_cookie_headers",
    "sign_policy",
    "verify_request",
    "write_key_pair",
]
