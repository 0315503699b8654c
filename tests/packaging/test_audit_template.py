"""The template's audit controls (HIPAA §164.312(b)): an append-only audit table the API's role
can add to and read but never rewrite or delete, kept 6 years; retained log groups; an access
log that names the user; 10-minute playback URLs."""

from __future__ import annotations

import ast
from typing import Any

from medispecs_desktop.backend import audit, config
from tests.packaging.test_sam_template import (
    BACKEND,
    as_list,
    function,
    policy_statements,
    template,
)

AUDIT_ARN = {"Fn::GetAtt": ["AuditTable", "Arn"]}
WRITES_THAT_REWRITE = {
    "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert",
    "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
    "dynamodb:RestoreTableToPointInTime", "dynamodb:ImportTable",
}


def audit_statements() -> list[dict[str, Any]]:
    return [s for s in policy_statements() if AUDIT_ARN in as_list(s["Resource"])]


def test_audit_table_is_retained_recoverable_and_expires_by_ttl_only() -> None:
    table = template()["Resources"]["AuditTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert "Condition" not in table, "every stack has an audit trail"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    want = audit.create_audit_table_kwargs("x")
    assert props["KeySchema"] == want["KeySchema"]
    assert props["AttributeDefinitions"] == want["AttributeDefinitions"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": audit.TTL_ATTRIBUTE,
                                                "Enabled": True}
    params = template()["Parameters"]
    assert params["AuditTableName"]["Default"] == audit.DEFAULT_AUDIT_TABLE_NAME
    assert params["AuditRetentionDays"]["Default"] == config.DEFAULT_AUDIT_RETENTION_DAYS
    assert config.DEFAULT_AUDIT_RETENTION_DAYS >= 6 * 365 + 1  # six years
    env = function()["Properties"]["Environment"]["Variables"]
    assert env["AUDIT_TABLE"] == {"Ref": "AuditTable"}
    assert env["AUDIT_RETENTION_DAYS"] == {"Ref": "AuditRetentionDays"}


def test_the_api_role_can_only_append_to_and_read_the_audit_trail() -> None:
    statements = audit_statements()
    allowed = {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert allowed == {"dynamodb:PutItem", "dynamodb:Query"}
    assert not allowed & WRITES_THAT_REWRITE
    # defence in depth: whatever is added to the role later, only these two stay possible
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert "Action" not in deny and set(as_list(deny["NotAction"])) == allowed
    # no other DynamoDB grant reaches the audit table (a wildcard, or the AppMain grant with
    # both tables given the same name, which a template rule refuses)
    for s in policy_statements():
        if s not in statements and "dynamodb:" in str(s["Action"]):
            assert "AuditTable" not in str(s["Resource"]) and "*" not in str(s["Resource"])
    rule = template()["Rules"]["AuditTableIsSeparate"]
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AuditTableName"}, {"Ref": "TableName"}]}]}


def test_every_audit_put_carries_the_not_exists_condition() -> None:
    """IAM cannot require a condition expression: the code must add it to each put."""
    tree = ast.parse((BACKEND / "audit.py").read_text(encoding="utf-8"))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute)
             and n.func.attr in ("put_item", "transact_write_items", "batch_write_item",
                                 "update_item", "delete_item")]
    assert sorted(c.func.attr for c in calls) == ["put_item", "transact_write_items"]  # type: ignore[attr-defined]
    source = (BACKEND / "audit.py").read_text(encoding="utf-8")
    assert source.count('"ConditionExpression": "attribute_not_exists(#pk)"') == 1
    (put,) = [c for c in calls if c.func.attr == "put_item"]  # type: ignore[attr-defined]
    assert "**condition" in ast.unparse(put)
    entries = [n for n in ast.walk(tree) if isinstance(n, ast.Dict)
               and any(isinstance(k, ast.Constant) and k.value == "Put" for k in n.keys)]
    assert len(entries) == 1 and "**condition" in ast.unparse(entries[0])


def test_log_groups_are_retained_six_years_and_the_access_log_names_the_user() -> None:
    resources = template()["Resources"]
    groups = {k: v for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"}
    # the API's function, the scheduled jobs', the processing function's, the API
    assert len(groups) == 4
    for name, group in groups.items():
        assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain", name
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template()["Parameters"]["LogRetentionDays"]["Default"] >= 2192
    api = resources["HttpApi"]["Properties"]
    fmt = api["AccessLogSettings"]["Format"]
    for variable in ("$context.authorizer.claims.sub", "$context.identity.sourceIp",
                     "$context.identity.userAgent", "$context.path", "$context.requestId"):
        assert variable in fmt, variable


def test_playback_urls_live_ten_minutes_by_default() -> None:
    param = template()["Parameters"]["PlaybackUrlExpiry"]
    assert param["Default"] == config.DEFAULT_PLAYBACK_EXPIRY_SECONDS == 600
    env = function()["Properties"]["Environment"]["Variables"]
    assert env["PLAYBACK_URL_EXPIRY"] == {"Ref": "PlaybackUrlExpiry"}
    cfg = config.BackendConfig.from_env({"TABLE_MAIN": "T", "S3_BUCKET": "b", "S3_REGION": "r"})
    assert cfg.playback_expiry_seconds == 600
    short = config.BackendConfig.from_env({"TABLE_MAIN": "T", "S3_BUCKET": "b", "S3_REGION": "r",
                                           "PRE_SIGNED_URL_EXPIRY": "120"})
    assert short.playback_expiry_seconds == 120  # never longer than any pre-signed URL
