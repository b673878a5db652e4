"""Admin rights need MFA (issue 11): the user pool's pre token generation trigger keeps the admins group out
of tokens of accounts without MFA, and the routes that need the group say why they refuse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from pipeline import aws, config
from pipeline.access.claims import GROUPS_CLAIM, NotInGroupError, require_group
from pipeline.access.mfa import apply_v2_response, token_groups, v2_response
from pipeline.handlers import pre_token
from pipeline.local.lambdas import LocalContext
from pipeline.usecases.session import NotEnrolledError, open_session

if TYPE_CHECKING:
    from collections.abc import Iterator

CONTEXT = LocalContext("coursepipe-PreToken", 256, "arn:aws:lambda:us-east-1:123456789012:function:x", 5)


# ---------------------------------------------------------------- the decision
def test_admins_without_mfa_lose_the_group_and_are_told_why() -> None:
    decided = token_groups(["authors", "admins"], [])
    assert decided.groups == ("authors",) and decided.withheld == ("admins",)
    assert decided.claims() == {"withheld_groups": "admins"}
    # A failed lookup (None) withholds as well: never admin rights because a read failed.
    assert token_groups(["admins"], None).groups == ()


def test_admins_with_mfa_and_everyone_else_keep_their_groups() -> None:
    assert token_groups(["admins", "authors"], ["SOFTWARE_TOKEN_MFA"]).groups == ("admins", "authors")
    learner = token_groups(["authors"], [])
    assert learner.groups == ("authors",) and learner.withheld == () and learner.claims() == {}


def test_the_response_overrides_groups_in_both_tokens() -> None:
    response = v2_response(token_groups(["admins", "authors"], []))
    for use in ("id", "access"):
        claims = {"sub": "u1", "token_use": use, GROUPS_CLAIM: ["admins", "authors"]}
        written = apply_v2_response(claims, response)
        assert written[GROUPS_CLAIM] == ["authors"] and written["withheld_groups"] == "admins"
    only_admin = apply_v2_response(
        {"token_use": "id", GROUPS_CLAIM: ["admins"]}, v2_response(token_groups(["admins"], []))
    )
    assert GROUPS_CLAIM not in only_admin  # Cognito writes no groups claim for no groups


def test_operator_routes_and_sessions_say_what_to_do() -> None:
    claims = {"sub": "u1", "withheld_groups": "admins"}
    with pytest.raises(NotInGroupError, match="need MFA: set up an authenticator app"):
        require_group(claims, "admins")
    with pytest.raises(NotInGroupError, match="only members of the 'admins' group"):
        require_group({"sub": "u2"}, "admins")

    class NoEnrolments:
        def is_enrolled(self, course_id: str, user_id: str) -> bool:
            return False

    def issue(course: str, host: str, ttl: int) -> tuple[list[str], int]:
        raise AssertionError("no cookies without rights")

    with pytest.raises(NotEnrolledError, match="admin rights need MFA"):
        open_session("algebra", claims, host="h", enrollments=NoEnrolments(), issue=issue, ttl_s=60)


# ---------------------------------------------------------------- the handler against Cognito (moto)
@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv(config.ENDPOINT_ENV, raising=False)
    with mock_aws():
        aws.reset_clients()
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(PoolName="p", MfaConfiguration="OPTIONAL")["UserPool"]["Id"]
        for name in ("op@example.com", "secure@example.com"):
            cognito.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
        cognito.admin_set_user_mfa_preference(
            UserPoolId=pool_id, Username="secure@example.com", SMSMfaSettings={"Enabled": True}
        )
        yield cognito, pool_id
    aws.reset_clients()


def trigger(pool_id: str, user: str, groups: list[str]) -> dict[str, Any]:
    event = {
        "version": "2",
        "triggerSource": "TokenGeneration_Authentication",
        "region": "us-east-1",
        "userPoolId": pool_id,
        "userName": user,
        "callerContext": {"awsSdkVersion": "x", "clientId": "c"},
        "request": {
            "userAttributes": {"sub": "s"},
            "groupConfiguration": {
                "groupsToOverride": groups,
                "iamRolesToOverride": [],
                "preferredRole": None,
            },
            "scopes": [],
        },
        "response": {"claimsAndScopeOverrideDetails": None},
    }
    details: dict[str, Any] = pre_token.handler(event, CONTEXT)["response"]["claimsAndScopeOverrideDetails"]
    return details


def test_the_trigger_reads_the_accounts_mfa_settings(pool: tuple[Any, str]) -> None:
    _, pool_id = pool
    plain = trigger(pool_id, "op@example.com", ["admins", "authors"])
    assert plain["groupOverrideDetails"]["groupsToOverride"] == ["authors"]
    assert plain["idTokenGeneration"]["claimsToAddOrOverride"] == {"withheld_groups": "admins"}
    assert plain["accessTokenGeneration"]["claimsToAddOrOverride"] == {"withheld_groups": "admins"}
    secure = trigger(pool_id, "secure@example.com", ["admins"])
    assert secure["groupOverrideDetails"]["groupsToOverride"] == ["admins"]
    assert secure["idTokenGeneration"]["claimsToAddOrOverride"] == {}


def test_only_admins_cost_a_lookup_and_a_failed_one_withholds(pool: tuple[Any, str]) -> None:
    # An unknown pool makes AdminGetUser fail: learners never reach it, admins lose the group.
    learner = trigger("us-east-1_nothere", "lea@example.com", ["authors"])
    assert learner["groupOverrideDetails"]["groupsToOverride"] == ["authors"]
    admin = trigger("us-east-1_nothere", "op@example.com", ["admins"])
    assert admin["groupOverrideDetails"]["groupsToOverride"] == []
