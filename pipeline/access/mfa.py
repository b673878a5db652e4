"""MFA for operators: the ``admins`` group reaches a token only from an account with MFA.

Cognito's MFA setting is per user pool, not per group: ``OPTIONAL`` lets every learner choose, and
``ON`` would force an authenticator app on every learner of every course. So the pool stays
``OPTIONAL`` and its pre token generation trigger (``pipeline.handlers.pre_token``) decides what a token
says: an account of the ``admins`` group that has no MFA method enabled gets its tokens *without* that
group, and with a ``withheld_groups`` claim that says why. Such an account can still sign in, enrol an
authenticator app (``AssociateSoftwareToken`` needs only its access token) and sign in again, this time
with its code, and from then on its tokens carry the group. An account with MFA enabled cannot sign in
without its code (Cognito challenges every sign-in once a method is enabled), so "has MFA enabled" here
means "this sign-in passed MFA".

What the routes check stays the verified ``cognito:groups`` claim (``pipeline.access.claims``); the
withheld claim only turns a bare 403 into a message that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.access.claims import ADMINS_GROUP, GROUPS_CLAIM, WITHHELD_CLAIM

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

MFA_REQUIRED_GROUPS = frozenset({ADMINS_GROUP})
"""Groups whose rights need an account with MFA."""


@dataclass(frozen=True)
class TokenGroups:
    """What the trigger puts in one sign-in's tokens."""

    groups: tuple[str, ...]
    withheld: tuple[str, ...]

    def claims(self) -> dict[str, str]:
        """Claims added to both tokens (none when nothing is withheld)."""
        return {WITHHELD_CLAIM: " ".join(self.withheld)} if self.withheld else {}


def needs_mfa_check(groups: Iterable[str]) -> bool:
    """Only members of an MFA-required group cost the trigger a call to look up their MFA settings."""
    return any(g in MFA_REQUIRED_GROUPS for g in groups)


def token_groups(groups: Iterable[str], mfa_methods: Iterable[str] | None) -> TokenGroups:
    """The groups a token may carry. ``mfa_methods`` is the account's enabled MFA methods
    (``UserMFASettingList``); None when they could not be read, which withholds as an empty list would:
    an operator's sign-in never gains admin rights because a lookup failed."""
    listed = list(dict.fromkeys(str(g) for g in groups))
    if any(str(m).strip() for m in mfa_methods or ()):
        return TokenGroups(tuple(listed), ())
    kept = tuple(g for g in listed if g not in MFA_REQUIRED_GROUPS)
    withheld = tuple(g for g in listed if g in MFA_REQUIRED_GROUPS)
    return TokenGroups(kept, withheld)


def v2_response(decided: TokenGroups) -> dict[str, Any]:
    """The ``claimsAndScopeOverrideDetails`` of a V2_0 pre token generation response: the group override
    applies to the ID and the access token alike (V1_0 would leave ``cognito:groups`` in the access token,
    which the APIs accept too)."""
    extra = decided.claims()
    return {
        "claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {"claimsToAddOrOverride": extra, "claimsToSuppress": []},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": extra,
                "claimsToSuppress": [],
                "scopesToAdd": [],
                "scopesToSuppress": [],
            },
            "groupOverrideDetails": {"groupsToOverride": list(decided.groups)},
        }
    }


def apply_v2_response(claims: dict[str, Any], response: Mapping[str, Any]) -> dict[str, Any]:
    """What Cognito does with a V2_0 response when it writes a token: the groups replaced, the claims for
    this token's kind (``token_use``) added or suppressed. Used by the local stack, whose Cognito (moto)
    runs no triggers; the cloud never calls this."""
    details = response.get("claimsAndScopeOverrideDetails") or {}
    out = dict(claims)
    override = (details.get("groupOverrideDetails") or {}).get("groupsToOverride")
    if override is not None:
        if override:
            out[GROUPS_CLAIM] = [str(g) for g in override]
        else:
            out.pop(GROUPS_CLAIM, None)  # Cognito leaves the claim out of a token with no groups
    part = "idTokenGeneration" if claims.get("token_use") == "id" else "accessTokenGeneration"
    generation = details.get(part) or {}
    for name in generation.get("claimsToSuppress") or []:
        out.pop(str(name), None)
    out.update({str(k): v for k, v in (generation.get("claimsToAddOrOverride") or {}).items()})
    return out
