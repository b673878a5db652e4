from __future__ import annotations

import json

from pipeline.steps import CaughtError, ExecutionState, parse
from pipeline.usecases.record import explain_error, published_outputs

SOURCE = {"bucket": "ingest", "key": "courses/c/media/a.mp4", "versionId": "v1"}


def _merge_results(state: dict[str, object]) -> tuple[list[str], dict[str, object]]:
    outputs, details = published_outputs(parse(ExecutionState, {"source": SOURCE, **state}))
    return outputs, dict(details)


def _error(data: dict[str, str]) -> CaughtError:
    return parse(CaughtError, data)


def test_lambda_error_cause_becomes_the_author_message() -> None:
    cause = json.dumps(
        {
            "errorType": "InvalidMediaError",
            "errorMessage": "clip.mp4 is truncated",
            "stackTrace": ["  File x"],
        }
    )
    assert explain_error(_error({"Error": "InvalidMediaError", "Cause": cause})) == (
        "InvalidMediaError",
        "clip.mp4 is truncated",
    )


def test_non_lambda_errors_keep_their_cause_text() -> None:
    assert explain_error(_error({"Error": "States.Runtime", "Cause": "bad path"})) == (
        "States.Runtime",
        "bad path",
    )
    name, message = explain_error(_error({"Error": "States.Timeout", "Cause": ""}))
    assert name == "States.Timeout" and "longer than allowed" in message
    assert explain_error(None)[0] == "States.Runtime"


def test_parallel_results_are_merged() -> None:
    # The video branch: a Parallel (Map of chunk summaries, audio, thumbnails) then the packager.
    outputs, details = _merge_results(
        {
            "transcode": [
                [
                    {"chunk": 0, "firstSegment": 0, "segments": 20},
                    {"chunk": 1, "firstSegment": 20, "segments": 3},
                ],
                {"audio": True, "segments": 23},
                {
                    "outputs": ["a/thumbs/poster-1280.jpg"],
                    "details": {"posters": ["a/thumbs/poster-1280.jpg"]},
                },
            ],
            "package": {"outputs": ["a/hls/master.m3u8"], "details": {"hls": {"segments": 46}}},
        }
    )
    assert outputs == ["a/hls/master.m3u8", "a/thumbs/poster-1280.jpg"]  # the entry point first
    assert set(details) == {"hls", "posters"}


def test_single_task_result_is_recorded() -> None:
    outputs, details = _merge_results({"result": {"outputs": ["a/lessons/x.html"], "details": {"toc": []}}})
    assert outputs == ["a/lessons/x.html"] and details == {"toc": []}
