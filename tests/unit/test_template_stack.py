"""Unit tests of ``pipeline.local.template.Stack``: intrinsic resolution on small inline templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.local.template import ACCOUNT_ID, DEFAULT_STACK, REGION, Stack, TemplateError

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  LogLevel:
    Type: String
    Default: INFO
  MaxBytes:
    Type: Number
    Default: 1024
  NoDefault:
    Type: String
Globals:
  Function:
    Runtime: python3.13
    Timeout: 60
    MemorySize: 1024
    Environment:
      Variables:
        LOG_LEVEL: !Ref LogLevel
        MAX_BYTES: !Ref MaxBytes
        BUCKET: !Ref Bucket
        SHARED: from-globals
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-ingest-${AWS::AccountId}-${AWS::Region}"
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-jobs"
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-Worker"
      Handler: pkg.worker.handler
      MemorySize: 256
      Environment:
        Variables:
          SHARED: from-function
          QUEUE_URL: !Ref Queue
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: plain-fn
      Handler: pkg.plain.handler
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: !Sub "${AWS::StackName}-Machine"
      DefinitionUri: machine.asl.json
      DefinitionSubstitutions:
        WorkerArn: !GetAtt Worker.Arn
        QueueName: !GetAtt Queue.QueueName
  Unnamed:
    Type: AWS::SQS::Queue
"""

ASL = '{"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": "${WorkerArn}", "End": true}}}'


def make_stack(tmp_path: Path, text: str = TEMPLATE, asl: str = ASL, **kwargs: Any) -> Stack:
    path = tmp_path / "template.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "machine.asl.json").write_text(asl, encoding="utf-8")
    return Stack.from_file(path, **kwargs)


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return make_stack(tmp_path)


# ------------------------------------------------------------ loading
def test_yaml_tags_become_intrinsic_dicts(stack: Stack) -> None:
    props = stack.props("Machine")
    assert props["DefinitionSubstitutions"]["WorkerArn"] == {"Fn::GetAtt": ["Worker", "Arn"]}
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-Machine"}
    assert stack.props("Worker")["Environment"]["Variables"]["QUEUE_URL"] == {"Ref": "Queue"}


def test_file_without_resources_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        make_stack(tmp_path, "Parameters: {}\n")


# ------------------------------------------------------------ Ref
def test_ref_parameter_uses_default(stack: Stack) -> None:
    assert stack.resolve({"Ref": "LogLevel"}) == "INFO"
    assert stack.resolve({"Ref": "MaxBytes"}) == "1024"  # parameters are strings, as in CloudFormation


def test_ref_parameter_override_wins(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, parameters={"LogLevel": "DEBUG", "NoDefault": "given"})
    assert stack.resolve({"Ref": "LogLevel"}) == "DEBUG"
    assert stack.resolve({"Ref": "NoDefault"}) == "given"
    assert stack.resolve({"Ref": "MaxBytes"}) == "1024"


def test_ref_parameter_without_default_or_value_raises(stack: Stack) -> None:
    with pytest.raises(TemplateError, match="NoDefault"):
        stack.resolve({"Ref": "NoDefault"})


def test_pseudo_parameters_defaults(stack: Stack) -> None:
    refs = ["AWS::StackName", "AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix"]
    assert [stack.resolve({"Ref": r}) for r in refs] == [
        DEFAULT_STACK,
        ACCOUNT_ID,
        REGION,
        "aws",
        "amazonaws.com",
    ]
    assert (DEFAULT_STACK, ACCOUNT_ID, REGION) == ("coursepipe", "123456789012", "us-east-1")


def test_pseudo_parameters_follow_the_stack(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, stack_name="demo", account_id="111122223333", region="eu-west-1")
    assert stack.resolve({"Ref": "AWS::StackName"}) == "demo"
    assert stack.physical_name("Bucket") == "demo-ingest-111122223333-eu-west-1"
    assert stack.arn("Worker") == "arn:aws:lambda:eu-west-1:111122223333:function:demo-Worker"


def test_ref_resources_return_what_cloudformation_returns(stack: Stack) -> None:
    assert stack.resolve({"Ref": "Bucket"}) == "coursepipe-ingest-123456789012-us-east-1"
    assert stack.resolve({"Ref": "Worker"}) == "coursepipe-Worker"  # a function's Ref is its name
    assert (
        stack.resolve({"Ref": "Queue"}) == "https://sqs.us-east-1.amazonaws.com/123456789012/coursepipe-jobs"
    )
    assert stack.resolve({"Ref": "Machine"}) == (
        "arn:aws:states:us-east-1:123456789012:stateMachine:coursepipe-Machine"
    )


def test_resource_without_explicit_name_is_rejected(stack: Stack) -> None:
    with pytest.raises(TemplateError, match="Unnamed needs an explicit QueueName"):
        stack.resolve({"Ref": "Unnamed"})
    with pytest.raises(TemplateError, match="unknown resource Nope"):
        stack.physical_name("Nope")


