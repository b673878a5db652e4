"""The step contract: the typed data each state of ``process_asset.asl.json`` receives and returns.

Step Functions passes JSON; every handler parses its event into one of these models at the edge, and
every use case returns one, so no use case reads another state's result through a string key. The
execution state (``$``) is ``ExecutionState``: each Task's ``ResultPath`` is one of its fields, and
``tests/unit/test_step_contract.py`` checks the definition against ``TASKS`` (each Task's
``Parameters`` keys are its input model's fields, each ``ResultPath`` holds its output model, each
``$.path`` a state reads exists in the model it reads it from).

JSON names are the fields' names in camelCase unless a field's metadata names another (``Error`` and
``Cause``, which Step Functions writes). Unknown keys are ignored: an execution started by the previous
definition may still be running while a deploy replaces the functions.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from pipeline.catalog.details import Details
from pipeline.catalog.model import SourceRef
from pipeline.errors import StepContractError
from pipeline.media.plan import Chunk, EncodeJob, EncodePlan
from pipeline.media.probe import ProbeResult

T = TypeVar("T")

# Types that are not models of this module: how each travels as JSON.
_CODECS: dict[type, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    SourceRef: (SourceRef.from_dict, SourceRef.to_dict),
    ProbeResult: (ProbeResult.from_dict, ProbeResult.to_dict),
    EncodeJob: (EncodeJob.from_dict, EncodeJob.to_dict),
    EncodePlan: (EncodePlan.from_dict, EncodePlan.to_dict),
    Chunk: (Chunk.from_list, Chunk.to_list),
}
_SCALARS = (str, int, float, bool)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def json_name(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("json") or _camel(f.name))


def json_keys(cls: type) -> dict[str, Any]:
    """Each JSON key of a model and the type it holds (the lint test walks ``$.paths`` with this)."""
    hints = get_type_hints(cls)
    return {json_name(f): hints[f.name] for f in dataclasses.fields(cls)}


def _optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _decode(tp: Any, value: Any, where: str) -> Any:
    tp, optional = _optional(tp)
    if value is None:
        if optional:
            return None
        raise StepContractError(f"{where} is null; the state machine must pass it")
    origin = get_origin(tp)
    try:
        if tp in _CODECS:
            return _CODECS[tp][0](value)
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return parse(tp, value, where)
        if origin is list:
            (item,) = get_args(tp)
            return [_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        if tp in _SCALARS:
            if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
                if tp is float and isinstance(value, int) and not isinstance(value, bool):
                    return float(value)
                raise StepContractError(f"{where} is {type(value).__name__}, not {tp.__name__}")
            return value
    except (KeyError, TypeError, ValueError) as exc:
        raise StepContractError(f"{where} does not fit the step contract: {exc}") from exc
    return value  # Any, dict, TypedDict: plain JSON


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return reply(value)


def parse(cls: type[T], data: Any, where: str = "event") -> T:
    """``data`` as a ``cls``; a missing or mistyped field is a ``StepContractError`` naming it."""
    custom = getattr(cls, "from_json", None)
    if custom is not None:
        return custom(data)  # type: ignore[no-any-return]
    if not isinstance(data, Mapping):
        raise StepContractError(f"{where} is {type(data).__name__}, not an object")
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = json_name(f)
        if key not in data:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            if _optional(hints[f.name])[1]:
                values[f.name] = None
                continue
            raise StepContractError(f"{where} has no '{key}'; the state machine must pass it")
        values[f.name] = _decode(hints[f.name], data[key], f"{where}.{key}")
    return cls(**values)


def to_json(model: Any) -> dict[str, Any]:
    """The JSON a model travels as; ``None`` fields are left out (Step Functions' payload is capped)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if value is not None:
            out[json_name(f)] = _encode(value)
    return out


# --- What the states produce ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetInfo:
    """Classify's result (``$.asset``): which asset the upload is and the branch it takes."""

    course_id: str
    asset_id: str
    path: str
    name: str
    kind: str
    size: int


@dataclass(frozen=True)
class Outputs:
    """What a producing task published: keys (the entry point first) and the catalog item's details."""

    outputs: list[str]
    details: Details = field(default_factory=lambda: Details())


@dataclass(frozen=True)
class ChunkDone:
    chunk: int
    first_segment: int
    segments: int


@dataclass(frozen=True)
class AudioDone:
    audio: bool
    segments: int | None = None


@dataclass(frozen=True)
class SubtitlesDone:
    """ExtractSubtitles: how many text streams it staged, and why others were left out."""

    tracks: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Transcode:
    """The ``Transcode`` Parallel state's result: its three branches' results, in branch order."""

    chunks: list[ChunkDone]
    audio: list[AudioDone]
    """One per soundtrack (the EncodeSoundtracks Map); an older definition's one EncodeAudio gave one."""
    thumbnails: Outputs
    subtitles: SubtitlesDone = field(default_factory=lambda: SubtitlesDone())
    """Absent from executions started by a definition without the ExtractSubtitles branch."""

    @classmethod
    def from_json(cls, data: Any) -> Transcode:
        if not isinstance(data, list) or len(data) not in (3, 4):
            raise StepContractError(
                "transcode is not the results of EncodeVideo, EncodeSoundtracks, MakeThumbnails, "
                "ExtractSubtitles"
            )
        chunks, audio, thumbnails, *rest = data
        return cls(
            chunks=_decode(list[ChunkDone], chunks, "transcode[0]"),
            audio=(
                [parse(AudioDone, audio, "transcode[1]")]
                if isinstance(audio, dict)
                else _decode(list[AudioDone], audio, "transcode[1]")
            ),
            thumbnails=parse(Outputs, thumbnails, "transcode[2]"),
            subtitles=parse(SubtitlesDone, rest[0], "transcode[3]") if rest else SubtitlesDone(),
        )

    def to_json(self) -> list[Any]:
        return [
            [to_json(c) for c in self.chunks],
            [to_json(a) for a in self.audio],
            to_json(self.thumbnails),
            to_json(self.subtitles),
        ]


@dataclass(frozen=True)
class CaughtError:
    """What a ``Catch`` (or the ``RejectUnknownKind`` Pass state) leaves in ``$.error``."""

    error: str = field(metadata={"json": "Error"})
    cause: str | None = field(default=None, metadata={"json": "Cause"})


@dataclass(frozen=True)
class Deletion:
    """How S3 reported a deletion (``Delete Marker Created`` or ``Permanently Deleted``)."""

    type: str

    @property
    def permanent(self) -> bool:
        return self.type.lower().startswith("permanently")


@dataclass(frozen=True)
class Recorded:
    status: str
    asset_id: str
    outputs: int
    removed: int | None = None


@dataclass(frozen=True)
class FailureRecorded:
    error: str
    message: str
    recorded: bool
    discarded: int


@dataclass(frozen=True)
class Unpublished:
    status: str
    asset_id: str | None = None
    kind: str | None = None
    removed: int | None = None
    pages_refreshed: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CourseBuilt(Outputs):
    """BuildCourse's result (``$.course``): its outputs, and the videos published before this course.yaml
    whose downloads it turns on or off (their exact versions), the ``ApplyDownloadsSetting`` Map's items."""

    downloads_to_apply: list[SourceRef] = field(default_factory=list)


@dataclass(frozen=True)
class DownloadsApplied:
    """One iteration of ``ApplyDownloadsSetting``: what ApplyDownloads did to the downloads of the video
    at ``key`` (``change``: made, removed, unchanged or superseded), or, from its Catch, ``failed`` with
    the error's name."""

    key: str
    change: str
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def notes(self) -> list[str]:
        """What the manifest's catalog item says about it (a failure's cause is in the history)."""
        if self.change != "failed":
            return list(self.warnings)
        name = self.key.split("/", 2)[-1]
        return [
            *self.warnings,
            f"{name}: its downloads were not updated ({self.error or 'error'}); upload course.yaml again "
            "to retry",
        ]


@dataclass(frozen=True)
class ExecutionState:
    """``$``: the execution input (``source``, and ``deletion`` for a deletion) plus each state's result.

    Field names are the ``ResultPath`` each state writes. RecordAsset merges ``package``, ``downloads``,
    ``result``, ``course`` and ``transcode`` (in that order: the entry point, master playlist or page, is
    the first output); ``downloadsApplied`` adds only warnings (those files are the videos' own)."""

    source: SourceRef
    deletion: Deletion | None = None
    asset: AssetInfo | None = None
    probe: ProbeResult | None = None
    plan: EncodePlan | None = None
    transcode: Transcode | None = None
    package: Outputs | None = None
    downloads: Outputs | None = None
    """MakeDownloads' MP4 and M4A; absent from executions started by a definition without that state."""
    result: Outputs | None = None
    course: CourseBuilt | None = None
    """BuildCourse's; executions started by a definition before ``ApplyDownloadsSetting`` have it in
    ``result``."""
    downloads_applied: list[DownloadsApplied] | None = None
    error: CaughtError | None = None
    recorded: Recorded | None = None
    failure: FailureRecorded | None = None
    unpublished: Unpublished | None = None

    def produced(self) -> list[Outputs]:
        """Every producing task's result, entry point first."""
        thumbnails = self.transcode.thumbnails if self.transcode else None
        parts = [self.package, self.downloads, self.result, self.course, thumbnails]
        notes = [note for applied in self.downloads_applied or [] for note in applied.notes()]
        if notes:
            parts.append(Outputs([], Details(warnings=notes)))
        return [p for p in parts if p is not None]


# --- What the Tasks receive (their ``Parameters``) -----------------------------------------------------


@dataclass(frozen=True)
class ClassifyInput:
    source: SourceRef
    execution_arn: str | None = None


@dataclass(frozen=True)
class AssetInput:
    """ProbeMedia, MakeImageVariants, RenderLesson, BuildCourse: the source and what Classify found."""

    source: SourceRef
    asset: AssetInfo


@dataclass(frozen=True)
class PlanInput:
    source: SourceRef
    asset: AssetInfo
    probe: ProbeResult


@dataclass(frozen=True)
class ChunkInput:
    """One iteration of the ``EncodeVideo`` Map (its ``ItemSelector`` builds it)."""

    source: SourceRef
    asset: AssetInfo
    job: EncodeJob
    chunk: Chunk


@dataclass(frozen=True)
class AudioInput:
    source: SourceRef
    asset: AssetInfo
    job: EncodeJob
    track: int | None = None
    """The soundtrack's position in ``job.audio_tracks`` (``$$.Map.Item.Index``); absent from executions
    of the definition whose one EncodeAudio encoded every track."""


@dataclass(frozen=True)
class ThumbnailsInput:
    source: SourceRef
    asset: AssetInfo
    probe: ProbeResult
    job: EncodeJob


@dataclass(frozen=True)
class PackageInput:
    source: SourceRef
    asset: AssetInfo
    probe: ProbeResult
    plan: EncodePlan


@dataclass(frozen=True)
class DownloadsInput:
    """MakeDownloads: what PackageHls published (its renditions' playlists are in ``package.details``)."""

    source: SourceRef
    asset: AssetInfo
    package: Outputs


@dataclass(frozen=True)
class ApplyDownloadsInput:
    """ApplyDownloads (MakeDownloads' function, in the manifest's execution): one video published
    earlier, the exact version BuildCourse listed; its renditions' playlists are in its catalog item."""

    video: SourceRef


@dataclass(frozen=True)
class RecordInput:
    """RecordAsset and RecordFailure: the whole state and the execution (the catalog item names it)."""

    state: ExecutionState
    execution_arn: str | None = None


@dataclass(frozen=True)
class UnpublishInput:
    source: SourceRef
    deletion: Deletion
    execution_arn: str | None = None


@dataclass(frozen=True)
class Task:
    """One Task state: the model of its ``Parameters`` and of its result, and the handler that runs it."""

    input: type
    output: type
    handler: str


TASKS: dict[str, Task] = {
    "UnpublishAsset": Task(UnpublishInput, Unpublished, "pipeline.handlers.unpublish_asset.handler"),
    "Classify": Task(ClassifyInput, AssetInfo, "pipeline.handlers.classify.handler"),
    "ProbeMedia": Task(AssetInput, ProbeResult, "pipeline.handlers.probe_media.handler"),
    "PlanEncode": Task(PlanInput, EncodePlan, "pipeline.handlers.plan_encode.handler"),
    "EncodeChunk": Task(ChunkInput, ChunkDone, "pipeline.handlers.encode_chunk.handler"),
    "EncodeAudio": Task(AudioInput, AudioDone, "pipeline.handlers.encode_audio.handler"),
    "MakeThumbnails": Task(ThumbnailsInput, Outputs, "pipeline.handlers.make_thumbnails.handler"),
    "ExtractSubtitles": Task(ThumbnailsInput, SubtitlesDone, "pipeline.handlers.extract_subtitles.handler"),
    "PackageHls": Task(PackageInput, Outputs, "pipeline.handlers.package_hls.handler"),
    "MakeDownloads": Task(DownloadsInput, Outputs, "pipeline.handlers.make_downloads.handler"),
    "ApplyDownloads": Task(ApplyDownloadsInput, DownloadsApplied, "pipeline.handlers.make_downloads.handler"),
    "MakeImageVariants": Task(AssetInput, Outputs, "pipeline.handlers.image_variants.handler"),
    "RenderLesson": Task(AssetInput, Outputs, "pipeline.handlers.render_lesson.handler"),
    "RenderCaptions": Task(AssetInput, Outputs, "pipeline.handlers.render_captions.handler"),
    "PublishAttachment": Task(AssetInput, Outputs, "pipeline.handlers.publish_attachment.handler"),
    "BuildCourse": Task(AssetInput, CourseBuilt, "pipeline.handlers.build_course.handler"),
    "RecordAsset": Task(RecordInput, Recorded, "pipeline.handlers.record_asset.handler"),
    "RecordFailure": Task(RecordInput, FailureRecorded, "pipeline.handlers.record_failure.handler"),
}
"""Every Task state of the definition, by state name."""


def reply(model: Any) -> Any:
    """A model as the JSON a handler returns (or a model's field holds)."""
    custom = getattr(model, "to_json", None)
    if custom is not None and not isinstance(model, type):
        return custom()
    codec = _CODECS.get(type(model))
    if codec is not None:
        return codec[1](model)
    if dataclasses.is_dataclass(model) and not isinstance(model, type):
        return to_json(model)
    return model
