"""Settings, read once from the environment.

Every environment variable the pipeline reads is named here and nowhere else; the same names are set by
``template.yaml`` (Globals and per-function Environment), which the local runtime also reads, so cloud and
local configuration cannot drift.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class MediaLimits:
    """What an upload may be. Over a limit means ``MediaTooLargeError``, never a silent truncation."""

    max_bytes: int = 5 * 1024**3
    max_duration_s: float = 4 * 3600.0
    max_width: int = 7680
    max_height: int = 4320
    max_image_pixels: int = 80_000_000
    max_lesson_bytes: int = 1_000_000


@dataclass(frozen=True)
class Settings:
    ingest_bucket: str
    publish_bucket: str
    catalog_table: str
    state_machine_arn: str = ""
    work_dir: str = "/tmp"
    limits: MediaLimits = field(default_factory=MediaLimits)

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
        )
        return cls(
            ingest_bucket=env["INGEST_BUCKET"],
            publish_bucket=env["PUBLISH_BUCKET"],
            catalog_table=env["CATALOG_TABLE"],
            state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
            work_dir=env.get("WORK_DIR", "/tmp"),
            limits=limits,
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (a Lambda cold start reads them once)."""
    return Settings.from_env()
