"""Settings, read once from the environment.

Every environment variable the pipeline reads is named here and nowhere else; the same names are set by
``template.yaml`` (Globals and per-function Environment), which the local runtime also reads, so cloud and
local configuration cannot drift. (The local runtime *sets* each function's template ``Environment``, as
Lambda does, and restores the caller's; ``tests/unit/test_settings_home.py`` holds every other module to
reading nothing.) Each function asks only for what it uses: ``settings()`` for the pipeline's functions,
``catalog_table()`` for the catalog API, ``SessionSettings`` for the session API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class MediaLimits:
    """What an upload may be. Over a limit means ``MediaTooLargeError``, never a silent truncation."""

    max_bytes: int = 5 * 1024**3
    max_duration_s: float = 4 * 3600.0
    max_width: int = 7680
    max_height: int = 4320
    max_image_pixels: int = 80_000_000
    max_lesson_bytes: int = 1_000_000
    max_attachment_bytes: int = 500 * 1024**2
    """A handout is copied through the function's /tmp (PublishAttachment has 1 GB of it)."""


@dataclass(frozen=True)
class EncodeSettings:
    """How video is encoded and cut. Defaults follow Apple's HLS authoring specification.

    ``chunk_s`` bounds one EncodeChunk invocation: at ~1.5 CPU-s per media second for a 1080p ladder on
    one vCPU, 120 s of media is ~3 minutes of work, far from Lambda's 15-minute limit, while a 1-hour
    lecture still fans out to 30 parallel chunks.

    ``loudness_lufs`` is the EBU R128 integrated loudness every soundtrack is normalised to (-16 LUFS, the
    level Apple and most podcast platforms ask of spoken word, so switching lectures or languages needs no
    volume change); ``AUDIO_LOUDNESS_LUFS=""`` turns normalisation off.
    """

    ladder: str = "1080:6000,720:3000,540:2000,360:730,234:145"
    segment_s: int = 6
    gop_s: int = 2
    chunk_s: int = 120
    max_concurrency: int = 10
    preset: str = "veryfast"
    audio_bitrate_k: int = 128
    audio_language: str = "en"
    loudness_lufs: float | None = -16.0
    sprite_interval_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EncodeSettings:
        env = os.environ if env is None else env
        d = cls()
        encode = cls(
            ladder=env.get("HLS_LADDER", d.ladder),
            segment_s=int(env.get("HLS_SEGMENT_SECONDS", d.segment_s)),
            gop_s=int(env.get("HLS_GOP_SECONDS", d.gop_s)),
            chunk_s=int(env.get("ENCODE_CHUNK_SECONDS", d.chunk_s)),
            max_concurrency=int(env.get("ENCODE_MAX_CONCURRENCY", d.max_concurrency)),
            preset=env.get("X264_PRESET", d.preset),
            audio_bitrate_k=int(env.get("AUDIO_BITRATE_KBPS", d.audio_bitrate_k)),
            audio_language=env.get("AUDIO_LANGUAGE", d.audio_language),
            loudness_lufs=_optional_float(env, "AUDIO_LOUDNESS_LUFS", d.loudness_lufs),
            sprite_interval_s=float(env.get("SPRITE_INTERVAL_SECONDS", d.sprite_interval_s)),
        )
        encode.validate()
        return encode

    def validate(self) -> None:
        """Reject settings that would break the HLS invariants at cold start, not mid-encode."""
        if self.gop_s < 1 or self.segment_s % self.gop_s:
            raise ValueError("HLS_SEGMENT_SECONDS must be a whole multiple of HLS_GOP_SECONDS")
        if self.chunk_s < self.segment_s or self.chunk_s % self.segment_s:
            raise ValueError("ENCODE_CHUNK_SECONDS must be a whole multiple of HLS_SEGMENT_SECONDS")
        if self.max_concurrency < 1:
            raise ValueError("ENCODE_MAX_CONCURRENCY must be at least 1")
        if self.sprite_interval_s <= 0:
            raise ValueError("SPRITE_INTERVAL_SECONDS must be positive")
        # The range ffmpeg's loudnorm filter accepts for its integrated target.
        if self.loudness_lufs is not None and not -70.0 <= self.loudness_lufs <= -5.0:
            raise ValueError("AUDIO_LOUDNESS_LUFS must be between -70 and -5 (LUFS), or empty to turn it off")


