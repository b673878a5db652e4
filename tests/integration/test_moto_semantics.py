"""Smoke test of the moto Step Functions interpreter semantics coursepipe relies on.

moto is pinned (pyproject.toml); these tests pin the behaviour we verified so that an upgrade cannot
silently change it. They use small ASL definitions of their own and the tiny handlers in
``moto_fixture_handlers``, run in-process through ``InProcessLambdas`` exactly as the local runtime does.

The ``test_known_gap_*`` tests document moto bugs we work around (docs ARCHITECTURE.md section 7): each
asserts the *wrong* behaviour, so when moto fixes one the test fails and tells us to drop the workaround.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import TYPE_CHECKING, Any

import boto3
import moto_fixture_handlers as handlers
import pytest
from moto import mock_aws

from pipeline.local.lambdas import FunctionSpec, InProcessLambdas
from pipeline.local.moto_stack import MOTO_CONFIG

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/moto-semantics"
FUNCTIONS = ("echo", "flaky", "broken_media", "slow_double", "gate")
DEADLINE_S = 20.0
LAMBDA_RETRY = {
    "ErrorEquals": ["Lambda.ServiceException"],
    "IntervalSeconds": 1,
    "MaxAttempts": 2,
}


class Harness:
    """moto with our in-process Lambdas: create a state machine, run it, read its history."""

    def __init__(self, lambdas: InProcessLambdas) -> None:
        self.lambdas = lambdas
        self.sfn: Any = boto3.client("stepfunctions", region_name=REGION)
        self.arns: dict[str, str] = {}

    def create_functions(self) -> None:
        lam = boto3.client("lambda", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="moto-semantics-fn", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("README.txt", "handlers run in-process")
        for name in FUNCTIONS:
            handler = f"moto_fixture_handlers.{name}"
            arn = lam.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role,
                Handler=handler,
                Code={"ZipFile": code.getvalue()},
                Timeout=30,
                MemorySize=128,
            )["FunctionArn"]
            self.arns[name] = arn
            self.lambdas.register(FunctionSpec(name, arn, handler, 128, 30))

    def state_machine(self, definition: dict[str, Any]) -> str:
        arn: str = self.sfn.create_state_machine(
            name=f"sm-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition), roleArn=ROLE_ARN
        )["stateMachineArn"]
        return arn

    def start(self, sm_arn: str, payload: Any, name: str | None = "run-1") -> str:
        kwargs: dict[str, Any] = {"stateMachineArn": sm_arn, "input": json.dumps(payload)}
        if name is not None:
            kwargs["name"] = name
        arn: str = self.sfn.start_execution(**kwargs)["executionArn"]
        return arn

    def wait(self, execution_arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            desc: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] != "RUNNING":
                return desc
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {DEADLINE_S} s")
            time.sleep(0.02)

    def run(
        self, definition: dict[str, Any], payload: Any, name: str = "run-1"
    ) -> tuple[str, dict[str, Any]]:
        execution_arn = self.start(self.state_machine(definition), payload, name)
        return execution_arn, self.wait(execution_arn)

    def succeeded(self, definition: dict[str, Any], payload: Any) -> Any:
        execution_arn, desc = self.run(definition, payload)
        assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
        return json.loads(desc["output"])

    def history(self, execution_arn: str, page_size: int = 1000) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": page_size}
        while True:
            resp = self.sfn.get_execution_history(**kwargs)
            events.extend(resp["events"])
            if not resp.get("nextToken"):
                return events
            kwargs["nextToken"] = resp["nextToken"]


@pytest.fixture(scope="module")
def moto_world() -> Iterator[Harness]:
    """One moto world per module (function and role creation is the slow part); every test makes its
    own uniquely named state machines, so tests do not see each other's executions."""
    lambdas = InProcessLambdas(concurrency=8)
    with pytest.MonkeyPatch.context() as mp, mock_aws(config=MOTO_CONFIG):
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        lambdas.install()
        try:
            harness = Harness(lambdas)
            harness.create_functions()
            yield harness
        finally:
            handlers.gate_open.set()  # never leave an interpreter thread blocked in a handler
            lambdas.uninstall()


