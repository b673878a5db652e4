"""Lint the ProcessAsset state machine as deployed: the ASL file with template.yaml's substitutions applied.

cfn-lint does not look behind ``DefinitionUri`` and moto only fails at run time, on the path an execution
happens to take; these checks cover every state of every scope (Parallel branches, Map item processors).
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.local.template import Stack

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
STATE_MACHINE = "ProcessAssetStateMachine"
FAILURE_HANDLER = "RecordFailure"
# A deletion that cannot be completed fails its own execution (after retries): there is no upload whose
# catalog item should turn FAILED, and operators see the error on the execution.
UNCAUGHT_BY_DESIGN = {"UnpublishAsset"}
LAMBDA_SERVICE_EXCEPTION = "Lambda.ServiceException"
NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
MAX_NAME = 40
TERMINAL_TYPES = {"Choice", "Fail", "Succeed"}


@dataclass(frozen=True)
class Scope:
    """One ``{"StartAt", "States"}`` block: the top level, a Parallel branch or a Map item processor."""

    where: str
    body: dict[str, Any]
    in_parallel: bool
    in_map: bool = False

    @property
    def states(self) -> dict[str, dict[str, Any]]:
        states: dict[str, dict[str, Any]] = self.body["States"]
        return states


def _scopes(body: dict[str, Any], where: str, in_parallel: bool, in_map: bool = False) -> Iterator[Scope]:
    yield Scope(where, body, in_parallel, in_map)
    for name, state in body["States"].items():
        if state.get("Type") == "Parallel":
            for i, branch in enumerate(state["Branches"]):
                yield from _scopes(branch, f"{where}/{name}[{i}]", True, in_map)
        elif state.get("Type") == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            yield from _scopes(processor, f"{where}/{name}", in_parallel, True)


def _transitions(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, target) for every transition a state can take."""
    out: list[tuple[str, str]] = []
    if "Next" in state:
        out.append(("Next", state["Next"]))
    if "Default" in state:
        out.append(("Default", state["Default"]))
    for i, rule in enumerate(state.get("Choices", [])):
        out.append((f"Choices[{i}].Next", rule["Next"]))
    for i, catcher in enumerate(state.get("Catch", [])):
        out.append((f"Catch[{i}].Next", catcher["Next"]))
    return out


