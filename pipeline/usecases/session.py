"""A learner's session for one course: who may get the signed cookies, and for how long.

The identity is already verified when this runs (API Gateway's JWT authorizer checks the Cognito token
in the cloud; the local edge does the same against moto's Cognito). What is decided here is access: an
``ENROLL#{sub}`` item in the course's catalog partition, or membership of a group that sees every course
(authors, admins).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.errors import PipelineError
from pipeline.keys import COURSE_ID_RE

# Only admins see every course: an author's access is per course (an ENROLL item with role "author"), or
# any author could watch every course.
PRIVILEGED_GROUPS = frozenset({"admins"})
GROUPS_CLAIM = "cognito:groups"


class NotSignedInError(PipelineError):
    """No verified identity came with the request (401)."""


class NotEnrolledError(PipelineError):
    """The user may not watch this course (403)."""


class BadCourseIdError(PipelineError):
    """The course id in the path is not a course id (400)."""


class Enrollments(Protocol):
    def is_enrolled(self, course_id: str, user_id: str) -> bool: ...


@dataclass(frozen=True)
class Session:
    course_id: str
    user_id: str
    set_cookies: list[str]
    expires_at: int  # epoch seconds, the policy's DateLessThan

    def to_dict(self) -> dict[str, Any]:
        return {
            "courseId": self.course_id,
            "expiresAt": self.expires_at,
            "path": f"/courses/{self.course_id}/",
        }


# (course id, media host, ttl seconds) -> (Set-Cookie values, expiry epoch seconds)
CookieIssuer = Callable[[str, str, int], tuple[list[str], int]]


def groups_of(claims: Mapping[str, Any]) -> set[str]:
    """Cognito puts groups in ``cognito:groups``: a JSON list in the token, but API Gateway's HTTP API
    hands array claims to Lambda as one string like ``[authors admins]``. Accept both."""
    raw = claims.get(GROUPS_CLAIM)
    if raw is None:
        return set()
    if isinstance(raw, list | tuple | set):
        return {str(g) for g in raw}
    return {g for g in re.split(r"[\s,\[\]\"]+", str(raw)) if g}


def open_session(
    course_id: str,
    claims: Mapping[str, Any] | None,
    *,
    host: str,
    enrollments: Enrollments,
    issue: CookieIssuer,
    ttl_s: int,
) -> Session:
    if not COURSE_ID_RE.fullmatch(course_id or ""):
        raise BadCourseIdError(f"{course_id!r} is not a course id")
    user = str((claims or {}).get("sub") or "")
    if not user:
        raise NotSignedInError("sign in first: the request carries no verified identity")
    if not (groups_of(claims or {}) & PRIVILEGED_GROUPS) and not enrollments.is_enrolled(course_id, user):
        raise NotEnrolledError(f"you are not enrolled in {course_id}: ask the course's author for access")
    cookies, expires = issue(course_id, host, ttl_s)
    return Session(course_id=course_id, user_id=user, set_cookies=cookies, expires_at=expires)
