"""API Gateway HTTP API (payload format 2.0) in front of a Lambda function, on the local front.

``lambda_route`` builds the event API Gateway HTTP APIs send with payload format 2.0 and reads the
function's response the way API Gateway does
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
header names lowercased, duplicates comma-joined, ``Cookie`` headers moved to ``cookies``, the path
URL-decoded but ``rawQueryString`` as sent, bodies base64-encoded unless their type is ``text/*``, JSON,
XML or JavaScript (a form post too is base64: observed on AWS), and a result without ``statusCode``
returned as a 200 JSON body. The same handlers run behind API Gateway in the cloud, so any liberty taken
here would be a bug only the deployed stack shows.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

from pipeline.config import AwsSettings
from pipeline.local.http import INTERNAL_ERROR, Reply, Request, Route, json_reply, print_traceback
from pipeline.local.lambdas import Handler, LocalContext, load_handler

TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
LOCAL_ACCOUNT = "123456789012"


def _is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in TEXT_TYPES


def _request_id() -> str:
    return base64.b64encode(os.urandom(11)).decode()  # the shape of API Gateway's, e.g. "QQCtFipSIAMEPNQ="


def api_gateway_v2_event(
    request: Request,
    *,
    route_key: str = "$default",
    stage: str = "$default",
    api_id: str = "local",
    account_id: str = LOCAL_ACCOUNT,
) -> dict[str, Any]:
    """The event an HTTP API with payload format 2.0 sends to its Lambda integration for ``request``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    client_ip = request.client[0]
    headers.setdefault("x-forwarded-for", client_ip)
    headers.setdefault("x-forwarded-port", str(request.server[1]))
    headers.setdefault("x-forwarded-proto", "http")
    now = time.time()
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{os.urandom(12).hex()}")
    domain = headers.get("host") or f"{request.server[0]}:{request.server[1]}"
    path = unquote(request.path)  # HTTP APIs hand the function a decoded path
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": client_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": _request_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if request.body:
        if _is_text(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
                event["isBase64Encoded"] = False
                return event
            except UnicodeDecodeError:
                pass
        event["body"] = base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def api_gateway_v2_reply(result: Any) -> Reply:
    """Read a function's result as API Gateway does for payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return Reply(200, [("Content-Type", "application/json")], text.encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    raw = result.get("body")
    body: bytes
    if raw is None:
        body = b""
    elif not isinstance(raw, str):
        raise ValueError(f"body must be a string, not {type(raw).__name__}")
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw, validate=True)
    else:
        body = raw.encode("utf-8")
    return Reply(status, headers, body)


def lambda_route(
    handler: Handler | str,
    function_name: str,
    *,
    memory_mb: int = 128,
    timeout_s: float = 30.0,
    region: str | None = None,
    account_id: str = LOCAL_ACCOUNT,
    route_key: str = "$default",
) -> Route:
    """A route that invokes ``handler`` (a callable, or a dotted path imported at the first request so
    the function's environment is in place) as API Gateway's Lambda proxy integration would."""
    region = region or AwsSettings.from_env().region
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
    loaded: list[Handler] = [] if isinstance(handler, str) else [handler]

    def route(request: Request) -> Reply:
        if not loaded:
            loaded.append(load_handler(str(handler)))
        event = api_gateway_v2_event(request, route_key=route_key, account_id=account_id)
        request_id = event["requestContext"]["requestId"]
        context = LocalContext(function_name, memory_mb, arn, timeout_s)
        try:
            reply = api_gateway_v2_reply(loaded[0](event, context))
        except Exception:
            # What API Gateway answers for a failed invocation or a malformed response.
            print_traceback(f"{function_name} failed on {request.method} {request.path}")
            reply = json_reply(500, INTERNAL_ERROR)
        reply.headers.append(("apigw-requestid", request_id))
        return reply

    return route
