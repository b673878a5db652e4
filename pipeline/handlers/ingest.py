"""Ingest: SQS batch of S3 events -> one ProcessAsset execution per object version.

Partial batch responses: a message that fails (throttling, malformed) is retried alone and ends in the
DLQ after the queue's maxReceiveCount; its neighbours are acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline.handlers._wiring import logger, services, starter, tracer
from pipeline.usecases.ingest import start_processing

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    svc = services()
    outcome = start_processing(
        json.loads(record.body), store=svc.store, catalog=svc.catalog, starter=starter()
    )
    logger.info("ingested", extra=asdict(outcome))
    return asdict(outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
