"""The one factory for AWS clients.

Clients are built lazily (never at import time, so importing a handler needs no credentials) and cached
per process (a Lambda container reuses them across invocations). ``AWS_ENDPOINT_URL`` is honoured by
botocore itself; ``COURSEPIPE_ENDPOINT_URL`` lets the local runtime's server mode point every client at
moto on 127.0.0.1 without touching the user's AWS configuration.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

ENDPOINT_ENV = "COURSEPIPE_ENDPOINT_URL"
_lock = threading.Lock()
_clients: dict[str, Any] = {}
_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)


def client(service: str) -> Any:
    """A cached boto3 client for ``service`` (thread-safe: executions run tasks concurrently)."""
    with _lock:
        found = _clients.get(service)
        if found is None:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            found = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=os.environ.get(ENDPOINT_ENV) or None,
                config=_BOTO_CONFIG,
            )
            _clients[service] = found
        return found


def reset_clients() -> None:
    """Forget cached clients (the local runtime calls this when it starts or stops a moto backend)."""
    with _lock:
        _clients.clear()


DAX_ENDPOINT_ENV = "DAX_ENDPOINT"


def catalog_read_client() -> Any:
    """The client catalog *reads* go through: DAX when ``DAX_ENDPOINT`` is set, DynamoDB otherwise.

    DAX's client speaks the low-level DynamoDB API (GetItem, Query, Scan, BatchGetItem), so readers take
    either without knowing which. Writes never go through DAX: the pipeline's conditional writes must see
    the table itself, and the item cache's few seconds of staleness are acceptable only for reads.
    """
    endpoint = os.environ.get(DAX_ENDPOINT_ENV)
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
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            found = AmazonDaxClient(endpoint_url=endpoint, region_name=region)
            _clients["dax"] = found
        return found