@pytest.fixture
def moto(moto_world: Harness) -> Iterator[Harness]:
    handlers.reset()
    moto_world.lambdas.invocations.clear()
    yield moto_world
    handlers.gate_open.set()


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Retry": [LAMBDA_RETRY], **fields}


def pass_state(result: Any) -> dict[str, Any]:
    return {"Type": "Pass", "Result": result, "End": True}


# ------------------------------------------------------------ case a
def test_task_result_lands_at_result_path(moto: Harness) -> None:
    definition = {
        "StartAt": "CallEcho",
        "States": {
            "CallEcho": task(
                moto.arns["echo"],
                Parameters={"key.$": "$.source.key", "execution.$": "$$.Execution.Name"},
                ResultPath="$.echoed",
                End=True,
            ),
        },
    }
    output = moto.succeeded(definition, {"source": {"key": "courses/c1/a.mp4"}, "keep": 1})
    assert output == {
        "source": {"key": "courses/c1/a.mp4"},
        "keep": 1,
        "echoed": {"got": {"key": "courses/c1/a.mp4", "execution": "run-1"}, "function": "echo"},
    }
    assert handlers.calls == {"echo": 1}
    assert moto.lambdas.invocations[0][0] == "echo" and moto.lambdas.invocations[0][2] is False


# ------------------------------------------------------------ case b
def test_retry_on_custom_error_until_success(moto: Harness) -> None:
    # IntervalSeconds 0 is rejected by moto's parser (1..99999999, as AWS documents), so 1 s, no backoff.
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": moto.arns["flaky"],
                "ResultPath": "$.result",
                "Retry": [
                    {
                        "ErrorEquals": ["FlakyError"],
                        "IntervalSeconds": 1,
                        "BackoffRate": 1.0,
                        "MaxAttempts": 3,
                    }
                ],
                "End": True,
            },
        },
    }
    execution_arn, desc = moto.run(definition, {"a": 1})
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    assert json.loads(desc["output"]) == {"a": 1, "result": {"attempt": 3}}
    assert handlers.calls["flaky"] == 3
    assert [failed for _, _, failed in moto.lambdas.invocations] == [True, True, False]

    events = moto.history(execution_arn)
    types = [e["type"] for e in events]
    assert types.count("TaskStateEntered") == 1  # one state visit, three attempts inside it
    assert types.count("LambdaFunctionScheduled") == 3
    failures = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert [f["error"] for f in failures] == ["FlakyError", "FlakyError"]
    assert [json.loads(f["cause"])["errorMessage"] for f in failures] == [
        "transient failure on attempt 1",
        "transient failure on attempt 2",
    ]
    assert types.count("LambdaFunctionSucceeded") == 1


def test_retry_gives_up_after_max_attempts(moto: Harness) -> None:
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": moto.arns["flaky"],
                "Retry": [{"ErrorEquals": ["FlakyError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "End": True,
            },
        },
    }
    _, desc = moto.run(definition, {})
    assert desc["status"] == "FAILED"
    assert desc["error"] == "FlakyError"
    assert json.loads(desc["cause"])["errorMessage"] == "transient failure on attempt 2"
    assert handlers.calls["flaky"] == 2


