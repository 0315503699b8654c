"""The function's DynamoDB client parses answers as botocore does, without walking every
member of every AttributeValue (backend/ddb_wire.py): the same results from a real moto server,
for every type of value, and a listing page's 100+ items parsed without botocore's walk."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import botocore.session
import pytest
from botocore import parsers

from medispecs_desktop.backend import ddb_wire
from medispecs_desktop.backend.aws import AwsClients
from tests.backend.conftest import TABLE, Moto, make_config

EVERY_TYPE: dict[str, Any] = {
    "s": {"S": "text ü ✓"},
    "empty": {"S": ""},
    "n": {"N": "-12.5e3"},
    "b": {"B": base64.b64encode(b"\x00\xffbytes").decode()},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [base64.b64encode(b"x").decode(), base64.b64encode(b"\x01").decode()]},
    "m": {"M": {"inner": {"S": "x"}, "deep": {"M": {"n": {"N": "1"}}}}},
    "m_with_binary": {"M": {"blob": {"B": base64.b64encode(b"\x02").decode()}}},
    "l": {"L": [{"S": "x"}, {"N": "2"}, {"L": []}, {"M": {}}, {"NULL": True}]},
    "l_with_binary": {"L": [{"S": "x"}, {"BS": [base64.b64encode(b"y").decode()]}]},
    "null": {"NULL": True},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
}
"""A value of each type, nested maps and lists, and binary values deep inside both."""

MALFORMED: dict[str, Any] = {
    "two_members": {"S": "a", "N": "1"},
    "unknown_member": {"X": "?"},
    "null_member": {"S": None},
    "number_as_json_number": {"N": 5},
    "empty": {},
}
"""What no DynamoDB sends, but botocore answers somehow: the same answer either way."""


def _query_output(items: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    model = botocore.session.get_session().get_service_model("dynamodb")
    body = json.dumps({"Items": items, "Count": len(items), "ScannedCount": len(items),
                       "LastEvaluatedKey": {"PK": {"S": "p"}, "SK": {"S": "s"}}}).encode()
    response = {"status_code": 200, "headers": {"x-amzn-requestid": "r"}, "body": body}
    return response, model.operation_model("Query").output_shape


@pytest.mark.parametrize("values", [EVERY_TYPE, MALFORMED], ids=["every_type", "malformed"])
def test_answers_parse_exactly_as_botocore_parses_them(values: dict[str, Any]) -> None:
    response, shape = _query_output([values, {"only": {"S": "x"}}])
    stock = parsers.create_parser("json").parse(response, shape)
    fast = ddb_wire.ParserFactory().create_parser("json").parse(response, shape)
    assert fast == stock
    if values is EVERY_TYPE:
        item = fast["Items"][0]
        assert item["b"] == {"B": b"\x00\xffbytes"}  # binary decoded, as botocore does
        assert item["m_with_binary"]["M"]["blob"] == {"B": b"\x02"}
        assert item["l_with_binary"]["L"][1] == {"BS": [b"y"]}


def test_other_protocols_keep_botocores_parsers() -> None:
    factory = ddb_wire.ParserFactory()
    for protocol, cls in parsers.PROTOCOL_PARSERS.items():
        parser = factory.create_parser(protocol)
        assert type(parser) is (ddb_wire.AttributeValueParser if protocol == "json" else cls)


def test_a_listing_page_is_parsed_without_walking_each_value(
    moto_server: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function's client, against a real moto server: 150 items of 20 attributes each come
    back equal to what a stock client reads, and botocore's per-member walk ran for none of
    their values (before: once per AttributeValue, 3,000+ times)."""
    pk = f"USER#ddb-wire-{uuid.uuid4().hex}"
    for i in range(150):
        item = {"PK": {"S": pk}, "SK": {"S": f"VIDEO#{i:04d}"}, "n": {"N": str(i)},
                "tags": {"SS": ["a", f"t{i}"]}, "meta": {"M": {"w": {"N": "1280"}}},
                **{f"a{k}": {"S": f"value {k}"} for k in range(15)}}
        moto_server.dynamodb.put_item(TableName=TABLE, Item=item)
    query: dict[str, Any] = {
        "TableName": TABLE, "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True,
    }
    expected = moto_server.dynamodb.query(**query)["Items"]  # botocore's own parser

    walks = 0
    stock = vars(parsers.BaseJSONParser)["_handle_structure"]

    def counting(self: Any, shape: Any, value: Any) -> Any:
        nonlocal walks
        if shape.name == ddb_wire.ATTRIBUTE_VALUE_SHAPE:
            walks += 1
        return stock(self, shape, value)

    monkeypatch.setattr(parsers.BaseJSONParser, "_handle_structure", counting)
    client = AwsClients(make_config(moto_server.endpoint)).dynamodb
    got = client.query(**query)["Items"]
    assert len(got) == 150 and got == expected
    assert walks == 0


def test_a_botocore_of_another_shape_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """If botocore's json parser is not the class this was written against, the session keeps
    botocore's own parser factory (correct, slower) instead of a subclass of the wrong thing."""
    session = botocore.session.get_session()
    before = session.get_component("response_parser_factory")
    monkeypatch.setitem(parsers.PROTOCOL_PARSERS, "json", parsers.RestJSONParser)
    assert ddb_wire.install(session) is False
    assert session.get_component("response_parser_factory") is before
    monkeypatch.undo()
    assert ddb_wire.install(session) is True
    assert isinstance(session.get_component("response_parser_factory"), ddb_wire.ParserFactory)
