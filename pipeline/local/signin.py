"""``/auth/*`` on the local edge: the session API behind a JWT check (what API Gateway's authorizer and the
viewer-host CloudFront Function do in the cloud), and a development sign-in page.

The sign-in page exists only locally: a form that signs in against the local user pool (moto Cognito,
USER_PASSWORD_AUTH, a flow only the local client allows) and then calls the same session route with the ID
token, so the browser receives exactly the cookies the cloud would set. Player apps in the cloud do these
two steps themselves, signing in with SRP.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from pipeline.local.apigw import lambda_route
from pipeline.local.http import Reply, Request, Route
from pipeline.local.identity import JwtAuthorizer, LocalIdentity, authorize_event

if TYPE_CHECKING:
    from collections.abc import Callable

SESSION_HANDLER = "pipeline.handlers.session.handler"
VIEWER_HOST_HEADER = "x-viewer-host"


def session_route(authorizer: JwtAuthorizer, function_name: str, **lambda_options: Any) -> Route:
    """POST needs a valid Cognito token (401 JSON like API Gateway otherwise); DELETE (sign-out) does not."""
    from pipeline.local.lambdas import load_handler

    session_handler: list[Callable[[Any, Any], Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        if not session_handler:
            session_handler.append(load_handler(SESSION_HANDLER))
        headers = event.setdefault("headers", {})
        # What ViewerHostFunction does on CloudFront: the viewer's Host, whatever the client sent.
        headers[VIEWER_HOST_HEADER] = headers.get("host", "")
        if event["requestContext"]["http"]["method"] != "DELETE":
            refused = authorize_event(authorizer, event)
            if refused is not None:
                return refused
        return session_handler[0](event, context)

    return lambda_route(handler, function_name, **lambda_options)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in (local)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Sign in</h1>
<p>Local development sign-in: the user pool runs on moto; in the cloud your player app signs in
with Cognito.</p>
{error}
<form method="post" action="/auth/dev/sign-in">
<p><label>Email <input name="email" type="email" required value="{email}"></label></p>
<p><label>Password <input name="password" type="password" required></label></p>
<p><label>Course <input name="course" required value="{course}"></label></p>
<p><button type="submit">Sign in and open the course</button></p>
</form></main></body></html>
"""


def _page(status: int, *, email: str = "", course: str = "", error: str = "") -> Reply:
    html = PAGE.format(
        email=escape(email, quote=True),
        course=escape(course, quote=True),
        error=f'<p role="alert">{escape(error)}</p>' if error else "",
    )
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
    return Reply(status, headers, html.encode())


def dev_sign_in_route(identity: LocalIdentity, cognito_factory: Callable[[], Any], session: Route) -> Route:
    """GET shows the form; POST signs in, opens a session for the course through ``session`` (the real
    route, with the token as the Authorization header) and redirects to the course with its cookies."""

    def route(request: Request) -> Reply:
        if request.method == "GET":
            query = parse_qs(request.query)
            return _page(200, course=(query.get("course") or [""])[0])
        if request.method != "POST":
            return Reply(405, [("Allow", "GET, POST")])
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        email, password, course = form.get("email", ""), form.get("password", ""), form.get("course", "")
        try:
            token = identity.sign_in(cognito_factory(), email, password)
        except Exception:  # moto answers NotAuthorizedException / UserNotFoundException alike
            return _page(401, email=email, course=course, error="Wrong email or password.")
        inner = Request(
            method="POST",
            path=f"/auth/courses/{quote(course, safe='')}/session",
            query="",
            headers=[
                *[(k, v) for k, v in request.headers if k.lower() == "host"],
                ("Authorization", f"Bearer {token}"),
            ],
            body=b"",
            client=request.client,
            server=request.server,
        )
        reply = session(inner)
        if reply.status != 200:
            body = reply.body if isinstance(reply.body, bytes) else b"".join(reply.body)
            message = json.loads(body or b"{}").get("error", {}).get("message") or f"HTTP {reply.status}"
            return _page(reply.status, email=email, course=course, error=message)
        cookies = [(k, v) for k, v in reply.headers if k.lower() == "set-cookie"]
        return Reply(303, [("Location", f"/courses/{quote(course, safe='')}/index.html"), *cookies])

    return route
