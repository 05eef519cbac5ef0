"""The template's IAM policies rendered for the local stack: every !Ref, !GetAtt, !Sub and !If resolved (parameter
defaults, the local names of local/stack.py), so a moto IAM user can hold exactly what a deployed identity holds.

`as_moto_evaluates` then adapts a rendered policy to what moto's IAM can check, and nothing more:
- moto authorises S3 and SQS calls against the object's or queue's ARN, every other service against "*": a statement
  of another service is given Resource "*" (moto then checks its actions; the template tests check its resources);
- moto takes a call's API operation for its IAM action (`s3:CopyObject`, `sns:PublishBatch`): where AWS
  authorises an operation by another action (`s3:PutObject`, `sns:Publish`), a grant of the action grants it;
- moto finds an SQS call's queue from its QueueUrl only: the message-move tasks (source and destination ARNs) are
  authorised against "*", so their statement is given Resource "*";
- moto authorises every EventBridge and Step Functions call against "*" (it names no bus): whether a statement's
  Resource admits a given bus is asked of moto's own policy engine with that bus's ARN instead (`identity_permits`);
- moto evaluates no condition key of a call (`dynamodb:LeadingKeys`, `kms:ViaService`): it would apply a conditional
  Deny to every call, so such a Deny is left out (tests/template/test_shared_account.py checks it instead). A
  conditional Allow is kept: moto grants it, as AWS does when the condition holds.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.stack import ACCOUNT, LOCAL_NAMES, REGION, STACK
from local.template import TEMPLATE, load_template

# the queues local/registration.py does not create; the test creates them under these names
EXTRA_QUEUES = {"FailureQueue": f"{STACK}-failures", "ScheduleDeadLetterQueue": f"{STACK}-schedule-dlq"}
QUEUE_IDS = {"RegistrationQueue", "RegistrationDeadLetterQueue", "RejectedRegistrationsQueue", *EXTRA_QUEUES}
POLICY_SOURCES = {  # what an identity holds -> where the template declares it
    "ProducerPolicy": ("AWS::IAM::ManagedPolicy", "ProducerPolicy"),
    "EventProducerPolicy": ("AWS::IAM::ManagedPolicy", "EventProducerPolicy"),
    "OperatorPolicy": ("AWS::IAM::ManagedPolicy", "OperatorPolicy"),
    "WorkflowPolicy": ("AWS::IAM::ManagedPolicy", "WorkflowPolicy"),
    "PollerRole": ("AWS::IAM::Role", "PollerRole"),
    "RegisterRole": ("AWS::IAM::Role", "RegisterRole"),
    "OperatorRole": ("AWS::IAM::Role", "OperatorRole"),
}
RESOURCE_CHECKED = {"s3", "sqs"}  # services whose calls moto authorises against the resource's ARN
# SQS calls that name no QueueUrl (the message-move tasks name ARNs): moto authorises them against "*"
SQS_WITHOUT_QUEUE_URL = {"sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask"}
# moto takes a call's API operation as its IAM action; AWS authorises these operations by another action
# (the Service Authorization Reference), so a grant of the action also grants them here
OPERATIONS_OF_ACTION = {
    "s3:PutObject": ["s3:CopyObject", "s3:CreateMultipartUpload", "s3:UploadPart", "s3:CompleteMultipartUpload"],
    "s3:GetObject": ["s3:HeadObject"],
    "s3:ListBucket": ["s3:ListObjects", "s3:ListObjectsV2"],
    "sns:Publish": ["sns:PublishBatch"],
    "sqs:SendMessage": ["sqs:SendMessageBatch"],
    "sqs:DeleteMessage": ["sqs:DeleteMessageBatch"],
    "sqs:ChangeMessageVisibility": ["sqs:ChangeMessageVisibilityBatch"],
}


@dataclass
class LocalArns:
    """ARNs and `!Ref` values of the local stack's resources."""

    table: str
    bucket: str
    topic_arn: str
    secret_arn: str

    def ref(self, logical_id: str) -> str:
        if logical_id == "RequestsTable":
            return self.table
        if logical_id == "ArchiveBucket":
            return self.bucket
        if logical_id == "OutcomesTopic":
            return self.topic_arn
        if logical_id == "ApiKeySecret":
            return self.secret_arn
        if logical_id == "AWS::Region":
            return REGION
        if logical_id == "AWS::AccountId":
            return ACCOUNT
        if logical_id == "AWS::Partition":
            return "aws"
        if logical_id == "AWS::StackName":
            return STACK
        if logical_id == "AWS::StackId":
            return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/local"
        return LOCAL_NAMES.get(logical_id, logical_id)

    def arn(self, logical_id: str) -> str:
        if logical_id == "RequestsTable":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.table}"
        if logical_id == "ArchiveBucket":
            return f"arn:aws:s3:::{self.bucket}"
        if logical_id in QUEUE_IDS:
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{EXTRA_QUEUES.get(logical_id) or LOCAL_NAMES[logical_id]}"
        if logical_id in ("RegistrationBus", "OutcomeBus"):
            return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{LOCAL_NAMES[logical_id]}"
        if logical_id == "DataKey":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
        if logical_id.endswith("LogGroup"):
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}-{logical_id}"
        raise KeyError(f"no local ARN for {logical_id}")