# ------------------------------------------------------------ case c
def test_catch_exposes_error_name_and_json_cause(moto: Harness) -> None:
    definition = {
        "StartAt": "Probe",
        "States": {
            "Probe": task(
                moto.arns["broken_media"],
                ResultPath="$.probe",
                Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                Next="NotReached",
            ),
            "NotReached": {"Type": "Pass", "Result": "wrong branch", "ResultPath": "$.branch", "End": True},
            "Caught": {"Type": "Pass", "Result": "caught", "ResultPath": "$.branch", "End": True},
        },
    }
    output = moto.succeeded(definition, {"source": {"key": "courses/c1/lecture.mp4"}})
    assert output["branch"] == "caught"
    assert output["source"] == {"key": "courses/c1/lecture.mp4"}  # the rest of the state survives
    assert "probe" not in output
    assert output["error"]["Error"] == "InvalidMediaError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "InvalidMediaError"
    assert cause["errorMessage"] == "lecture.mp4 is truncated: re-export it and upload again"
    assert isinstance(cause["stackTrace"], list)
    # The Lambda.ServiceException retry must not fire for a handler error.
    assert handlers.calls["broken_media"] == 1


def test_catch_matches_specific_error_before_states_all(moto: Harness) -> None:
    definition = {
        "StartAt": "Probe",
        "States": {
            "Probe": task(
                moto.arns["broken_media"],
                Catch=[
                    {"ErrorEquals": ["FlakyError"], "ResultPath": "$.error", "Next": "Other"},
                    {"ErrorEquals": ["InvalidMediaError"], "ResultPath": "$.error", "Next": "Invalid"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Other"},
                ],
                End=True,
            ),
            "Invalid": {"Type": "Pass", "Result": "invalid", "ResultPath": "$.branch", "End": True},
            "Other": {"Type": "Pass", "Result": "other", "ResultPath": "$.branch", "End": True},
        },
    }
    assert moto.succeeded(definition, {})["branch"] == "invalid"


# ------------------------------------------------------------ case d
def test_fail_state_error_path_and_cause_path(moto: Harness) -> None:
    definition = {
        "StartAt": "Failed",
        "States": {
            "Failed": {"Type": "Fail", "ErrorPath": "$.failure.error", "CausePath": "$.failure.message"},
        },
    }
    failure = {"error": "InvalidMediaError", "message": "lecture.mp4 is truncated"}
    execution_arn, desc = moto.run(definition, {"failure": failure})
    assert desc["status"] == "FAILED"
    assert (desc["error"], desc["cause"]) == ("InvalidMediaError", "lecture.mp4 is truncated")
    last = moto.history(execution_arn)[-1]
    assert last["type"] == "ExecutionFailed"
    assert last["executionFailedEventDetails"] == {
        "error": "InvalidMediaError",
        "cause": "lecture.mp4 is truncated",
    }


# ------------------------------------------------------------ case e
def test_map_with_max_concurrency_keeps_item_order(moto: Harness) -> None:
    definition = {
        "StartAt": "DoubleAll",
        "States": {
            "DoubleAll": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {"Double": task(moto.arns["slow_double"], End=True)},
                },
                "ResultPath": "$.doubled",
                "End": True,
            },
        },
    }
    items = [{"n": n} for n in range(1, 6)]
    output = moto.succeeded(definition, {"items": items})
    assert output["doubled"] == [{"n": n, "doubled": 2 * n} for n in range(1, 6)]
    assert output["items"] == items
    assert handlers.calls["slow_double"] == 5
    assert handlers.peak_in_flight == 2  # items really ran concurrently, and no more than MaxConcurrency
    assert handlers.completion_order != [1, 2, 3, 4, 5]  # ... so order is the interpreter's doing


# ------------------------------------------------------------ case f
def test_parallel_returns_branch_outputs_in_order(moto: Harness) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Echo", "States": {"Echo": task(moto.arns["echo"], End=True)}},
                    {"StartAt": "Const", "States": {"Const": pass_state({"b": 2})}},
                ],
                "ResultPath": "$.result",
                "End": True,
            },
        },
    }
    output = moto.succeeded(definition, {"x": 1})
    assert output == {"x": 1, "result": [{"got": {"x": 1}, "function": "echo"}, {"b": 2}]}


