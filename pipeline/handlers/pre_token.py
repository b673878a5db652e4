"""Cognito pre token generation trigger (V2_0): the ``admins`` group only in tokens of accounts with MFA.

Why, and what a withheld group looks like in a token: ``pipeline.access.mfa``. Cognito calls this on every
sign-in and token refresh and waits for it (at most 5 s), so only members of an MFA-required group cost a
lookup (AdminGetUser, the one action this function's role has). A failed lookup withholds the group rather
than failing the sign-in: the learner-facing part of an operator's account keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline import aws
from pipeline.access.mfa import needs_mfa_check, token_groups, v2_response
from pipeline.handlers._wiring import logger, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _mfa_methods(pool_id: str, username: str) -> list[str] | None:
    try:
        user = aws.client("cognito-idp").admin_get_user(UserPoolId=pool_id, Username=username)
    except Exception:  # any failure withholds (see the module docstring); never a failed sign-in
        logger.exception("AdminGetUser failed: the MFA-required groups are withheld from this token")
        return None
    return [str(m) for m in user.get("UserMFASettingList") or []]


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)  # the event carries the user's attributes
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("request") or {}
    groups = [str(g) for g in (request.get("groupConfiguration") or {}).get("groupsToOverride") or []]
    methods: list[str] | None = []
    if needs_mfa_check(groups):
        methods = _mfa_methods(str(event["userPoolId"]), str(event["userName"]))
    decided = token_groups(groups, methods)
    if decided.withheld:
        logger.info("groups withheld: the account has no MFA", extra={"withheld": list(decided.withheld)})
    event["response"] = v2_response(decided)
    return event
