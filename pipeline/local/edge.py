"""The local edge: ``MediaDistribution``'s cache behaviours from template.yaml, enforced on 127.0.0.1.

The behaviours are read by ``pipeline.local.edge_config``; this module plays them per request.

What CloudFront does for a viewer request, in the order done here, and where the local edge differs:

1. **Behaviour.** The request path is compared with each ``CacheBehaviors[].PathPattern`` in template
   order; the first match wins, else ``DefaultCacheBehavior``. Patterns are case-sensitive, ``*`` matches
   any run of characters (``/`` included), ``?`` exactly one, and a leading ``/`` makes no difference
   (CacheBehavior.PathPattern in the CloudFront API reference). The query string is not part of the match.
   Locally the path is matched once percent-decoded (the form the origin key takes), and paths with ``.``
   or ``..`` segments are refused with 400 before any behaviour is chosen: a file server resolving them
   after the check would serve one course's files under another's path (or a public pattern's).
2. **Method.** A method the behaviour's ``AllowedMethods`` lacks is refused with 403 ("This distribution is
   not configured to allow the HTTP request method that was used for this request").
3. **Signed cookies / URL** when the behaviour lists ``TrustedKeyGroups``: ``pipeline.access.verify``
   decides on ``{scheme}://{Host}{path}?{query}`` as requested, and a refusal is CloudFront's 403 with an
   XML body (``Content-Type: text/xml``): ``MissingKey``, ``InvalidKey``, ``MalformedPolicy``,
   ``AccessDenied``. Every signed behaviour trusts the one local key group (key id -> public key).
4. **Viewer-request functions.** The one CloudFront Function shape our template uses (copy the viewer's
   ``Host`` into a header for the origin) is recognised in ``FunctionCode`` and emulated; any other
   function is listed in :attr:`EdgeConfig.notes` and not run.
5. **Origin.** Bucket behaviours read the publish bucket (``pipeline.local.origins.bucket_origin``, moto)
   or an export folder laid out by key (``origins.directory_origin``); API behaviours call the route the
   caller passes (the session handler, the catalog ``lambda_route``), or answer 404 JSON without one.
   The origin's ``Cache-Control`` reaches the viewer unchanged (cache policy TTLs only govern the edge's
   own cache, which the local edge does not have: the TTLs are read for inspection and tests). A missing
   object is 404 here; behind Origin Access Control without ``s3:ListBucket`` S3 answers 403.
6. **Compression** with ``Compress`` on: gzip as CloudFront decides it (``pipeline.local.compression``).
7. **Response headers policy**: security headers, custom headers and CORS (for a request with an
   ``Origin`` the policy allows) are added per their ``Override`` flags, also to the edge's own 403s.

Not emulated: caching, ``ViewerProtocolPolicy`` (the local edge is plain HTTP), origin request policies
(every header reaches the origin routes), field-level encryption, Lambda@Edge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pipeline.access.cookies import parse_cookie_header
from pipeline.access.policy import check_media_domain
from pipeline.access.verify import PublicKeyLike, load_key_group, verify_request
from pipeline.local.compression import compressed
from pipeline.local.edge_config import Behaviour, EdgeConfig, OriginKind, ResponseHeadersPolicy
from pipeline.local.http import Reply, Request, Route, decoded_path, json_reply, text_reply, without

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# EdgeConfig and directory_origin too: ``coursepipe serve`` (pipeline/cli_edge.py) imports them from here.
__all__ = ["EDGE_NAME", "METHOD_NOT_ALLOWED", "Edge"]

METHOD_NOT_ALLOWED = (
    "403 ERROR\nThe request could not be satisfied.\n"
    "This distribution is not configured to allow the HTTP request method that was used for this request. "
    "The distribution supports only cachable requests.\n"
)
EDGE_NAME = "coursepipe-edge"


# ---------------------------------------------------------------- the edge
def _api_not_found(request: Request) -> Reply:
    return json_reply(404, {"message": "Not Found"})


@dataclass
class Edge:
    """A route (mount it at ``""`` on an ``HttpFront``) that plays ``MediaDistribution`` locally.

    ``bucket`` serves the bucket behaviours (:func:`directory_origin` or :func:`bucket_origin`);
    ``session`` and ``catalog`` serve ``/auth/*`` and ``/catalog/*`` (404 JSON when not given).
    ``key_group`` maps key ids to public keys (PEM or loaded) trusted by every signed behaviour.
    ``log`` receives one line per request (behaviour, status, and why a signed request was refused).
    """

    config: EdgeConfig
    bucket: Route
    key_group: Mapping[str, PublicKeyLike]
    session: Route | None = None
    catalog: Route | None = None
    scheme: str = "http"
    clock: Callable[[], float] = time.time
    log: Callable[[str], None] | None = None
    _keys: Mapping[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = load_key_group(self.key_group)

    def routes(self) -> list[tuple[str, Route]]:
        """For ``HttpFront(routes=...)``: the edge decides every path itself."""
        return [("", self)]

    def __call__(self, request: Request) -> Reply:
        path = decoded_path(request)
        if path is None:
            reply = text_reply(400, "Bad Request: '.' and '..' path segments are refused\n")
            self._note(request, None, reply, "dot segments or undecodable path")
            return reply
        behaviour = self.config.behaviour_for(path)
        reply, why = self._respond(request, behaviour)
        reply = self._finish(request, behaviour, reply)
        self._note(request, behaviour, reply, why)
        return reply

    def _respond(self, request: Request, behaviour: Behaviour) -> tuple[Reply, str]:
        if request.method.upper() not in behaviour.allowed_methods:
            reply = Reply(403, [("Content-Type", "text/plain; charset=utf-8")], METHOD_NOT_ALLOWED.encode())
            return reply, f"{request.method} not in {sorted(behaviour.allowed_methods)}"
        why = "public"
        if behaviour.signed:
            raw_host = request.header("Host") or f"{request.server[0]}:{request.server[1]}"
            try:
                # Only host[:port]: a Host carrying '/' would move the checked URL's path away from the
                # path actually served (CloudFront never sees such a Host).
                host = check_media_domain(raw_host)
            except ValueError:
                return text_reply(400, "Bad Request: invalid Host header"), f"invalid Host {raw_host!r}"
            url = f"{self.scheme}://{host}{request.path}" + (f"?{request.query}" if request.query else "")
            cookies: dict[str, str] = {}
            for header in request.header_values("Cookie"):
                for name, value in parse_cookie_header(header).items():
                    cookies.setdefault(name, value)
            decision = verify_request(url, cookies, self._keys, now=self.clock(), client_ip=request.client[0])
            if not decision.allowed:
                body = decision.error_xml().encode()
                return Reply(decision.status, [("Content-Type", "text/xml")], body), decision.detail
            why = f"signed {decision.source} {decision.key_pair_id}"
        if behaviour.copy_host_to:
            host_value = request.header("Host") or ""
            headers = without(request.headers, *behaviour.copy_host_to)
            headers += [(name, host_value) for name in behaviour.copy_host_to]
            request = replace(request, headers=headers)
        origin = {
            OriginKind.BUCKET: self.bucket,
            OriginKind.SESSION: self.session,
            OriginKind.CATALOG: self.catalog,
        }[behaviour.origin]
        return (origin or _api_not_found)(request), why

    def _finish(self, request: Request, behaviour: Behaviour, reply: Reply) -> Reply:
        if behaviour.compress:
            reply = compressed(request, reply)
        if behaviour.response_headers is not None:
            reply = _with_policy(request, behaviour.response_headers, reply)
        cache = "Error" if reply.status >= 400 else "Miss"
        reply.headers += [
            ("X-Cache", f"{cache} from {EDGE_NAME}"),
            ("X-Edge-Behavior", behaviour.path_pattern),
        ]
        return reply

    def _note(self, request: Request, behaviour: Behaviour | None, reply: Reply, why: str) -> None:
        if self.log is None:
            return
        pattern = behaviour.path_pattern if behaviour else "-"
        self.log(f"{request.method} {request.path} -> {reply.status} [{pattern}] {why}")


def _with_policy(request: Request, policy: ResponseHeadersPolicy, reply: Reply) -> Reply:
    headers = without(reply.headers, *policy.remove)
    present = {k.lower() for k, _ in headers}
    for name, value, override in policy.headers:
        if name.lower() in present and not override:
            continue
        headers = [*without(headers, name), (name, value)]
    origin = request.header("Origin")
    cors = policy.cors
    if cors is not None and origin and cors.allows(origin):
        names = [
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials",
            "Access-Control-Expose-Headers",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Max-Age",
        ]
        if cors.origin_override or not present & {n.lower() for n in names}:
            headers = without(headers, *names)
            allow = "*" if "*" in cors.allow_origins and not cors.allow_credentials else origin
            headers.append(("Access-Control-Allow-Origin", allow))
            if cors.allow_credentials:
                headers.append(("Access-Control-Allow-Credentials", "true"))
            if cors.expose_headers:
                headers.append(("Access-Control-Expose-Headers", ", ".join(cors.expose_headers)))
            if request.method == "OPTIONS" and request.header("Access-Control-Request-Method"):
                headers.append(("Access-Control-Allow-Methods", ", ".join(cors.allow_methods)))
                if cors.allow_headers:
                    headers.append(("Access-Control-Allow-Headers", ", ".join(cors.allow_headers)))
                if cors.max_age_s is not None:
                    headers.append(("Access-Control-Max-Age", str(cors.max_age_s)))
            if allow != "*":
                headers.append(("Vary", "Origin"))
    return Reply(reply.status, headers, reply.body, reply.length)
