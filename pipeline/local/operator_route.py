"""``/catalog/*`` on the local edge: the catalog API, with its operator routes behind a JWT check.

In the cloud the catalog HTTP API's ``OperatorJwt`` authorizer (template.yaml) verifies the Cognito token on
every ``/catalog/admin/...`` route before the function runs, and API Gateway hands the verified claims to
Lambda in ``requestContext.authorizer.jwt.claims`` (array claims as ``[a b]`` strings). This route does the
same with the local user pool's authorizer (moto Cognito), so the catalog function decides on the admins
group exactly as it does behind API Gateway. Learner routes carry no authorizer context, as in the cloud.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.catalog.http import OPERATOR_PREFIX
from pipeline.local.identity import JwtAuthorizer, authorize_event
from pipeline.local.lambdas import Handler, load_handler

if TYPE_CHECKING:
    from collections.abc import Callable


def is_operator_path(path: str) -> bool:
    """The paths of the template's operator routes (``/catalog/admin/assets``, ``.../courses/{courseId}``,
    ``.../{proxy+}``): everything below ``/catalog/admin/``."""
    return path.startswith(OPERATOR_PREFIX + "/") and len(path) > len(OPERATOR_PREFIX) + 1


def operator_handler(authorizer: JwtAuthorizer, handler: str) -> Handler:
    """The catalog function (``handler``, a dotted path loaded at the first request, once the function's
    environment is in place) as API Gateway invokes it, for ``lambda_route``: operator paths without a valid
    token get API Gateway's 401 and never reach the function; with one, the function gets its claims."""
    loaded: list[Callable[[Any, Any], Any]] = []

    def invoke(event: dict[str, Any], context: Any) -> Any:
        if not loaded:
            loaded.append(load_handler(handler))
        request_context = event.setdefault("requestContext", {})
        request_context.pop("authorizer", None)  # only an authorizer puts claims here
        if is_operator_path(str(event.get("rawPath") or "")):
            refused = authorize_event(authorizer, event)
            if refused is not None:
                return refused
        return loaded[0](event, context)

    return invoke
