"""The cache of parsed condition expressions (moto_item_patches, point 5 of moto_patches) finds
an audit transaction's condition without a JSON dump per use, and still tells apart what
differs (names, values, None and empty)."""

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
