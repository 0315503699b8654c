"""The SAM template (packaging/template.yaml) against cfn-lint, the handler's routes, the OpenAPI
file, the table schema and the AWS calls the backend really makes."""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cfnlint.decode import cfn_yaml

from medispecs_desktop.backend import config, handler, schema
from medispecs_desktop.backend.routes import ROUTE_KEYS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "packaging" / "template.yaml"
BACKEND = ROOT / "medispecs_desktop" / "backend"
OPENAPI = BACKEND / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}

# boto3 operation (client or resource method name) -> the IAM actions it needs. A call the
# backend makes that is not listed here fails the test: decide its permission deliberately.
S3_ACTIONS: dict[str, set[str]] = {
    "head_object": {"s3:GetObject"},
    "get_object": {"s3:GetObject"},
    "get_object_attributes": {"s3:GetObject", "s3:GetObjectAttributes"},
    "put_object": {"s3:PutObject"},
    "copy_object": {"s3:GetObject", "s3:PutObject"},
    "delete_object": {"s3:DeleteObject"},
    "delete_objects": {"s3:DeleteObject"},
    "create_multipart_upload": {"s3:PutObject"},
    "upload_part": {"s3:PutObject"},
    "complete_multipart_upload": {"s3:PutObject"},
    "abort_multipart_upload": {"s3:AbortMultipartUpload"},
    "list_parts": {"s3:ListMultipartUploadParts"},
    "list_multipart_uploads": {"s3:ListBucketMultipartUploads"},
    # listed only to delete every version (backend/storage.py delete_all_versions)
    "list_object_versions": {"s3:ListBucketVersions", "s3:DeleteObjectVersion"},
    "list_objects": {"s3:ListBucket"},
    "list_objects_v2": {"s3:ListBucket"},
    "head_bucket": {"s3:ListBucket"},
}
DYNAMODB_ACTIONS: dict[str, set[str]] = {
    "get_item": {"dynamodb:GetItem"},
    "put_item": {"dynamodb:PutItem"},
    "update_item": {"dynamodb:UpdateItem"},
    "delete_item": {"dynamodb:DeleteItem"},
    "query": {"dynamodb:Query"},
    "scan": {"dynamodb:Scan"},
    "batch_get_item": {"dynamodb:BatchGetItem"},
    "batch_write_item": {"dynamodb:BatchWriteItem"},
    "transact_get_items": {"dynamodb:GetItem"},
    "describe_table": {"dynamodb:DescribeTable"},
    # transact_write_items needs the item-level action of each kind of entry it carries:
    "transact_write_items": set(),
}
TRANSACT_ENTRY_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# A HeadObject/GetObject of a missing key answers 404 only with s3:ListBucket on the bucket
# (403 otherwise), so ListBucket comes with any object read.
IMPLIED = {"s3:GetObject": {"s3:ListBucket"}}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
QUEUE_CONSUMER_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                          "sqs:ChangeMessageVisibility"}
ENV_NOT_FOR_DEPLOYMENT = {"ALLOW_QUERY_USER_ID"}
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


@cache
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


@cache
def transformed() -> dict[str, Any]:
    """The CloudFormation template AWS's SAM transform makes of ours (what really deploys).

    ``CodeUri`` becomes an S3 URI first, as ``sam deploy``/``cloudformation package`` do."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(json.loads(json.dumps(template())))
    for res in sam["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function" and \
                res["Properties"].get("PackageType") == "Image":
            res["Properties"]["ImageUri"] = (
                "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/processing:1")
        elif res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://artifacts-bucket/videos-handler.zip"
    session = boto3.session.Session(region_name="ap-southeast-1")
    translator = Translator({}, Parser(), boto_session=session)
    return translator.translate(sam, parameter_values={}, get_managed_policy_map=dict)


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == kind}


def only(kind: str) -> dict[str, Any]:
    found = resources(kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))


def function(name: str = "VideosFunction") -> dict[str, Any]:
    """The API's function (``VideosFunction``), the scheduled jobs' (``JobsFunction``) or the
    upload processing's (``ProcessingFunction``)."""
    assert set(resources("AWS::Serverless::Function")) == {
        "VideosFunction", "JobsFunction", "ProcessingFunction"}
    return template()["Resources"][name]


