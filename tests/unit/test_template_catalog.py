"""The catalog API's two audiences as template.yaml deploys them (issue 11, hole 3).

Learner routes are public and cached by the CDN; every operator route (``/catalog/admin/...``: errors,
execution ARNs, unpublished files) sits behind the ``OperatorJwt`` authorizer (the Cognito user pool), the
function then requires the ``admins`` group, and the CDN neither caches those answers nor drops the
``Authorization`` header on the way. None of this shows in a diff of the function's code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pipeline.access.claims import ADMINS_GROUP
from pipeline.catalog.http import OPERATOR_PREFIX
from pipeline.local.edge_config import EdgeConfig
from pipeline.local.template import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
API = "CatalogHttpApi"
FUNCTION = "CatalogApiFunction"
AUTHORIZER = "OperatorJwt"
OPERATOR_PATTERN = "/catalog/admin/*"
LEARNER_PATTERN = "/catalog/*"
LEARNER_PATHS = {"/catalog/courses", "/catalog/courses/{courseId}", "/catalog/{proxy+}"}
OPERATOR_PATHS = {"/catalog/admin/assets", "/catalog/admin/courses/{courseId}", "/catalog/admin/{proxy+}"}
# AWS managed policies (CloudFront developer guide, "Use managed cache/origin request policies").
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@cache
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def props(logical_id: str) -> dict[str, Any]:
    value: dict[str, Any] = template()["Resources"][logical_id]["Properties"]
    return value


def routes() -> dict[str, dict[str, Any]]:
    """The catalog API's routes, by path: the function's HttpApi events."""
    found = {}
    for event in props(FUNCTION)["Events"].values():
        assert event["Type"] == "HttpApi"
        properties = event["Properties"]
        assert properties["ApiId"] == {"Ref": API} and properties["Method"] == "GET"
        found[properties["Path"]] = properties
    return found


def behaviours() -> list[dict[str, Any]]:
    ordered: list[dict[str, Any]] = props("MediaDistribution")["DistributionConfig"]["CacheBehaviors"]
    return ordered


def behaviour(pattern: str) -> dict[str, Any]:
    (found,) = [b for b in behaviours() if b["PathPattern"] == pattern]
    return found


# ---------------------------------------------------------------- API Gateway
def test_every_operator_route_names_the_operator_authorizer() -> None:
    operator = {path: r for path, r in routes().items() if path.startswith(OPERATOR_PREFIX)}
    assert set(operator) == OPERATOR_PATHS  # the {proxy+} catch-all covers any later operator route
    for path, route in operator.items():
        assert route.get("Auth") == {"Authorizer": AUTHORIZER}, path


def test_learner_routes_have_no_authorizer_and_the_api_no_default_one() -> None:
    learner = {path: r for path, r in routes().items() if not path.startswith(OPERATOR_PREFIX)}
    assert set(learner) == LEARNER_PATHS  # no anonymous /catalog/assets any more
    for path, route in learner.items():
        assert "Auth" not in route, path
    assert "DefaultAuthorizer" not in props(API)["Auth"]


def test_the_operator_authorizer_trusts_the_user_pool_and_its_client_only() -> None:
    authorizers = props(API)["Auth"]["Authorizers"]
    assert set(authorizers) == {AUTHORIZER}
    operator = authorizers[AUTHORIZER]
    assert operator["IdentitySource"] == "$request.header.Authorization"
    assert operator["JwtConfiguration"] == {
        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
        "audience": [{"Ref": "UserPoolClient"}],
    }
    # The same pool and client as the session API: one sign-in for learners and operators.
    session = props("SessionHttpApi")["Auth"]["Authorizers"]["CognitoJwt"]["JwtConfiguration"]
    assert operator["JwtConfiguration"] == session


def test_the_group_the_function_requires_is_a_group_of_the_pool() -> None:
    groups = [
        r["Properties"]["GroupName"]
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::Cognito::UserPoolGroup"
    ]
    assert ADMINS_GROUP in groups


# ---------------------------------------------------------------- CloudFront
def test_the_operator_behaviour_comes_before_the_learner_one() -> None:
    patterns = [b["PathPattern"] for b in behaviours()]
    assert patterns.index(OPERATOR_PATTERN) < patterns.index(LEARNER_PATTERN)


def test_operator_answers_are_never_cached_and_keep_their_authorization_header() -> None:
    operator, learner = behaviour(OPERATOR_PATTERN), behaviour(LEARNER_PATTERN)
    assert operator["CachePolicyId"] == CACHING_DISABLED
    # With caching disabled this managed policy forwards Authorization (API Gateway sets its own Host).
    assert operator["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert operator["TargetOriginId"] == learner["TargetOriginId"]
    assert set(operator["AllowedMethods"]) <= {"GET", "HEAD", "OPTIONS"}
    assert operator["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only")
    assert "TrustedKeyGroups" not in operator  # a bearer token, not signed cookies
    assert learner["CachePolicyId"] != CACHING_DISABLED  # learners' answers stay cached


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/catalog/admin/assets", OPERATOR_PATTERN),
        ("/catalog/admin/courses/c1", OPERATOR_PATTERN),
        ("/catalog/admin/anything/else", OPERATOR_PATTERN),
        ("/catalog/courses/c1", LEARNER_PATTERN),
        ("/catalog/assets", LEARNER_PATTERN),
    ],
)
def test_the_local_edge_routes_catalog_paths_as_the_distribution_does(path: str, pattern: str) -> None:
    assert EdgeConfig.from_template(TEMPLATE, parameters={}).behaviour_for(path).path_pattern == pattern
