"""The state machine definition against the step contract (pipeline/steps.py).

Each Task's ``Parameters`` must be exactly its input model's keys, each ``$.path`` it reads must exist in
the scope it reads it from (the execution state, or a Map iteration's item) with the type the input model
declares, and each ``ResultPath`` must hold that Task's output model. A renamed key, a state reading a
result no state writes, or a handler parsing another shape than the definition passes fails here, before a
deploy would fail it in the console.
"""

from __future__ import annotations

import dataclasses
import json
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pytest

from pipeline import steps
from pipeline.catalog.model import SourceRef
from pipeline.errors import StepContractError
from pipeline.local.template import load_template
from pipeline.media.plan import Chunk, EncodeJob, EncodePlan
from pipeline.media.probe import ProbeResult
from pipeline.steps import TASKS, ExecutionState, Transcode, json_keys

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "pipeline/statemachine/process_asset.asl.json").read_text())
TEMPLATE = load_template(ROOT / "template.yaml")

# Codec types whose JSON keys are their fields in camelCase (a ``$.path`` may walk into them).
WALKABLE_CODECS = (EncodePlan, EncodeJob)
CONTEXT = {"$$.Execution.Id": str, "$$.Map.Item.Index": int}


def _bare(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _field_types(tp: Any) -> dict[str, Any]:
    tp = _bare(tp)
    if isinstance(tp, dict):  # a Map iteration's item, as its ItemSelector builds it
        return tp
    if tp in steps._CODECS and tp not in WALKABLE_CODECS:
        raise AssertionError(f"{tp.__name__} travels with its own keys: a path may not read into it")
    assert isinstance(tp, type) and dataclasses.is_dataclass(tp), f"{tp} has no fields"
    return json_keys(tp)


def resolve(path: str, scope: Any) -> Any:
    """The type ``path`` (``$.a.b``) reads from ``scope``, or an AssertionError naming the missing key."""
    if path in CONTEXT:
        return CONTEXT[path]
    if path == "$$.Map.Item.Value":
        return scope["$$.Map.Item.Value"]
    assert path.startswith("$."), path
    tp = scope
    for part in path[2:].split("."):
        fields = _field_types(tp)
        assert part in fields, f"{path}: no '{part}' in {getattr(_bare(tp), '__name__', tp)}"
        tp = fields[part]
    return tp


def _walk(states: dict[str, Any], scope: Any) -> list[tuple[str, dict[str, Any], Any]]:
    """Every state with the scope its paths read from."""
    found = []
    for name, state in states.items():
        found.append((name, state, scope))
        if state["Type"] == "Map":
            items = _bare(resolve(state["ItemsPath"], scope))
            assert get_origin(items) is list, f"{name}: ItemsPath is not a list"
            inner: dict[str, Any] = {"$$.Map.Item.Value": get_args(items)[0]}
            for key, path in state["ItemSelector"].items():
                assert key.endswith(".$"), f"{name}: ItemSelector value {key} is not a path"
                item = path == "$$.Map.Item.Value"
                inner[key[:-2]] = inner["$$.Map.Item.Value"] if item else resolve(path, scope)
            found += _walk(state["ItemProcessor"]["States"], inner)
        if state["Type"] == "Parallel":
            for branch in state["Branches"]:
                found += _walk(branch["States"], scope)
    return found


STATES = _walk(ASL["States"], ExecutionState)
TASK_STATES = [(n, s, sc) for n, s, sc in STATES if s["Type"] == "Task"]


def test_every_task_of_the_definition_has_a_contract_and_every_contract_a_task() -> None:
    assert {n for n, _, _ in TASK_STATES} == set(TASKS)


@pytest.mark.parametrize(("name", "state", "scope"), TASK_STATES, ids=[n for n, _, _ in TASK_STATES])
def test_task_parameters_are_its_input_model(name: str, state: dict[str, Any], scope: Any) -> None:
    model = TASKS[name].input
    params = state["Parameters"]
    assert all(k.endswith(".$") for k in params), f"{name}: constant parameters are not in the contract"
    assert {k[:-2] for k in params} == set(json_keys(model)), name
    for key, path in params.items():
        want = _bare(json_keys(model)[key[:-2]])
        got = ExecutionState if path == "$" else _bare(resolve(path, scope))
        assert got == want, f"{name}.{key[:-2]} reads {path}: {got}, the model wants {want}"


def test_result_paths_hold_their_output_models() -> None:
    fields = json_keys(ExecutionState)
    seen = set()
    for name, state, scope in STATES:
        for catch in state.get("Catch", []):
            assert catch["ResultPath"] == "$.error", name
        if "ResultPath" not in state:
            continue
        key = state["ResultPath"].removeprefix("$.")
        assert key in fields, f"{name} writes $.{key}, which ExecutionState does not have"
        assert scope is ExecutionState, f"{name}: a ResultPath inside a Map or branch"
        if state["Type"] == "Task":
            output: Any = TASKS[name].output
        elif state["Type"] == "Parallel":
            output = Transcode
        elif state["Type"] == "Map":  # the list of its iterations' results
            iteration = TASKS[state["ItemProcessor"]["StartAt"]].output
            output = list[iteration]  # type: ignore[valid-type]
        else:  # the Pass state that rejects an unknown kind
            output = steps.CaughtError
            assert {k.removesuffix(".$") for k in state["Parameters"]} == set(json_keys(output))
        assert _bare(fields[key]) == output, f"{name} writes {output} into $.{key}"
        seen.add(key)
    assert seen >= {"asset", "probe", "plan", "transcode", "package", "result", "course", "error"}


def test_a_map_iteration_that_fails_still_yields_its_tasks_model() -> None:
    """ApplyDownloadsSetting's Catch goes to a Pass in the iteration: its Parameters are the same model
    as the Task's result (what RecordAsset parses), read from the iteration's input and its error."""
    (state,) = [s for n, s, _ in STATES if n == "ApplyDownloadsSetting"]
    processor = state["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    (catch,) = task["Catch"]
    fallback = processor["States"][catch["Next"]]
    assert fallback["Type"] == "Pass" and fallback["End"] is True
    model = TASKS[processor["StartAt"]].output
    keys = {k.removesuffix(".$") for k in fallback["Parameters"]}
    assert keys <= set(json_keys(model)) and keys >= {"key", "change"}
    # SourceRef travels as its own JSON (SourceRef.to_dict): the key the Pass reads is one of them.
    scope = {"video": {"key": str}, "error": steps.CaughtError}
    assert "key" in SOURCE.to_dict()
    for key, path in fallback["Parameters"].items():
        if key.endswith(".$"):
            assert _bare(resolve(path, scope)) is _bare(json_keys(model)[key[:-2]]), key
    failed: steps.DownloadsApplied = steps.parse(
        model, {"key": "courses/c/media/a.mp4", "change": "failed", "error": "ClientError"}
    )
    assert failed.notes() == [
        "media/a.mp4: its downloads were not updated (ClientError); upload course.yaml again to retry"
    ]


def test_transcode_branches_are_the_transcode_model_in_order() -> None:
    (transcode,) = [s for n, s, _ in STATES if n == "Transcode"]
    outputs: list[Any] = []
    for branch in transcode["Branches"]:
        last = branch["States"][branch["StartAt"]]
        if last["Type"] == "Map":
            (inner,) = last["ItemProcessor"]["States"]
            outputs.append(list[TASKS[inner].output])  # type: ignore[misc]
        else:
            outputs.append(TASKS[branch["StartAt"]].output)
    want = [json_keys(Transcode)[f.name] for f in dataclasses.fields(Transcode)]
    assert [str(o) for o in outputs] == [str(w) for w in want]


def _variables(rule: dict[str, Any]) -> list[str]:
    nested = [*rule.get("And", []), *rule.get("Or", []), *([rule["Not"]] if "Not" in rule else [])]
    return ([rule["Variable"]] if "Variable" in rule else []) + [v for r in nested for v in _variables(r)]


def test_choice_and_map_paths_exist() -> None:
    variables = []
    for name, state, scope in STATES:
        for rule in state.get("Choices", []):
            variables += [(v, resolve(v, scope)) for v in _variables(rule)]
        if "MaxConcurrencyPath" in state:
            assert _bare(resolve(state["MaxConcurrencyPath"], scope)) is int, name
    assert ("$.asset.kind", str) in variables and ("$.deletion", steps.Deletion | None) in variables


def test_each_task_invokes_the_handler_that_parses_its_model() -> None:
    subs = TEMPLATE["Resources"]["ProcessAssetStateMachine"]["Properties"]["DefinitionSubstitutions"]
    for name, state, _ in TASK_STATES:
        variable = state["Resource"].removeprefix("${").removesuffix("}")
        logical = subs[variable]["Fn::GetAtt"][0]
        handler = TEMPLATE["Resources"][logical]["Properties"]["Handler"]
        assert handler == TASKS[name].handler, name
        module = (ROOT / (handler.rsplit(".", 1)[0].replace(".", "/") + ".py")).read_text()
        assert f"parse({TASKS[name].input.__name__}, event)" in module, f"{handler} parses another model"


# ---------------------------------------------------------------- parsing and its errors
SOURCE = SourceRef("ingest", "courses/c/media/a.mp4", "v1", "e", 10, "0A")
ASSET = steps.AssetInfo("c", "media-a-1", "media/a.mp4", "a.mp4", "video", 10)
PROBE = ProbeResult(
    "mov", 2.0, 10, None, True, False, 64, 36, 64, 36, 0, 30.0, "h264", "yuv420p", None, None, None
)
JOB = EncodeJob("abcd1234", "work/c/media-a-1/abcd1234/", 2.0, True, False)
PLAN = EncodePlan(JOB, [Chunk(0, 0, None)], 10)


def test_a_whole_state_round_trips() -> None:
    state = ExecutionState(
        source=SOURCE,
        asset=ASSET,
        probe=PROBE,
        plan=PLAN,
        transcode=Transcode(
            [steps.ChunkDone(0, 0, 1)],
            [steps.AudioDone(True, 2), steps.AudioDone(True, 2)],
            steps.Outputs(["p.jpg"]),
        ),
        package=steps.Outputs(["m.m3u8"], {"hls": {"segments": 1}}),
    )
    data = json.loads(json.dumps(steps.to_json(state)))
    # Step Functions' list of branch results; EncodeSoundtracks' is the list of its iterations'.
    assert data["transcode"][1] == [{"audio": True, "segments": 2}] * 2
    again = steps.parse(ExecutionState, data)
    assert again == state
    assert [o.outputs for o in again.produced()] == [["m.m3u8"], ["p.jpg"]]
    # An execution of the definition with one EncodeAudio for every track, in flight across a deploy.
    data["transcode"][1] = {"audio": True, "segments": 4}
    assert steps.parse(ExecutionState, data).transcode == Transcode(
        [steps.ChunkDone(0, 0, 1)], [steps.AudioDone(True, 4)], steps.Outputs(["p.jpg"])
    )


def test_a_missing_or_mistyped_key_is_a_named_error() -> None:
    good = {"source": SOURCE.to_dict(), "asset": steps.to_json(ASSET)}
    assert steps.parse(steps.AssetInput, good).asset == ASSET
    with pytest.raises(StepContractError, match="has no 'asset'"):
        steps.parse(steps.AssetInput, {"source": SOURCE.to_dict()})
    with pytest.raises(StepContractError, match=r"event.asset.size is str"):
        steps.parse(steps.AssetInput, good | {"asset": steps.to_json(ASSET) | {"size": "10"}})
    with pytest.raises(StepContractError, match="transcode"):
        steps.parse(ExecutionState, {"source": SOURCE.to_dict(), "transcode": {"a": 1}})
    # A key a newer definition adds is ignored by the functions of the previous deploy.
    assert steps.parse(steps.AssetInput, good | {"later": 1}).source == SOURCE
