"""S3 -> EventBridge events as S3 sends them, patched into moto in-process.

The catalog orders events for one key by their ``sequencer`` and treats delete markers as deletions, so the
local runtime needs S3's events, not moto 5.2.5's approximation of them, which
- gives every event the same constant sequencer (ordering is impossible);
- emits nothing when a versioned bucket gets a delete marker (``aws s3 rm``, ``DeleteObject`` without a
  version id, each key of ``DeleteObjects``), and deletes of one version only when it was the last one;
- sends extra events S3 does not: "Object Tags Added" after every PUT (moto's PUT handler tags the new
  object through the API that notifies) and an "Object Created" of reason PutObject inside
  CompleteMultipartUpload;
- writes ``eTag``, a ``reason`` such as "ObjectCreated" and neither ``deletion-type`` nor a unique id.

``install()`` replaces ``moto.s3.notifications._send_event_bridge_message`` and wraps the S3 backend's
writes. Each write runs under one process-wide lock together with the allocation of its events' sequencers,
so for any key the sequencer order is the order in which the writes took effect, whichever thread (moto's
server answers each request on its own) made them. Events are delivered after the lock is released, like
S3, which makes no promise about delivery order.

Fields follow https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html. The object key is
URL-encoded as in S3's other notifications (``/`` kept) unless ``install(encode_keys=False)``; that page
does not say, and our ingest decodes once and falls back to the raw key, so both shapes stay exercised.
"""

from __future__ import annotations

import functools
import logging
import secrets
import string
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from moto.s3 import notifications
from moto.s3.models import S3Backend

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

SOURCE_IP = "127.0.0.1"
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"  # what S3 reports for a delete marker
SEQUENCER_DIGITS = 18  # the length of the sequencers real S3 events carry, e.g. "0064D3901D00059242"

PERMANENTLY_DELETED = "Permanently Deleted"
DELETE_MARKER_CREATED = "Delete Marker Created"

_CREATED_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
}
_DELETED_REASONS = {
    "s3:ObjectRemoved:Delete": ("DeleteObject", PERMANENTLY_DELETED),
    "s3:ObjectRemoved:DeleteMarkerCreated": ("DeleteObject", DELETE_MARKER_CREATED),
    "s3:LifecycleExpiration:Delete": ("Lifecycle Expiration", PERMANENTLY_DELETED),
    "s3:LifecycleExpiration:DeleteMarkerCreated": ("Lifecycle Expiration", DELETE_MARKER_CREATED),
}
_REMOVED = frozenset(n for n in _DELETED_REASONS if n.startswith("s3:ObjectRemoved:"))