def test_parallel_result_selector_with_index(moto: Harness) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": pass_state({"hls": "a.m3u8"})}},
                    {"StartAt": "B", "States": {"B": pass_state({"poster": "p.jpg"})}},
                ],
                "ResultSelector": {"encode.$": "$[0]", "poster.$": "$[1]"},
                "ResultPath": "$.result",
                "End": True,
            },
        },
    }
    output = moto.succeeded(definition, {})
    assert output == {"result": {"encode": {"hls": "a.m3u8"}, "poster": {"poster": "p.jpg"}}}


def test_parallel_branch_failure_fails_the_state(moto: Harness) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
                    {"StartAt": "Bad", "States": {"Bad": task(moto.arns["broken_media"], End=True)}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    output = moto.succeeded(definition, {"k": 1})
    assert output["k"] == 1
    assert output["error"]["Error"] == "InvalidMediaError"
    assert json.loads(output["error"]["Cause"])["errorType"] == "InvalidMediaError"


# ------------------------------------------------------------ case g
CHOICE = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": "$.kind", "StringEquals": "video"},
                        {"Variable": "$.kind", "StringEquals": "audio"},
                    ],
                    "Next": "Media",
                },
                {"Variable": "$.kind", "StringEquals": "image", "Next": "Image"},
            ],
            "Default": "Unknown",
        },
        "Media": {"Type": "Pass", "Result": "Media", "ResultPath": "$.branch", "End": True},
        "Image": {"Type": "Pass", "Result": "Image", "ResultPath": "$.branch", "End": True},
        "Unknown": {"Type": "Pass", "Result": "Unknown", "ResultPath": "$.branch", "End": True},
    },
}


@pytest.mark.parametrize(
    ("kind", "branch"),
    [("video", "Media"), ("audio", "Media"), ("image", "Image"), ("pdf", "Unknown"), ("Video", "Unknown")],
)
def test_choice_or_string_equals_and_default(moto: Harness, kind: str, branch: str) -> None:
    assert moto.succeeded(CHOICE, {"kind": kind}) == {"kind": kind, "branch": branch}


def test_known_gap_choice_without_match_fails_as_states_runtime(moto: Harness) -> None:
    """moto 5.2.5: a Choice with no matching rule and no Default fails the execution with
    `States.Runtime` (AWS: `States.NoChoiceMatched`). Our Route state always has a Default."""
    definition = json.loads(json.dumps(CHOICE))
    del definition["States"]["Route"]["Default"]
    _, desc = moto.run(definition, {"kind": "pdf"})
    assert desc["status"] == "FAILED"
    assert desc["error"] == "States.Runtime", "moto now reports States.NoChoiceMatched: update this test"
    assert "No branching option reached" in desc["cause"]


# ------------------------------------------------------------ case h
def test_execution_history_names_our_states(moto: Harness) -> None:
    definition = {
        "StartAt": "Classify",
        "States": {
            "Classify": task(moto.arns["echo"], ResultPath="$.asset", Next="RecordAsset"),
            "RecordAsset": task(moto.arns["echo"], ResultPath="$.recorded", Next="Published"),
            "Published": {"Type": "Succeed"},
        },
    }
    execution_arn, desc = moto.run(definition, {"source": {"key": "k"}})
    assert desc["status"] == "SUCCEEDED"
    events = moto.history(execution_arn)
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert json.loads(events[0]["executionStartedEventDetails"]["input"]) == {"source": {"key": "k"}}
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert entered == ["Classify", "RecordAsset"]
    exited = [e["stateExitedEventDetails"]["name"] for e in events if e["type"] == "TaskStateExited"]
    assert exited == ["Classify", "RecordAsset"]
    assert "SucceedStateEntered" in types
    scheduled = [
        e["lambdaFunctionScheduledEventDetails"]["resource"]
        for e in events
        if e["type"] == "LambdaFunctionScheduled"
    ]
    assert scheduled == [moto.arns["echo"], moto.arns["echo"]]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert json.loads(events[-1]["executionSucceededEventDetails"]["output"]) == json.loads(desc["output"])
    # LocalRuntime.history pages with nextToken: small pages must give the same events.
    assert moto.history(execution_arn, page_size=2) == events