class _Renderer:
    def __init__(self, template: dict[str, Any], arns: LocalArns) -> None:
        self.template = template
        self.arns = arns
        self.parameters = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def sub(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.parameters:
                return self.parameters[name]
            if name.endswith(".Arn"):
                return self.arns.arn(name[: -len(".Arn")])
            return self.arns.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(v) for v in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(fn, arg)] = node.items()
            if fn == "Ref":
                if arg == "AWS::NoValue":
                    return _NO_VALUE
                return self.parameters[arg] if arg in self.parameters else self.arns.ref(arg)
            if fn == "Fn::GetAtt":
                assert arg[1] == "Arn", arg
                return self.arns.arn(arg[0])
            if fn == "Fn::Sub":
                return self.sub(arg)
            if fn == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Fn::Equals":
                return str(self.value(arg[0])) == str(self.value(arg[1]))
            if fn == "Fn::Not":
                return not self.value(arg[0])
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not _NO_VALUE}


_NO_VALUE = object()


def rendered_policies(arns: LocalArns, template_path: Path = TEMPLATE) -> dict[str, list[dict[str, Any]]]:
    """Identity -> its policy documents (a managed policy: one; a role: each inline policy), resolved."""
    template = load_template(template_path)
    render = _Renderer(template, arns)
    documents: dict[str, list[dict[str, Any]]] = {}
    for identity, (kind, logical_id) in POLICY_SOURCES.items():
        resource = template["Resources"][logical_id]
        assert resource["Type"] == kind, logical_id
        if kind == "AWS::IAM::ManagedPolicy":
            documents[identity] = [render.value(resource["Properties"]["PolicyDocument"])]
        else:  # its inline policies and the stack's managed policies attached to it
            props = resource["Properties"]
            documents[identity] = [render.value(p["PolicyDocument"]) for p in props.get("Policies", [])]
            for attached in props.get("ManagedPolicyArns", []):
                policy = template["Resources"][attached["Ref"]]
                documents[identity].append(render.value(policy["Properties"]["PolicyDocument"]))
    return documents


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def as_moto_evaluates(document: dict[str, Any]) -> dict[str, Any]:
    """The document as moto can evaluate it (see the module's docstring)."""
    adapted = copy.deepcopy(document)
    statements = []
    for statement in adapted["Statement"]:
        if statement["Effect"] == "Deny" and "Condition" in statement:
            continue
        actions = _as_list(statement["Action"])
        statement["Action"] = sorted({*actions, *(op for a in actions for op in OPERATIONS_OF_ACTION.get(a, []))})
        services = {a.split(":")[0] for a in actions}
        if set(actions) <= SQS_WITHOUT_QUEUE_URL or not services <= RESOURCE_CHECKED:
            assert set(actions) <= SQS_WITHOUT_QUEUE_URL or not services & RESOURCE_CHECKED, statement
            statement["Resource"] = "*"
        statements.append(statement)
    adapted["Statement"] = statements
    return adapted


def identity_permits(documents: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether an identity holding exactly these rendered documents may call `action` on `resource`, as moto's IAM
    engine decides it (an explicit Deny wins; no Allow is a refusal). For the calls moto's server authorises against
    "*" (EventBridge's PutEvents names its bus only in the request body). Statements with a condition are left out:
    moto's engine knows no request context and would refuse them."""
    from moto.iam.access_control import IAMPolicy, PermissionResult  # a test dependency

    results = set()
    for document in documents:
        unconditional = {**document, "Statement": [s for s in document["Statement"] if "Condition" not in s]}
        results.add(IAMPolicy(policy_json(unconditional)).is_action_permitted(action, resource))
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results


def policy_json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True)
