"""The demo stack's moto DynamoDB patches (``local/moto_patches.py``).

* cost: a TransactWriteItems allocates the same at 20 items as at 2,000 (stock moto deep-copies
  the table: the control measurement shows it), one Query page does the same work in a
  partition of 200 as of 2,000 (stock moto sorts and walks everything), and serialising an
  answer does not search ten type keys per attribute value; writing an item measures each
  attribute once, and a condition repeated on every item of a transaction is parsed once;
* equivalence: seeded random transactions and queries give moto's own answers, tables and
  stream records, answer for answer, and reads of every AttributeValue type answer the same
  bytes (run once on stock moto, once patched, in this process);
* the stack applies them and refuses a moto they were not written for;
* semantics against the running stack: a cancelled transaction leaves every item as it was,
  with the cancellation reasons DynamoDB gives.
"""

from __future__ import annotations

import base64
import gc
import json
import random
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID

from medispecs_desktop.local import moto_item_patches, moto_patches, moto_server_patches
from medispecs_desktop.local.moto_patches import MotoPatchError

REGION = "eu-central-1"


@pytest.fixture
def patched() -> Iterator[None]:
    """The patches applied for the test; the process's previous state afterwards."""
    was = moto_patches.is_applied()
    moto_patches.apply()
    yield
    if not was:
        moto_patches.remove()


def _client(service: str = "dynamodb") -> Any:
    make: Any = boto3.client  # one helper for dynamodb and dynamodbstreams
    return make(service, region_name=REGION)


def _table(client: Any, name: str, *, range_key: str | None = "S", stream: bool = False) -> None:
    schema = [{"AttributeName": "PK", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "PK", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "SK", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "SK", "AttributeType": range_key})
    kwargs: dict[str, Any] = {"TableName": name, "KeySchema": schema,
                              "AttributeDefinitions": attrs, "BillingMode": "PAY_PER_REQUEST"}
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True,
                                         "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(**kwargs)


def _backend() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]


def _fill(table: str, pk: str, count: int, *, prefix: str = "VIDEO#") -> None:
    backend = _backend()
    for i in range(count):
        backend.put_item(table, {"PK": {"S": pk}, "SK": {"S": f"{prefix}{i:06d}"},
                                 "title": {"S": f"recording {i} " + "x" * 200},
                                 "n": {"N": str(i)}})


# --------------------------------------------------------------------------- cost


def _transaction_peak_bytes(items_in_table: int) -> int:
    """tracemalloc peak of one 3-item TransactWriteItems into a partition of that many items."""
    with mock_aws():
        _table(_client(), "T")
        _fill("T", "USER#u", items_in_table)
        backend = _backend()

        def transaction(tag: str) -> None:
            backend.transact_write_items([
                {"Put": {"TableName": "T",
                         "Item": {"PK": {"S": "USER#u"}, "SK": {"S": f"{kind}#{tag}"}},
                         "ConditionExpression": "attribute_not_exists(#pk)",
                         "ExpressionAttributeNames": {"#pk": "PK"}}}
                for kind in ("VIDEO", "VIDEOID", "SHA256")
            ])

        transaction("warm-up")  # first-call caches are not the transaction's cost
        gc.collect()
        tracemalloc.start()
        try:
            transaction("measured")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak


def test_a_transaction_costs_the_same_in_a_big_table(patched: None) -> None:
    small, big = _transaction_peak_bytes(20), _transaction_peak_bytes(2_000)
    # 1,980 more items (~1 KB each deep-copied by stock moto): the patched write does not notice
    assert big - small < 64 * 1024, (small, big)
    with moto_patches.stock():  # control: the measurement sees stock moto's table copy
        stock_small, stock_big = _transaction_peak_bytes(20), _transaction_peak_bytes(2_000)
    assert stock_big - stock_small > 1024 * 1024, (stock_small, stock_big)


