from __future__ import annotations

import json

from pipeline.usecases.record import _merge_results, explain_error


def test_lambda_error_cause_becomes_the_author_message() -> None:
    cause = json.dumps(
        {
            "errorType": "InvalidMediaError",
            "errorMessage": "clip.mp4 is truncated",
            "stackTrace": ["  File x"],
        }
    )
    assert explain_error({"Error": "InvalidMediaError", "Cause": cause}) == (
        "InvalidMediaError",
        "clip.mp4 is truncated",
    )


def test_non_lambda_errors_keep_their_cause_text() -> None:
    assert explain_error({"Error": "States.Runtime", "Cause": "bad path"}) == ("States.Runtime", "bad path")
    name, message = explain_error({"Error": "States.Timeout", "Cause": ""})
    assert name == "States.Timeout" and "longer than allowed" in message
    assert explain_error(None)[0] == "States.Runtime"


def test_parallel_results_are_merged() -> None:
    outputs, details = _merge_results(
        [
            {"outputs": ["a/master.m3u8"], "details": {"hls": {"segments": 2}}},
            {"outputs": ["a/poster-1280.jpg"], "details": {"posters": ["a/poster-1280.jpg"]}},
        ]
    )
    assert outputs == ["a/master.m3u8", "a/poster-1280.jpg"]
    assert set(details) == {"hls", "posters"}
