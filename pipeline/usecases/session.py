"""A learner's session for one course: who may get the signed cookies, and for how long.

The identity is already verified when this runs (API Gateway's JWT authorizer checks the Cognito token
in the cloud; the local edge does the same against moto's Cognito). What is decided here is access: an
enrolment of the user in the course (``PK=ENROLL#{courseId}``, ``SK=USER#{sub}`` in the catalog table, one
GetItem), or membership of the group that sees every course (admins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pipeline.access.claims import ADMINS_GROUP, GROUPS_CLAIM, NotSignedInError, groups_of, withheld_of
from pipeline.errors import PipelineError
from pipeline.keys import COURSE_ID_RE

__all__ = [
    "GROUPS_CLAIM",
    "PRIVILEGED_GROUPS",
    "BadCourseIdError",
    "CookieIssuer",
    "Enrollments",
    "NotEnrolledError",
    "NotSignedInError",
    "Session",
    "groups_of",
    "open_session",
]

# Only admins see every course: an author's access is per course (an enrolment with role "author"), or
# any author could watch every course.
PRIVILEGED_GROUPS = frozenset({ADMINS_GROUP})


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
        if PRIVILEGED_GROUPS & withheld_of(claims):
            raise NotEnrolledError(
                f"you are not enrolled in {course_id}, and your account's admin rights need MFA: set up "
                "an authenticator app on your account, then sign in again with its code"
            )
        raise NotEnrolledError(f"you are not enrolled in {course_id}: ask the course's author for access")
    cookies, expires = issue(course_id, host, ttl_s)
    return Session(course_id=course_id, user_id=user, set_cookies=cookies, expires_at=expires)
