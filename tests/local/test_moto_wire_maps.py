"""moto's DynamoDB wire format takes a whole item in one loop (moto_wire_patches.make_serialize_map
and make_parse_map, point 8 of moto_patches): a listing page's 100 items and an audit
transaction's 100 events no longer go through moto's generic per-value dispatch, and what moto
answers and parses stays what stock moto gives (the byte-for-byte and parse-equality tests of
test_moto_patches.py run with these patches too; here: maps with odd members as well)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws

from medispecs_desktop.local import moto_patches
from tests.local.test_moto_patches import _client, _fill, _table, patched  # noqa: F401


def _dispatches(monkeypatch: pytest.MonkeyPatch, owner: Any, method: str,
                run: Callable[[], None]) -> int:
    """How often moto's generic ``method`` of ``owner`` handled an AttributeValue in ``run``."""
    count = [0]
    original = getattr(owner, method)

    def counted(self: Any, *args: Any) -> Any:
        shape = next(a for a in args if hasattr(a, "type_name"))
        if shape.name == "AttributeValue":
            count[0] += 1
        return original(self, *args)

    with monkeypatch.context() as m:
        m.setattr(owner, method, counted)
        run()
    return count[0]


def _query_page(items: int) -> Callable[[], None]:
    def run() -> None:
        page = _client().query(TableName="M", KeyConditionExpression="PK = :p",
                               ExpressionAttributeValues={":p": {"S": "USER#m"}})
        assert len(page["Items"]) == items
    return run


def test_an_answers_items_skip_moto_s_per_value_dispatch(
    patched: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    from moto.core.serialize import ResponseSerializer

    with mock_aws():
        _table(_client(), "M")
        _fill("M", "USER#m", 100)
        assert _dispatches(monkeypatch, ResponseSerializer, "_serialize", _query_page(100)) == 0
        with moto_patches.stock():
            stock = _dispatches(monkeypatch, ResponseSerializer, "_serialize", _query_page(100))
    assert stock >= 100 * 4  # PK, SK, title, n of each item


def test_a_transactions_items_skip_moto_s_per_value_dispatch(
    patched: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    from moto.core.parse import RequestParser

    puts = [{"Put": {"TableName": "T", "Item": {
        "PK": {"S": f"VIDEO#u#v{i}"}, "SK": {"S": "2026#req"},
        **{f"a{j}": {"S": f"value {j}"} for j in range(11)}}}} for i in range(100)]

    def run() -> None:
        _client().transact_write_items(TransactItems=puts)

    with mock_aws():
        _table(_client(), "T")
        assert _dispatches(monkeypatch, RequestParser, "_parse_shape", run) == 0
    with mock_aws(), moto_patches.stock():
        _table(_client(), "T")
        assert _dispatches(monkeypatch, RequestParser, "_parse_shape", run) >= 100 * 13


ODD_MAPS: list[dict[str, Any]] = [
    {"a": {"S": "x"}, "b": {"B": "AAE="}},  # a binary value: moto base64-decodes it
    {"a": {"S": "x"}, "b": {"S": None}},
    {"a": {"S": "x"}, "b": {}},
    {"a": {"S": "x"}, "b": {"S": "y", "N": "1"}},
    {"a": {"S": "x"}, "b": {"M": {"c": {"BS": ["AA=="]}}}},
    {"": {"S": "empty name"}},
    {},
    {"s": {"S": "x"}, "n": {"N": "1"}, "m": {"M": {"l": {"L": [{"NULL": True}]}}},
     "ss": {"SS": ["a"]}, "t": {"BOOL": False}},  # plain: the one-loop path
]


def _parsed_values(maps: list[dict[str, Any]]) -> list[Any]:
    from botocore.session import get_session
    from moto.core.parse import JSONParser

    parser_cls: Any = JSONParser
    model = get_session().get_service_model("dynamodb")
    out = []
    for values in maps:
        body = {"TableName": "V", "Key": {"PK": {"S": "p"}},
                "ExpressionAttributeValues": values}
        parser = parser_cls(model.operation_model("GetItem"))
        out.append(parser.parse({"body": json.dumps(body).encode(), "headers": {},
                                 "url_path": "/"}))
    return out


def test_odd_maps_parse_as_stock_moto_parses_them(patched: None) -> None:  # noqa: F811
    got = _parsed_values(ODD_MAPS)
    with moto_patches.stock():
        expected = _parsed_values(ODD_MAPS)
    assert got == expected and repr(got) == repr(expected)


def _serialized_items(maps: list[dict[str, Any]]) -> list[Any]:
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model

    serializer_cls: Any = JSONSerializer
    model = get_service_model("dynamodb")
    out = []
    for values in maps:
        serializer = serializer_cls(model.operation_model("GetItem"))
        out.append(serializer.serialize({"Item": values}))
    return out


def test_odd_items_are_written_as_stock_moto_writes_them(patched: None) -> None:  # noqa: F811
    maps = [*ODD_MAPS, {"a": {"S": "x"}, "b": {"B": b"\x00\x01"}},
            {"a": {"L": [{"N": "1"}, {"B": b"\x02"}]}}]
    got = _serialized_items(maps)
    with moto_patches.stock():
        expected = _serialized_items(maps)
    assert got == expected