# ------------------------------------------------------------ Fn::Sub
def test_sub_with_pseudo_parameters_and_parameters(stack: Stack) -> None:
    value = {"Fn::Sub": "${AWS::StackName}/${AWS::Region}/${LogLevel}"}
    assert stack.resolve(value) == "coursepipe/us-east-1/INFO"


def test_sub_with_resource_attribute(stack: Stack) -> None:
    assert stack.resolve({"Fn::Sub": "fn=${Worker.Arn} q=${Queue.Arn}"}) == (
        "fn=arn:aws:lambda:us-east-1:123456789012:function:coursepipe-Worker "
        "q=arn:aws:sqs:us-east-1:123456789012:coursepipe-jobs"
    )


def test_sub_with_resource_ref(stack: Stack) -> None:
    assert stack.resolve({"Fn::Sub": "s3://${Bucket}/x"}) == "s3://coursepipe-ingest-123456789012-us-east-1/x"


def test_sub_list_form_with_variables(stack: Stack) -> None:
    value = {
        "Fn::Sub": [
            "${Prefix}-${Target}-${AWS::StackName}-${LogLevel}",
            {"Prefix": "literal", "Target": {"Fn::GetAtt": ["Queue", "Arn"]}, "LogLevel": "shadowed"},
        ]
    }
    assert stack.resolve(value) == (
        "literal-arn:aws:sqs:us-east-1:123456789012:coursepipe-jobs-coursepipe-shadowed"
    )


def test_sub_list_form_from_yaml(tmp_path: Path) -> None:
    derived = (
        "  Derived:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      QueueName: !Sub\n"
        '        - "${Base}-dlq"\n'
        "        - Base: !GetAtt Queue.QueueName\n"
    )
    stack = make_stack(tmp_path, TEMPLATE + derived)
    assert stack.props("Derived")["QueueName"] == {
        "Fn::Sub": ["${Base}-dlq", {"Base": {"Fn::GetAtt": ["Queue", "QueueName"]}}]
    }
    assert stack.physical_name("Derived") == "coursepipe-jobs-dlq"


def test_unknown_names_fail_loudly(stack: Stack) -> None:
    # Today a KeyError rather than TemplateError; either way never a silent pass-through.
    with pytest.raises((TemplateError, KeyError)):
        stack.resolve({"Fn::Sub": "${NotAThing}"})
    with pytest.raises((TemplateError, KeyError)):
        stack.resolve({"Ref": "NotAThing"})


def test_sub_escaped_literal_is_unescaped(stack: Stack) -> None:
    assert stack.resolve({"Fn::Sub": "${!Literal}-${AWS::Region}"}) == "${Literal}-us-east-1"


# ------------------------------------------------------------ Fn::GetAtt
@pytest.mark.parametrize("form", ["list", "dotted"])
def test_getatt_function_arn_and_name(stack: Stack, form: str) -> None:
    def att(logical: str, attribute: str) -> Any:
        arg: Any = [logical, attribute] if form == "list" else f"{logical}.{attribute}"
        return stack.resolve({"Fn::GetAtt": arg})

    assert att("Worker", "Arn") == "arn:aws:lambda:us-east-1:123456789012:function:coursepipe-Worker"
    assert att("Worker", "Name") == "coursepipe-Worker"
    assert att("Plain", "Arn") == "arn:aws:lambda:us-east-1:123456789012:function:plain-fn"


def test_getatt_queue_arn_name_and_url(stack: Stack) -> None:
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:coursepipe-jobs"
    assert stack.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == queue_arn
    assert stack.resolve({"Fn::GetAtt": ["Queue", "Name"]}) == "coursepipe-jobs"
    assert stack.resolve({"Fn::GetAtt": ["Queue", "QueueName"]}) == "coursepipe-jobs"
    assert stack.resolve({"Fn::GetAtt": ["Queue", "QueueUrl"]}) == stack.resolve({"Ref": "Queue"})


def test_getatt_unsupported_attribute_raises(stack: Stack) -> None:
    with pytest.raises(TemplateError, match="Bucket.DomainName"):
        stack.resolve({"Fn::GetAtt": ["Bucket", "DomainName"]})


# ------------------------------------------------------------ others
def test_join_and_select(stack: Stack) -> None:
    assert stack.resolve({"Fn::Join": [":", ["a", {"Ref": "LogLevel"}, {"Ref": "AWS::Region"}]]}) == (
        "a:INFO:us-east-1"
    )
    assert stack.resolve({"Fn::Select": [1, ["x", {"Ref": "Queue"}]]}).endswith("/coursepipe-jobs")


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::ImportValue": "shared-bucket"},
        {"Fn::GetAZs": ""},
        {"Fn::Split": [",", "a,b"]},
        {"Nested": [{"Fn::Base64": "x"}]},
    ],
)
def test_unknown_intrinsic_raises(stack: Stack, value: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="is not supported by the local runtime"):
        stack.resolve(value)


