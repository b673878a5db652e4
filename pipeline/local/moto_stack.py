"""moto itself for the local runtime: in-process (``mock_aws``: nothing listens) or as a server on 127.0.0.1.

One home for how moto is started and stopped, so the runtime only decides what to create in it. In server
mode the backends are this process's globals: our in-process Lambda invoke and the S3 event patches act on
the same models every HTTP client (ours, moto's Step Functions interpreter, the aws CLI, ffmpeg, a
browser) reaches, and a stopped server's models are reset so they do not leak into the next runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from moto import mock_aws

from pipeline.config import ENDPOINT_ENV, AwsSettings
from pipeline.local.loopback import guard_wsgi

if TYPE_CHECKING:
    from collections.abc import Mapping

MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
"""Executions run on moto's interpreter; Lambda is the no-Docker backend whose invoke we replace."""


def reset_backends() -> None:
    """A stopped server's state must not leak into the next runtime in this process (mock_aws resets
    on its own; the server mode uses the global backends directly)."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()


def guarded_moto_server(ip_address: str, port: int) -> Any:
    """moto's ``ThreadedMotoServer`` with :func:`~pipeline.local.loopback.guard_wsgi` in front of its
    application: loopback Host and Origin only, or any web page could read the signing key (moto's CORS)."""
    from moto.moto_server import threaded_moto_server as tms
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class GuardedMotoServer(tms.ThreadedMotoServer):
        def _server_entry(self) -> None:  # as moto's, with the guard around the app
            app = guard_wsgi(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return GuardedMotoServer(ip_address=ip_address, port=port, verbose=False)


class MotoStack:
    """moto for one runtime. ``server_port`` None: in-process (``mock_aws``); a port: a guarded server on
    127.0.0.1 (0 picks a free one) whose URL is :attr:`endpoint_url` once started."""

    def __init__(self, server_port: int | None = None) -> None:
        self.server_port = server_port
        self.endpoint_url: str | None = None
        self.port: int | None = None
        self._mock: Any = None
        self._server: Any = None
        self._config_patch: Any = None

    def start(self) -> None:
        if self.server_port is None:
            self._mock = mock_aws(config=MOTO_CONFIG)
            self._mock.start()
            return
        from moto.core.config import default_user_config

        self._config_patch = patch.dict(default_user_config, MOTO_CONFIG)
        self._config_patch.start()
        self._server = guarded_moto_server("127.0.0.1", self.server_port)
        self._server.start()
        host, self.port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{self.port}"

    def environment(self) -> Mapping[str, str]:
        """What this process's clients need to reach the server (nothing in-process: mock_aws patches)."""
        if self.endpoint_url is None or self.port is None:
            return {}
        creds = AwsSettings.from_env()
        return {
            ENDPOINT_ENV: self.endpoint_url,
            # moto's Step Functions interpreter calls Lambda at localhost:MOTO_PORT outside mock_aws.
            "MOTO_PORT": str(self.port),
            # Signing needs credentials; the server accepts any.
            "AWS_ACCESS_KEY_ID": creds.access_key_id or "testing",
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key or "testing",
        }

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._config_patch.stop()
            self._config_patch = None
            self.endpoint_url = self.port = None
            reset_backends()
