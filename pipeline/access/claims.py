"""Who a verified caller is, from the claims API Gateway's JWT authorizer hands to Lambda.

The token itself is checked before any handler runs (API Gateway's JWT authorizer in the cloud, the local
edge's equivalent locally): what is read here are the claims of an already verified Cognito token. An HTTP
API JWT authorizer checks scopes, not groups, so routes limited to a group check ``cognito:groups`` here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError

if TYPE_CHECKING:
    from collections.abc import Mapping

GROUPS_CLAIM = "cognito:groups"
ADMINS_GROUP = "admins"
"""Operators: they see every course's content and the catalog's operator views (errors, executions)."""
WITHHELD_CLAIM = "withheld_groups"
"""Space-separated groups the account is in but this token does not carry: their rights need MFA on the
account (the user pool's pre token generation trigger, ``pipeline.access.mfa``)."""


class NotSignedInError(PipelineError):
    """No verified identity came with the request (401)."""


class NotInGroupError(PipelineError):
    """The caller is signed in but not a member of the group the route is for (403)."""


def groups_of(claims: Mapping[str, Any]) -> set[str]:
    """Cognito puts groups in ``cognito:groups``: a JSON list in the token, but API Gateway's HTTP API
    hands array claims to Lambda as one string like ``[authors admins]``. Accept both."""
    raw = claims.get(GROUPS_CLAIM)
    if raw is None:
        return set()
    if isinstance(raw, list | tuple | set):
        return {str(g) for g in raw}
    return {g for g in re.split(r"[\s,\[\]\"]+", str(raw)) if g}


def withheld_of(claims: Mapping[str, Any] | None) -> set[str]:
    """The groups the account is in but this token leaves out (``WITHHELD_CLAIM``)."""
    return set(str((claims or {}).get(WITHHELD_CLAIM) or "").split())


def require_group(claims: Mapping[str, Any] | None, group: str) -> str:
    """The caller's ``sub`` when the verified claims name a member of ``group``; refuse otherwise."""
    user = str((claims or {}).get("sub") or "")
    if not user:
        raise NotSignedInError("sign in first: send Authorization: Bearer <Cognito token>")
    if group not in groups_of(claims or {}):
        if group in withheld_of(claims):
            raise NotInGroupError(
                f"your account is in the {group!r} group, but that group's rights need MFA: set up an "
                "authenticator app on your account (Cognito AssociateSoftwareToken, VerifySoftwareToken, "
                "SetUserMFAPreference), then sign in again with its code"
            )
        raise NotInGroupError(f"only members of the {group!r} group may use this route")
    return user
