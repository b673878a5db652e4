"""``StepFunctionsStarter``: starts ProcessAsset executions idempotently."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsStarter:
    """Execution names are deterministic per object version, so a redelivered event either gets the
    same execution back (same name + same input: AWS treats StartExecution as idempotent) or is refused
    with ``ExecutionAlreadyExists`` once that execution has ended; both mean "already handled"."""

    def __init__(self, sfn: SFNClient, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn

    def execution_arn(self, name: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name: str, payload: str) -> tuple[str, bool]:
        try:
            resp = self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=payload)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return self.execution_arn(name), False
            raise
        started_at = resp.get("startDate")
        return str(resp["executionArn"]), started_at is not None


def current_state(sfn: SFNClient, execution_arn: str) -> str:
    """The state a running execution is in (the last one entered), as the console shows it: read from the
    newest history events only, so it costs one short request however long the execution is."""
    events = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=25)["events"]
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details:
            return str(details["name"])
    return "Starting"
