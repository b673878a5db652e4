"""The embedded local runtime: moto plays S3, SQS, EventBridge, DynamoDB, Lambda and Step Functions.

Every resource is created from ``template.yaml`` (see ``template.Stack``) in moto as ``moto_stack.MotoStack``
starts it (in-process, or a server on 127.0.0.1); executions run on moto's Step Functions interpreter,
whose Lambda tasks reach our handlers in-process (``lambdas.InProcessLambdas``).
This module plays the one part moto does not: the SQS -> Lambda event source mapping of the ingest
function (poll, invoke with a real SQS batch event, delete what succeeded).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from pipeline import aws, config
from pipeline.local import s3events, serial
from pipeline.local.lambdas import FunctionSpec, InProcessLambdas
from pipeline.local.moto_stack import MotoStack
from pipeline.local.template import Stack

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

STATE_MACHINE_ID = "ProcessAssetStateMachine"
# How long a stopping runtime waits for running handlers once their ffmpeg children are ended.
STOP_GRACE_S = 15.0


def default_template() -> Path:
    """template.yaml of this checkout (override with COURSEPIPE_TEMPLATE)."""
    env = config.template_override()
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "template.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"template.yaml not found at {path}: run from a clone installed with `pip install -e .`, "
            "or set COURSEPIPE_TEMPLATE"
        )
    return path


@dataclass
class IngestFailure:
    message_id: str
    body: str
    reason: str


@dataclass
class EventSourceMapping:
    function: str
    queue_url: str
    batch_size: int
    report_failures: bool


@dataclass
class LocalRuntime:
    template_path: Path = field(default_factory=default_template)
    parameters: Mapping[str, str] = field(default_factory=dict)
    concurrency: int = field(default_factory=lambda: max(2, os.cpu_count() or 2))
    # None: moto in-process (mock_aws), nothing listens. A port: moto as a server on 127.0.0.1 (0 picks a
    # free one), so other processes (the aws CLI, ffmpeg, a browser) reach the same S3, DynamoDB, ...
    server_port: int | None = None
    stack: Stack = field(init=False)
    lambdas: InProcessLambdas = field(init=False)
    mappings: list[EventSourceMapping] = field(default_factory=list)
    ingest_failures: list[IngestFailure] = field(default_factory=list)
    _moto: MotoStack | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        self.stack = Stack.from_file(self.template_path, parameters=dict(self.parameters))
        self.lambdas = InProcessLambdas(self.concurrency)

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start everything; on any failure undo what was started (environment, patches, server)."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        for noisy in ("moto", "botocore", "werkzeug"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        self._set_env({"AWS_DEFAULT_REGION": self.stack.region, "AWS_REGION": self.stack.region})
        # Function environments first: Powertools reads them when the handler modules are imported.
        for logical in self.stack.of_type("AWS::Serverless::Function"):
            self._set_env(self.stack.function_environment(logical))
        from pipeline.handlers import _wiring

        _wiring.reset()
        _wiring.logger.setLevel(config.log_level())
        self._moto = MotoStack(self.server_port)
        self._moto.start()
        if self._moto.endpoint_url is not None:
            # Clients (ours, Step Functions' own, the user's) use HTTP; the backends are this process's.
            self.endpoint_url = self._moto.endpoint_url
            self._set_env(self._moto.environment())
            aws.reset_clients()
        serial.install()
        s3events.install()
        self.lambdas.install()
        self._create_storage()
        self._create_queues_and_rules()
        self._create_functions()
        self._create_state_machine()

    def stop(self) -> None:
        # Executions in flight are abandoned, not finished: their state is this process's memory.
        self.lambdas.close(timeout=STOP_GRACE_S)
        self.lambdas.uninstall()
        s3events.uninstall()
        serial.uninstall()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
            self.endpoint_url = None
        from pipeline.handlers import _wiring

        _wiring.reset()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _set_env(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            if key in os.environ and key in self._saved_env:
                if os.environ[key] != value:
                    raise RuntimeError(f"functions disagree on {key}: {os.environ[key]!r} vs {value!r}")
                continue
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, region_name=self.stack.region, endpoint_url=self.endpoint_url
        )

    # ---------------------------------------------------------------- resources from template.yaml
    def _create_storage(self) -> None:
        s3 = self.client("s3")
        for res in self.stack.of_type("AWS::S3::Bucket").values():
            props = self.stack.resolve(res.get("Properties", {}))
            name = props["BucketName"]
            s3.create_bucket(Bucket=name)
            if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            notif = props.get("NotificationConfiguration", {})
            if notif.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
                s3.put_bucket_notification_configuration(
                    Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
                )
            if "PublicAccessBlockConfiguration" in props:
                s3.put_public_access_block(
                    Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
                )
        ddb = self.client("dynamodb")
        for _logical, res in self.stack.of_type("AWS::DynamoDB::Table").items():
            props = self.stack.resolve(res["Properties"])
            kwargs = {k: props[k] for k in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode")}
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ddb.create_table(**kwargs)

    def _create_queues_and_rules(self) -> None:
        sqs = self.client("sqs")
        queues = self.stack.of_type("AWS::SQS::Queue")
        # Dead-letter queues first: a queue's RedrivePolicy names its DLQ's ARN.
        order = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q].get("Properties", {}))
        for logical in order:
            props = self.stack.resolve(queues[logical].get("Properties", {}))
            attributes = {
                k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props
            }
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)
        events = self.client("events")
        for _logical, res in self.stack.of_type("AWS::Events::Rule").items():
            props = self.stack.resolve(res["Properties"])
            events.put_rule(
                Name=props["Name"], EventPattern=json.dumps(props["EventPattern"]), State="ENABLED"
            )
            events.put_targets(
                Rule=props["Name"], Targets=[{"Id": t["Id"], "Arn": t["Arn"]} for t in props["Targets"]]
            )

    def _create_functions(self) -> None:
        lam = self.client("lambda")
        iam = self.client("iam")
        role = iam.create_role(RoleName="coursepipe-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("README.txt", "handlers run in-process from the coursepipe package")
        sqs = self.client("sqs")
        for logical in self.stack.of_type("AWS::Serverless::Function"):
            name = self.stack.physical_name(logical)
            env = self.stack.function_environment(logical)
            handler = str(self.stack.function_setting(logical, "Handler"))
            memory = int(self.stack.function_setting(logical, "MemorySize", 128))
            timeout = int(self.stack.function_setting(logical, "Timeout", 3))
            resp = lam.create_function(
                FunctionName=name,
                Runtime=str(self.stack.function_setting(logical, "Runtime")),
                Role=role,
                Handler=handler,
                Code={"ZipFile": code.getvalue()},
                Timeout=timeout,
                MemorySize=memory,
                Environment={"Variables": env},
            )
            self.lambdas.register(FunctionSpec(name, resp["FunctionArn"], handler, memory, timeout))
            for event in self.stack.props(logical).get("Events", {}).values():
                if event.get("Type") != "SQS":
                    continue
                props = event["Properties"]
                queue_name = str(self.stack.resolve(props["Queue"])).rsplit(":", 1)[1]
                self.mappings.append(
                    EventSourceMapping(
                        function=name,
                        queue_url=sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                        batch_size=int(props.get("BatchSize", 10)),
                        report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    )
                )

    def _create_state_machine(self) -> None:
        sfn = self.client("stepfunctions")
        role = "arn:aws:iam::123456789012:role/coursepipe-local"
        sfn.create_state_machine(
            name=self.stack.physical_name(STATE_MACHINE_ID),
            definition=self.stack.state_machine_definition(STATE_MACHINE_ID),
            roleArn=role,
            type=str(self.stack.props(STATE_MACHINE_ID).get("Type", "STANDARD")),
        )

    # ---------------------------------------------------------------- names
    @property
    def ingest_bucket(self) -> str:
        return self.stack.physical_name("IngestBucket")

    @property
    def publish_bucket(self) -> str:
        return self.stack.physical_name("PublishBucket")

    @property
    def catalog_table(self) -> str:
        return self.stack.physical_name("CatalogTable")

    @property
    def state_machine_arn(self) -> str:
        return self.stack.arn(STATE_MACHINE_ID)

    # ---------------------------------------------------------------- driving it
    def upload(self, key: str, body: bytes | Path) -> str | None:
        """Put an object in the ingest bucket (S3 emits the EventBridge event); return its version id."""
        data = body.read_bytes() if isinstance(body, Path) else body
        resp = self.client("s3").put_object(Bucket=self.ingest_bucket, Key=key, Body=data)
        version: str | None = resp.get("VersionId")
        return version

    def pump(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Deliver queued messages to their functions until the queues are empty (or ``stopping()``);
        return the count.

        A batch-level failure leaves its messages invisible for the queue's VisibilityTimeout, as on AWS;
        locally they are reported in ``ingest_failures`` rather than waited for.
        """
        delivered = 0
        sqs = self.client("sqs")
        for mapping in self.mappings:
            queue_arn = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            while not stopping():
                resp = sqs.receive_message(
                    QueueUrl=mapping.queue_url,
                    MaxNumberOfMessages=min(mapping.batch_size, 10),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                    WaitTimeSeconds=0,
                )
                messages = resp.get("Messages", [])
                if not messages:
                    break
                delivered += len(messages)
                event = {"Records": [self._sqs_record(m, queue_arn) for m in messages]}
                result, failed = self.lambdas.invoke(mapping.function, event)
                if failed:
                    for m in messages:
                        self.ingest_failures.append(IngestFailure(m["MessageId"], m["Body"], str(result)))
                    continue
                failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                for m in messages:
                    if m["MessageId"] in failed_ids:
                        self.ingest_failures.append(
                            IngestFailure(m["MessageId"], m["Body"], "batch item failed")
                        )
                    else:
                        sqs.delete_message(QueueUrl=mapping.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return delivered

    def _sqs_record(self, message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": self.stack.region,
        }

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def describe(self, execution_arn: str) -> dict[str, Any]:
        result: dict[str, Any] = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        return result

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            resp = sfn.get_execution_history(**kwargs)
            events.extend(resp["events"])
            token = resp.get("nextToken")
            if not token:
                return events

    def wait_for(
        self, execution_arns: list[str], timeout_s: float = 3600.0, poll_s: float = 0.1, on_poll: Any = None
    ) -> dict[str, dict[str, Any]]:
        """Block until every execution has ended; ``on_poll(arn, description)`` sees progress."""
        deadline = time.monotonic() + timeout_s
        done: dict[str, dict[str, Any]] = {}
        while len(done) < len(execution_arns):
            for arn in execution_arns:
                if arn in done:
                    continue
                desc = self.describe(arn)
                if on_poll is not None:
                    on_poll(arn, desc)
                if desc["status"] != "RUNNING":
                    done[arn] = desc
            if len(done) < len(execution_arns):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{len(execution_arns) - len(done)} executions still running")
                time.sleep(poll_s)
        return done