def _query_page_work(partition_items: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """DynamoType comparisons + Item.size calls for one page of 10, newest first, from the
    middle of a partition of ``partition_items`` (as big again in another partition)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    with mock_aws():
        _table(_client(), "Q")
        _fill("Q", "USER#a", partition_items)
        _fill("Q", "USER#b", partition_items)
        middle = f"VIDEO#{partition_items // 2:06d}"
        work = [0]
        with monkeypatch.context() as m:
            for owner, name in ((DynamoType, "__lt__"), (DynamoType, "__eq__"),
                                (DynamoType, "__ne__"), (Item, "size")):
                original = getattr(owner, name)

                def counted(*args: Any, _original: Callable[..., Any] = original) -> Any:
                    work[0] += 1
                    return _original(*args)

                m.setattr(owner, name, counted)
            between = [{"S": "VIDEO#"}, {"S": "VIDEO#~"}]
            items, _, last = _backend().query(
                "Q", {"S": "USER#a"}, "BETWEEN", between, 11,
                {"PK": {"S": "USER#a"}, "SK": {"S": middle}}, False, None,
                hash_key_conditions=[("PK", {"S": "USER#a"})],
                range_key_conditions=[("SK", "BETWEEN", between)],
            )
        assert [i.attrs["SK"].value for i in items] == [
            f"VIDEO#{partition_items // 2 - k:06d}" for k in range(1, 12)
        ]
        assert last is not None
        return work[0]


def test_a_query_page_costs_the_same_in_a_big_partition(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, big = _query_page_work(200, monkeypatch), _query_page_work(2_000, monkeypatch)
    assert big <= small + 40, (small, big)  # a binary search: a few steps more, not 10x
    with moto_patches.stock():  # control: stock moto sorts and walks the table
        stock_small = _query_page_work(200, monkeypatch)
        stock_big = _query_page_work(2_000, monkeypatch)
    assert stock_big > 5 * stock_small and stock_big > 10 * big, (stock_small, stock_big, big)


def _size_calls_writing_an_item(attributes: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """``DynamoType.size`` calls made by one PutItem of an item with that many attributes."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    with mock_aws():
        _table(_client(), "I")
        item = {"PK": {"S": "USER#u"}, "SK": {"S": f"VIDEO#{attributes}"}}
        item.update({f"a{i:03d}": {"S": f"value {i}"} for i in range(attributes - 2)})
        calls = [0]
        original = DynamoType.size

        def counted(self: Any) -> int:
            calls[0] += 1
            return original(self)

        with monkeypatch.context() as m:
            m.setattr(DynamoType, "size", counted)
            _backend().put_item("I", item)
        return calls[0]


def test_writing_an_item_measures_each_attribute_once(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = _size_calls_writing_an_item(10, monkeypatch)
    big = _size_calls_writing_an_item(60, monkeypatch)
    assert big - small <= 2 * 50, (small, big)  # linear: a running total
    with moto_patches.stock():  # control: every added attribute re-measures the ones before
        stock_small = _size_calls_writing_an_item(10, monkeypatch)
        stock_big = _size_calls_writing_an_item(60, monkeypatch)
    assert stock_big - stock_small > 1_000, (stock_small, stock_big)


def _item_size_outcomes() -> list[Any]:
    """PutItem of items around the 400 KB item limit, in one or many attributes."""
    out: list[Any] = []
    with mock_aws():
        client = _client()
        _table(client, "L")
        for n, (parts, total) in enumerate([(1, 404_000), (1, 406_000), (4, 404_900),
                                            (4, 405_100), (40, 399_000), (40, 410_000)]):
            item = {"PK": {"S": "USER#u"}, "SK": {"S": f"S{n}"}}
            item.update({f"p{i}": {"S": "x" * (total // parts)} for i in range(parts)})
            try:
                client.put_item(TableName="L", Item=item)
                out.append("ok")
            except ClientError as exc:
                out.append(_error(exc))
        out.append(sorted(i["SK"]["S"] for i in client.scan(TableName="L")["Items"]))
    return out


def test_the_item_size_limit_is_stock_motos(patched: None) -> None:
    with moto_patches.stock():
        expected = _item_size_outcomes()
    got = _item_size_outcomes()
    assert "ok" in expected and any(o != "ok" for o in expected[:-1]), expected
    assert got == expected


def _parses_in_a_transaction(events: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """Condition expressions lexed (the first step of a parse) in one TransactWriteItems of
    ``events`` guarded Puts (an audited listing page: ``attribute_not_exists(#pk)`` on every
    event)."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    with mock_aws():
        _table(_client(), "A")
        calls = [0]
        original = ConditionExpressionParser._lex_condition_expression

        def counted(self: Any) -> Any:
            calls[0] += 1
            return original(self)

        puts = [{"Put": {"TableName": "A",
                         "Item": {"PK": {"S": f"VIDEO#u#v{i}"}, "SK": {"S": "2026#req"}},
                         "ConditionExpression": "attribute_not_exists(#pk)",
                         "ExpressionAttributeNames": {"#pk": "PK"}}} for i in range(events)]
        with monkeypatch.context() as m:
            m.setattr(ConditionExpressionParser, "_lex_condition_expression", counted)
            _client().transact_write_items(TransactItems=puts)
        return calls[0]


def test_a_condition_is_parsed_once_not_per_item(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_item_patches.clear_parse_cache()
    # the first use (twice: the request check passes no values as {}, the write as None)
    assert _parses_in_a_transaction(100, monkeypatch) <= 2
    with moto_patches.stock():  # control: stock moto parses it for every check of every item
        assert _parses_in_a_transaction(100, monkeypatch) >= 300


def _bad_conditions() -> list[Any]:
    out: list[Any] = []
    with mock_aws():
        client = _client()
        _table(client, "B")
        item = {"PK": {"S": "p"}, "SK": {"S": "s"}, "n": {"N": "1"}}
        for condition, names, values in [("attribute_not_exists(#pk", {"#pk": "PK"}, None),
                                         ("#n < :lim", {"#n": "n"}, None),
                                         ("#n < :lim", {"#n": "n"}, {":lim": {"N": "5"}}),
                                         ("#n < :lim", {"#n": "n"}, {":lim": {"N": "0"}})]:
            for _ in range(2):  # the second time is answered as the first (errors not cached)
                kwargs: dict[str, Any] = {"TableName": "B", "Item": item,
                                          "ConditionExpression": condition,
                                          "ExpressionAttributeNames": names}
                if values:
                    kwargs["ExpressionAttributeValues"] = values
                try:
                    client.put_item(**kwargs)
                    out.append("ok")
                except ClientError as exc:
                    out.append(_error(exc))
                except Exception as exc:  # moto lets a parse error escape
                    out.append((type(exc).__name__, str(exc)))
    return out


def test_conditions_answer_as_stock_moto_cached_or_not(patched: None) -> None:
    with moto_patches.stock():
        expected = _bad_conditions()
    moto_item_patches.clear_parse_cache()
    got = _bad_conditions()
    assert got == expected
    assert expected[0] != "ok" and expected[0] == expected[1], expected


def test_a_query_page_is_copied_without_deepcopys_dispatch(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto copies a query's page before answering (copy.deepcopy: a generic dispatch for
    every value of every item); the copy is now built directly - the same answers (see the
    equivalence tests below), no deepcopy call per value."""
    import copy as copy_module

    def deepcopies(items: int) -> int:
        calls = [0]
        original = copy_module.deepcopy

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return original(*args, **kwargs)

        with mock_aws():
            _table(_client(), "C")
            _fill("C", "USER#u", items)
            client = _client()
            with monkeypatch.context() as m:
                m.setattr(copy_module, "deepcopy", counted)
                page = client.query(TableName="C", KeyConditionExpression="PK = :p",
                                    ExpressionAttributeValues={":p": {"S": "USER#u"}})
            assert len(page["Items"]) == items
        return calls[0]

    assert deepcopies(100) <= 5  # the range key's None, nothing per value
    with moto_patches.stock():
        assert deepcopies(100) >= 100 * 4


# --------------------------------------------------------------------------- equivalence


def _error(exc: ClientError) -> tuple[Any, ...]:
    return (exc.response["Error"]["Code"], exc.response["Error"]["Message"],
            exc.response.get("CancellationReasons"))


def _random_op(rng: random.Random) -> dict[str, Any]:
    hash_only = rng.random() < 0.25
    table = "H" if hash_only else "R"
    key = {"PK": {"S": rng.choice("abcdef" if hash_only else "abc")}}
    if not hash_only:
        key["SK"] = {"S": rng.choice("12345")}
    kind = rng.choice(["Put", "Put", "Update", "Update", "Delete", "ConditionCheck"])
    op: dict[str, Any] = {"TableName": table}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    condition = rng.choice([None, "exists", "not_exists", "lt"])
    if kind == "ConditionCheck" and condition is None:
        condition = "exists"
    if condition == "exists":
        op["ConditionExpression"] = "attribute_exists(#pk)"
        names["#pk"] = "PK"
    elif condition == "not_exists":
        op["ConditionExpression"] = "attribute_not_exists(#pk)"
        names["#pk"] = "PK"
    elif condition == "lt":
        op["ConditionExpression"] = "#n < :lim"
        names["#n"] = "n"
        values[":lim"] = {"N": str(rng.randint(0, 6))}
    if condition and rng.random() < 0.5:
        op["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if kind == "Put":
        item = dict(key)
        if rng.random() < 0.03:  # a key of the wrong type: a validation error
            item["PK"] = {"N": "1"}
        item["n"] = {"N": str(rng.randint(0, 9))}
        item["tag"] = {"S": rng.choice(["red", "green", "blue"]) * rng.randint(1, 30)}
        op["Item"] = item
    else:
        op["Key"] = key
    if kind == "Update":
        choice = rng.random()
        if choice < 0.08:  # refers to an attribute no item has: a validation error
            op["UpdateExpression"] = "SET #n = #missing + :one"
            names.update({"#n": "n", "#missing": "missing"})
            values[":one"] = {"N": "1"}
        elif choice < 0.3:
            op["UpdateExpression"] = "REMOVE #tag"
            names["#tag"] = "tag"
        else:
            op["UpdateExpression"] = "SET #n = if_not_exists(#n, :zero) + :one, #tag = :tag"
            names.update({"#n": "n", "#tag": "tag"})
            values.update({":zero": {"N": "0"}, ":one": {"N": "1"},
                           ":tag": {"S": rng.choice(["x", "yy", "zzz"])}})
    if names:
        op["ExpressionAttributeNames"] = names
    if values:
        op["ExpressionAttributeValues"] = values
    return {kind: op}


def _stream_records(client: Any, table: str) -> list[Any]:
    streams = _client("dynamodbstreams")
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out: list[Any] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        if not page["Records"]:
            break
        for record in page["Records"]:
            data = record["dynamodb"]
            out.append((record["eventName"], data["Keys"], data.get("OldImage"),
                        data.get("NewImage"), data["SequenceNumber"]))
        iterator = page.get("NextShardIterator")
    return out


def _transactions_run(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with mock_aws():
        client = _client()
        _table(client, "R", stream=True)
        _table(client, "H", range_key=None)
        outcomes: list[Any] = []
        for _ in range(160):
            ops = [_random_op(rng) for _ in range(rng.randint(1, 4))]
            try:
                client.transact_write_items(TransactItems=ops)
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(_error(exc))
        tables = {name: sorted(json.dumps(i, sort_keys=True)
                                for i in client.scan(TableName=name)["Items"])
                  for name in ("R", "H")}
        return {"outcomes": outcomes, "tables": tables, "stream": _stream_records(client, "R")}


@pytest.mark.parametrize("seed", [1, 2])
def test_transactions_answer_as_stock_moto(patched: None, seed: int) -> None:
    with moto_patches.stock():
        expected = _transactions_run(seed)
    got = _transactions_run(seed)
    kinds = {o if o == "ok" else o[0] for o in expected["outcomes"]}
    # the scenario exercises commits, cancellations and validation errors
    assert {"ok", "TransactionCanceledException", "ValidationException"} <= kinds, kinds
    assert got["outcomes"] == expected["outcomes"]
    assert got["tables"] == expected["tables"]
    assert got["stream"] == expected["stream"]


def _sort_key(rng: random.Random, numeric: bool) -> dict[str, str]:
    if numeric:
        return {"N": str(rng.choice([rng.randint(-40, 40), Decimal(rng.randint(-400, 400)) / 10]))}
    return {"S": "".join(rng.choice("abc") for _ in range(rng.randint(1, 4)))}


def _random_query(rng: random.Random) -> dict[str, Any]:
    numeric = rng.random() < 0.3
    table = "QN" if numeric else "QS"
    pk = rng.choice(["p0", "p1", "p2", "missing"] + ([] if numeric else ["big"]))
    names = {"#pk": "PK", "#sk": "SK"}
    values: dict[str, Any] = {":pk": {"S": pk}}
    condition = "#pk = :pk"
    op = rng.choice([None, "=", "<", "<=", ">", ">=", "BETWEEN"]
                    + ([] if numeric else ["begins_with"]))
    if op == "BETWEEN":
        low, high = sorted([_sort_key(rng, numeric), _sort_key(rng, numeric)],
                           key=lambda v: Decimal(v["N"]) if numeric else v["S"])
        values.update({":lo": low, ":hi": high})
        condition += " AND #sk BETWEEN :lo AND :hi"
    elif op == "begins_with":
        values[":v"] = {"S": "".join(rng.choice("abc") for _ in range(rng.randint(1, 2)))}
        condition += " AND begins_with(#sk, :v)"
    elif op is not None:
        values[":v"] = _sort_key(rng, numeric)
        condition += f" AND #sk {op} :v"
    kwargs: dict[str, Any] = {"TableName": table, "KeyConditionExpression": condition,
                              "ScanIndexForward": rng.random() < 0.5}
    if rng.random() < 0.8:
        kwargs["Limit"] = rng.randint(1, 7)
    if rng.random() < 0.2:
        kwargs["ExclusiveStartKey"] = {"PK": {"S": pk}, "SK": _sort_key(rng, numeric)}
    if rng.random() < 0.2:
        kwargs["FilterExpression"] = "#n > :f"
        names["#n"] = "n"
        values[":f"] = {"N": str(rng.randint(0, 9))}
    if rng.random() < 0.2:
        kwargs["ProjectionExpression"] = "#sk, #n"
        names["#n"] = "n"
    kwargs["ExpressionAttributeNames"] = names
    kwargs["ExpressionAttributeValues"] = values
    return kwargs


def _queries_run(seed: int) -> list[Any]:
    rng = random.Random(seed)
    with mock_aws():
        client = _client()
        _table(client, "QS")
        _table(client, "QN", range_key="N")

        def put(table: str, pk: str, size: int = 0) -> None:
            item = {"PK": {"S": pk}, "SK": _sort_key(rng, table == "QN"),
                    "n": {"N": str(rng.randint(0, 9))}}
            if size:
                item["blob"] = {"S": "b" * size}
            client.put_item(TableName=table, Item=item)

        for table in ("QS", "QN"):
            for pk in ("p0", "p1", "p2"):
                for _ in range(rng.randint(0, 40)):
                    put(table, pk)
        for _ in range(9):  # pages near moto's 1 MB limit
            put("QS", "big", rng.randint(150_000, 390_000))
        answers: list[Any] = []
        for _ in range(70):
            if rng.random() < 0.3:  # writes in between: the sorted keys follow them
                table = rng.choice(["QS", "QN"])
                if rng.random() < 0.5:
                    put(table, rng.choice(["p0", "p1", "p2"]))
                else:
                    found = client.scan(TableName=table, Limit=5)["Items"]
                    if found:
                        victim = rng.choice(found)
                        client.delete_item(TableName=table,
                                           Key={"PK": victim["PK"], "SK": victim["SK"]})
            kwargs = _random_query(rng)
            pages: list[Any] = []
            for _ in range(40):
                try:
                    page = client.query(**kwargs)
                except ClientError as exc:
                    pages.append(_error(exc))
                    break
                pages.append((page["Items"], page["Count"], page["ScannedCount"],
                              page.get("LastEvaluatedKey")))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            answers.append((kwargs["TableName"], kwargs["KeyConditionExpression"], pages))
        return answers


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_queries_answer_as_stock_moto(patched: None, seed: int) -> None:
    with moto_patches.stock():
        expected = _queries_run(seed)
    got = _queries_run(seed)
    assert len(got) == len(expected)
    for answer, stock_answer in zip(got, expected, strict=True):
        assert answer == stock_answer
    assert any(len(pages) > 2 for _, _, pages in expected)  # the scenario pages


def test_query_fast_path_is_taken(patched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table query the service makes never lists the table (moto's own path does)."""
    from moto.dynamodb.models.table import Table

    calls: list[Any] = []
    original = Table.all_items

    def all_items(self: Any) -> Any:
        calls.append(self)
        return original(self)

    monkeypatch.setattr(Table, "all_items", all_items)
    with mock_aws():
        _table(_client(), "F")
        _fill("F", "USER#u", 30)
        query = {
            "TableName": "F", "KeyConditionExpression": "PK = :pk AND SK BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": "USER#u"}, ":lo": {"S": "VIDEO#"},
                                          ":hi": {"S": "VIDEO#~"}},
            "ScanIndexForward": False, "Limit": 5,
        }
        page = _client().query(**query)["Items"]
        assert calls == []
        with moto_patches.stock():  # control: moto's own query lists the whole table
            assert _client().query(**query)["Items"] == page
        assert len(calls) == 1
    assert [i["SK"]["S"] for i in page] == [f"VIDEO#{i:06d}" for i in range(29, 24, -1)]


def _random_value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kinds = ["S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "plain", "ünïcödé ✓", "quote\"back\\slash", "x" * 300])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1", "3.25", "1E+5", "123456789012345678901234567890"])}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))}
    if kind == "SS":
        return {"SS": sorted({f"s{rng.randint(0, 99)}" for _ in range(rng.randint(1, 4))})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randint(-99, 99)) for _ in range(rng.randint(1, 4))})}
    if kind == "BS":
        return {"BS": list({bytes([rng.randrange(256), i]) for i in range(rng.randint(1, 3))})}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "M":
        return {"M": {f"k{i}": _random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}}
    return {"L": [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]}


def _raw_answers(seed: int) -> list[bytes]:
    """The bytes moto answers to reads of random items (every AttributeValue type, nested)."""
    rng = random.Random(seed)
    bodies: list[bytes] = []
    with mock_aws():
        client = _client()
        client.meta.events.register(
            "before-parse.dynamodb.*",
            lambda response_dict, **_: bodies.append(response_dict["body"]),
        )
        _table(client, "V")
        keys = []
        for i in range(40):
            key = {"PK": {"S": f"p{i % 3}"}, "SK": {"S": f"{i:03d}"}}
            keys.append(key)
            client.put_item(TableName="V", Item={
                **key, **{f"a{j}": _random_value(rng) for j in range(rng.randint(0, 8))}})
        bodies.clear()
        client.get_item(TableName="V", Key=keys[7])
        client.query(TableName="V", KeyConditionExpression="PK = :p",
                     ExpressionAttributeValues={":p": {"S": "p1"}}, Limit=5)
        client.query(TableName="V", KeyConditionExpression="PK = :p",
                     ExpressionAttributeValues={":p": {"S": "p2"}}, ScanIndexForward=False)
        client.scan(TableName="V")
        client.batch_get_item(RequestItems={"V": {"Keys": keys[:10]}})
        client.transact_get_items(TransactItems=[{"Get": {"TableName": "V", "Key": k}}
                                                 for k in keys[10:14]])
        client.update_item(TableName="V", Key=keys[3], UpdateExpression="SET extra = :v",
                           ExpressionAttributeValues={":v": _random_value(rng)},
                           ReturnValues="ALL_NEW")
        client.delete_item(TableName="V", Key=keys[4], ReturnValues="ALL_OLD")
    return bodies


@pytest.mark.parametrize("seed", [1, 2])
def test_answers_are_the_same_bytes_as_stock_moto(patched: None, seed: int) -> None:
    with moto_patches.stock():
        expected = _raw_answers(seed)
    got = _raw_answers(seed)
    assert len(got) == len(expected) == 8
    assert got == expected


def test_serialising_items_does_not_search_every_type_of_every_value(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's serializer looks each of ten type keys up under several aliases for every
    AttributeValue; a page of items is now written as it is."""
    from moto.core.serialize import AttributePicker

    def picks(items: int) -> int:
        count = [0]
        original = AttributePicker.__call__

        def counted(self: Any, context: Any) -> Any:
            count[0] += 1
            return original(self, context)

        with mock_aws():
            _table(_client(), "P")
            _fill("P", "USER#u", items)
            with monkeypatch.context() as m:
                m.setattr(AttributePicker, "__call__", counted)
                _client().query(TableName="P", KeyConditionExpression="PK = :p",
                                ExpressionAttributeValues={":p": {"S": "USER#u"}})
        return count[0]

    small, big = picks(5), picks(100)
    assert big == small, (small, big)  # the answer's own few fields, whatever the item count
    with moto_patches.stock():
        stock_small, stock_big = picks(5), picks(100)
    assert stock_big >= stock_small + 95 * 4 * 10, (stock_small, stock_big)  # 10 per value


def _parsed_requests(seed: int) -> list[Any]:
    """moto's JSON parser's output for PutItem and TransactWriteItems bodies of random items
    (every AttributeValue type, nested, and shapes moto does not expect)."""
    from botocore.session import get_session
    from moto.core.parse import JSONParser

    rng = random.Random(seed)
    model = get_session().get_service_model("dynamodb")
    parser_cls: Any = JSONParser  # (typed for moto's own model classes)
    odd: list[Any] = [{"S": None}, {"S": 1}, {}, {"S": "a", "N": "1"}, {"X": "y"},
                      {"NULL": False}, {"M": {"k": {"S": None}}}, {"L": [{"N": 2}]},
                      {"SS": ["a", 1]}, {"M": None}]
    out = []
    for i in range(30):
        item = {f"a{j}": _random_value(rng) for j in range(rng.randint(0, 8))}
        item["z"] = odd[i % len(odd)]
        for operation, body in (
            ("PutItem", {"TableName": "V", "Item": item}),
            ("TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": "V", "Item": item,
                         "ExpressionAttributeValues": {":v": _random_value(rng)}}}]}),
        ):
            payload = json.dumps(body, default=lambda b: base64.b64encode(b).decode())
            parser = parser_cls(model.operation_model(operation))
            request: Any = {"body": payload.encode(), "headers": {}, "url_path": "/"}
            out.append(parser.parse(request))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_requests_parse_as_with_stock_moto(patched: None, seed: int) -> None:
    with moto_patches.stock():
        expected = _parsed_requests(seed)
    got = _parsed_requests(seed)
    assert got == expected
    assert repr(got) == repr(expected)  # the same types too (dicts, lists, bytes)


def test_parsing_a_transaction_does_not_walk_every_type_of_every_value(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audited listing page sends 100 events of 13 attributes in one transaction: moto's
    parser no longer walks the ten type members of each of their values."""
    import sys

    from moto.core.parse import BaseJSONParser

    walker = moto_patches._originals.get(
        "parse_structure", BaseJSONParser.__dict__["_parse_structure"]).__code__

    def walks(events: int) -> int:
        """Runs of moto's own structure walk on an AttributeValue (a profile hook counts)."""
        count = [0]

        def hook(frame: Any, event: str, _arg: Any) -> None:
            if event == "call" and frame.f_code is walker and \
                    frame.f_locals["shape"].name == "AttributeValue":
                count[0] += 1

        with mock_aws():
            _table(_client(), "W")
            puts = [{"Put": {"TableName": "W", "Item": {
                "PK": {"S": f"VIDEO#u#v{i}"}, "SK": {"S": "2026#req"},
                **{f"a{j}": {"S": f"value {j}"} for j in range(11)}}}} for i in range(events)]
            client = _client()
            sys.setprofile(hook)
            try:
                client.transact_write_items(TransactItems=puts)
            finally:
                sys.setprofile(None)
        return count[0]

    assert walks(100) == 0
    with moto_patches.stock():
        walker = BaseJSONParser.__dict__["_parse_structure"].__code__
        assert walks(100) >= 100 * 13


def test_an_answer_is_made_plain_without_moto_s_isinstance_chain(patched: None) -> None:
    """moto turns every DynamoType of an answer into a plain dict (dynamo_to_dict) through a
    chain of isinstance/hasattr checks per value; a query page of plain values no longer runs
    moto's function at all (the answers equal stock moto's: the byte-for-byte tests)."""
    import sys

    from moto.dynamodb.models import utilities

    stock_code = moto_patches._originals["dynamo_to_dict"].__code__

    def runs(items: int) -> int:
        count = [0]

        def hook(frame: Any, event: str, _arg: Any) -> None:
            if event == "call" and frame.f_code is stock_code:
                count[0] += 1

        with mock_aws():
            _table(_client(), "D")
            _fill("D", "USER#u", items)
            client = _client()
            sys.setprofile(hook)
            try:
                page = client.query(TableName="D", KeyConditionExpression="PK = :p",
                                    ExpressionAttributeValues={":p": {"S": "USER#u"}})
            finally:
                sys.setprofile(None)
            assert len(page["Items"]) == items
        return count[0]

    assert runs(100) == 0
    with moto_patches.stock():
        assert utilities.dynamo_to_dict.__code__ is stock_code
        assert runs(100) >= 100 * 4


# --------------------------------------------------------------------------- applying


def test_the_stack_applies_the_patches() -> None:
    """The DynamoDB patches (this module's) and moto's server dispatch patch
    (``moto_server_patches``): one stack started for both."""
    from medispecs_desktop.local.stack import LocalStack

    modules = (moto_patches, moto_server_patches)
    was = [module.is_applied() for module in modules]
    for module in modules:
        module.remove()
    stack = LocalStack(with_samples=False)
    try:
        stack.start()
        assert moto_patches.is_applied()
        assert moto_server_patches.is_applied()
    finally:
        stack.stop()
        for module, applied in zip(modules, was, strict=True):
            if not applied:
                module.remove()


def test_an_unknown_moto_is_refused_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    from medispecs_desktop.local.stack import LocalStack, LocalStackError

    was = moto_patches.is_applied()
    moto_patches.remove()
    try:
        monkeypatch.setattr(moto, "__version__", "9.9.9")
        with pytest.raises(MotoPatchError, match=r"moto 9\.9\.9 .*SUPPORTED_MOTO_VERSIONS"):
            moto_patches.apply()
        assert not moto_patches.is_applied()
        with pytest.raises(LocalStackError, match=r"9\.9\.9"):
            LocalStack(with_samples=False).start()
        from medispecs_desktop.local import stack as stack_module

        assert stack_module._running is None  # the refused stack does not hold the process
        monkeypatch.undo()
        from moto.dynamodb.models import DynamoDBBackend

        # a changed method shape is refused even at the right version
        def reshaped(self: Any, transact_items: Any) -> None:
            return None

        monkeypatch.setattr(DynamoDBBackend, "transact_write_items", reshaped)
        with pytest.raises(MotoPatchError, match="no longer deep-copies"):
            moto_patches.apply()
    finally:
        monkeypatch.undo()
        if was:
            moto_patches.apply()


# --------------------------------------------------------------------------- the stack


def test_cancelled_transactions_leave_the_stacks_table_as_it_was(
    local_stack: dict[str, Any],
) -> None:
    db = boto3.session.Session().client(
        "dynamodb", region_name=local_stack["region"], endpoint_url=local_stack["awsEndpoint"],
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    table = f"moto-patches-{uuid.uuid4().hex[:12]}"
    _table(db, table)
    try:
        def key(sk: str) -> dict[str, Any]:
            return {"PK": {"S": "P"}, "SK": {"S": sk}}

        def item(sk: str, n: int) -> dict[str, Any]:
            return {**key(sk), "n": {"N": str(n)}}

        for sk, n in (("A", 1), ("B", 5), ("E", 7)):
            db.put_item(TableName=table, Item=item(sk, n))

        def state() -> dict[str, Any]:
            return {i["SK"]["S"]: i for i in db.scan(TableName=table)["Items"]}

        before = state()
        writes: list[Any] = [
            {"Update": {"TableName": table, "Key": key("A"), "UpdateExpression": "SET n = n + :one",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": table, "Item": item("C", 3),
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Delete": {"TableName": table, "Key": key("B")}},
        ]
        failing_check: Any = {"ConditionCheck": {
            "TableName": table, "Key": key("E"), "ConditionExpression": "n > :ten",
            "ExpressionAttributeValues": {":ten": {"N": "10"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        with pytest.raises(ClientError) as cancelled:
            db.transact_write_items(TransactItems=[*writes, failing_check])
        code, _message, reasons = _error(cancelled.value)
        assert code == "TransactionCanceledException"
        assert reasons == [
            {"Code": "None"}, {"Code": "None"}, {"Code": "None"},
            {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
             "Item": before["E"]},
        ]
        assert state() == before  # the update, the put and the delete were all undone

        duplicate: Any = {"Update": {"TableName": table, "Key": key("C"),
                                "UpdateExpression": "SET n = :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}}}}
        with pytest.raises(ClientError) as invalid:
            db.transact_write_items(TransactItems=[*writes, duplicate])
        assert _error(invalid.value)[:2] == (
            "ValidationException",
            "Transaction request cannot include multiple operations on one item",
        )
        assert state() == before

        db.transact_write_items(TransactItems=writes)
        after = state()
        assert sorted(after) == ["A", "C", "E"]
        assert after["A"]["n"] == {"N": "2"} and after["C"]["n"] == {"N": "3"}
    finally:
        db.delete_table(TableName=table)
