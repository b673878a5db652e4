"""Reading ``template.yaml`` for the local runtime: CloudFormation YAML tags and the intrinsics we use.

The local runtime builds its moto resources from this, so names, keys, indexes, environment, handlers
and the state machine definition have one source of truth. Only the intrinsics the template actually
uses are resolved (Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select, Fn::If and Conditions); anything else
fails loudly rather than being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_STACK = "coursepipe"


class TemplateError(Exception):
    """template.yaml uses something the local runtime cannot resolve."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": "x"}`` and ``!Sub ...`` into ``{"Fn::Sub": ...}``."""


def _tag_constructor(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag_constructor)


def load_template(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return data


# ``${!Literal}`` is CloudFormation's escape for a literal ``${Literal}``.
_SUB_RE = re.compile(r"\$\{(!?)([^}]*)\}")


NO_VALUE: Any = object()  # what ``!Ref AWS::NoValue`` resolves to: the property is dropped


@dataclass
class Stack:
    """A template plus the values a deployment would give it (stack name, account, parameters)."""

    template: dict[str, Any]
    root: Path
    stack_name: str = DEFAULT_STACK
    parameters: Mapping[str, str] = field(default_factory=dict)
    account_id: str = ACCOUNT_ID
    region: str = REGION

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> Stack:
        return cls(template=load_template(path), root=path.parent, **kwargs)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Resources that a deployment with these parameters would create (``Condition`` honoured)."""
        return {
            k: v
            for k, v in self.template["Resources"].items()
            if "Condition" not in v or self.condition(str(v["Condition"]))
        }

    def condition(self, name: str) -> bool:
        spec = self.template.get("Conditions", {}).get(name)
        if spec is None:
            raise TemplateError(f"unknown condition {name}")
        return self._truth(spec)

    def _truth(self, spec: Any) -> bool:
        if isinstance(spec, dict) and len(spec) == 1:
            ((key, arg),) = spec.items()
            if key in ("Condition", "Fn::Condition"):  # the YAML tag !Condition loads as Fn::Condition
                return self.condition(str(arg))
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(a) for a in arg)
            if key == "Fn::Or":
                return any(self._truth(a) for a in arg)
        raise TemplateError(f"condition {spec!r} is not supported by the local runtime")

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == type_name}

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties", {}))

    @cached_property
    def globals_function(self) -> dict[str, Any]:
        return dict(self.template.get("Globals", {}).get("Function", {}))

    # ---------------------------------------------------------------- intrinsics
    def _param(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        spec = self.template.get("Parameters", {}).get(name)
        if name in self.parameters:
            value = str(self.parameters[name])
        elif spec is None or "Default" not in spec:
            raise TemplateError(f"parameter {name} has no value and no Default")
        else:
            value = str(spec["Default"])
        kind = str((spec or {}).get("Type", ""))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [v.strip() for v in value.split(",")] if value else []  # type: ignore[return-value]
        return value

    def physical_name(self, logical_id: str) -> str:
        res = self.resources.get(logical_id)
        if res is None:
            raise TemplateError(f"unknown resource {logical_id}")
        props = res.get("Properties", {})
        name_prop = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Events::Rule": "Name",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Serverless::StateMachine": "Name",
            "AWS::Serverless::LayerVersion": "LayerName",
            "AWS::Logs::LogGroup": "LogGroupName",
        }.get(res["Type"])
        if name_prop is None or name_prop not in props:
            raise TemplateError(f"{logical_id} needs an explicit {name_prop or 'name'} for the local runtime")
        return str(self.resolve(props[name_prop]))

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        acct, region = self.account_id, self.region
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{acct}:table/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{region}:{acct}:{name}",
            "AWS::Events::Rule": f"arn:aws:events:{region}:{acct}:rule/{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{region}:{acct}:function:{name}",
            "AWS::Serverless::StateMachine": f"arn:aws:states:{region}:{acct}:stateMachine:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{acct}:log-group:{name}:*",
        }[kind]

    def ref(self, name: str) -> str:
        if name.startswith("AWS::") or name in self.template.get("Parameters", {}):
            return self._param(name)
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self.physical_name(name)}"
        if kind in ("AWS::Serverless::StateMachine", "AWS::Events::Rule"):
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName"):
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and arg == "AWS::NoValue":
                return NO_VALUE
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(str(name)) else when_false)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(str(logical), str(attribute))
            if key == "Fn::Sub":
                text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
                return self._sub(str(text), {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Join":
                sep, items = arg
                values = self.resolve(items)  # a list, or an intrinsic (a list parameter) that yields one
                return str(sep).join(str(v) for v in (values if isinstance(values, list) else [values]))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported by the local runtime")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def repl(match: re.Match[str]) -> str:
            escape, name = match.groups()
            if escape:
                return "${" + name + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return self.ref(name)

        return _SUB_RE.sub(repl, text)

    # ---------------------------------------------------------------- functions and the state machine
    def function_environment(self, logical_id: str) -> dict[str, str]:
        env: dict[str, Any] = dict(self.globals_function.get("Environment", {}).get("Variables", {}))
        env.update(self.props(logical_id).get("Environment", {}).get("Variables", {}))
        resolved = {k: self.resolve(v) for k, v in env.items()}
        return {k: str(v) for k, v in resolved.items() if v is not NO_VALUE}

    def function_setting(self, logical_id: str, name: str, default: Any = None) -> Any:
        props = self.props(logical_id)
        return self.resolve(props.get(name, self.globals_function.get(name, default)))

    def state_machine_definition(self, logical_id: str) -> str:
        props = self.props(logical_id)
        text = (self.root / str(props["DefinitionUri"])).read_text(encoding="utf-8")
        subs = {k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}

        def repl(match: re.Match[str]) -> str:
            escape, name = match.groups()
            if escape:
                return "${" + name + "}"
            if name not in subs:
                raise TemplateError(f"the ASL uses ${{{name}}} but DefinitionSubstitutions has no such key")
            return subs[name]

        return _SUB_RE.sub(repl, text)
