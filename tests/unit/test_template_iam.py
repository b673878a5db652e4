"""Least privilege for the functions that parse untrusted media, and for the state machine's role.

EncodeChunk, EncodeAudio, MakeThumbnails and ImageVariants run ffmpeg and Pillow on files anyone with upload
rights chose: whatever such a file achieves inside the function, the role must not let it deface published
courses. These tests run each use case over a store that records its calls, turn every call into the S3
request it would make (action, resource, the list prefix) and evaluate those against the function's
policy from template.yaml: the grants cover what the code does, and nothing a parser needs not do.
"""

from __future__ import annotations

import dataclasses
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from PIL import Image

from pipeline import layout
from pipeline.catalog.model import SourceRef
from pipeline.config import Settings
from pipeline.keys import parse_key
from pipeline.local.template import Stack
from pipeline.media.encode import AudioManifest, ChunkManifest, SegmentInfo
from pipeline.media.probe import ProbeResult, SubtitleTrack
from pipeline.media.sprites import SpriteResult
from pipeline.services import Services
from pipeline.steps import AssetInfo, Outputs
from pipeline.storage import ObjectInfo
from pipeline.usecases import downloads as downloads_usecase
from pipeline.usecases import embedded_subtitles, video
from pipeline.usecases import image as image_usecase
from tests.fakes import FakeCatalog, RecordingPublisher

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from datetime import datetime

    from pipeline.catalog.details import Details
    from pipeline.media.plan import EncodePlan

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
MEDIA_PARSERS = (
    "EncodeChunkFunction",
    "EncodeAudioFunction",
    "MakeThumbnailsFunction",
    "ExtractSubtitlesFunction",
    "ImageVariantsFunction",
)
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
# Step Functions developer guide, "IAM policies for logging to CloudWatch Logs".
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
HD = ProbeResult(
    format_name="mov,mp4", duration_s=12.0, size_bytes=1, bit_rate=None, has_video=True, has_audio=True,
    width=1280, height=720, coded_width=1280, coded_height=720, rotation=0, fps=30.0, video_codec="h264",
    pix_fmt="yuv420p", audio_codec="aac", audio_channels=2, audio_sample_rate=48000,
)  # fmt: skip


def stack(**parameters: str) -> Stack:
    return Stack.from_file(TEMPLATE, parameters=parameters)


# ---------------------------------------------------------------- a small IAM evaluator
@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    prefix: str | None = None  # s3:prefix of a ListBucket


