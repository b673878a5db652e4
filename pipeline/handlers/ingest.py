"""Ingest: SQS batch of S3 events -> one ProcessAsset execution per object version (or deletion).

Partial batch responses: a message that fails (throttling, malformed) is retried alone and ends in the
DLQ after the queue's maxReceiveCount; its neighbours are acknowledged.

Powertools Idempotency keys each event on what identifies it (detail-type, bucket, key, version,
sequencer): S3 and SQS deliver at least once, and a redelivered event returns the first outcome without
touching the catalog or Step Functions again. Beyond the record's lifetime the catalog's conditional write
and the deterministic execution name still make a duplicate a no-op.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from pipeline import aws
from pipeline.config import settings
from pipeline.handlers._wiring import logger, services, starter, tracer
from pipeline.usecases.ingest import start_processing

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3 (DAX speaks the same API)
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

processor = BatchProcessor(event_type=EventType.SQS)
EVENT_KEY = (
    '["detail-type", detail.bucket.name, detail.object.key, '
    'detail.object."version-id", detail.object.sequencer]'
)
idempotency = IdempotencyConfig(
    event_key_jmespath=EVENT_KEY, raise_on_no_idempotency_key=True, expires_after_seconds=24 * 3600
)


def ingest(event: dict[str, Any]) -> dict[str, Any]:
    svc = services()
    outcome = start_processing(event, store=svc.store, catalog=svc.catalog, starter=starter())
    logger.info("ingested", extra=asdict(outcome))
    return asdict(outcome)


def idempotent_ingest() -> Any:
    """Built on first use: the persistence layer needs the table name and a client (none at import)."""
    table = settings().idempotency_table
    return _idempotent(table, aws.client("dynamodb")) if table else ingest


@lru_cache(maxsize=4)
def _idempotent(table: str, client: DynamoDBClient) -> Any:
    store = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    return idempotent_function(data_keyword_argument="event", persistence_store=store, config=idempotency)(
        ingest
    )


def record_handler(record: SQSRecord) -> dict[str, Any]:
    result: dict[str, Any] = idempotent_ingest()(event=json.loads(record.body))
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
