"""Content protection and the CDN as template.yaml declares them (ARCHITECTURE §6).

None of this shows in a diff: a cache behaviour without ``TrustedKeyGroups`` is public, CloudFront takes
the first behaviour whose pattern matches (and ``*`` also matches ``/``), a cookie, header or query string
in a cache key splits the cache, and a bucket policy is one statement away from exposing ``work/``. These
checks read the template as deployed and route real published paths (from ``pipeline.layout``) through the
behaviours, so a later edit cannot make course content public or fragment the cache without failing here.
"""

from __future__ import annotations

import posixpath
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pipeline import layout
from pipeline.content_types import CONTENT_TYPES
from pipeline.keys import asset_id_for
from pipeline.local.template import Stack, load_template
from pipeline.text.page import player_script_path, site_assets

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

DISTRIBUTION = "MediaDistribution"
KEY_GROUP = {"Ref": "SigningKeyGroup"}
BUCKET_ORIGIN_DOMAIN = {"Fn::GetAtt": ["PublishBucket", "RegionalDomainName"]}
# The only behaviours allowed to serve from the bucket without signed cookies: the site's stylesheet,
# player script and hls.js, which every course publishes under courses/{courseId}/assets/.
PUBLIC_BUCKET_PATTERNS = {"courses/*/assets/*", "courses/*/assets/diagram-frame-*.html"}
# The one behaviour whose CSP allows inline styles (mermaid's SVG): the diagram frame, with our scripts only.
DIAGRAM_FRAME_PATTERN = "courses/*/assets/diagram-frame-*.html"
AUTH_PATTERN = "/auth/*"
CATALOG_PATTERN = "/catalog/*"
CATALOG_OPERATOR_PATTERN = "/catalog/admin/*"  # uncached, Authorization forwarded (test_template_catalog)
SESSION_ROUTE = "/auth/courses/{courseId}/session"

# AWS managed policies (CloudFront developer guide, "Use managed cache/origin request policies").
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf"
# Their cache keys, in the shape of a template CachePolicy's ParametersInCacheKeyAndForwardedToOrigin.
MANAGED_CACHE_KEYS: dict[str, dict[str, Any]] = {
    CACHING_DISABLED: {
        "EnableAcceptEncodingGzip": False,
        "EnableAcceptEncodingBrotli": False,
        "HeadersConfig": {"HeaderBehavior": "none"},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "none"},
    },
}
# What each managed origin request policy forwards besides the cache key: (headers, cookies).
MANAGED_ORIGIN_REQUESTS = {
    ALL_VIEWER_EXCEPT_HOST_HEADER: ("all viewer headers except Host", "all"),
    CORS_S3_ORIGIN: ("origin, access-control-request-headers, access-control-request-method", "none"),
}

IMMUTABLE_MEDIA = ("*.ts", "*.m4s", "*.mp4", "*.aac")
ONE_DAY = 86_400
ONE_YEAR = 31_536_000
COURSE = "c1"


# ---------------------------------------------------------------- reading the template
@cache
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def resources() -> dict[str, dict[str, Any]]:
    res: dict[str, dict[str, Any]] = template()["Resources"]
    return res


def props(logical_id: str) -> dict[str, Any]:
    value: dict[str, Any] = resources()[logical_id]["Properties"]
    return value


def of_type(type_name: str) -> dict[str, dict[str, Any]]:
    return {k: v.get("Properties", {}) for k, v in resources().items() if v["Type"] == type_name}


def ref_target(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, dict) and set(value) == {"Ref"} else None


def branches(value: Any) -> list[Any]:
    """The values an ``Fn::If`` can take (``AWS::NoValue`` left out); a plain value is its only branch."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, when_true, when_false = value["Fn::If"]
        return [b for v in (when_true, when_false) for b in branches(v)]
    if value is None or ref_target(value) == "AWS::NoValue":
        return []
    return [value]


def config() -> dict[str, Any]:
    cfg: dict[str, Any] = props(DISTRIBUTION)["DistributionConfig"]
    return cfg


def behaviours() -> list[dict[str, Any]]:
    """Cache behaviours in CloudFront's matching order, the default last (pattern ``*``)."""
    ordered = list(config().get("CacheBehaviors", []))
    return [*ordered, {**config()["DefaultCacheBehavior"], "PathPattern": "*", "_default": True}]


