"""The signing key pair: generated here, the private half kept secret, the public half given to CloudFront.

- ``private_key.pem``: unencrypted PKCS#1 (``-----BEGIN RSA PRIVATE KEY-----``), what ``openssl genrsa``
  writes in AWS's key-pair instructions and what the documented signers load (botocore's
  ``CloudFrontSigner`` example uses ``rsa.PrivateKey.load_pkcs1``); the loader here also takes PKCS#8.
  Created with mode 0600 in one ``open`` (``O_CREAT | O_EXCL``), never loosened or chmod-ed afterwards.
  On AWS it lives in Secrets Manager.
- ``public_key.pem``: SubjectPublicKeyInfo (``-----BEGIN PUBLIC KEY-----``), the ``EncodedKey`` of
  ``AWS::CloudFront::PublicKey``.
- The key id: on AWS, CloudFront assigns it (the ``AWS::CloudFront::PublicKey`` resource's ``Id``).
  Locally the id is derived from the public key (:func:`key_id_for`), so the signer and the local edge
  agree on it from the PEM files alone.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipeline.access.signing import KEY_BITS, load_private_key, load_public_key

if TYPE_CHECKING:
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

PRIVATE_KEY_FILE = "private_key.pem"
PUBLIC_KEY_FILE = "public_key.pem"
PRIVATE_KEY_MODE = 0o600
PUBLIC_KEY_MODE = 0o644


def generate_private_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def private_key_pem(key: RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_key_pem(key: RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id_for(key: RSAPublicKey) -> str:
    """A stable local key id shaped like CloudFront's (``K`` + 13 of ``A-Z2-7``), digested from the key."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "K" + base64.b32encode(hashlib.sha256(der).digest()).decode("ascii")[:13]


@dataclass(frozen=True)
class KeyPairFiles:
    private_key: Path
    public_key: Path
    key_id: str
    public_key_pem: str


def _write_new(path: Path, data: bytes, mode: int, *, replace: bool) -> None:
    """Write ``data`` to a file created with ``mode``; with ``replace``, via a new file renamed over ``path``.

    O_EXCL makes ``open`` create the file (never reuse one, or follow a symlink planted in its place), so
    the permissions are the ones given here from the first byte. Replacing goes through a new file for the
    same reason: rewriting an existing file in place would keep whatever mode it had.
    """
    target = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp") if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            target.replace(path)
    except BaseException:
        if replace:
            target.unlink(missing_ok=True)
        raise


def write_key_pair(directory: Path, *, force: bool = False) -> KeyPairFiles:
    """Generate a key pair into ``directory`` (created 0700 if missing).

    Refuses to overwrite either file unless ``force``: losing a private key that CloudFront trusts means
    re-deploying a new public key, and everybody's cookies stop working.
    """
    private_path = directory / PRIVATE_KEY_FILE
    public_path = directory / PUBLIC_KEY_FILE
    if not force:
        existing = [str(p) for p in (private_path, public_path) if p.exists() or p.is_symlink()]
        if existing:
            raise FileExistsError(
                f"{' and '.join(existing)} already exist: pass --force to replace the key pair"
            )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = generate_private_key()
    public_pem = public_key_pem(key.public_key())
    _write_new(private_path, private_key_pem(key), PRIVATE_KEY_MODE, replace=force)
    _write_new(public_path, public_pem, PUBLIC_KEY_MODE, replace=force)
    return KeyPairFiles(
        private_key=private_path,
        public_key=public_path,
        key_id=key_id_for(key.public_key()),
        public_key_pem=public_pem.decode("ascii"),
    )


def ensure_key_pair(directory: Path) -> tuple[KeyPairFiles, bool]:
    """(the pair in ``directory``, whether it was just generated): local tools (``coursepipe up``,
    ``serve``, ``cookies``) share one pair, made on first use. The public half is derived from the
    private key when only that is there. Raises OSError/ValueError for unreadable or non-RSA-2048 keys."""
    private, public = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    if not private.exists() and not public.exists():
        return write_key_pair(directory), True
    if public.exists():
        pem = public.read_text(encoding="ascii")
        key = load_public_key(pem)
    else:
        key = load_private_key(private.read_bytes()).public_key()
        pem = public_key_pem(key).decode("ascii")
    return KeyPairFiles(
        private_key=private, public_key=public, key_id=key_id_for(key), public_key_pem=pem
    ), False
