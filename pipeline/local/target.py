"""Which stack the client commands (``upload``, ``executions``, ``catalog``) talk to.

Two kinds, one set of commands: the local stack that ``coursepipe up`` serves (an endpoint URL; resource
names come from ``template.yaml`` exactly as ``up`` created them) or a stack deployed with SAM (its
CloudFormation outputs name the bucket, state machine and table; credentials from the usual chain or a
profile).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from pipeline.config import AwsSettings
from pipeline.local.template import REGION, Stack

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_AWS_PORT = 4566
DEFAULT_ENDPOINT = f"http://127.0.0.1:{DEFAULT_AWS_PORT}"
# The local stack accepts any credentials; these are used only when none are configured.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class TargetError(Exception):
    """The stack cannot be found or reached: the message says which option to give."""


@dataclass(frozen=True)
class StackTarget:
    ingest_bucket: str
    state_machine_arn: str
    catalog_table: str
    region: str
    endpoint_url: str | None = None
    profile: str | None = None

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    def session(self) -> boto3.session.Session:
        if self.local and not (AwsSettings.from_env().access_key_id or self.profile):
            return boto3.session.Session(
                region_name=self.region,
                aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
            )
        return boto3.session.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    def describe(self) -> str:
        where = self.endpoint_url or f"AWS {self.region}" + (
            f" (profile {self.profile})" if self.profile else ""
        )
        return f"{where}: bucket {self.ingest_bucket}"


def resolve_target(
    *,
    endpoint: str | None = None,
    stack: str | None = None,
    profile: str | None = None,
    region: str | None = None,
    bucket: str | None = None,
    template: Path | None = None,
) -> StackTarget:
    """``--stack`` means a deployed stack (read its outputs); otherwise the local stack at ``--endpoint``
    (default: ``COURSEPIPE_ENDPOINT_URL`` or http://127.0.0.1:4566, where ``coursepipe up`` listens)."""
    if stack:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        try:
            described = session.client("cloudformation", endpoint_url=endpoint).describe_stacks(
                StackName=stack
            )
        except Exception as exc:
            raise TargetError(f"cannot read stack {stack!r}: {exc}") from exc
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
        try:
            return StackTarget(
                ingest_bucket=bucket or outputs["IngestBucketName"],
                state_machine_arn=outputs["ProcessAssetStateMachineArn"],
                catalog_table=outputs["CatalogTableName"],
                region=session.region_name or REGION,
                endpoint_url=endpoint,
                profile=profile,
            )
        except KeyError as exc:
            raise TargetError(
                f"stack {stack!r} has no output {exc}: was it deployed from this template?"
            ) from exc
    from pipeline.local.runtime import STATE_MACHINE_ID, default_template

    local = Stack.from_file(template or default_template())
    return StackTarget(
        ingest_bucket=bucket or local.physical_name("IngestBucket"),
        state_machine_arn=local.arn(STATE_MACHINE_ID),
        catalog_table=local.physical_name("CatalogTable"),
        region=region or local.region,
        endpoint_url=endpoint or AwsSettings.from_env().endpoint_url or DEFAULT_ENDPOINT,
        profile=profile,
    )


def check_reachable(target: StackTarget) -> None:
    """Fail early with a hint instead of a botocore traceback when nothing listens at the endpoint."""
    try:
        target.client("s3").head_bucket(Bucket=target.ingest_bucket)
    except Exception as exc:
        hint = (
            f"is `coursepipe up` running? (it serves {target.endpoint_url})"
            if target.local
            else "check --stack, --profile and --region"
        )
        raise TargetError(f"cannot reach the ingest bucket {target.ingest_bucket}: {exc}; {hint}") from exc