def origins() -> dict[str, dict[str, Any]]:
    return {o["Id"]: o for o in config()["Origins"]}


def bucket_origin_id() -> str:
    (origin_id,) = [k for k, o in origins().items() if o["DomainName"] == BUCKET_ORIGIN_DOMAIN]
    return origin_id


def from_bucket(behaviour: dict[str, Any]) -> bool:
    return bool(behaviour["TargetOriginId"] == bucket_origin_id())


def by_pattern(pattern: str) -> dict[str, Any]:
    (found,) = [b for b in behaviours() if b["PathPattern"] == pattern and not b.get("_default")]
    return found


def cache_key(behaviour: dict[str, Any]) -> dict[str, Any]:
    """The cache key of a behaviour's cache policy: a template CachePolicy, or a managed one we know."""
    policy = behaviour["CachePolicyId"]
    target = ref_target(policy)
    if target is None:
        assert policy in MANAGED_CACHE_KEYS, (
            f"{behaviour['PathPattern']}: unknown managed cache policy {policy}"
        )
        return MANAGED_CACHE_KEYS[policy]
    assert resources()[target]["Type"] == "AWS::CloudFront::CachePolicy"
    key: dict[str, Any] = props(target)["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"]
    return key


def cache_ttls(behaviour: dict[str, Any]) -> tuple[int, int, int]:
    target = ref_target(behaviour["CachePolicyId"])
    if target is None:
        return (0, 0, 0)  # CachingDisabled, the only managed cache policy allowed
    cfg = props(target)["CachePolicyConfig"]
    return int(cfg["MinTTL"]), int(cfg["DefaultTTL"]), int(cfg["MaxTTL"])


def response_headers(behaviour: dict[str, Any]) -> dict[str, Any]:
    target = ref_target(behaviour.get("ResponseHeadersPolicyId"))
    assert target is not None, f"{behaviour['PathPattern']} has no response headers policy from this template"
    assert resources()[target]["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    policy: dict[str, Any] = props(target)["ResponseHeadersPolicyConfig"]
    return policy


# ---------------------------------------------------------------- CloudFront's path matching
@cache
def _pattern_re(pattern: str) -> re.Pattern[str]:
    # Case-sensitive; "*" is any run of characters including "/", "?" exactly one; a leading "/" optional.
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lstrip("/"))
    )


def matches(pattern: str, path: str) -> bool:
    return _pattern_re(pattern).fullmatch(path.lstrip("/")) is not None


def served_by(path: str) -> dict[str, Any]:
    return next(b for b in behaviours() if matches(b["PathPattern"], path))


# ---------------------------------------------------------------- what the pipeline publishes
# Upload paths chosen to put "assets" wherever an author could: the asset id always ends in a hash, so no
# published folder of course content is ever called "assets".
HOSTILE_SOURCES = ("intro.mp4", "assets.mp4", "assets/intro.mp4", "lessons/assets.md", "assets/assets/a.png")
RENDITION_FILES = (
    "hls/master.m3u8",
    "hls/720p/index.m3u8",
    "hls/720p/seg_00001.ts",
    "hls/720p/seg_00001.m4s",
    "hls/720p/init.mp4",
    "hls/audio/index.m3u8",
    "hls/audio/seg_00001.aac",
    "hls/iframes/720p.m3u8",
    "thumbs/poster-1280.jpg",
    "thumbs/poster-640.webp",
    "thumbs/sprite.vtt",
    "thumbs/sprite-000.jpg",
    "downloads/lecture.mp4",
    "downloads/lecture.m4a",
)
UNLISTED_EXTENSIONS = ("", ".json", ".bin", ".M3U8", ".HTML")


