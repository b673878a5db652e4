"""``coursepipe up``: the local stack as a long-running service, so it can be used like a deployed one.

On 127.0.0.1: moto in server mode on the AWS port (S3, SQS, EventBridge, DynamoDB, Lambda, Step
Functions: the aws CLI, boto3 or any SDK with ``--endpoint-url`` reach it) and our HTTP front on the HTTP
port (the catalog API at ``/catalog/...`` through the same Lambda handler the template deploys behind API
Gateway; the published tree at ``/courses/...``). A poller plays the SQS -> ingest Lambda mapping, so an
upload by any client goes S3 -> EventBridge -> SQS -> ingest -> Step Functions, as on AWS.
"""

from __future__ import annotations

import errno
import json
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.access.keypair import ensure_key_pair
from pipeline.local.apigw import lambda_route
from pipeline.local.edge import Edge
from pipeline.local.edge_config import EdgeConfig
from pipeline.local.front import HttpFront
from pipeline.local.identity import LocalIdentity
from pipeline.local.operator_route import operator_handler
from pipeline.local.origins import bucket_origin
from pipeline.local.runtime import LocalRuntime
from pipeline.local.signin import dev_sign_in_route, session_route
from pipeline.local.target import DEFAULT_AWS_PORT

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline.local.http import Reply, Request
    from pipeline.local.lambdas import FunctionSpec

DEFAULT_HTTP_PORT = 8080
POLL_IDLE_S = 0.5
API_FUNCTION_ID = "CatalogApiFunction"
SESSION_FUNCTION_ID = "SessionFunction"
DEFAULT_KEYS_DIR = "coursepipe-keys"
DEV_SIGN_IN = "/auth/dev"


class PortInUseError(Exception):
    """A port ``up`` needs is taken; the message names the option that moves it."""


def ensure_free(port: int, option: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} on 127.0.0.1 is in use (another `coursepipe up`, or LocalStack?): "
                    f"stop it or pass {option} with a free port"
                ) from exc
            raise