def _glob(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` one character."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z"
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict[str, Any], request: Request) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            if key != "s3:prefix" or operator not in ("StringLike", "StringEquals"):
                raise AssertionError(f"the evaluator does not know {operator} {key}")
            if request.prefix is None:
                return False
            match = (
                (lambda p: _glob(p).match(request.prefix))
                if operator == "StringLike"
                else (lambda p: p == request.prefix)
            )
            if not any(match(str(p)) for p in _listed(wanted)):
                return False
    return True


def statements(st: Stack, logical: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in st.resolve(st.props(logical).get("Policies", [])):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"{logical}: only inline statements (a SAM policy template grants more than the code uses): "
            f"{policy!r}"
        )
        found += policy["Statement"]
    return found


def allowed(stmts: list[dict[str, Any]], request: Request) -> bool:
    for stmt in stmts:
        if stmt["Effect"] != "Allow":
            continue
        if not any(_glob(a).match(request.action) for a in _listed(stmt["Action"])):
            continue
        if not any(_glob(r).match(request.resource) for r in _listed(stmt["Resource"])):
            continue
        if _condition_holds(stmt.get("Condition", {}), request):
            return True
    return False


# ---------------------------------------------------------------- a store that records S3 requests
@dataclass
class RecordingStore:
    """An in-memory ``ObjectStore`` that notes the S3 request behind every call."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def _object(self, action: str, bucket: str, key: str, version_id: str | None = None) -> None:
        if action == "s3:GetObject" and version_id:
            action = "s3:GetObjectVersion"
        self.requests.append(Request(action, f"arn:aws:s3:::{bucket}/{key}"))

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        self._object("s3:GetObject", bucket, key, version_id)
        data = self.objects.get((bucket, key))
        return None if data is None else ObjectInfo(key, len(data), "e", version_id, None)

    def download(self, bucket: str, key: str, dest: Path, version_id: str | None = None) -> Path:
        self._object("s3:GetObject", bucket, key, version_id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.objects[(bucket, key)])
        return dest

    def read_range(self, bucket: str, key: str, length: int, version_id: str | None = None) -> bytes:
        self._object("s3:GetObject", bucket, key, version_id)
        return self.objects[(bucket, key)][:length]

    def get_bytes(self, bucket: str, key: str) -> bytes:
        self._object("s3:GetObject", bucket, key)
        return self.objects[(bucket, key)]

    def copy(self, bucket: str, source_key: str, key: str, *, cache_control: str | None = None) -> None:
        self._object("s3:GetObject", bucket, source_key)
        self._object("s3:PutObject", bucket, key)
        self.objects[(bucket, key)] = self.objects[(bucket, source_key)]

    def put_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        cache_control: str | None = None,
        content_disposition: str | None = None,
    ) -> None:
        self.put_bytes(bucket, key, path.read_bytes())

    def put_bytes(self, bucket: str, key: str, data: bytes, *, cache_control: str | None = None) -> None:
        self._object("s3:PutObject", bucket, key)
        self.objects[(bucket, key)] = data

    def read_object(self, bucket: str, key: str) -> tuple[bytes, str] | None:
        self._object("s3:GetObject", bucket, key)
        data = self.objects.get((bucket, key))
        return None if data is None else (data, "e")

    def replace_bytes(
        self, bucket: str, key: str, data: bytes, *, etag: str, cache_control: str | None = None
    ) -> bool:
        self.put_bytes(bucket, key, data)
        return True

    def list_keys(
        self, bucket: str, prefix: str, *, modified_before: datetime | None = None
    ) -> Iterator[str]:
        self.requests.append(Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", prefix))
        return iter(sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix)))

    def delete_keys(self, bucket: str, keys: Iterable[str]) -> None:
        for key in list(keys):
            self._object("s3:DeleteObject", bucket, key)
            self.objects.pop((bucket, key), None)


def services_for(st: Stack, logical: str, store: RecordingStore, work_dir: Path) -> Services:
    settings = Settings.from_env({**st.function_environment(logical), "WORK_DIR": str(work_dir)})
    return Services(settings, store, catalog=FakeCatalog(), events=RecordingPublisher())


def upload(services: Services, path: str, data: bytes) -> SourceRef:
    key = f"courses/c1/{path}"
    services.store.put_bytes(services.settings.ingest_bucket, key, data)
    services.store.requests.clear()  # type: ignore[attr-defined]  # the author's upload, not the function's
    return SourceRef(services.settings.ingest_bucket, key, version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")


def plan(services: Services, source: SourceRef) -> EncodePlan:
    return video.plan_encode(source, HD, services)


@pytest.fixture
def fake_media(monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg's part replaced by files of the names it writes: these tests are about where they go."""

    def encode_chunk(source: Path, out: Path, job: Any, chunk: Any) -> ChunkManifest:
        rungs = {}
        for rung in job.rungs:
            name = job.segment_name(chunk.index)
            (out / rung.name).mkdir(parents=True, exist_ok=True)
            (out / rung.name / name).write_bytes(b"ts")
            rungs[rung.name] = {"codecs": "avc1.64001f", "segments": [SegmentInfo(name, 180, 2, 0)]}
        return ChunkManifest(chunk=chunk.index, first_segment=chunk.index, rungs=rungs)

    def encode_audio(source: Path, out: Path, job: Any, only: int | None = None) -> list[AudioManifest]:
        (out / "audio/0").mkdir(parents=True, exist_ok=True)
        (out / "audio/0/audio-00000.ts").write_bytes(b"aac")
        return [AudioManifest("mp4a.40.2", 2, [("audio-00000.ts", 6.0, 3)])]

    def make_poster(source: Path, out: Path, info: Any, *, widths: Any) -> list[Path]:
        names = [Path(f"poster-{w}.{ext}") for w in widths for ext in ("jpg", "webp")]
        for name in names:
            (out / name).write_bytes(b"img")
        return names

    def make_sprites(source: Path, out: Path, info: Any, *, interval_s: float) -> SpriteResult:
        (out / "sprite-0.jpg").write_bytes(b"jpg")
        (out / "sprite.vtt").write_text("WEBVTT\n")
        sheets = [Path("sprite-0.jpg")]
        return SpriteResult([*sheets, Path("sprite.vtt")], Path("sprite.vtt"), sheets, 160, 90, interval_s, 2)

    monkeypatch.setattr(video, "encode_chunk", encode_chunk)
    monkeypatch.setattr(video, "encode_audio", encode_audio)
    monkeypatch.setattr(video, "make_poster", make_poster)
    monkeypatch.setattr(video, "make_sprites", make_sprites)

    def extract_text_tracks(source: Path, out: Path, indexes: list[int]) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        for n in indexes:
            (out / f"embedded-{n}.vtt").write_text("WEBVTT\n\n00:01.000 --> 00:02.000\nHola\n")
        return [out / f"embedded-{n}.vtt" for n in indexes]

    monkeypatch.setattr(embedded_subtitles, "extract_text_tracks", extract_text_tracks)


def run_media_task(logical: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordingStore:
    st = stack()
    store = RecordingStore()
    services = services_for(st, logical, store, tmp_path)
    if logical == "ImageVariantsFunction":
        png = io.BytesIO()
        Image.new("RGB", (1400, 700), (40, 90, 160)).save(png, "PNG")
        source = upload(services, "images/diagram.png", png.getvalue())
        # What an earlier version published (the prune removes it) and a neighbour's image (it must stay).
        asset = parse_key(source.key)
        old = asset.publish_prefix + layout.image_dir(asset.asset_id) + "/2560.webp"
        store.objects[(services.settings.publish_bucket, old)] = b"old"
        store.objects[(services.settings.publish_bucket, "courses/c1/images/other-1a2b3c4d/640.webp")] = b"x"
        image_usecase.make_image_variants(source, services)
        assert (services.settings.publish_bucket, old) not in store.objects
        return store
    source = upload(services, "videos/intro.mp4", b"\x00\x00\x00\x18ftypmp42")
    planned = plan(services, source)
    if logical == "EncodeChunkFunction":
        video.encode_video_chunk(source, planned.job, planned.chunks[0], services)
    elif logical == "EncodeAudioFunction":
        video.encode_audio_track(source, planned.job, services, 0)
    elif logical == "ExtractSubtitlesFunction":
        spanish = SubtitleTrack(0, "mov_text", "es", None, default=False, forced=False, text=True)
        with_subtitles = dataclasses.replace(HD, subtitle_tracks=(spanish,))
        embedded_subtitles.extract_subtitles(source, with_subtitles, planned.job, services)
    else:
        video.make_thumbnails(source, HD, planned.job, services)
    return store


# ---------------------------------------------------------------- the media parsers
@pytest.mark.parametrize("logical", MEDIA_PARSERS)
def test_media_parsers_have_exact_grants_only(logical: str) -> None:
    for stmt in statements(stack(), logical):
        for action in _listed(stmt["Action"]):
            assert action.startswith("s3:") and "*" not in action, (logical, action)
        for resource in _listed(stmt["Resource"]):
            assert resource != "*" and not resource.endswith(":::*"), (logical, resource)


@pytest.mark.parametrize("logical", MEDIA_PARSERS)
def test_every_request_of_a_media_parser_is_granted(
    logical: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_media: None
) -> None:
    store = run_media_task(logical, tmp_path, monkeypatch)
    stmts = statements(stack(), logical)
    assert any(r.action == "s3:GetObjectVersion" for r in store.requests), "the source version was not read"
    assert any(r.action == "s3:PutObject" for r in store.requests), "nothing was written"
    for request in store.requests:
        assert allowed(stmts, request), f"{logical} needs {request} but its policy does not grant it"


@pytest.mark.parametrize(
    "logical",
    ["EncodeChunkFunction", "EncodeAudioFunction", "MakeThumbnailsFunction", "ExtractSubtitlesFunction"],
)
def test_encoders_write_only_staged_files_under_work(logical: str) -> None:
    st = stack()
    stmts = statements(st, logical)
    publish = f"arn:aws:s3:::{st.physical_name('PublishBucket')}"
    ingest = f"arn:aws:s3:::{st.physical_name('IngestBucket')}"
    for key in (
        "courses/c1/media/intro-1a2b3c4d/hls/master.m3u8",
        "courses/c1/media/intro-1a2b3c4d/hls/720p/seg-g-00000.ts",
        "courses/c1/index.html",
        "courses/c1/assets/player.js",
    ):
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:GetObject", "s3:PutObjectAcl"):
            assert not allowed(stmts, Request(action, f"{publish}/{key}")), (logical, action, key)
    for action in ("s3:DeleteObject", "s3:GetObject", "s3:PutObjectAcl"):
        assert not allowed(stmts, Request(action, f"{publish}/work/c1/intro-1a2b3c4d/g/hls/720p/x.ts"))
    for action in ("s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucket"):
        assert not allowed(stmts, Request(action, publish)), (logical, action)
    assert not allowed(stmts, Request("s3:ListBucket", publish, "work/"))
    assert not allowed(stmts, Request("s3:PutObject", f"{ingest}/courses/c1/videos/intro.mp4"))
    assert not allowed(stmts, Request("s3:DeleteObjectVersion", f"{ingest}/courses/c1/videos/intro.mp4"))


def test_image_variants_touch_only_the_images_tree() -> None:
    st = stack()
    stmts = statements(st, "ImageVariantsFunction")
    publish = f"arn:aws:s3:::{st.physical_name('PublishBucket')}"
    for key in (
        "courses/c1/index.html",
        "courses/c1/lessons/intro-1a2b3c4d.html",
        "courses/c1/media/intro-1a2b3c4d/hls/master.m3u8",
        "courses/c1/assets/player.js",
        "work/c1/intro-1a2b3c4d/g/hls/720p/x.ts",
    ):
        for action in ("s3:PutObject", "s3:DeleteObject"):
            assert not allowed(stmts, Request(action, f"{publish}/{key}")), (action, key)
    for prefix in ("", "courses/", "courses/c1/", "work/"):
        assert not allowed(stmts, Request("s3:ListBucket", publish, prefix)), prefix
    assert allowed(stmts, Request("s3:ListBucket", publish, "courses/c1/images/diagram-1a2b3c4d/"))


@pytest.mark.parametrize("logical", MEDIA_PARSERS)
def test_media_parsers_read_sources_and_nothing_else_of_the_ingest_bucket(logical: str) -> None:
    st = stack()
    stmts = statements(st, logical)
    ingest = f"arn:aws:s3:::{st.physical_name('IngestBucket')}"
    assert allowed(stmts, Request("s3:GetObjectVersion", f"{ingest}/courses/c1/videos/intro.mp4"))
    assert not allowed(stmts, Request("s3:ListBucket", ingest, "courses/"))
    assert not allowed(stmts, Request("s3:GetObject", f"{ingest}/elsewhere/x"))
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:GetObjectAcl", "s3:PutObjectTagging"):
        assert not allowed(stmts, Request(action, f"{ingest}/courses/c1/videos/intro.mp4")), action


# ---------------------------------------------------------------- the state machine
def state_machine_policies() -> list[Any]:
    policies: list[Any] = stack().props("ProcessAssetStateMachine")["Policies"]
    return policies


def test_the_state_machine_uses_no_managed_or_template_policies() -> None:
    for policy in state_machine_policies():
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, policy


def test_the_state_machine_invokes_exactly_its_functions() -> None:
    st = stack()
    substitutions = st.props("ProcessAssetStateMachine")["DefinitionSubstitutions"]
    functions = {v["Fn::GetAtt"][0] for v in substitutions.values() if "Fn::GetAtt" in v}
    (invoke,) = [
        s
        for p in state_machine_policies()
        for s in p["Statement"]
        if "lambda:InvokeFunction" in _listed(s["Action"])
    ]
    assert _listed(invoke["Action"]) == ["lambda:InvokeFunction"]
    assert sorted(_listed(invoke["Resource"]), key=str) == sorted(
        ({"Fn::GetAtt": [f, "Arn"]} for f in functions), key=str
    )


def test_the_state_machine_may_only_deliver_its_logs() -> None:
    logs = [
        s
        for p in state_machine_policies()
        for s in p["Statement"]
        if any(str(a).startswith("logs:") for a in _listed(s["Action"]))
    ]
    assert len(logs) == 1
    assert set(_listed(logs[0]["Action"])) == LOG_DELIVERY_ACTIONS
    # The log-delivery API has no resource-level permissions.
    assert logs[0]["Resource"] == "*"
    every_action = {a for p in state_machine_policies() for s in p["Statement"] for a in _listed(s["Action"])}
    assert every_action == LOG_DELIVERY_ACTIONS | {"lambda:InvokeFunction"}


# ---------------------------------------------------------------- KMS: granted only with a key
def test_kms_use_is_granted_only_when_a_key_is_given() -> None:
    template = stack().template
    policy = template["Resources"]["KmsKeyUsePolicy"]
    assert policy["Condition"] == "UseKms"
    assert "KmsKeyUsePolicy" not in stack().resources
    assert "KmsKeyUsePolicy" in stack(KmsKeyArn=KMS_KEY).resources
    (stmt,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(stmt["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert stmt["Resource"] == {"Ref": "KmsKeyArn"}
    services = {str(s["Fn::Sub"]).split(".")[0] for s in stmt["Condition"]["StringEquals"]["kms:ViaService"]}
    assert services == {"s3", "dynamodb", "secretsmanager"}
    # No other statement anywhere names a KMS action.
    text = str({k: v for k, v in template["Resources"].items() if k != "KmsKeyUsePolicy"})
    assert "kms:" not in text


def test_every_function_that_holds_data_under_the_key_gets_the_kms_policy() -> None:
    st = stack()
    roles = {r["Ref"] for r in st.template["Resources"]["KmsKeyUsePolicy"]["Properties"]["Roles"]}
    for logical in st.of_type("AWS::Serverless::Function"):
        policies = str(st.props(logical).get("Policies", []))
        touches = any(name in policies for name in ("Bucket", "Table", "SigningKeySecret"))
        assert (f"{logical}Role" in roles) == touches, logical


# ---------------------------------------------------------------- MakeDownloads
def run_make_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RecordingStore, str]:
    """MakeDownloads over what PackageHls published (ffmpeg's remux replaced by files of its names), with
    a course record that allows downloads and an earlier, renamed download to prune."""
    st = stack()
    store = RecordingStore()
    services = services_for(st, "MakeDownloadsFunction", store, tmp_path)
    publish = services.settings.publish_bucket
    source = SourceRef(services.settings.ingest_bucket, "courses/c1/videos/intro.mp4", "v1", "e", 10, "0A")
    asset = parse_key(source.key)
    hls = asset.publish_prefix + layout.hls_dir(asset.asset_id) + "/"
    for rendition in ("720p", "audio/0"):
        store.objects[(publish, f"{hls}{rendition}/index.m3u8")] = b"#EXTM3U\n#EXTINF:6,\nseg-g-00000.ts\n"
        store.objects[(publish, f"{hls}{rendition}/seg-g-00000.ts")] = b"ts"
    stale = asset.publish_prefix + layout.download_file(asset.asset_id, "old.mp4")
    store.objects[(publish, stale)] = b"old"
    catalog = services.catalog
    catalog.record_uploaded("c1", asset.asset_id, asset.path, source, "exec")
    catalog.put_course("c1", {"title": "T", "downloads": True, "sections": []}, source)

    def remux(*args: Any, **kwargs: Any) -> Path:
        out: Path = next(a for a in args if isinstance(a, Path) and a.suffix in (".mp4", ".m4a"))
        out.write_bytes(b"mp4")
        return out

    monkeypatch.setattr(downloads_usecase, "timeline_start", lambda video, audio: 11.4)
    monkeypatch.setattr(downloads_usecase, "remux_video", remux)
    monkeypatch.setattr(downloads_usecase, "remux_audio", remux)
    details: dict[str, Any] = {
        "hls": {
            "master": hls + "master.m3u8",
            "durationS": 6.0,
            "renditions": [
                {"width": 1280, "height": 720, "averageBandwidth": 1, "playlist": f"{hls}720p/index.m3u8"}
            ],
            "audioTracks": [{"default": True, "playlist": f"{hls}audio/0/index.m3u8"}],
        }
    }
    info = AssetInfo("c1", asset.asset_id, asset.path, asset.name, "video", 10)
    package = Outputs([hls + "master.m3u8"], cast("Details", details))
    made = downloads_usecase.make_downloads(source, info, package, services)
    assert len(made.outputs) == 2 and (publish, stale) not in store.objects
    return store, publish


def test_every_request_of_make_downloads_is_granted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, _ = run_make_downloads(tmp_path, monkeypatch)
    stmts = statements(stack(), "MakeDownloadsFunction")
    assert {r.action for r in store.requests} == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    }
    for request in store.requests:
        assert allowed(stmts, request), f"MakeDownloads needs {request} but its policy does not grant it"


def test_every_request_of_apply_downloads_is_granted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ApplyDownloads (a course.yaml changed downloads after the video was published), in the same
    function: the files made from the published HLS, then removed when the course turns them off."""
    store, publish = run_make_downloads(tmp_path, monkeypatch)
    st = stack()
    services = services_for(st, "MakeDownloadsFunction", store, tmp_path)
    source = SourceRef(services.settings.ingest_bucket, "courses/c1/videos/intro.mp4", "v1", "e", 10, "0A")
    asset = parse_key(source.key)
    hls = asset.publish_prefix + layout.hls_dir(asset.asset_id) + "/"
    details: dict[str, Any] = {
        "hls": {
            "durationS": 6.0,
            "renditions": [{"width": 1280, "height": 720, "playlist": f"{hls}720p/index.m3u8"}],
            "audioTracks": [{"default": True, "playlist": f"{hls}audio/0/index.m3u8"}],
        }
    }
    catalog = services.catalog
    catalog.record_uploaded("c1", asset.asset_id, asset.path, source, "exec")
    catalog.record_published("c1", asset.asset_id, source, "video", [hls + "master.m3u8"], details)
    store.requests.clear()
    for allowed_now, change in ((False, "removed"), (True, "made")):
        manifest = SourceRef(services.settings.ingest_bucket, "courses/c1/course.yaml", "m", "e", 1, "0B")
        catalog.put_course("c1", {"title": "T", "downloads": allowed_now, "sections": []}, manifest)
        assert downloads_usecase.apply_downloads(source, services).change == change
    stmts = statements(st, "MakeDownloadsFunction")
    assert {r.action for r in store.requests} == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    }
    for request in store.requests:
        assert allowed(stmts, request), f"ApplyDownloads needs {request} but its policy does not grant it"
    assert [k for b, k in store.objects if b == publish and "/downloads/" in k] == [
        asset.publish_prefix + layout.download_file(asset.asset_id, "intro.mp4"),
        asset.publish_prefix + layout.download_file(asset.asset_id, "intro.m4a"),
    ]


def test_make_downloads_reads_the_published_stream_and_writes_only_downloads() -> None:
    st = stack()
    stmts = statements(st, "MakeDownloadsFunction")
    publish = f"arn:aws:s3:::{st.physical_name('PublishBucket')}"
    ingest = f"arn:aws:s3:::{st.physical_name('IngestBucket')}"
    downloads = "courses/c1/media/intro-1a2b3c4d/downloads/intro.mp4"
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert allowed(stmts, Request(action, f"{publish}/{downloads}"))
        for key in (
            "courses/c1/media/intro-1a2b3c4d/hls/master.m3u8",
            "courses/c1/media/intro-1a2b3c4d/thumbs/poster-640.jpg",
            "courses/c1/lessons/intro-1a2b3c4d.html",
            "courses/c1/index.html",
            "courses/c1/assets/player.js",
            "courses/c1/images/downloads/x.webp",
            "work/c1/intro-1a2b3c4d/g/hls/720p/x.ts",
        ):
            assert not allowed(stmts, Request(action, f"{publish}/{key}")), (action, key)
    assert allowed(stmts, Request("s3:GetObject", f"{publish}/courses/c1/media/a-1/hls/720p/seg-g-00000.ts"))
    assert not allowed(stmts, Request("s3:GetObject", f"{publish}/courses/c1/lessons/a.html"))
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"):
        assert not allowed(stmts, Request(action, f"{ingest}/courses/c1/videos/intro.mp4")), action
    assert allowed(stmts, Request("s3:ListBucket", publish, "courses/c1/media/intro-1a2b3c4d/downloads/"))
    for prefix in ("", "courses/", "courses/c1/media/intro-1a2b3c4d/hls/", "work/"):
        assert not allowed(stmts, Request("s3:ListBucket", publish, prefix)), prefix
    dynamo = [s for s in stmts if any(str(a).startswith("dynamodb:") for a in _listed(s["Action"]))]
    assert [_listed(s["Action"]) for s in dynamo] == [
        ["dynamodb:Query"],
        ["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"],  # ApplyDownloads' one transaction
    ]
    assert dynamo[1]["Resource"] == dynamo[0]["Resource"] and ":table/" in str(dynamo[0]["Resource"])
    # Writes only in course partitions (COURSE#{id}: the course record and its assets), never enrolments.
    assert dynamo[1]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["COURSE#*"]}}