def _walk_values(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}.{k}", k
            yield from _walk_values(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_values(v, f"{path}[{i}]")
    else:
        yield path, value


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack.from_file(TEMPLATE)


@pytest.fixture(scope="module")
def asl_text(stack: Stack) -> str:
    return stack.state_machine_definition(STATE_MACHINE)


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(asl_text)
    return definition


@pytest.fixture(scope="module")
def scopes(asl: dict[str, Any]) -> list[Scope]:
    return list(_scopes(asl, "", False))


@pytest.fixture(scope="module")
def tasks(scopes: list[Scope]) -> list[tuple[Scope, str, dict[str, Any]]]:
    return [(s, n, st) for s in scopes for n, st in s.states.items() if st.get("Type") == "Task"]


# ------------------------------------------------------------ files
def test_asl_file_is_valid_json(stack: Stack) -> None:
    uri = stack.props(STATE_MACHINE)["DefinitionUri"]
    raw = json.loads((ROOT / uri).read_text(encoding="utf-8"))
    assert set(raw) >= {"StartAt", "States"}


def test_the_walk_sees_every_nested_scope(asl_text: str, scopes: list[Scope]) -> None:
    # Guards the lint itself: if the walk missed a Parallel branch or a Map processor, the checks below
    # would prove nothing. Count scopes independently: every "StartAt" in the document opens one.
    assert len(scopes) == asl_text.count('"StartAt"')
    assert any(s.in_parallel for s in scopes)  # the HLS encode + poster branches


def test_no_unsubstituted_placeholders(asl_text: str) -> None:
    assert re.findall(r"\$\{[^}]*\}", asl_text) == []


# ------------------------------------------------------------ graph
def test_start_at_exists_in_every_scope(scopes: list[Scope]) -> None:
    missing = [
        (s.where or "/", s.body.get("StartAt")) for s in scopes if s.body.get("StartAt") not in s.states
    ]
    assert missing == []


def test_every_transition_names_a_state_in_the_same_scope(scopes: list[Scope]) -> None:
    dangling = [
        (f"{s.where}/{name}", label, target)
        for s in scopes
        for name, state in s.states.items()
        for label, target in _transitions(state)
        if target not in s.states
    ]
    assert dangling == []


def test_every_non_terminal_state_has_next_or_end(scopes: list[Scope]) -> None:
    bad = []
    for s in scopes:
        for name, state in s.states.items():
            if state["Type"] in TERMINAL_TYPES:
                if "Next" in state or "End" in state:
                    bad.append((f"{s.where}/{name}", "terminal state with Next/End"))
            elif ("Next" in state) == (state.get("End") is True):
                bad.append((f"{s.where}/{name}", "needs exactly one of Next and End: true"))
    assert bad == []


def test_uncaught_tasks_still_retry_transient_errors(asl: dict[str, Any]) -> None:
    for name in UNCAUGHT_BY_DESIGN:
        retried = {e for r in asl["States"][name].get("Retry", []) for e in r["ErrorEquals"]}
        assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= retried


def test_choice_states_have_a_default(scopes: list[Scope]) -> None:
    # moto fails a no-match Choice as States.Runtime, AWS as States.NoChoiceMatched: never rely on either.
    missing = [
        f"{s.where}/{n}"
        for s in scopes
        for n, st in s.states.items()
        if st["Type"] == "Choice" and "Default" not in st
    ]
    assert missing == []


def test_every_state_is_reachable_from_start_at(scopes: list[Scope]) -> None:
    unreachable = []
    for s in scopes:
        seen: set[str] = set()
        todo = [s.body["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen or name not in s.states:
                continue
            seen.add(name)
            todo.extend(target for _, target in _transitions(s.states[name]))
        unreachable += [f"{s.where}/{n}" for n in s.states if n not in seen]
    assert unreachable == []


def test_state_names_are_readable(scopes: list[Scope]) -> None:
    bad = [n for s in scopes for n in s.states if not NAME_RE.match(n) or len(n) > MAX_NAME]
    assert bad == []


def test_state_names_are_unique_across_scopes(scopes: list[Scope]) -> None:
    # AWS requires unique names across the whole machine (branches included), not just per scope.
    names = [n for s in scopes for n in s.states]
    assert sorted({n for n in names if names.count(n) > 1}) == []


# ------------------------------------------------------------ tasks
def test_every_task_resource_is_a_function_of_the_template(
    stack: Stack, tasks: list[tuple[Scope, str, dict[str, Any]]]
) -> None:
    function_arns = {stack.arn(logical) for logical in stack.of_type("AWS::Serverless::Function")}
    assert all(arn.startswith("arn:aws:lambda:") for arn in function_arns)
    foreign = [(n, st.get("Resource")) for _, n, st in tasks if st.get("Resource") not in function_arns]
    assert foreign == []
    assert len(tasks) >= 9  # Classify .. RecordFailure: a sanity bound so an empty walk cannot pass


def test_record_failure_is_a_top_level_task(asl: dict[str, Any], stack: Stack) -> None:
    state = asl["States"][FAILURE_HANDLER]
    assert state["Type"] == "Task"
    assert state["Resource"] == stack.arn("RecordFailureFunction")


def test_every_task_outside_parallel_catches_into_record_failure(
    tasks: list[tuple[Scope, str, dict[str, Any]]],
) -> None:
    bad = []
    for scope, name, state in tasks:
        if name == FAILURE_HANDLER or scope.in_parallel or scope.in_map or name in UNCAUGHT_BY_DESIGN:
            continue
        catchers = state.get("Catch", [])
        if not any("States.ALL" in c["ErrorEquals"] and c["Next"] == FAILURE_HANDLER for c in catchers):
            bad.append(f"{scope.where}/{name}")
    assert bad == []


def test_parallel_and_map_states_at_the_top_catch_into_record_failure(asl: dict[str, Any]) -> None:
    # A task inside them cannot reach RecordFailure (another scope): their own Catch does.
    bad = [
        name
        for name, state in asl["States"].items()
        if state["Type"] in ("Parallel", "Map")
        and not any(
            "States.ALL" in c["ErrorEquals"] and c["Next"] == FAILURE_HANDLER for c in state.get("Catch", [])
        )
    ]
    assert bad == []


def test_a_task_in_a_map_outside_parallel_catches_into_its_own_scope(
    tasks: list[tuple[Scope, str, dict[str, Any]]],
) -> None:
    # ApplyDownloadsSetting: one video's failure must not fail the course.yaml run (its pages are
    # published); the iteration records it and the Map goes on.
    bad = [
        f"{scope.where}/{name}"
        for scope, name, state in tasks
        if scope.in_map
        and not scope.in_parallel
        and not any(
            "States.ALL" in c["ErrorEquals"] and c["Next"] in scope.states for c in state.get("Catch", [])
        )
    ]
    assert bad == []


def test_every_task_retries_lambda_service_exception(tasks: list[tuple[Scope, str, dict[str, Any]]]) -> None:
    bad = [
        f"{s.where}/{n}"
        for s, n, st in tasks
        if not any(LAMBDA_SERVICE_EXCEPTION in r["ErrorEquals"] for r in st.get("Retry", []))
    ]
    assert bad == []


def test_retry_intervals_are_accepted_by_moto(scopes: list[Scope]) -> None:
    # moto (and AWS) reject IntervalSeconds 0 when the state machine is created.
    bad = [
        (f"{s.where}/{n}", r.get("IntervalSeconds"))
        for s in scopes
        for n, st in s.states.items()
        for r in st.get("Retry", [])
        if not (isinstance(r.get("IntervalSeconds", 1), int) and r.get("IntervalSeconds", 1) >= 1)
    ]
    assert bad == []


# ------------------------------------------------------------ moto limits
def test_no_jsonata(asl: dict[str, Any], scopes: list[Scope]) -> None:
    languages = (
        [asl.get("QueryLanguage")]
        + [st.get("QueryLanguage") for s in scopes for st in s.states.values()]
        + [s.body.get("QueryLanguage") for s in scopes]
    )
    assert "JSONata" not in languages
    templates = [(p, v) for p, v in _walk_values(asl) if isinstance(v, str) and v.strip().startswith("{%")]
    assert templates == []


def test_no_assign(asl: dict[str, Any]) -> None:
    paths = [p for p, v in _walk_values(asl) if v == "Assign" and p.endswith(".Assign")]
    assert paths == []


# ------------------------------------------------------------ handlers
def _functions() -> list[str]:
    return sorted(Stack.from_file(TEMPLATE).of_type("AWS::Serverless::Function"))


@pytest.mark.parametrize("logical", _functions())
def test_function_handler_imports_and_is_callable(stack: Stack, logical: str) -> None:
    handler = str(stack.function_setting(logical, "Handler"))
    module_name, _, attr = handler.rpartition(".")
    assert module_name, f"{logical}: Handler {handler!r} is not module.attribute"
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attr, None)), f"{logical}: {handler} is not callable"