def _optional_float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Unset: the default; set but empty: None (the feature off); else the number."""
    if name not in env:
        return default
    value = env[name].strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number (LUFS, e.g. -16) or empty, not {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    ingest_bucket: str
    publish_bucket: str
    catalog_table: str
    state_machine_arn: str = ""
    event_bus: str = "default"
    idempotency_table: str = ""
    work_dir: str = "/tmp"
    limits: MediaLimits = field(default_factory=MediaLimits)
    encode: EncodeSettings = field(default_factory=EncodeSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        missing = [n for n in ("INGEST_BUCKET", "PUBLISH_BUCKET", "CATALOG_TABLE") if not env.get(n)]
        if missing:
            raise RuntimeError(f"missing environment variables: {', '.join(missing)}")
        defaults = MediaLimits()
        limits = MediaLimits(
            max_bytes=int(env.get("MAX_SOURCE_BYTES", defaults.max_bytes)),
            max_duration_s=float(env.get("MAX_DURATION_SECONDS", defaults.max_duration_s)),
            max_width=int(env.get("MAX_WIDTH", defaults.max_width)),
            max_height=int(env.get("MAX_HEIGHT", defaults.max_height)),
            max_image_pixels=int(env.get("MAX_IMAGE_PIXELS", defaults.max_image_pixels)),
            max_lesson_bytes=int(env.get("MAX_LESSON_BYTES", defaults.max_lesson_bytes)),
            max_attachment_bytes=int(env.get("MAX_ATTACHMENT_BYTES", defaults.max_attachment_bytes)),
        )
        return cls(
            ingest_bucket=env["INGEST_BUCKET"],
            publish_bucket=env["PUBLISH_BUCKET"],
            catalog_table=env["CATALOG_TABLE"],
            state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
            event_bus=env.get("EVENT_BUS_NAME") or "default",
            idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
            work_dir=env.get("WORK_DIR", "/tmp"),
            limits=limits,
            encode=EncodeSettings.from_env(env),
        )


@dataclass(frozen=True)
class SessionSettings:
    """The session API's settings (``SessionFunction`` in template.yaml).

    The key pair id and the private key live together in one secret (``{"keyId", "privateKey"}``), so a
    key rotation is one atomic ``put-secret-value``.
    """

    key_secret_id: str
    ttl_s: int = 7200
    media_domain: str = ""
    viewer_host_header: str = "x-viewer-host"
    scheme: str = "https"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SessionSettings:
        env = os.environ if env is None else env
        if not env.get("SIGNING_KEY_SECRET_ID"):
            raise RuntimeError("missing environment variable: SIGNING_KEY_SECRET_ID")
        ttl = int(env.get("SESSION_TTL_SECONDS") or 7200)
        if not 60 <= ttl <= 7 * 24 * 3600:
            raise ValueError("SESSION_TTL_SECONDS must be between 60 s and 7 days")
        return cls(
            key_secret_id=env["SIGNING_KEY_SECRET_ID"],
            ttl_s=ttl,
            media_domain=env.get("MEDIA_DOMAIN", ""),
            viewer_host_header=(env.get("VIEWER_HOST_HEADER") or "x-viewer-host").lower(),
            # Locally the edge serves plain http on 127.0.0.1; CloudFront checks the policy's scheme.
            scheme=env.get("MEDIA_SCHEME") or "https",
        )


# Read by the AWS client factory (pipeline/aws.py) each time it builds a client: the local runtime points
# every client at moto by setting these, and resets the cached clients.
ENDPOINT_ENV = "COURSEPIPE_ENDPOINT_URL"
DAX_ENDPOINT_ENV = "DAX_ENDPOINT"
# Where the lesson pages' hls.js comes from (pipeline/text/page.py); unset: the web/ install.
HLS_JS_PATH_ENV = "HLS_JS_PATH"
# Where the diagram frame's mermaid.min.js comes from (pipeline/text/page.py); unset: the web/ install.
MERMAID_JS_PATH_ENV = "MERMAID_JS_PATH"


@dataclass(frozen=True)
class AwsSettings:
    """Where AWS clients go. ``AWS_ENDPOINT_URL`` is honoured by botocore itself; ours lets the local
    runtime's server mode point every client at moto without touching the user's AWS configuration."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    dax_endpoint: str | None = None
    # Only whether the caller has credentials of its own, and the local stack's fill-ins otherwise (moto
    # accepts any); the values are never logged.
    access_key_id: str | None = None
    secret_access_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AwsSettings:
        env = os.environ if env is None else env
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get(ENDPOINT_ENV) or None,
            dax_endpoint=env.get(DAX_ENDPOINT_ENV) or None,
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
        )


# The local runtime: another template.yaml than this checkout's, and the handlers' log level.
TEMPLATE_ENV = "COURSEPIPE_TEMPLATE"


def template_override(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get(TEMPLATE_ENV) or None


def log_level(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("POWERTOOLS_LOG_LEVEL", "INFO")


def hls_js_path(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get(HLS_JS_PATH_ENV) or None


def mermaid_js_path(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return env.get(MERMAID_JS_PATH_ENV) or None


def catalog_table(env: Mapping[str, str] | None = None) -> str:
    """The one setting the catalog API needs (it reads no bucket, starts no execution)."""
    env = os.environ if env is None else env
    if not env.get("CATALOG_TABLE"):
        raise RuntimeError("missing environment variable: CATALOG_TABLE")
    return env["CATALOG_TABLE"]


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (a Lambda cold start reads them once)."""
    return Settings.from_env()