def test_resolve_walks_nested_structures(stack: Stack) -> None:
    value = {"a": [{"Ref": "LogLevel"}, 3, {"b": {"Fn::Sub": "${AWS::AccountId}"}}], "c": None}
    assert stack.resolve(value) == {"a": ["INFO", 3, {"b": "123456789012"}], "c": None}


# ------------------------------------------------------------ state machine
def test_definition_substitutions_are_resolved(stack: Stack) -> None:
    text = stack.state_machine_definition("Machine")
    assert '"Resource": "arn:aws:lambda:us-east-1:123456789012:function:coursepipe-Worker"' in text
    assert "${" not in text


def test_definition_substitution_missing_key_raises(tmp_path: Path) -> None:
    asl = ASL.replace("${WorkerArn}", "${ReviewerArn}")
    stack = make_stack(tmp_path, asl=asl)
    with pytest.raises(TemplateError, match=r"\$\{ReviewerArn\}"):
        stack.state_machine_definition("Machine")


# ------------------------------------------------------------ functions
def test_function_environment_merges_globals_with_override(stack: Stack) -> None:
    assert stack.function_environment("Worker") == {
        "LOG_LEVEL": "INFO",
        "MAX_BYTES": "1024",
        "BUCKET": "coursepipe-ingest-123456789012-us-east-1",
        "SHARED": "from-function",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/coursepipe-jobs",
    }
    assert stack.function_environment("Plain")["SHARED"] == "from-globals"
    assert "QUEUE_URL" not in stack.function_environment("Plain")


def test_function_environment_follows_parameter_override(tmp_path: Path) -> None:
    stack = make_stack(tmp_path, parameters={"LogLevel": "DEBUG"})
    assert stack.function_environment("Worker")["LOG_LEVEL"] == "DEBUG"


def test_function_settings_fall_back_to_globals(stack: Stack) -> None:
    assert stack.function_setting("Worker", "MemorySize") == 256
    assert stack.function_setting("Plain", "MemorySize") == 1024
    assert stack.function_setting("Worker", "Timeout") == 60
    assert stack.function_setting("Worker", "EphemeralStorage", "none") == "none"
    assert stack.function_setting("Plain", "Handler") == "pkg.plain.handler"


def test_conditions_choose_values_and_drop_resources(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Parameters:
  EnableCache: {Type: String, Default: "false"}
Conditions:
  UseCache: !Equals [!Ref EnableCache, "true"]
  NoCache: !Not [!Condition UseCache]
Resources:
  Cache:
    Type: AWS::SQS::Queue
    Condition: UseCache
    Properties: {QueueName: cache}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: fn
      Environment:
        Variables:
          CACHE: !If [UseCache, enabled, !Ref AWS::NoValue]
          MODE: !If [NoCache, direct, cached]
""",
        encoding="utf-8",
    )
    off = Stack.from_file(template)
    assert "Cache" not in off.resources and "Fn" in off.resources
    assert off.function_environment("Fn") == {"MODE": "direct"}
    on = Stack.from_file(template, parameters={"EnableCache": "true"})
    assert "Cache" in on.resources
    assert on.function_environment("Fn") == {"CACHE": "enabled", "MODE": "cached"}
    with pytest.raises(TemplateError, match="unknown condition"):
        off.resolve({"Fn::If": ["IsProd", "a", "b"]})


def test_the_real_template_without_dax_creates_no_dax_resources() -> None:
    stack = Stack.from_file(Path(__file__).resolve().parents[2] / "template.yaml")
    assert not [k for k, v in stack.resources.items() if v["Type"].startswith("AWS::DAX::")]
    assert "DAX_ENDPOINT" not in stack.function_environment("CatalogApiFunction")
    dax = Stack.from_file(
        Path(__file__).resolve().parents[2] / "template.yaml", parameters={"EnableDax": "true"}
    )
    assert {"DaxCluster", "DaxSubnetGroup", "DaxParameterGroup", "DaxRole"} <= set(dax.resources)


def test_list_parameters_resolve_to_lists() -> None:
    stack = Stack.from_file(Path(__file__).resolve().parents[2] / "template.yaml")
    assert stack.resolve({"Ref": "CorsAllowedOrigins"}) == []
    assert stack.condition("HasCorsOrigins") is False
    chosen = Stack.from_file(
        Path(__file__).resolve().parents[2] / "template.yaml",
        parameters={"CorsAllowedOrigins": "https://learn.example.com, https://app.example.com"},
    )
    assert chosen.resolve({"Ref": "CorsAllowedOrigins"}) == [
        "https://learn.example.com",
        "https://app.example.com",
    ]
    assert chosen.condition("HasCorsOrigins") is True
