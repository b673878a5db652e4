"""Domain errors.

The class name of each error is what operators read as the ``Error`` field of a failed state in the
Step Functions console and what authors read in the catalog, so names are stable API: never rename one.
Messages are addressed to the course author and say what to fix.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose (a bad upload, not a bug)."""


class UnsafeKeyError(PipelineError):
    """The object key cannot be mapped to a course asset safely (bad course id, ``..``, too long...)."""


class UnsupportedMediaError(PipelineError):
    """The file is of a kind the pipeline does not process (or a playlist that references URLs)."""


class InvalidMediaError(PipelineError):
    """The file claims to be media or an image but cannot be decoded (empty, truncated, corrupt)."""


class MediaTooLargeError(PipelineError):
    """The file is over a configured limit (bytes, duration, resolution, pixels)."""


class LessonError(PipelineError):
    """A Markdown lesson cannot be rendered (not UTF-8, too large, bad front matter)."""


class LessonRenderError(LessonError):
    """Rendering a lesson failed in a way no check anticipated (a renderer bug or a library's limit): the
    lesson fails alone, its course and siblings are published, and operators find it by this name."""


class ManifestError(PipelineError):
    """``course.yaml`` is not a valid course manifest."""


class SourceNotFoundError(PipelineError):
    """The uploaded object (or the version the event named) is gone: it was deleted or overwritten."""


class MalformedEventError(PipelineError):
    """A queue message is not an S3 Object Created event (it goes to the DLQ for inspection)."""


class StepContractError(Exception):
    """A state received data that does not fit ``pipeline.steps`` (a definition and functions from two
    different deploys, or a hand-started execution with a wrong input). A bug or an operator's mistake,
    never the author's: hence not a ``PipelineError``."""


class CaptionError(PipelineError):
    """A caption or subtitle file (SRT, WebVTT) cannot be read: the message names the line to fix."""