def course_content_paths() -> list[str]:
    """Paths of course content as the pipeline lays it out, for every published file type and more."""
    extensions = [*CONTENT_TYPES, *UNLISTED_EXTENSIONS]
    rel: list[str] = [layout.course_index()]
    for source in HOSTILE_SOURCES:
        aid = asset_id_for(source)
        rel += [layout.hls_master(aid), layout.lesson_page(aid)]
        rel += [f"{layout.media_dir(aid)}/{name}" for name in RENDITION_FILES]
        rel += [layout.image_variant(aid, width) for width in layout.IMAGE_WIDTHS]
        for folder in (
            layout.media_dir(aid),
            layout.image_dir(aid),
            posixpath.dirname(layout.lesson_page(aid)),
        ):
            rel += [f"{folder}/file{ext}" for ext in extensions]
    return [f"/courses/{COURSE}/{r}" for r in rel]


def site_asset_paths() -> list[str]:
    hls_js = posixpath.join(posixpath.dirname(player_script_path()), "hls.min.js")
    return [f"/courses/{COURSE}/{path}" for path in [*site_assets(), hls_js]]


# ---------------------------------------------------------------- signed cookies
def test_every_published_course_path_is_served_by_a_signed_bucket_behaviour() -> None:
    for path in course_content_paths():
        behaviour = served_by(path)
        assert from_bucket(behaviour), f"{path} is routed to {behaviour['TargetOriginId']}"
        assert behaviour.get("TrustedKeyGroups") == [KEY_GROUP], (
            f"{path} is served by {behaviour['PathPattern']!r} without signed cookies"
        )


def test_site_assets_are_public_because_pages_load_them_before_any_cookie() -> None:
    for path in site_asset_paths():
        behaviour = served_by(path)
        assert from_bucket(behaviour)
        assert behaviour["PathPattern"] in PUBLIC_BUCKET_PATTERNS, path
        assert "TrustedKeyGroups" not in behaviour


def test_only_the_site_assets_pattern_may_serve_the_bucket_unsigned() -> None:
    for behaviour in behaviours():
        if from_bucket(behaviour) and behaviour.get("TrustedKeyGroups") != [KEY_GROUP]:
            assert behaviour["PathPattern"] in PUBLIC_BUCKET_PATTERNS, (
                f"{behaviour['PathPattern']!r} serves the publish bucket without TrustedKeyGroups"
            )
            assert "TrustedKeyGroups" not in behaviour
            assert not behaviour.get("_default"), "the default behaviour must be signed"


def test_the_key_group_trusts_the_template_key_only() -> None:
    group = props("SigningKeyGroup")["KeyGroupConfig"]
    assert group["Items"] == [{"Ref": "SigningPublicKey"}]
    encoded = str(props("SigningPublicKey")["PublicKeyConfig"]["EncodedKey"])
    assert "CloudFrontPublicKeyPem" in encoded
    # No default: a deployment must bring its own key (`coursepipe keys generate`).
    assert "Default" not in template()["Parameters"]["CloudFrontPublicKeyPem"]


def test_behaviour_patterns_are_unique_and_the_apis_come_first() -> None:
    patterns = [b["PathPattern"] for b in behaviours() if not b.get("_default")]
    assert len(patterns) == len(set(patterns))
    assert patterns[:3] == [AUTH_PATTERN, CATALOG_OPERATOR_PATTERN, CATALOG_PATTERN]


@pytest.mark.parametrize("path", ["/auth/courses/c1/session", "/auth/x.html", "/auth/a.m3u8"])
def test_auth_paths_reach_the_session_api(path: str) -> None:
    assert served_by(path)["PathPattern"] == AUTH_PATTERN


@pytest.mark.parametrize(
    "path", ["/catalog/courses", "/catalog/courses/c1", "/catalog/assets", "/catalog/a.js"]
)
def test_catalog_paths_reach_the_catalog_api(path: str) -> None:
    assert served_by(path)["PathPattern"] == CATALOG_PATTERN


# ---------------------------------------------------------------- cache keys and TTLs
def test_no_cache_key_holds_cookies_or_headers() -> None:
    for behaviour in behaviours():
        key = cache_key(behaviour)
        where = behaviour["PathPattern"]
        assert key["CookiesConfig"]["CookieBehavior"] == "none", f"{where}: cookies in the cache key"
        # Not even a whitelist: Accept, Referer, Host, Origin... each one splits the cache.
        assert key["HeadersConfig"]["HeaderBehavior"] == "none", f"{where}: headers in the cache key"
        assert not key["HeadersConfig"].get("Headers"), where


