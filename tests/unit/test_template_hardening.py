"""Hardening that template.yaml must keep (issue 11): each check is an invariant of the template as a deploy
with default, and with the optional, parameters would create it (conditions resolved by the local reader).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.local.identity import LOCAL_SIGN_IN_FLOW
from pipeline.local.template import Stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
PILLOW_FUNCTIONS = ("ImageVariantsFunction", "MakeThumbnailsFunction")  # media/images, poster, sprites


def stack(**parameters: str) -> Stack:
    return Stack.from_file(TEMPLATE, parameters=parameters)


def resolved(st: Stack, logical: str) -> dict[str, Any]:
    props: dict[str, Any] = st.resolve(st.props(logical))
    return props


# ---------------------------------------------------------------- buckets
@pytest.mark.parametrize("bucket", ["IngestBucket", "PublishBucket"])
def test_each_bucket_refuses_requests_without_tls(bucket: str) -> None:
    st = stack()
    policies = [
        p
        for p in st.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1, f"{bucket} needs exactly one bucket policy"
    denies = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert len(denies) == 1
    (deny,) = st.resolve(denies)
    assert deny["Principal"] == "*"
    assert deny["Action"] in ("s3:*", ["s3:*"])
    arn = st.arn(bucket)
    assert sorted(deny["Resource"]) == sorted([arn, f"{arn}/*"])
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_both_buckets_are_versioned_and_old_versions_expire() -> None:
    st = stack()
    for bucket in ("IngestBucket", "PublishBucket"):
        props = resolved(st, bucket)
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, bucket
        rules = props["LifecycleConfiguration"]["Rules"]
        whole = [r for r in rules if "Prefix" not in r and "NoncurrentVersionExpiration" in r]
        assert whole and all(r["Status"] == "Enabled" for r in whole), f"{bucket} keeps old versions forever"
    # Staged intermediates are large: their noncurrent versions go within days.
    (work,) = [r for r in resolved(st, "PublishBucket")["LifecycleConfiguration"]["Rules"] if r.get("Prefix")]
    assert work["Prefix"] == "work/" and work["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 2


# ---------------------------------------------------------------- the KMS option
def test_without_a_key_everything_uses_aws_managed_encryption() -> None:
    st = stack()
    assert st.template["Parameters"]["KmsKeyArn"]["Default"] == ""
    for bucket in ("IngestBucket", "PublishBucket"):
        (rule,) = resolved(st, bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    for table in st.of_type("AWS::DynamoDB::Table"):
        assert resolved(st, table)["SSESpecification"] == {"SSEEnabled": True}
    assert "KmsKeyId" not in resolved(st, "SigningKeySecret")


def test_with_a_key_buckets_tables_and_the_secret_use_it() -> None:
    st = stack(KmsKeyArn=KMS_KEY)
    for bucket in ("IngestBucket", "PublishBucket"):
        (rule,) = resolved(st, bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule == {
            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY},
            "BucketKeyEnabled": True,  # one KMS call per object and hour, not per request
        }
    for table in st.of_type("AWS::DynamoDB::Table"):
        assert resolved(st, table)["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": KMS_KEY,
        }
    assert resolved(st, "SigningKeySecret")["KmsKeyId"] == KMS_KEY


def test_the_key_parameter_takes_a_key_arn_only() -> None:
    pattern = re.compile(stack().template["Parameters"]["KmsKeyArn"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch(KMS_KEY)
    for wrong in ("alias/coursepipe", "arn:aws:kms:us-east-1:123456789012:alias/x", "*"):
        assert not pattern.fullmatch(wrong), wrong


# ---------------------------------------------------------------- Cognito
def test_user_pool_has_optional_totp_mfa_and_verified_email_changes() -> None:
    pool = resolved(stack(), "UserPool")
    assert pool["MfaConfiguration"] == "OPTIONAL"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}


def test_admin_rights_need_mfa_through_the_pre_token_generation_trigger() -> None:
    """Cognito's MFA is per pool: the pool's V2_0 trigger (which reaches the access token too) is what keeps
    the admins group out of tokens of accounts without MFA; it may read users, nothing else."""
    st = stack()
    config = resolved(st, "UserPool")["LambdaConfig"]["PreTokenGenerationConfig"]
    assert config["LambdaVersion"] == "V2_0"
    assert config["LambdaArn"] == st.arn("PreTokenFunction")
    function = resolved(st, "PreTokenFunction")
    assert function["Handler"] == "pipeline.handlers.pre_token.handler"
    assert float(function["Timeout"]) <= 5  # Cognito's limit for a trigger
    (policy,) = function["Policies"]
    (statement,) = policy["Statement"]
    assert statement["Action"] == "cognito-idp:AdminGetUser" and statement["Effect"] == "Allow"
    assert statement["Resource"].startswith("arn:aws:cognito-idp:") and "*" not in statement["Action"]
    # Only this pool may invoke it (the pool's ARN is known to CloudFormation, not to the local reader).
    (permission,) = [
        r["Properties"]
        for r in st.of_type("AWS::Lambda::Permission").values()
        if r["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["PreTokenFunction", "Arn"]}
    assert permission["SourceArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert permission["Action"] == "lambda:InvokeFunction"


def test_threat_protection_is_enforced_by_default_and_can_be_turned_off() -> None:
    pool = resolved(stack(), "UserPool")
    assert pool["UserPoolTier"] == "PLUS"  # threat protection needs the Plus feature plan
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    audit = resolved(stack(ThreatProtection="AUDIT"), "UserPool")
    assert (audit["UserPoolTier"], audit["UserPoolAddOns"]) == ("PLUS", {"AdvancedSecurityMode": "AUDIT"})
    off = resolved(stack(ThreatProtection="OFF"), "UserPool")
    assert off["UserPoolTier"] == "ESSENTIALS" and "UserPoolAddOns" not in off
    # YAML 1.1 reads a bare OFF as false: the parameter must hold the string.
    assert "OFF" in stack().template["Parameters"]["ThreatProtection"]["AllowedValues"]


def test_no_client_sends_passwords_to_the_public_endpoint() -> None:
    st = stack()
    for logical in st.of_type("AWS::Cognito::UserPoolClient"):
        flows = set(st.resolve(st.props(logical)["ExplicitAuthFlows"]))
        assert "ALLOW_USER_PASSWORD_AUTH" not in flows, logical
        assert {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= flows, logical
        assert flows <= {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"}
    # Only the local runtime's client (moto, the dev sign-in page) adds the password flow.
    assert LOCAL_SIGN_IN_FLOW == "ALLOW_USER_PASSWORD_AUTH"


# ---------------------------------------------------------------- logs, events, concurrency
def test_every_function_logs_to_its_own_group_with_retention() -> None:
    st = stack()
    allowed_days = st.template["Parameters"]["LogRetentionDays"]["AllowedValues"]
    for logical in st.of_type("AWS::Serverless::Function"):
        ref = st.props(logical)["LoggingConfig"]["LogGroup"]
        group = st.resources[ref["Ref"]]
        assert group["Type"] == "AWS::Logs::LogGroup", logical
        props = resolved(st, ref["Ref"])
        assert props["LogGroupName"] == f"/aws/lambda/{st.physical_name(logical)}", logical
        assert int(props["RetentionInDays"]) in allowed_days, logical
    for logical in st.of_type("AWS::Logs::LogGroup"):
        assert "RetentionInDays" in st.props(logical), logical


def test_event_rule_targets_retry_then_dead_letter() -> None:
    st = stack()
    for rule_id, rule in st.of_type("AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            retry = target["RetryPolicy"]
            assert 0 < retry["MaximumRetryAttempts"] <= 185 and retry["MaximumEventAgeInSeconds"] <= 86400
            dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            assert st.resources[dlq]["Type"] == "AWS::SQS::Queue"
            assert dlq != target["Arn"]["Fn::GetAtt"][0], "the DLQ must not be the target itself"
            # EventBridge may send to it, for this rule only.
            (policy,) = [
                p["Properties"]
                for p in st.of_type("AWS::SQS::QueuePolicy").values()
                if {"Ref": dlq} in p["Properties"]["Queues"]
            ]
            (stmt,) = policy["PolicyDocument"]["Statement"]
            assert stmt["Principal"] == {"Service": "events.amazonaws.com"}
            assert stmt["Action"] == "sqs:SendMessage"
            assert stmt["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def reserved_concurrency(**parameters: str) -> Any:
    st = stack(**parameters)
    return st.resolve({"value": st.props("SessionFunction").get("ReservedConcurrentExecutions")}).get("value")


def test_the_session_function_has_reserved_concurrency() -> None:
    assert reserved_concurrency() == "20"
    assert reserved_concurrency(SessionReservedConcurrency="5") == "5"
    assert reserved_concurrency(SessionReservedConcurrency="0") is None  # 0: no reservation at all


# ---------------------------------------------------------------- APIs behind CloudFront
def test_execute_api_stays_enabled_exactly_where_cloudfront_uses_it() -> None:
    """DisableExecuteApiEndpoint would cut CloudFront off an API whose origin is its execute-api domain."""
    st = stack()
    origins = st.props("MediaDistribution")["DistributionConfig"]["Origins"]
    for api in st.of_type("AWS::Serverless::HttpApi"):
        via_cloudfront = any(f"${{{api}}}.execute-api." in str(o["DomainName"]) for o in origins)
        disabled = st.props(api).get("DisableExecuteApiEndpoint", False)
        assert not (via_cloudfront and disabled), f"{api} is CloudFront's origin but disables execute-api"


def test_a_custom_certificate_requires_tls_1_2_2021() -> None:
    st = stack(MediaDomainName="media.example.com", MediaCertificateArn=CERTIFICATE)
    cert = st.resolve(st.props("MediaDistribution")["DistributionConfig"]["ViewerCertificate"])
    assert cert == {
        "AcmCertificateArn": CERTIFICATE,
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    # CloudFront's default certificate has no minimum to set (it allows TLSv1): only the alternate domain can.
    default = stack()
    assert default.resolve(default.props("MediaDistribution")["DistributionConfig"]["ViewerCertificate"]) == {
        "CloudFrontDefaultCertificate": True
    }


# ---------------------------------------------------------------- Pillow's scratch space
@pytest.mark.parametrize("logical", PILLOW_FUNCTIONS)
def test_pillow_functions_have_room_for_the_largest_accepted_source(logical: str) -> None:
    st = stack()
    size_mb = int(st.function_setting(logical, "EphemeralStorage", {"Size": 512})["Size"])
    max_source = int(st.function_environment(logical)["MAX_SOURCE_BYTES"])
    # The download plus the variants: /tmp is the only disk, and classify admits anything up to this.
    assert size_mb * 1024 * 1024 >= max_source * 1.1, logical
    assert size_mb <= 10240