@dataclass
class LocalStack:
    """The runtime in server mode + the HTTP front + the queue poller, started and stopped together."""

    aws_port: int = DEFAULT_AWS_PORT
    http_port: int = DEFAULT_HTTP_PORT
    log_level: str = "WARNING"
    on_ingest_failure: Callable[[str], None] | None = None
    keys_dir: Path = Path(DEFAULT_KEYS_DIR)
    runtime: LocalRuntime = field(init=False)
    front: HttpFront | None = None
    identity: LocalIdentity | None = None
    key_id: str = ""
    dev_user: tuple[str, str] = ("", "")
    _stop: threading.Event = field(default_factory=threading.Event)
    _poller: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.runtime = LocalRuntime(parameters={"LogLevel": self.log_level}, server_port=self.aws_port)

    def start(self) -> LocalStack:
        ensure_free(self.aws_port, "--aws-port")
        ensure_free(self.http_port, "--http-port")
        try:
            self.runtime.start()
            self.front = HttpFront("127.0.0.1", self.http_port, routes=self._edge().routes()).start()
            self._poller = threading.Thread(target=self._poll, name="coursepipe-ingest-poller", daemon=True)
            self._poller.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _edge(self) -> Edge:
        """The media distribution as the template defines it: signed behaviours checked with the local
        key pair, ``/auth/*`` the session API behind a Cognito (moto) JWT check plus the dev sign-in page,
        ``/catalog/*`` the catalog API, everything else the publish bucket."""
        rt = self.runtime
        stack = rt.stack
        keys, _ = ensure_key_pair(self.keys_dir)
        self.key_id = keys.key_id
        secret_id = stack.function_environment(SESSION_FUNCTION_ID)["SIGNING_KEY_SECRET_ID"]
        private_pem = keys.private_key.read_text(encoding="utf-8")
        rt.client("secretsmanager").create_secret(
            Name=secret_id, SecretString=json.dumps({"keyId": keys.key_id, "privateKey": private_pem})
        )
        rt._set_env({"MEDIA_SCHEME": "http"})  # the local edge serves plain http; policies name the scheme
        cognito = rt.client("cognito-idp")
        self.identity = LocalIdentity.create(stack, cognito)
        email = "admin@coursepipe.local"
        self.dev_user = (email, self.identity.add_user(cognito, email, groups=("admins",)))

        def function_route(logical: str) -> tuple[FunctionSpec, dict[str, Any]]:
            spec = rt.lambdas.spec(stack.physical_name(logical))
            options = {"memory_mb": spec.memory_mb, "timeout_s": spec.timeout_s}
            return spec, options | {"region": stack.region, "account_id": stack.account_id}

        api, api_options = function_route(API_FUNCTION_ID)
        session_spec, session_options = function_route(SESSION_FUNCTION_ID)
        session = session_route(self.identity.authorizer(), session_spec.name, **session_options)
        sign_in = dev_sign_in_route(self.identity, lambda: rt.client("cognito-idp"), session)

        def auth(request: Request) -> Reply:
            return sign_in(request) if request.path.startswith(DEV_SIGN_IN) else session(request)

        return Edge(
            EdgeConfig.from_template(rt.template_path, parameters=dict(rt.parameters)),
            bucket=bucket_origin(lambda: rt.client("s3"), rt.publish_bucket),
            key_group={keys.key_id: keys.public_key_pem},
            session=auth,
            # /catalog/admin/* behind the same Cognito check as the session route (OperatorJwt in the cloud).
            catalog=lambda_route(
                operator_handler(self.identity.authorizer(), api.handler), api.name, **api_options
            ),
        )

    def _poll(self) -> None:
        """The SQS -> Lambda event source mapping of the ingest function, for as long as the stack runs."""
        reported = 0
        while not self._stop.is_set():
            try:
                delivered = self.runtime.pump(self._stop.is_set)
            except Exception as exc:  # keep polling: one bad batch must not stop ingestion
                if self.on_ingest_failure is not None:
                    self.on_ingest_failure(f"ingest poll failed: {exc}")
                delivered = 0
            failures = self.runtime.ingest_failures
            if self.on_ingest_failure is not None:
                for failure in failures[reported:]:
                    self.on_ingest_failure(
                        f"ingest failed for message {failure.message_id}: {failure.reason}"
                    )
            reported = len(failures)
            if not delivered:
                self._stop.wait(POLL_IDLE_S)

    def stop(self) -> None:
        """Prompt, with executions in flight: the poller and the functions are refused new work and the
        running ones end (``InProcessLambdas.close``) before the endpoints go away under them."""
        self._stop.set()
        self.runtime.lambdas.close()
        if self._poller is not None:
            self._poller.join(timeout=10)
            self._poller = None
        if self.front is not None:
            self.front.stop()
            self.front = None
        self.runtime.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        rt = self.runtime
        assert self.front is not None
        return {
            "awsEndpoint": rt.endpoint_url,
            "httpFront": self.front.url,
            "catalogApi": f"{self.front.url}/catalog/courses",
            "site": f"{self.front.url}/courses/",
            "signIn": f"{self.front.url}{DEV_SIGN_IN}",
            "devUser": self.dev_user[0],
            "devPassword": self.dev_user[1],
            # The dev user is an admin, and admin rights need MFA: its authenticator's secret, for clients
            # that sign in themselves (answer SOFTWARE_TOKEN_MFA with a TOTP code of it).
            "devTotpSecret": self.identity.totp_secrets.get(self.dev_user[0]) if self.identity else None,
            "keyId": self.key_id,
            "keysDir": str(self.keys_dir),
            "userPoolId": self.identity.pool_id if self.identity else None,
            "userPoolClientId": self.identity.client_id if self.identity else None,
            "region": rt.stack.region,
            "ingestBucket": rt.ingest_bucket,
            "publishBucket": rt.publish_bucket,
            "catalogTable": rt.catalog_table,
            "stateMachineArn": rt.state_machine_arn,
        }


def run_forever(stack: LocalStack, announce: Callable[[dict[str, Any]], None]) -> None:
    """Start, announce, and block until Ctrl-C or SIGTERM; always stop cleanly."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        with stack:
            announce(stack.describe())
            while not stopping.is_set():
                time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
