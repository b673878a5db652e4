"""Composition root for the Lambda handlers: Powertools utilities and the ports, built once per process."""

from __future__ import annotations

import sys
from functools import lru_cache

from aws_lambda_powertools import Logger, Tracer

from pipeline import aws
from pipeline.catalog.dynamo import DynamoCatalog
from pipeline.catalog.eventbridge import EventBridgePublisher
from pipeline.config import settings
from pipeline.executions import StepFunctionsStarter
from pipeline.services import Services
from pipeline.storage import S3ObjectStore

# stderr, not stdout: Lambda ships both to CloudWatch, and locally stdout belongs to the CLI (--json).
logger = Logger(stream=sys.stderr)
# Every handler is decorated with capture_response=False: the session response carries signed cookies,
# the catalog API's operator routes carry error text, the encoders' results are large, and each task's
# output is already in the Step Functions execution history. Traces keep timings and errors only.
tracer = Tracer()


@lru_cache(maxsize=1)
def services() -> Services:
    cfg = settings()
    return Services(
        settings=cfg,
        store=S3ObjectStore(aws.client("s3")),
        catalog=DynamoCatalog(aws.client("dynamodb"), cfg.catalog_table),
        events=EventBridgePublisher(aws.client("events"), cfg.event_bus),
    )


@lru_cache(maxsize=1)
def starter() -> StepFunctionsStarter:
    return StepFunctionsStarter(aws.client("stepfunctions"), settings().state_machine_arn)


def reset() -> None:
    """Drop every per-process cache (the local runtime starts a fresh moto world per run)."""
    settings.cache_clear()
    services.cache_clear()
    starter.cache_clear()
    api = sys.modules.get("pipeline.handlers.catalog_api")  # imported lazily: it imports this module
    if api is not None:
        api.reader.cache_clear()
    aws.reset_clients()
