"""The one factory for AWS clients.

Clients are built lazily (never at import time, so importing a handler needs no credentials) and cached
per process (a Lambda container reuses them across invocations). ``AWS_ENDPOINT_URL`` is honoured by
botocore itself; where clients go is read in ``pipeline.config`` (``AwsSettings``), like every setting.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import boto3
from botocore.config import Config

from pipeline.config import DAX_ENDPOINT_ENV, AwsSettings

if TYPE_CHECKING:  # the stubs are a dev dependency; Lambda has only boto3
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient
_lock = threading.Lock()
_clients: dict[str, Any] = {}
_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


@overload
def client(service: Literal["s3"]) -> S3Client: ...
@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["stepfunctions"]) -> SFNClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: str) -> Any: ...
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` (thread-safe: executions run tasks concurrently)."""
    with _lock:
        found = _clients.get(service)
        if found is None:
            where = AwsSettings.from_env()
            found = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=where.region,
                endpoint_url=where.endpoint_url,
                config=_BOTO_CONFIG,
            )
            _clients[service] = found
        return found


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it starts or stops a moto backend)."""
    with _lock:
        _clients.clear()


def catalog_read_client() -> DynamoDBClient:
    """The client catalog *reads* go through: DAX when ``DAX_ENDPOINT`` is set, DynamoDB otherwise.

    DAX's client speaks the low-level DynamoDB API (GetItem, Query, Scan, BatchGetItem), so readers take
    either without knowing which. Writes never go through DAX: the pipeline's conditional writes must see
    the table itself, and the item cache's few seconds of staleness are acceptable only for reads.
    """
    where = AwsSettings.from_env()
    endpoint = where.dax_endpoint
    if not endpoint:
        return client("dynamodb")
    with _lock:
        found = _clients.get("dax")
        if found is None:
            try:
                from amazondax import AmazonDaxClient  # type: ignore[import-not-found,unused-ignore]
            except ImportError as exc:  # the layer ships it; a local install needs the [dax] extra
                raise RuntimeError(
                    f"{DAX_ENDPOINT_ENV} is set but amazon-dax-client is not installed: "
                    "pip install 'coursepipe[dax]'"
                ) from exc
            found = AmazonDaxClient(endpoint_url=endpoint, region_name=where.region)
            _clients["dax"] = found
        # DAX's client answers the low-level DynamoDB read API: typed as the client it stands in for.
        return cast("DynamoDBClient", found)