class _Sequencer:
    """Strictly increasing, fixed-width hex: comparable as strings however they are padded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            # Seeded from the clock so a restarted process keeps counting upwards.
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:0{SEQUENCER_DIGITS}X}"


_SEQUENCER = _Sequencer()


def next_sequencer() -> str:
    return _SEQUENCER.next()


@dataclass
class _Pending:
    name: str
    event: dict[str, Any]
    account_id: str
    region: str


@dataclass
class _Scope:
    pending: list[_Pending] = field(default_factory=list)


class _ThreadState(threading.local):
    scope: _Scope | None = None
    # The object the last PutObject/CopyObject of this thread created: moto's PUT handler tags it next.
    fresh_key: weakref.ref[Any] | None = None


_state = _ThreadState()
_WRITE_LOCK = threading.RLock()
_INSTALL_LOCK = threading.Lock()
_originals: dict[tuple[Any, str], Any] = {}
_options = {"encode_keys": True}


# ---------------------------------------------------------------- events
def _event_name(event_name: Any) -> str:
    # S3NotificationEvent is a str Enum whose hash is its member name: use the value for lookups.
    return str(getattr(event_name, "value", event_name))


def _event_key(name: str) -> str:
    return quote_plus(name, safe="/") if _options["encode_keys"] else name


def _etag(key: Any) -> str:
    etag = getattr(key, "etag", None)
    return str(etag).strip('"') if etag else EMPTY_ETAG


def _version_id(key: Any) -> str | None:
    version = getattr(key, "version_id", None)
    return None if version in (None, "null") else str(version)


def _request_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def _eventbridge_enabled(bucket: Any) -> bool:
    config = getattr(bucket, "notification_configuration", None)
    return config is not None and config.event_bridge is not None


def _envelope(account_id: str, bucket: Any, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account_id,
        # Epoch seconds, as moto's targets expect: they render it as ISO 8601 on delivery.
        "time": time.time(),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": detail,
    }


def _deleted_event(
    account_id: str, bucket: Any, key_name: str, obj: dict[str, Any], reason: str, deletion_type: str
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": {"key": _event_key(key_name), **obj, "sequencer": next_sequencer()},
        "request-id": _request_id(),
        "requester": account_id,
        "source-ip-address": SOURCE_IP,
        "reason": reason,
        "deletion-type": deletion_type,
    }
    if reason == "Lifecycle Expiration":
        detail["requester"] = "s3.amazonaws.com"
        del detail["source-ip-address"]  # only present for events triggered by an S3 request
    return _envelope(account_id, bucket, "Object Deleted", detail)


def build_event(account_id: str, bucket: Any, event_name: Any, key: Any) -> dict[str, Any]:
    """The EventBridge event S3 sends for ``event_name`` on ``key`` (a moto FakeKey or delete marker)."""
    name = _event_name(event_name)
    version = _version_id(key)
    if name in _DELETED_REASONS:
        reason, deletion_type = _DELETED_REASONS[name]
        obj: dict[str, Any] = {"etag": _etag(key)}
        if version:
            obj["version-id"] = version
        return _deleted_event(account_id, bucket, key.name, obj, reason, deletion_type)
    obj = {"key": _event_key(key.name)}
    if getattr(key, "size", None) is not None:
        obj["size"] = key.size
    obj["etag"] = _etag(key)
    if version:
        obj["version-id"] = version
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": bucket.name}, "object": obj}
    detail.update({"request-id": _request_id(), "requester": account_id, "source-ip-address": SOURCE_IP})
    if name in _CREATED_REASONS:
        obj["sequencer"] = next_sequencer()  # S3 sequences PUTs and DELETEs only
        detail["reason"] = _CREATED_REASONS[name]
    return _envelope(account_id, bucket, notifications._detail_type(name), detail)


def _deliver(pending: _Pending) -> None:
    """Route as moto does (every rule of every bus of the bucket's account and region); errors are
    swallowed because delivery is asynchronous on AWS and must not fail the S3 request."""
    try:
        from moto.events.models import events_backends

        backend = events_backends[pending.account_id][pending.region]
        rules: list[Any] = [r for bus in list(backend.event_buses.values()) for r in list(bus.rules.values())]
    except Exception:
        logger.debug("no EventBridge backend for %s", pending.event.get("detail-type"), exc_info=True)
        return
    for rule in rules:
        if getattr(rule, "state", "ENABLED") != "ENABLED":
            continue
        try:
            rule.send_to_targets(pending.event, transform_input=False)
        except Exception:
            logger.debug("EventBridge rule %s failed an S3 event", getattr(rule, "name", "?"), exc_info=True)


def _send_event_bridge_message(account_id: str, bucket: Any, event_name: Any, key: Any) -> None:
    """Replacement for moto's: the same call, S3's event."""
    try:
        event = build_event(account_id, bucket, event_name, key)
    except Exception:
        logger.debug("could not build the S3 event %s", event_name, exc_info=True)
        return
    pending = _Pending(_event_name(event_name), event, account_id, bucket.region_name)
    if _state.scope is not None:
        _state.scope.pending.append(pending)
    else:
        _deliver(pending)


# ---------------------------------------------------------------- the writes
def _run_scoped(call: Callable[[], Any], select: Callable[[list[_Pending], Any], list[_Pending]]) -> Any:
    """Run one S3 write under the write lock, collecting the events moto emits for it; deliver those
    ``select`` keeps (it may add its own: it runs under the lock, so their sequencers are in order)."""
    if _state.scope is not None:  # a write inside a write (CopyObject -> PutObject): the outer one decides
        return call()
    scope = _Scope()
    with _WRITE_LOCK:
        _state.scope = scope
        try:
            result = call()
            chosen = select(scope.pending, result)
        finally:
            _state.scope = None
    for pending in chosen:
        _deliver(pending)
    return result


def _keep(*names: str) -> Callable[[list[_Pending], Any], list[_Pending]]:
    wanted = frozenset(names)
    return lambda pending, _result: [p for p in pending if p.name in wanted]


def _wrap_put_object(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_object(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
        keep = _keep("s3:ObjectCreated:Put", "s3:ObjectCreated:Post")
        key = _run_scoped(lambda: original(self, *args, **kwargs), keep)
        _state.fresh_key = weakref.ref(key) if key is not None else None
        return key

    return put_object


def _wrap_only(original: Callable[..., Any], *names: str) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
        return _run_scoped(lambda: original(self, *args, **kwargs), _keep(*names))

    return wrapper


def _wrap_put_object_tagging(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def put_object_tagging(self: S3Backend, key: Any, *args: Any, **kwargs: Any) -> Any:
        fresh = _state.fresh_key() if _state.fresh_key is not None else None
        if key is not None and key is fresh:
            # Tags given with PutObject/CopyObject: S3 sends no "Object Tags Added" for those.
            _state.fresh_key = None
            return _run_scoped(lambda: original(self, key, *args, **kwargs), _keep())
        return original(self, key, *args, **kwargs)

    return put_object_tagging


def _wrap_delete_object(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_object(
        self: S3Backend, bucket_name: str, key_name: str, version_id: str | None = None, bypass: bool = False
    ) -> Any:
        def call() -> Any:
            return original(self, bucket_name, key_name, version_id=version_id, bypass=bypass)

        _state.fresh_key = None
        try:
            bucket = self.get_bucket(bucket_name)
            versioned = bool(bucket.is_versioned)
        except Exception:  # moto raises its own error for this request in call()
            return call()
        if not versioned:
            return _run_scoped(call, _keep(*_REMOVED))
        target = None
        if version_id is not None:
            versions = bucket.keys.getlist(key_name, None) or []
            target = next((k for k in versions if str(k.version_id) == str(version_id)), None)

        def select(_moto_events: list[_Pending], result: Any) -> list[_Pending]:
            # moto's own event (last version deleted) is replaced: S3 sends one per version deleted.
            deleted, meta = result
            if not deleted or not _eventbridge_enabled(bucket):
                return []
            if version_id is None:
                if meta.get("delete-marker") != "true" or not meta.get("version-id"):
                    return []
                obj = {"etag": EMPTY_ETAG, "version-id": str(meta["version-id"])}
                deletion_type = DELETE_MARKER_CREATED
            else:
                if target is None:
                    return []
                obj = {"etag": _etag(target), "version-id": str(version_id)}
                deletion_type = PERMANENTLY_DELETED
            event = _deleted_event(self.account_id, bucket, key_name, obj, "DeleteObject", deletion_type)
            name = "s3:ObjectRemoved:" + ("Delete" if version_id else "DeleteMarkerCreated")
            return [_Pending(name, event, self.account_id, bucket.region_name)]

        return _run_scoped(call, select)

    return delete_object


# ---------------------------------------------------------------- install
def _patch(owner: Any, name: str, replacement: Any) -> None:
    _originals[(owner, name)] = vars(owner)[name]
    setattr(owner, name, replacement)


def install(*, encode_keys: bool = True) -> None:
    """Patch moto (idempotent). Works for moto in-process and for ``ThreadedMotoServer``, which serves
    the same backends from a thread of this process."""
    with _INSTALL_LOCK:
        _options["encode_keys"] = encode_keys
        if _originals:
            return
        _patch(notifications, "_send_event_bridge_message", _send_event_bridge_message)
        _patch(S3Backend, "put_object", _wrap_put_object(S3Backend.put_object))
        _patch(S3Backend, "copy_object", _wrap_only(S3Backend.copy_object, "s3:ObjectCreated:Copy"))
        _patch(
            S3Backend,
            "complete_multipart_upload",
            _wrap_only(S3Backend.complete_multipart_upload, "s3:ObjectCreated:CompleteMultipartUpload"),
        )
        _patch(S3Backend, "delete_object", _wrap_delete_object(S3Backend.delete_object))
        _patch(S3Backend, "put_object_tagging", _wrap_put_object_tagging(S3Backend.put_object_tagging))


def uninstall() -> None:
    """Restore moto (idempotent)."""
    with _INSTALL_LOCK:
        for (owner, name), original in _originals.items():
            setattr(owner, name, original)
        _originals.clear()
        _options["encode_keys"] = True


def is_installed() -> bool:
    return bool(_originals)