# ------------------------------------------------------------ case i
def test_start_execution_is_idempotent_on_name_and_input(moto: Harness) -> None:
    definition = {"StartAt": "Hold", "States": {"Hold": task(moto.arns["gate"], End=True)}}
    sm_arn = moto.state_machine(definition)
    first = moto.start(sm_arn, {"key": "a"}, name="asset-v1")
    again = moto.start(sm_arn, {"key": "a"}, name="asset-v1")
    assert again == first
    with pytest.raises(moto.sfn.exceptions.ExecutionAlreadyExists):
        moto.start(sm_arn, {"key": "b"}, name="asset-v1")
    assert moto.sfn.describe_execution(executionArn=first)["status"] == "RUNNING"

    handlers.gate_open.set()
    desc = moto.wait(first)
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["input"]) == {"key": "a"}
    assert handlers.calls["gate"] == 1
    executions = moto.sfn.list_executions(stateMachineArn=sm_arn)["executions"]
    assert [e["executionArn"] for e in executions] == [first]

    # Once the execution has ended, even an identical request is refused (as on AWS).
    with pytest.raises(moto.sfn.exceptions.ExecutionAlreadyExists):
        moto.start(sm_arn, {"key": "a"}, name="asset-v1")


# ------------------------------------------------------------ case j
def test_known_gap_indexed_path_yields_list(moto: Harness) -> None:
    """moto 5.2.5: `$.a[0].b` evaluates to ["x"] (AWS: "x"), also inside States.Format. Our ASL avoids
    paths with an index followed by a field. If this fails, moto fixed it: drop the workaround."""
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Pass",
                "Parameters": {
                    "value.$": "$.a[0].b",
                    "formatted.$": "States.Format('id-{}', $.a[0].b)",
                    "whole.$": "$.a[0]",
                },
                "End": True,
            },
        },
    }
    output = moto.succeeded(definition, {"a": [{"b": "x"}, {"b": "y"}]})
    assert output["whole"] == {"b": "x"}  # an index alone is fine
    assert output["value"] == ["x"], "moto now returns the scalar: drop the indexed-path workaround"
    assert output["formatted"] != "id-x", "moto now formats the scalar: drop the indexed-path workaround"


def test_known_gap_unnamed_execution_arn_ends_with_none(moto: Harness) -> None:
    """moto 5.2.5: StartExecution without a name gives an ARN ending `:None`; we always pass a name."""
    sm_arn = moto.state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    execution_arn = moto.start(sm_arn, {}, name=None)
    assert execution_arn.endswith(":None"), "moto now generates execution names: the name is optional"
    assert moto.wait(execution_arn)["status"] == "SUCCEEDED"


def test_known_gap_assign_fails_at_run_time(moto: Harness) -> None:
    """moto 5.2.5 accepts `Assign` but the execution fails (stub variable engine); tests/unit/test_asl_lint
    forbids it in our ASL."""
    definition = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"x.$": "$.a"}, "Next": "Use"},
            "Use": {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": True},
        },
    }
    _, desc = moto.run(definition, {"a": 5})
    assert desc["status"] == "FAILED", "moto now runs Assign: the ASL lint may allow it"
    assert desc["error"] == "States.Runtime"


def test_known_gap_jsonata_fails_at_run_time(moto: Harness) -> None:
    """moto 5.2.5 accepts JSONata but cannot evaluate it; tests/unit/test_asl_lint forbids it."""
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Inc",
        "States": {"Inc": {"Type": "Pass", "Output": "{% $states.input.a + 1 %}", "End": True}},
    }
    _, desc = moto.run(definition, {"a": 5})
    assert desc["status"] == "FAILED", "moto now runs JSONata: the ASL lint may allow it"
    assert desc["error"] == "States.Runtime"
