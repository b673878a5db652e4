"""The access commands of ``coursepipe``: ``keys generate`` and ``cookies``.

Contracts: ``keys generate [--dir DIR] [--force]`` writes ``DIR/private_key.pem`` (mode 0600) and
``DIR/public_key.pem``, prints the local key id, the public key PEM and how to deploy it; exit 0, or 2
when the files exist (without ``--force``) or cannot be written.

``cookies COURSE_ID [--ttl 2h] [--domain HOST[:PORT]] [--scheme http|https] [--key PEM] [--key-id ID]
[--ip CIDR] [--sha256] [--same-site Lax|None] [--json]`` prints one ``Set-Cookie: ...`` line per cookie on
stdout (hints on stderr) or, with ``--json``, exactly one JSON document whose ``cookieHeader`` is ready for
``ffmpeg -headers "Cookie: ..."``; exit 0, or 2 on usage errors (course id, TTL, CIDR, key file).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pipeline.cli.console import write_json
from pipeline.cli.defaults import DEFAULT_KEY_DIR, DEFAULT_MEDIA_DOMAIN
from pipeline.cli.registry import Command, Registry
from pipeline.cli.status import ExitStatus

PUBLIC_KEY_PARAMETER = "CloudFrontPublicKeyPem"
"""The template parameter that takes ``public_key.pem`` (``AWS::CloudFront::PublicKey`` EncodedKey)."""
MAX_TTL_S = 366 * 86400

_TTL_RE = re.compile(r"([0-9]{1,9})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """``90s``, ``15m``, ``2h``, ``1d`` -> seconds (a unit is required: a bare ``2`` is ambiguous)."""
    match = _TTL_RE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"TTL {text!r} is not a duration: use a number and a unit, e.g. 90s, 15m, 2h or 1d")
    seconds = int(match[1]) * _UNIT_S[match[2]]
    if not 0 < seconds <= MAX_TTL_S:
        raise ValueError(f"TTL {text!r} must be between 1s and {MAX_TTL_S // 86400}d")
    return seconds


def _ttl_arg(text: str) -> int:
    try:
        return parse_ttl(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def default_scheme(media_domain: str) -> str:
    """``http`` for the local edge (loopback hosts serve plain HTTP), ``https`` for everything else."""
    host = media_domain.strip().lower().partition(":")[0]
    if host == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(host).is_loopback else "https"
    except ValueError:
        return "https"


def register(registry: Registry) -> None:
    # A bad TTL, CIDR or key file surfaces as ValueError, an unwritable key folder as OSError: both are
    # the caller's to fix.
    errors = (ValueError, OSError)
    registry.add(
        Command(
            "keys",
            "manage the key pair that signs CloudFront cookies",
            _keys_options,
            _keys,
            usage_errors=errors,
        )
    )
    registry.add(
        Command(
            "cookies",
            "print CloudFront signed cookies for one course (for local testing and clients like ffmpeg)",
            _cookies_options,
            _cookies,
            description="Sign a custom policy for {scheme}://{domain}/courses/COURSE_ID/* and print the "
            "cookies as Set-Cookie lines, or as JSON with a Cookie header for ffmpeg -headers.",
            usage_errors=errors,
        )
    )


def _keys_options(keys: argparse.ArgumentParser) -> None:
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    gen = keys_sub.add_parser(
        "generate",
        help="generate an RSA-2048 key pair for CloudFront signed cookies",
        description="Write DIR/private_key.pem (mode 0600; on AWS it belongs in Secrets Manager) and "
        "DIR/public_key.pem (the template's public key parameter), and print the local key id.",
    )
    gen.add_argument("--dir", default=DEFAULT_KEY_DIR, metavar="DIR", help=f"default ./{DEFAULT_KEY_DIR}")
    gen.add_argument("--force", action="store_true", help="replace an existing key pair")


def _cookies_options(cookies: argparse.ArgumentParser) -> None:
    cookies.add_argument("course_id", metavar="COURSE_ID")
    cookies.add_argument("--ttl", type=_ttl_arg, default="2h", help="lifetime: 90s, 15m, 2h, 1d (default 2h)")
    cookies.add_argument(
        "--domain",
        default=DEFAULT_MEDIA_DOMAIN,
        metavar="HOST[:PORT]",
        help=f"media domain the cookies are for (default {DEFAULT_MEDIA_DOMAIN}, the local edge)",
    )
    cookies.add_argument(
        "--scheme",
        choices=("https", "http"),
        help="URL scheme in the policy (default http for loopback hosts)",
    )
    cookies.add_argument(
        "--key",
        default=f"{DEFAULT_KEY_DIR}/private_key.pem",
        metavar="PEM",
        help=f"private key (default {DEFAULT_KEY_DIR}/private_key.pem)",
    )
    cookies.add_argument(
        "--key-id",
        metavar="ID",
        help="public key id (default: the local id of --key; on AWS the id CloudFront assigned)",
    )
    cookies.add_argument("--ip", metavar="CIDR", help="only clients in this IPv4 range (IpAddress condition)")
    cookies.add_argument(
        "--sha256", action="store_true", help="sign with SHA-256 (adds CloudFront-Hash-Algorithm)"
    )
    cookies.add_argument(
        "--same-site",
        choices=("Lax", "None"),
        default="Lax",
        help="Lax when the player is on the media domain's site (default); None for a player on another site",
    )
    cookies.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")


def _keys(args: argparse.Namespace) -> int:
    from pipeline.access.keypair import write_key_pair

    files = write_key_pair(Path(args.dir), force=args.force)
    public = shlex.quote(str(files.public_key))
    private = shlex.quote(str(files.private_key))
    print(f"wrote {files.private_key} (mode 0600: keep it secret; on AWS it belongs in Secrets Manager)")
    print(f"wrote {files.public_key}")
    print(f"local key id: {files.key_id}")
    print()
    print(files.public_key_pem)
    print("Deploy the public key (CloudFront assigns its own key id; the stack outputs it):")
    print(f'  sam deploy --parameter-overrides "{PUBLIC_KEY_PARAMETER}=\\"$(cat {public})\\""')
    print("Then give the session API the private key with that id (one secret holds both, so a rotation is")
    print("one atomic write; <stack> and the SigningKeyId output from the deploy):")
    print(
        "  aws secretsmanager put-secret-value --secret-id <stack>/cloudfront-signing-key --secret-string "
        f'"$(python3 -c \'import json,sys; print(json.dumps({{"keyId": sys.argv[1], '
        f'"privateKey": open(sys.argv[2]).read()}}))\' <SigningKeyId> {private})"'
    )
    print("Sign cookies for local testing:")
    print(f"  coursepipe cookies COURSE_ID --key {shlex.quote(str(files.private_key))}")
    return ExitStatus.OK


def _cookies(args: argparse.Namespace) -> int:
    from pipeline.access.cookies import cookie_header, cookie_values, set_cookie_headers
    from pipeline.access.keypair import key_id_for
    from pipeline.access.policy import course_path, course_policy
    from pipeline.access.signing import HashAlgorithm, load_private_key, sign_policy

    key_path = Path(args.key)
    try:
        pem = key_path.read_bytes()
    except FileNotFoundError:
        raise ValueError(
            f"{key_path}: no such key file (create one with `coursepipe keys generate`)"
        ) from None
    try:
        private_key = load_private_key(pem)
    except ValueError as exc:
        raise ValueError(f"{key_path}: {exc}") from exc

    now = time.time()
    policy = course_policy(
        args.domain,
        args.course_id,
        expires=int(now) + args.ttl,
        source_ip=args.ip,
        scheme=args.scheme or default_scheme(args.domain),
    )
    key_id = args.key_id or key_id_for(private_key.public_key())
    algorithm = HashAlgorithm.SHA256 if args.sha256 else HashAlgorithm.SHA1
    signed = sign_policy(policy, private_key, key_id, hash_algorithm=algorithm)
    path = course_path(args.course_id)
    headers = set_cookie_headers(signed, path=path, now=now, same_site=args.same_site)
    expires_at = datetime.fromtimestamp(signed.expires, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    if args.json:
        doc = {
            "courseId": args.course_id,
            "resource": signed.resource,
            "path": path,
            "keyPairId": signed.key_pair_id,
            "hashAlgorithm": signed.hash_algorithm.value,
            "expires": signed.expires,
            "expiresAt": expires_at,
            "cookies": cookie_values(signed),
            "setCookie": headers,
            "cookieHeader": cookie_header(signed),
        }
        write_json(doc, indent=2)
        return ExitStatus.OK
    for header in headers:
        print(f"Set-Cookie: {header}")
    print(f"# {signed.resource} until {expires_at}, key {signed.key_pair_id}", file=sys.stderr)
    print(
        '# ffmpeg/ffprobe: -headers "Cookie: $(coursepipe cookies ... --json | jq -r .cookieHeader)"',
        file=sys.stderr,
    )
    return ExitStatus.OK