def policy_statements(name: str = "VideosFunction") -> list[dict[str, Any]]:
    role_name = function(name)["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template()["Resources"][role_name]
    assert role["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in role["Properties"], "managed policies are not least privilege"
    statements: list[dict[str, Any]] = []
    for policy in role["Properties"]["Policies"]:
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


JOB_MODULES = {"jobs.py"}
"""Backend modules only the scheduled-jobs function runs (the API's role needs none of them)."""
PROCESSING_PACKAGE = "processing"
"""``backend/processing/``: only the processing function runs it."""


def backend_sources(*, handler_only: bool = False) -> Iterator[tuple[Path, ast.Module]]:
    files = sorted(p for p in BACKEND.rglob("*.py") if "__pycache__" not in p.parts)
    assert files, "no backend sources"
    for path in files:
        if handler_only and (path.name in JOB_MODULES or PROCESSING_PACKAGE in
                             path.relative_to(BACKEND).parts[:-1]):
            continue
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


# ``self.<attribute>`` of the classes the jobs use -> the class it holds
JOB_ATTRIBUTE_TYPES = {"store": "VideoStore", "storage": "VideoStorage", "trash": "TrashService"}


def _is_processing(path: Path) -> bool:
    return PROCESSING_PACKAGE in path.relative_to(BACKEND).parts[:-1]


def job_reachable_functions(*, processing: bool = False) -> list[ast.AST]:
    """The function bodies the scheduled jobs (or, ``processing``, the processing function)
    can run: every function of ``JOB_MODULES`` (of ``backend/processing/``) and, transitively,
    the methods they call as ``self.m()``, ``self.store.m()``, ``self.storage.m()``,
    ``self.trash.m()`` / ``self.service.trash.m()`` (the adapters hold every AWS call)."""
    methods: dict[tuple[str, str], ast.AST] = {}
    roots: list[tuple[str, ast.AST]] = []
    for path, tree in backend_sources():
        root = _is_processing(path) if processing else path.name in JOB_MODULES
        for top in tree.body:
            if isinstance(top, ast.ClassDef):
                for item in top.body:
                    if isinstance(item, ast.FunctionDef):
                        methods[(top.name, item.name)] = item
                        if root:
                            roots.append((top.name, item))
            elif isinstance(top, ast.FunctionDef) and root:
                roots.append(("", top))
    seen: dict[int, ast.AST] = {}
    todo = list(roots)
    while todo:
        owner, fn = todo.pop()
        if id(fn) in seen:
            continue
        seen[id(fn)] = fn
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            cls: str | None = None
            if isinstance(target, ast.Name) and target.id == "self":
                cls = owner
            elif isinstance(target, ast.Attribute) and target.attr in JOB_ATTRIBUTE_TYPES:
                cls = JOB_ATTRIBUTE_TYPES[target.attr]
            if cls and (cls, node.func.attr) in methods:
                todo.append((cls, methods[(cls, node.func.attr)]))
    return list(seen.values())


def aws_calls(*, handler_only: bool = False, trees: list[ast.AST] | None = None
              ) -> tuple[set[str], set[str], set[str]]:
    """(S3 operations, DynamoDB operations, TransactWriteItems entry kinds) the backend uses.

    Operations are method calls whose name is an S3 or DynamoDB API of boto3 (client or resource:
    ``client.head_object(...)``, ``table.query(...)``) plus string constants naming an S3
    operation (``generate_presigned_url("upload_part", ...)``, ``get_paginator("list_parts")``).
    """
    s3_ops = set(boto3.client("s3", region_name="us-east-1").meta.method_to_api_mapping)
    ddb_ops = set(boto3.client("dynamodb", region_name="us-east-1").meta.method_to_api_mapping)
    assert not s3_ops & ddb_ops
    used_s3: set[str] = set()
    used_ddb: set[str] = set()
    dict_keys: set[str] = set()
    if trees is None:
        trees = [tree for _path, tree in backend_sources(handler_only=handler_only)]
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name in s3_ops:
                    used_s3.add(name)
                elif name in ddb_ops:
                    used_ddb.add(name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in s3_ops:
                    used_s3.add(node.value)
            if isinstance(node, ast.Dict):
                dict_keys.update(
                    k.value
                    for k in node.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                )
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "dict"
            ):
                dict_keys.update(kw.arg for kw in node.keywords if kw.arg)
    entries = (
        dict_keys & set(TRANSACT_ENTRY_ACTIONS) if "transact_write_items" in used_ddb else set()
    )
    return used_s3, used_ddb, entries


def required_actions(*, jobs: bool = False, processing: bool = False) -> set[str]:
    s3, ddb, entries = (aws_calls(trees=job_reachable_functions(processing=processing))
                        if jobs or processing else aws_calls(handler_only=True))
    unknown = sorted((s3 - S3_ACTIONS.keys()) | (ddb - DYNAMODB_ACTIONS.keys()))
    assert not unknown, f"backend calls {unknown}: add their IAM actions to the table in this test"
    needed: set[str] = set()
    for op in s3:
        needed |= S3_ACTIONS[op]
    for op in ddb:
        needed |= DYNAMODB_ACTIONS[op]
    needed |= {TRANSACT_ENTRY_ACTIONS[e] for e in entries}
    for action, implied in IMPLIED.items():
        if action in needed:
            needed |= implied
    return needed


def backend_env_vars(*, handler_only: bool = False) -> set[str]:
    """Environment variables the backend reads.

    In every backend module that touches ``os.environ``/``getenv``, the string constants shaped
    like an environment variable (``UPPER_CASE``) that are a subscript or a call argument:
    ``env["TABLE_MAIN"]``, ``env.get("USER_ID_CLAIM")``, ``_int(env, "MAX_UPLOAD_BYTES", ...)``.
    """
    names: set[str] = set()
    for path, tree in backend_sources(handler_only=handler_only):
        source = path.read_text(encoding="utf-8")
        if "environ" not in source and "getenv" not in source:
            continue
        for node in ast.walk(tree):
            candidates: list[ast.expr] = []
            if isinstance(node, ast.Subscript):
                candidates.append(node.slice)
            elif isinstance(node, ast.Call):
                candidates.extend(node.args)
            for arg in candidates:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and ENV_NAME.match(arg.value)
                ):
                    names.add(arg.value)
    return names


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------------ tests


def test_cfn_lint_passes() -> None:
    exe = Path(sys.executable).with_name("cfn-lint")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run(
        [*cmd, "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AWS_DEFAULT_REGION": "ap-southeast-1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_routes_equal_handler_routes_and_openapi() -> None:
    events = function()["Properties"]["Events"]
    template_routes = []
    for name, event in events.items():
        assert event["Type"] == "HttpApi", name
        props = event["Properties"]
        assert props["ApiId"] == {"Ref": "HttpApi"}, name
        assert "Auth" not in props, f"{name} overrides the JWT authorizer"
        template_routes.append(f"{props['Method'].upper()} {props['Path']}")
    assert len(template_routes) == len(set(template_routes)), "duplicate route"
    assert sorted(template_routes) == sorted(ROUTE_KEYS)

    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    openapi_routes = sorted(
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS and method != "options"
    )
    assert openapi_routes == sorted(ROUTE_KEYS)


def test_every_route_needs_a_cognito_jwt_and_cors_preflight_does_not() -> None:
    api = only("AWS::Serverless::HttpApi")["Properties"]
    auth = api["Auth"]
    default = auth["DefaultAuthorizer"]
    jwt = auth["Authorizers"][default]
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    issuer = jwt["JwtConfiguration"]["issuer"]["Fn::Sub"]
    pool = next(iter(resources("AWS::Cognito::UserPool")))
    assert issuer == f"https://cognito-idp.${{AWS::Region}}.amazonaws.com/${{{pool}}}"
    client = next(iter(resources("AWS::Cognito::UserPoolClient")))
    assert jwt["JwtConfiguration"]["audience"] == [{"Ref": client}]
    # OPTIONS is answered by API Gateway's CORS support (no route, so no authorizer).
    assert not any(
        e["Properties"]["Method"].upper() in ("OPTIONS", "ANY")
        for e in function()["Properties"]["Events"].values()
    )
    cors = api["CorsConfiguration"]
    assert cors["AllowOrigins"] == [{"Ref": "CorsAllowOrigin"}]
    assert template()["Parameters"]["CorsAllowOrigin"]["Default"] == "*"
    assert cors["AllowHeaders"] == ["Content-Type", "Authorization"]
    assert set(cors["AllowMethods"]) == {"GET", "POST", "PATCH", "DELETE", "OPTIONS"}
    used_methods = {k.split()[0] for k in ROUTE_KEYS}
    assert used_methods <= set(cors["AllowMethods"])
    # The handler's own CORS headers (local gateway, direct invocations) say the same.
    assert handler.CORS_ALLOW_HEADERS.split(",") == cors["AllowHeaders"]
    assert set(handler.CORS_ALLOW_METHODS.split(",")) == set(cors["AllowMethods"])


def test_transformed_template_has_every_route_behind_the_jwt_authorizer(tmp_path: Path) -> None:
    cfn = transformed()
    apis = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert len(apis) == 1
    body = apis[0]["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"]
    assert [s["x-amazon-apigateway-authorizer"]["type"] for s in scheme.values()] == ["jwt"]
    routes = []
    for path, item in body["paths"].items():
        for method, operation in item.items():
            routes.append(f"{method.upper()} {path}")
            assert operation["security"] == [{name: []} for name in scheme], (method, path)
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["payloadFormatVersion"] == "2.0"
            assert integration["type"] == "aws_proxy"
    assert sorted(routes) == sorted(ROUTE_KEYS)
    cors = body["x-amazon-apigateway-cors"]
    assert "OPTIONS" in cors["allowMethods"]  # preflight: API Gateway answers it, no route
    permissions = [r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    by_api = [p for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert len(by_api) == len(ROUTE_KEYS)
    by_schedule = [p for p in permissions if p["Properties"]["Principal"] == "events.amazonaws.com"]
    assert len(by_schedule) == len(function("JobsFunction")["Properties"]["Events"])
    assert len(permissions) == len(by_api) + len(by_schedule)
    assert not [
        r for r in cfn["Resources"] if cfn["Resources"][r]["Type"].startswith("AWS::Serverless::")
    ]
    # The transformed template (plain CloudFormation) passes cfn-lint too.
    out = tmp_path / "transformed.json"
    out.write_text(json.dumps(cfn), encoding="utf-8")
    exe = Path(sys.executable).with_name("cfn-lint")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*cmd, "--", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_app_client_for_the_desktop() -> None:
    client = only("AWS::Cognito::UserPoolClient")["Properties"]
    assert client["GenerateSecret"] is False
    # SRP only: the password never travels (issue 12)
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert client["AllowedOAuthFlows"] == ["code"]  # + PKCE from the app (public client)
    assert "openid" in client["AllowedOAuthScopes"]
    pool = only("AWS::Cognito::UserPool")["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_sign_in_parameters_mfa_domain_federation_and_ses() -> None:
    tpl = json.loads(json.dumps(template()))
    params = tpl["Parameters"]
    assert params["MfaConfiguration"]["Default"] == "OPTIONAL"
    assert set(params["MfaConfiguration"]["AllowedValues"]) == {"OFF", "OPTIONAL", "ON"}
    assert set(params["IdentityProviderType"]["AllowedValues"]) == {"NONE", "SAML", "OIDC"}
    assert params["OidcClientSecret"]["NoEcho"] is True
    res = tpl["Resources"]
    providers = {name: r for name, r in res.items()
                 if r["Type"] == "AWS::Cognito::UserPoolIdentityProvider"}
    assert {r["Condition"] for r in providers.values()} == {"UseSaml", "UseOidc"}
    assert {r["Properties"]["ProviderType"] for r in providers.values()} == {"SAML", "OIDC"}
    assert res["UserPoolDomain"]["Condition"] == "HasDomain"
    pool = res["UserPool"]["Properties"]
    assert pool["MfaConfiguration"] == {"Ref": "MfaConfiguration"}
    assert "UseSes" in json.dumps(pool["EmailConfiguration"])
    settings = json.dumps(tpl["Outputs"]["DesktopSettingsJson"])
    assert "auth_domain" in settings and "redirect_ports" in settings


def test_no_password_flow_anywhere_in_the_template_or_the_package() -> None:
    """The password flow sends the password itself (readable by TLS-inspecting proxies):
    nothing in the template, the app, the local stack, the CLI or the tests may use or allow
    it."""
    root = Path(__file__).resolve().parents[2]
    flow = "USER_" + "PASSWORD_AUTH"  # spelled apart so this file does not match itself
    offenders = [str(p.relative_to(root)) for p in
                 [root / "packaging" / "template.yaml",
                  *sorted((root / "medispecs_desktop").rglob("*.py")),
                  *sorted((root / "tests").rglob("*.py"))]
                 if flow in p.read_text(encoding="utf-8")]
    assert offenders == []


@pytest.mark.parametrize("name", ["VideosFunction", "JobsFunction", "ProcessingFunction"])
def test_iam_actions_are_exactly_the_calls_the_handler_makes(name: str) -> None:
    needed = required_actions(jobs=name == "JobsFunction",
                              processing=name == "ProcessingFunction")
    if name == "ProcessingFunction":  # its SQS event source polls with the function's role
        needed |= QUEUE_CONSUMER_ACTIONS
    assert needed, "found no AWS calls in the backend"
    granted: set[str] = set()
    for statement in policy_statements(name):
        if statement["Effect"] == "Deny":  # the audit table's append-only guard
            assert statement["Resource"] == {"Fn::GetAtt": ["AuditTable", "Arn"]}
            continue
        assert statement["Effect"] == "Allow"
        actions = set(as_list(statement["Action"]))
        assert not any("*" in a for a in actions), f"wildcard action in {statement}"
        granted |= actions
    assert "dynamodb:Scan" not in granted or "dynamodb:Scan" in needed
    missing = needed - granted
    extra = granted - needed - LOG_ACTIONS
    assert not missing, f"the role lacks {sorted(missing)}"
    assert not extra, f"the role grants {sorted(extra)} that no backend code calls"


@pytest.mark.parametrize("name", ["VideosFunction", "JobsFunction", "ProcessingFunction"])
def test_iam_resources_are_scoped(name: str) -> None:
    for statement in policy_statements(name):
        actions = as_list(statement.get("Action", statement.get("NotAction")))
        res = as_list(statement["Resource"])
        text = str(res)
        assert "'*'" not in text and not any(r == "*" for r in res), statement
        service = {a.split(":")[0] for a in actions}
        assert len(service) == 1, f"one service per statement: {statement}"
        if service == {"dynamodb"} and res == [{"Fn::GetAtt": ["AuditTable", "Arn"]}]:
            continue  # the audit table (tests/packaging/test_audit_template.py)
        table = ("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}"
                 ":table/${TableName}")
        if service == {"dynamodb"} and name == "JobsFunction":
            assert res == [{"Fn::Sub": table},
                           {"Fn::Sub": f"{table}/index/{schema.TRASH_INDEX}"}]
        elif service == {"dynamodb"}:
            assert res == [{"Fn::Sub": table}]
        elif service == {"s3"} and all(a.startswith("s3:ListBucket") for a in actions):
            assert len(res) == 1 and "/" not in str(res[0]).replace("Arn'", "")
        elif service == {"s3"} and name == "ProcessingFunction":
            # reads recordings, writes only what it derives from them
            prefixes = sorted(r["Fn::Sub"][0].rsplit("}", 1)[1] for r in res)
            assert prefixes == (["/videos/*"] if actions == ["s3:GetObject"]
                                else ["/previews/*", "/thumbnails/*"]), statement
            assert actions in (["s3:GetObject"], ["s3:PutObject"]), statement
        elif service == {"sqs"}:
            assert name == "ProcessingFunction"
            assert res == [{"Fn::GetAtt": ["ProcessingQueue", "Arn"]}]
        elif service == {"s3"}:
            prefixes = sorted(r["Fn::Sub"][0].rsplit("}", 1)[1] for r in res)
            if name == "JobsFunction" and actions == ["s3:GetObject"]:
                assert prefixes == ["/videos/*"]  # verify-sha256 reads recordings only
                continue
            if prefixes == ["/previews/*"]:
                # the purge deletes preview sheets and review copies; the handler also signs
                # GETs of them (so it may read them); nobody but processing writes there
                expected = {"s3:DeleteObject", "s3:DeleteObjectVersion"}
                if name == "VideosFunction":
                    expected.add("s3:GetObject")
                assert set(actions) == expected, (name, statement)
                continue
            assert prefixes == ["/thumbnails/*", "/videos/*"]
        elif service == {"logs"}:
            assert res == [{"Fn::GetAtt": [f"{name}LogGroup", "Arn"]}]


def test_function_runtime_handler_and_environment() -> None:
    props = function()["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == "videos_handler.lambda_handler"
    assert props["CodeUri"] == "out/videos-handler.zip"
    assert props["Timeout"] <= 29, "HTTP API integrations time out after 30 s"
    env = set(props["Environment"]["Variables"])
    assert {"TABLE_MAIN", "S3_BUCKET", "S3_REGION", "PRE_SIGNED_URL_EXPIRY"} <= env
    assert not env & ENV_NOT_FOR_DEPLOYMENT, "the console-test switch must not be deployed"
    read = ({v for v in backend_env_vars(handler_only=True) if not v.startswith("AWS_")}
            - ENV_NOT_FOR_DEPLOYMENT)
    assert read <= env, f"the backend reads {sorted(read - env)} that the template does not set"
    assert env <= backend_env_vars(), f"the backend never reads {sorted(env - backend_env_vars())}"
    logs = template()["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
    assert logs["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${FunctionName}"}
    assert logs["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_parameter_ranges_agree_with_the_backend() -> None:
    params = template()["Parameters"]
    expiry = params["PresignedUrlExpiry"]
    assert 1 <= expiry["MinValue"] <= expiry["Default"] <= expiry["MaxValue"]
    assert expiry["MaxValue"] <= config.MAX_EXPIRY_SECONDS
    assert expiry["Default"] == config.DEFAULT_EXPIRY_SECONDS
    assert params["MaxUploadBytes"]["Default"] == config.DEFAULT_MAX_UPLOAD_BYTES
    assert params["UserIdClaim"]["Default"] == "sub"
    assert params["VerifySha256MaxBytes"]["Default"] == config.DEFAULT_VERIFY_SHA256_MAX_BYTES
    # each parameter feeds the function as documented
    env = function()["Properties"]["Environment"]["Variables"]
    assert env["PRE_SIGNED_URL_EXPIRY"] == {"Ref": "PresignedUrlExpiry"}
    assert env["MAX_UPLOAD_BYTES"] == {"Ref": "MaxUploadBytes"}
    assert env["USER_ID_CLAIM"] == {"Ref": "UserIdClaim"}
    assert env["VERIFY_SHA256_MAX_BYTES"] == {"Ref": "VerifySha256MaxBytes"}


def test_bucket_is_private_encrypted_versioned_and_cleans_up_multipart() -> None:
    bucket = only("AWS::S3::Bucket")
    assert bucket["Condition"] == "CreateBucket"
    props = bucket["Properties"]
    block = props["PublicAccessBlockConfiguration"]
    assert all(
        block[k] is True
        for k in (
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        )
    )
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    rules = props["LifecycleConfiguration"]["Rules"]
    # noncurrent (overwritten / deleted) versions are kept exactly as long as the Trash
    noncurrent = [r for r in rules if "NoncurrentVersionExpiration" in r]
    assert len(noncurrent) == 1 and noncurrent[0]["Status"] == "Enabled"
    assert noncurrent[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == {
        "Ref": "TrashRetentionDays"}
    assert "Prefix" not in noncurrent[0] and "Filter" not in noncurrent[0]  # whole bucket
    trash_days = template()["Parameters"]["TrashRetentionDays"]
    assert trash_days["Default"] == config.DEFAULT_TRASH_RETENTION_DAYS
    assert trash_days["MaxValue"] <= config.MAX_TRASH_RETENTION_DAYS
    for fn in ("VideosFunction", "JobsFunction"):
        env = function(fn)["Properties"]["Environment"]["Variables"]
        assert env["TRASH_RETENTION_DAYS"] == {"Ref": "TrashRetentionDays"}
    abort = [r for r in rules if "AbortIncompleteMultipartUpload" in r]
    assert abort and abort[0]["Status"] == "Enabled"
    days = abort[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
    assert days == {"Ref": "AbortIncompleteMultipartDays"}
    assert 1 <= template()["Parameters"]["AbortIncompleteMultipartDays"]["Default"] <= 7
    cors = props["CorsConfiguration"]["CorsRules"][0]
    assert "PUT" in cors["AllowedMethods"] and "ETag" in cors["ExposedHeaders"]

    policy = only("AWS::S3::BucketPolicy")
    assert policy["Condition"] == "CreateBucket"
    deny = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny[0]["Action"] == "s3:*" and deny[0]["Principal"] == "*"


def test_table_matches_the_backend_schema() -> None:
    table = template()["Resources"]["AppMainTable"]
    assert table["Condition"] == "CreateTable"
    assert table["DeletionPolicy"] == "Retain"
    props = table["Properties"]
    want = schema.create_table_kwargs("x")
    assert props["AttributeDefinitions"] == want["AttributeDefinitions"]
    assert props["KeySchema"] == want["KeySchema"]
    assert props["BillingMode"] == want["BillingMode"] == "PAY_PER_REQUEST"
    assert props["GlobalSecondaryIndexes"] == want["GlobalSecondaryIndexes"]
    assert [g["IndexName"] for g in props["GlobalSecondaryIndexes"]] == [schema.TRASH_INDEX]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert template()["Parameters"]["TableName"]["Default"] == schema.DEFAULT_TABLE_NAME


def test_existing_table_and_bucket_can_be_used() -> None:
    params = template()["Parameters"]
    assert params["UseExistingTable"]["AllowedValues"] == ["true", "false"]
    assert params["UseExistingBucket"]["AllowedValues"] == ["true", "false"]
    env = function()["Properties"]["Environment"]["Variables"]
    assert env["TABLE_MAIN"] == {
        "Fn::If": ["CreateTable", {"Ref": "AppMainTable"}, {"Ref": "TableName"}]
    }
    assert env["S3_BUCKET"] == {
        "Fn::If": ["CreateBucket", {"Ref": "VideosBucket"}, {"Ref": "BucketName"}]
    }
    rule = template()["Rules"]["ExistingBucketNeedsName"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "UseExistingBucket"}, "true"]}


def test_outputs_cover_the_desktop_settings() -> None:
    outputs = template()["Outputs"]
    assert {"ApiUrl", "Region", "UserPoolId", "ClientId", "BucketName", "TableName"} <= set(outputs)
    settings_json = outputs["DesktopSettingsJson"]["Value"]["Fn::Sub"][0]
    for key in ("api_url", "region", "user_pool_id", "client_id", "auth_domain",
                "redirect_ports"):
        assert f'"{key}"' in settings_json


@pytest.mark.parametrize("doc", ["docs/deploy.md", "packaging/samconfig.toml.example"])
def test_deploy_docs_exist(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert "template.yaml" in text or "template_file" in text


def test_table_expires_stale_multipart_sessions_by_the_attribute_the_backend_writes() -> None:
    table = template()["Resources"]["AppMainTable"]["Properties"]
    ttl = table["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    multipart = (BACKEND / "uploads.py").read_text(encoding="utf-8")
    assert f'"{ttl["AttributeName"]}": int(now) + UPLOAD_SESSION_TTL_SECONDS' in multipart
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["DeletionProtectionEnabled"] is True


def test_jobs_function_runs_the_scheduled_jobs_with_its_own_role() -> None:
    from medispecs_desktop.backend import jobs

    props = function("JobsFunction")["Properties"]
    assert props["Handler"] == "medispecs_desktop.backend.jobs.scheduled_handler"
    assert props["CodeUri"] == function()["Properties"]["CodeUri"]  # the same zip
    assert props["Runtime"] == "python3.13" and props["Timeout"] <= 900
    assert props["Role"] != function()["Properties"]["Role"]
    events = props["Events"]
    assert {e["Type"] for e in events.values()} == {"Schedule"}
    scheduled = {json.loads(e["Properties"]["Input"])["job"] for e in events.values()}
    assert scheduled == set(jobs.JOBS)
    env = set(props["Environment"]["Variables"])
    assert {"TABLE_MAIN", "S3_BUCKET", "S3_REGION"} <= env <= backend_env_vars()
    assert not env & ENV_NOT_FOR_DEPLOYMENT
    # the purge Queries the sparse index, never Scans
    assert "dynamodb:Scan" not in required_actions(jobs=True)
    assert "dynamodb:Query" in required_actions(jobs=True)


def test_processing_pipeline_queue_dlq_alarm_notification_and_function() -> None:
    """S3 ObjectCreated on videos/ -> queue (DLQ + alarm) -> the processing function, as the
    local stack wires it (local/processing.py)."""
    from medispecs_desktop.backend.processing import handler as processing_handler

    res = template()["Resources"]
    bucket = res["VideosBucket"]
    assert bucket["DependsOn"] == "ProcessingQueuePolicy"  # S3 checks it may send first
    [notification] = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Queue"] == {"Fn::GetAtt": ["ProcessingQueue", "Arn"]}
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "videos/"}]
    queue = res["ProcessingQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ProcessingDeadLetterQueue", "Arn"]}
    fn = function("ProcessingFunction")["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]
    assert queue["DelaySeconds"] == processing_handler.EVENT_DELAY_SECONDS  # as the local stack
    assert fn["Timeout"] == 900 and fn["PackageType"] == "Image"
    policy = res["ProcessingQueuePolicy"]["Properties"]
    [send] = policy["PolicyDocument"]["Statement"]
    assert send["Principal"] == {"Service": "s3.amazonaws.com"}
    assert send["Action"] == "sqs:SendMessage"
    assert send["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    alarm = res["ProcessingDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {
        "Fn::GetAtt": ["ProcessingDeadLetterQueue", "QueueName"]}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    [event] = fn["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["ProcessingQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    env = set(fn["Environment"]["Variables"])
    read = {v for v in backend_env_vars() if not v.startswith("AWS_")}
    assert {"TABLE_MAIN", "S3_BUCKET", "S3_REGION", "PROCESSING_QUEUE_URL"} <= env <= read
    assert "lambda_handler" in vars(processing_handler)
    image = ROOT / function("ProcessingFunction")["Metadata"]["Dockerfile"]
    assert image.read_text(encoding="utf-8").rstrip().endswith(
        'CMD ["medispecs_desktop.backend.processing.handler.lambda_handler"]')
    mapping = [r for r in transformed()["Resources"].values()
               if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mapping) == 1
