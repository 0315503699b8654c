"""moto_item_patches: the cache of parsed condition expressions (point 5 of moto_patches) finds
an audit transaction's condition without a JSON dump per use and still tells apart what differs
(names, values, None and empty); item sizes (every write, every item of a query page) measure
strings directly and equal moto's for every type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws

from medispecs_desktop.local import moto_item_patches
from tests.local.test_moto_patches import _client, _table, patched  # noqa: F401


def test_a_transactions_condition_is_found_without_a_json_dump_per_item(
    patched: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    puts = [{"Put": {"TableName": "J", "Item": {"PK": {"S": f"VIDEO#u#v{i}"},
                                                "SK": {"S": "2026#req"}},
                     "ConditionExpression": "attribute_not_exists(#pk)",
                     "ExpressionAttributeNames": {"#pk": "PK"}}} for i in range(100)]
    dumps = [0]
    original = json.dumps

    def counted(*args: Any, **kwargs: Any) -> str:
        dumps[0] += 1
        return original(*args, **kwargs)

    with mock_aws():
        client = _client()
        _table(client, "J")
        with monkeypatch.context() as m:
            m.setattr(json, "dumps", counted)  # the module moto_item_patches calls
            client.transact_write_items(TransactItems=puts)
    assert dumps[0] < 10, dumps[0]  # before: 4 per item (names and values, twice)


@pytest.mark.parametrize(("a", "b"), [
    ({"#a": "A"}, {"#a": "B"}),
    ({"#a": "A"}, {"#b": "A"}),
    ({}, None),
    ({":v": {"S": "x"}}, {":v": {"S": "y"}}),
    ({":v": {"S": "x"}}, {":v": {"N": "x"}}),
    ({"#a": "A"}, '{"#a":"A"}'),
])
def test_different_names_or_values_never_share_a_key(a: Any, b: Any) -> None:
    assert moto_item_patches._frozen(a) != moto_item_patches._frozen(b)
    hash(moto_item_patches._frozen(a))


def test_equal_names_share_a_key_whatever_their_order() -> None:
    assert moto_item_patches._frozen({"#a": "A", "#b": "B"}) == \
        moto_item_patches._frozen({"#b": "B", "#a": "A"})


def _value_sizes(monkeypatch: pytest.MonkeyPatch, items: int) -> int:
    """moto's DynamoType.size calls while a query answers a page of ``items``."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    from tests.local.test_moto_patches import _fill

    calls = [0]
    original = DynamoType.size

    def counted(self: Any) -> int:
        calls[0] += 1
        return original(self)

    with mock_aws():
        client = _client()
        _table(client, "Z")
        _fill("Z", "USER#z", items)
        with monkeypatch.context() as m:
            m.setattr(DynamoType, "size", counted)
            page = client.query(TableName="Z", KeyConditionExpression="PK = :p",
                                ExpressionAttributeValues={":p": {"S": "USER#z"}})
        assert len(page["Items"]) == items
    return calls[0]


def test_a_query_page_measures_its_strings_directly(
    patched: None, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """moto measures every item of a page against its 1 MB limit: a string value is now
    measured directly (items of 3 strings and a number: only the number asks moto)."""
    from medispecs_desktop.local import moto_patches

    assert _value_sizes(monkeypatch, 100) <= 100
    with moto_patches.stock():
        assert _value_sizes(monkeypatch, 100) >= 400


def test_sizes_are_moto_s_for_every_type() -> None:
    assert moto_item_patches.size_shape_problems() == []