def test_only_the_catalog_keys_on_query_strings() -> None:
    for behaviour in behaviours():
        query = cache_key(behaviour)["QueryStringsConfig"]["QueryStringBehavior"]
        if behaviour["PathPattern"] == CATALOG_PATTERN:
            # Exactly what the learner routes read: with "all" (or any extra name), a random query string
            # made every request a miss that reached the API and DynamoDB.
            assert query == "whitelist", "the catalog's cache key must name its query strings"
            names = cache_key(behaviour)["QueryStringsConfig"]["QueryStrings"]
            assert sorted(names) == ["limit", "nextToken"]
        else:
            assert query == "none", f"{behaviour['PathPattern']}: query strings in the cache key"


def test_every_cache_policy_in_the_template_is_in_use() -> None:
    used = {ref_target(b["CachePolicyId"]) for b in behaviours()}
    assert set(of_type("AWS::CloudFront::CachePolicy")) <= used


def test_compression_and_the_accept_encoding_key_go_together() -> None:
    for behaviour in behaviours():
        key = cache_key(behaviour)
        compressed = bool(key["EnableAcceptEncodingGzip"]) or bool(key["EnableAcceptEncodingBrotli"])
        assert bool(behaviour.get("Compress", False)) == compressed, behaviour["PathPattern"]


def test_segments_are_cached_as_immutable_and_never_recompressed() -> None:
    for pattern in IMMUTABLE_MEDIA:
        behaviour = by_pattern(pattern)
        _, default, maximum = cache_ttls(behaviour)
        assert default >= ONE_DAY and maximum >= ONE_YEAR, pattern
        assert behaviour["Compress"] is False, pattern


@pytest.mark.parametrize("name", ["lecture.mp4", "lecture.m4a", "Le%C3%A7on%201.mp4"])
def test_downloads_are_signed_short_lived_and_never_recompressed(name: str) -> None:
    # Unlike segments, a download keeps its name (the uploaded file's) when the video is re-uploaded: a
    # year-long cache (the *.mp4 behaviour) would serve the previous lecture.
    for source in HOSTILE_SOURCES:
        path = f"/courses/{COURSE}/{layout.downloads_dir(asset_id_for(source))}/{name}"
        behaviour = served_by(path)
        assert behaviour["PathPattern"] == "courses/*/media/*/downloads/*", path
        assert behaviour.get("TrustedKeyGroups") == [KEY_GROUP]
        assert cache_ttls(behaviour)[2] <= 300
        assert behaviour["Compress"] is False
    # Segments and init segments are not caught by it.
    assert served_by(f"/courses/{COURSE}/media/a-1/hls/720p/init.mp4")["PathPattern"] == "*.mp4"


def test_playlists_are_short_lived_and_compressed() -> None:
    behaviour = by_pattern("*.m3u8")
    _, default, maximum = cache_ttls(behaviour)
    assert default <= 10 and maximum <= 60
    assert behaviour["Compress"] is True


@pytest.mark.parametrize("pattern", ["*.html", "*.vtt"])
def test_pages_and_tracks_are_short_lived(pattern: str) -> None:
    assert cache_ttls(by_pattern(pattern))[2] <= 300


def test_catalog_is_cached_briefly() -> None:
    assert cache_ttls(by_pattern(CATALOG_PATTERN)) == (0, 10, 30)


# ---------------------------------------------------------------- what reaches the origins
def test_the_bucket_gets_nothing_of_the_viewer_request() -> None:
    # No origin request policy: S3 sees only the cache key (no cookies, no Host: OAC signs for the bucket).
    for behaviour in behaviours():
        if from_bucket(behaviour):
            assert "OriginRequestPolicyId" not in behaviour, behaviour["PathPattern"]


def test_api_behaviours_forward_only_known_managed_policies() -> None:
    for behaviour in behaviours():
        policy = behaviour.get("OriginRequestPolicyId")
        if policy is not None:
            assert policy in MANAGED_ORIGIN_REQUESTS, f"{behaviour['PathPattern']}: unknown policy {policy}"
    assert by_pattern(CATALOG_PATTERN)["OriginRequestPolicyId"] == CORS_S3_ORIGIN


def test_auth_is_uncached_accepts_post_and_forwards_all_but_host() -> None:
    auth = by_pattern(AUTH_PATTERN)
    assert auth["TargetOriginId"] == "session-api"
    assert "SessionHttpApi" in str(origins()["session-api"]["DomainName"])
    assert auth["CachePolicyId"] == CACHING_DISABLED
    assert auth["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert {"POST", "DELETE", "OPTIONS"} <= set(auth["AllowedMethods"])
    assert set(auth["CachedMethods"]) == {"GET", "HEAD"}
    # Reachable before any cookie exists: the JWT authorizer protects it.
    assert "TrustedKeyGroups" not in auth


def test_the_viewer_host_reaches_the_session_function_in_the_header_it_reads() -> None:
    # The session function cannot name the distribution (circular): it learns the host from this header.
    auth = by_pattern(AUTH_PATTERN)
    (association,) = auth["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    assert association["FunctionARN"] == {"Fn::GetAtt": ["ViewerHostFunction", "FunctionARN"]}
    header = Stack.from_file(TEMPLATE).function_environment("SessionFunction")["VIEWER_HOST_HEADER"]
    code = props("ViewerHostFunction")["FunctionCode"]
    assert f"request.headers['{header}'] = {{ value: request.headers.host.value }}" in code
    # Always overwritten, never read from the viewer.
    assert code.count(header) == 1


# ---------------------------------------------------------------- the bucket
def test_bucket_policy_lets_only_this_distribution_read_published_courses() -> None:
    bucket = {"Ref": "PublishBucket"}
    policies = [p for p in of_type("AWS::S3::BucketPolicy").values() if p["Bucket"] == bucket]
    assert len(policies) == 1
    # The only Allow (the TLS-only Deny is test_template_hardening's).
    (statement,) = [s for s in policies[0]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] in ("s3:GetObject", ["s3:GetObject"])
    assert statement["Resource"] == {"Fn::Sub": "${PublishBucket.Arn}/courses/*"}
    distribution_arn = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${MediaDistribution}"
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": distribution_arn}}}


def test_bucket_origin_uses_origin_access_control_and_the_bucket_stays_private() -> None:
    origin = origins()[bucket_origin_id()]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["PublishBucketOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    oac = props("PublishBucketOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    bucket = props("PublishBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "WebsiteConfiguration" not in bucket


def test_viewers_are_redirected_to_https_everywhere() -> None:
    for behaviour in behaviours():
        where = behaviour["PathPattern"]
        assert behaviour["ViewerProtocolPolicy"] in ("redirect-to-https", "https-only"), where


# ---------------------------------------------------------------- response headers
def cors_configs(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return branches(policy.get("CorsConfig"))


def test_every_behaviour_has_a_response_headers_policy_with_security_headers() -> None:
    for behaviour in behaviours():
        security = response_headers(behaviour)["SecurityHeadersConfig"]
        hsts = security["StrictTransportSecurity"]
        assert int(hsts["AccessControlMaxAgeSec"]) >= ONE_YEAR and hsts["IncludeSubdomains"] is True
        assert security["ContentTypeOptions"]["Override"] is True
        assert security["FrameOptions"]["FrameOption"] in ("DENY", "SAMEORIGIN")
        assert security["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
        csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        assert "unsafe-eval" not in csp and "frame-ancestors" in csp
        if behaviour.get("PathPattern") == DIAGRAM_FRAME_PATTERN:
            directives = dict((d.split(" ", 1) + [""])[:2] for d in csp.split("; "))
            assert (
                directives["style-src"] == "'self' 'unsafe-inline'" and directives["script-src"] == "'self'"
            )
            assert directives["default-src"] == "'none'" and directives["connect-src"] == "'none'"
            assert directives["frame-ancestors"] == "'self'"
        else:
            assert "unsafe-inline" not in csp, behaviour.get("PathPattern")


def test_course_content_gets_credentialed_cors_for_explicit_origins_only() -> None:
    for behaviour in behaviours():
        if not from_bucket(behaviour):
            continue
        (cors,) = cors_configs(response_headers(behaviour))
        assert cors["AccessControlAllowCredentials"] is True, behaviour["PathPattern"]
        assert cors["AccessControlAllowOrigins"]["Items"] == {"Ref": "CorsAllowedOrigins"}
        assert cors["OriginOverride"] is True
        assert set(cors["AccessControlAllowMethods"]["Items"]) <= {"GET", "HEAD", "OPTIONS"}


def test_no_credentialed_cors_allows_any_origin() -> None:
    for name, policy in of_type("AWS::CloudFront::ResponseHeadersPolicy").items():
        for cors in cors_configs(policy["ResponseHeadersPolicyConfig"]):
            if cors["AccessControlAllowCredentials"] is True:
                assert "*" not in str(cors["AccessControlAllowOrigins"]["Items"]), name
    api_cors = branches(props("SessionHttpApi")["CorsConfiguration"])
    assert api_cors, "the session API answers credentialed preflights"
    for cors in api_cors:
        assert cors["AllowCredentials"] is True
        assert cors["AllowOrigins"] == {"Ref": "CorsAllowedOrigins"}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("", True),
        ("https://learn.example.com", True),
        ("https://learn.example.com:8443", True),
        ("http://localhost:5173", True),
        ("*", False),
        ("https://*.example.com", False),
        ("https://learn.example.com/", False),
        ("http://learn.example.com", False),
        ("null", False),
    ],
)
def test_the_cors_origins_parameter_refuses_wildcards(origin: str, allowed: bool) -> None:
    # CloudFormation applies a CommaDelimitedList's AllowedPattern to each element, as a whole match.
    pattern = template()["Parameters"]["CorsAllowedOrigins"]["AllowedPattern"]
    assert (re.fullmatch(pattern, origin) is not None) is allowed


def test_lesson_pages_csp_allows_our_player_and_nothing_inline() -> None:
    lesson = f"/courses/{COURSE}/{layout.lesson_page(asset_id_for('intro.md'))}"
    security = response_headers(served_by(lesson))["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    directives = dict((d.split(" ", 1) + [""])[:2] for d in csp.split("; "))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "blob:" in directives["media-src"] and "blob:" in directives["worker-src"]  # hls.js: MSE, worker
    assert directives["object-src"] == "'none'"


# ---------------------------------------------------------------- the session API
def test_the_session_route_requires_a_cognito_jwt() -> None:
    api = props("SessionHttpApi")
    auth = api["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    jwt = authorizer["JwtConfiguration"]
    assert jwt["issuer"] == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
    assert jwt["audience"] == [{"Ref": "UserPoolClient"}]
    routes = {
        (event["Properties"]["Method"], event["Properties"]["Path"]): event["Properties"].get("Auth")
        for fn in of_type("AWS::Serverless::Function").values()
        for event in fn.get("Events", {}).values()
        if event["Type"] == "HttpApi" and event["Properties"].get("ApiId") == {"Ref": "SessionHttpApi"}
    }
    assert ("POST", SESSION_ROUTE) in routes
    for (method, path), route_auth in routes.items():
        assert matches(AUTH_PATTERN, path), f"{path} is not reachable through {AUTH_PATTERN}"
        # Only sign-out may skip the token (it only expires cookies; CORS preflight guards it).
        if method != "DELETE":
            assert route_auth is None, f"{method} {path} overrides the JWT authorizer"


def test_the_session_function_reads_only_the_catalog_and_its_secret() -> None:
    fn = props("SessionFunction")
    statements = [p["Statement"] for p in fn["Policies"] if isinstance(p, dict) and "Statement" in p]
    read_secret = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue"}
    assert statements == [[{**read_secret, "Resource": {"Ref": "SigningKeySecret"}}]]
    managed = [next(iter(p)) for p in fn["Policies"] if isinstance(p, dict) and "Statement" not in p]
    assert managed == ["DynamoDBReadPolicy"]


def test_the_session_function_environment_resolves_in_the_local_runtime() -> None:
    stack = Stack.from_file(TEMPLATE)
    env = stack.function_environment("SessionFunction")
    assert env["SIGNING_KEY_SECRET_ID"] == stack.resolve(props("SigningKeySecret")["Name"])
    assert int(env["SESSION_TTL_SECONDS"]) > 0
    assert env["MEDIA_DOMAIN"] == ""  # no alternate domain by default: the viewer's host is used
    assert env["CATALOG_TABLE"] == stack.physical_name("CatalogTable")
