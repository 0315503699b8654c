"""Fixes to moto's DynamoDB so the demo stack holds a real library (10,000 recordings).

Written for **moto 5.2.6** (:data:`SUPPORTED_MOTO_VERSIONS`); :func:`apply` checks the version and
the shape of everything it relies on first and raises :class:`MotoPatchError` when moto changed,
rather than patching something it does not understand. Applied once by the local stack
(:meth:`medispecs_desktop.local.stack.LocalStack.start`), in the stack's process only; nothing
else in the app imports moto.

1. ``DynamoDBBackend.transact_write_items`` deep-copies every table a transaction names before it
   starts (``copy.deepcopy(self.tables[table_name])``, moto 5.2.6
   ``moto/dynamodb/models/__init__.py`` line 603) so it can restore the copy if the transaction is
   cancelled. With the app's one-partition-per-user table every POST /videos therefore copied the
   whole library: 27 ms at 50 records, ~300 ms at 1,000, ~5 MB more memory per POST.
   :func:`transact_write_items` is the same function with an undo log instead: just before an
   operation writes, the one item it writes is copied (or noted as absent); a cancellation puts
   back exactly those items (and truncates the table's stream records to where they were), so a
   write costs the same at 10 items as at 10 million. Conditions, cancellation reasons (codes,
   messages, ``ALL_OLD`` items), the order of checks, the all-or-nothing outcome and the
   exceptions raised are moto's, line for line. Two deliberate differences, both towards
   DynamoDB: (a) transactions are serialised with a lock (moto's server is threaded; stock moto
   could iterate a table while another request resized it, and its rollback replaced the whole
   table, undoing *other* requests' writes made meanwhile); (b) an element naming two operations
   (``TransactWriteSingleOpException``) also rolls back the elements before it (stock moto left
   them written).

2. ``Table.query`` builds and sorts a list of *every* item of the table (``all_items()``) to find
   one partition, sorts that partition again, then walks it item by item from the first one past
   the key condition and the ``ExclusiveStartKey``: each page of a listing cost O(table log
   table). Partitions are now :class:`SortedPartition` dicts that also keep their range keys in
   order (a bisect per insert/delete), and :func:`query` finds the page by binary search - the
   key condition's bounds and moto's own ``_item_comes_before_dct`` for the start key - then runs
   moto's page loop over just those items: O(log partition + page). Results, ``ScannedCount``
   and ``LastEvaluatedKey`` are moto's (including its quirk of returning a ``LastEvaluatedKey``
   when the page is full and any item follows it in the partition). Index queries, legacy
   ``QueryFilter`` arguments, hash-only tables, binary range keys and anything unusual take
   moto's own code unchanged. The page is then copied as moto copies it (``copy.deepcopy``),
   by ``clone_items`` (moto_item_patches.py) without deepcopy's generic dispatch per value.

3. moto 5.2's response serializer (``moto/core/serialize.py``) finds every member of every
   ``AttributeValue`` of a DynamoDB answer by trying all ten type keys under several aliases:
   ~3 ms of CPU per item, so one page of 100 recordings cost ~0.4 s and ``list --all`` of
   10,000 over a minute. An ``AttributeValue`` already is its JSON form (``{"S": "..."}``), so
   ``make_serialize_structure`` (moto_wire_patches.py) writes it as it is - the same bytes - for
   DynamoDB's ``S``/``N``/``BOOL``/``NULL``/``SS``/``NS``/``M``/``L`` values; binary values
   (which moto base64-encodes here) and anything else take moto's own code.

4. ``Item.__init__`` adds the attributes one by one to a ``LimitedSizeDict`` whose
   ``__setitem__`` re-measures every attribute already in the item before it adds one (the 400
   KB item limit): O(attributes²) ``DynamoType.size`` calls per item written, ~0.6 ms for a
   20-attribute recording, for every item of a put, a transaction or a batch. ``item_init``
   (moto_item_patches.py) keeps a running total instead and checks it at the same points against
   the same limit (sizes only grow as attributes are added), raising the same
   ``ItemSizeTooLarge`` at the same attribute; the dict it builds is moto's ``LimitedSizeDict``
   with the same contents.

5. ``ConditionExpressionParser.parse`` lexes and parses a condition or filter expression again
   on every use (three times per ``Put`` of a transaction: the request's validation, the
   transaction's check, then ``put_item``'s): a listing's audit transaction of 100 events parsed
   ``attribute_not_exists(#pk)`` 300 times, ~0.1 ms each. ``make_parse_condition``
   (moto_item_patches.py) keeps the result of recent parses (keyed by the expression, its names
   and its values; an LRU of ``FILTER_CACHE_SIZE``): the tree, and the names and values it found
   (which the parser leaves on itself for moto's "unused attribute" checks). moto's trees are
   read-only when evaluated (``expr(item)`` keeps no state), so one tree serves every call.
   Expressions that fail to parse are not cached: each call raises as moto does.

6. moto's JSON request parser (``moto/core/parse.py``) walks every ``AttributeValue`` of a
   request member by member over its ten type members, like the serializer of point 3: ~0.1 ms
   per item of a listing's 100-event audit transaction. ``make_parse_structure``
   (moto_item_patches.py) takes an ``AttributeValue`` as it comes - the same dicts and lists -
   for ``S``/``N``/``BOOL``/``NULL``/``SS``/``NS``/``M``/``L``; binary values (base64-decoded
   by moto) and anything else take moto's own code.

7. ``dynamo_to_dict`` turns every DynamoType of an answer into a plain dict before the serializer
   runs, through a chain of ``isinstance``/``hasattr`` checks per value; ``make_dynamo_to_dict``
   (moto_item_patches.py) dispatches on exact types first (the same dicts and lists), binary
   values and anything else taking moto's code.

8. Points 3 and 6 still reached each value of an item through moto's generic dispatch
   (``_serialize``/``_parse_shape``: a method lookup and a path push per value, ~2 µs): 2,100
   times per listing page, 1,300 per audit transaction. ``make_serialize_map`` and
   ``make_parse_map`` (moto_wire_patches.py) take a whole map of AttributeValues in one loop.

The replacements are plain functions taking moto's ``self``, so they can go upstream as they
are (drop the lock if moto gains its own).
"""

from __future__ import annotations

import bisect
import copy
import inspect
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from medispecs_desktop.local.moto_item_patches import (
    ITEM_SIZE_LIMIT,
    clear_parse_cache,
    clone_items,
    item_init,
    item_size,
    make_parse_condition,
    size_shape_problems,
)
from medispecs_desktop.local.moto_wire_patches import install_wire, shape_problems, uninstall_wire

__all__ = [
    "SUPPORTED_MOTO_VERSIONS",
    "MotoPatchError",
    "SortedPartition",
    "apply",
    "is_applied",
    "item_init",
    "query",
    "remove",
    "stock",
    "transact_write_items",
]

log = logging.getLogger(__name__)

SUPPORTED_MOTO_VERSIONS = frozenset({"5.2.6"})
"""moto releases whose ``transact_write_items``, ``Table.__init__`` and ``Table.query`` these
patches were checked against line by line. Re-check before adding one."""

_QUERY_PARAMS = (
    "self", "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key",
    "scan_index_forward", "projection_expressions", "index_name", "consistent_read",
    "filter_expression", "hash_key_conditions", "range_key_conditions", "filter_kwargs",
)

# An item never exceeds moto's LimitedSizeDict cap (405,000 bytes); twice that is the margin below
# which an item outside the key condition cannot trip moto's 1 MB page limit (see _page).
_ITEM_SIZE_MARGIN = 2 * 405_000



_apply_lock = threading.Lock()
_originals: dict[str, Any] = {}
_TRANSACTION_LOCK = threading.RLock()


class MotoPatchError(RuntimeError):
    """The installed moto is not the one these patches were written for."""


# --------------------------------------------------------------------------- shape checks

def _moto_parts() -> dict[str, Any]:
    """Import what the patches use and check it is shaped as in moto 5.2.6 (else raise)."""
    try:
        import moto
        from moto.core import parse as parse_mod
        from moto.core import serialize
        from moto.dynamodb import comparisons
        from moto.dynamodb import exceptions as exc
        from moto.dynamodb import responses as ddb_responses
        from moto.dynamodb.models import DynamoDBBackend, dynamo_type
        from moto.dynamodb.models import table as table_mod
        from moto.dynamodb.models import utilities as ddb_utilities
        from moto.dynamodb.models.dynamo_type import DynamoType, Item
    except ImportError as err:  # pragma: no cover - moto is a dependency of the stack
        raise MotoPatchError(f"moto's DynamoDB models cannot be imported: {err}") from err

    version = getattr(moto, "__version__", "?")
    problems: list[str] = []
    if version not in SUPPORTED_MOTO_VERSIONS:
        problems.append(f"version {version} is not one of {sorted(SUPPORTED_MOTO_VERSIONS)}")
    Table: Any = getattr(table_mod, "Table", None)
    needed: list[tuple[Any, str]] = [
        (DynamoDBBackend, "transact_write_items"), (DynamoDBBackend, "get_table"),
        (DynamoDBBackend, "get_keys_value"), (DynamoDBBackend, "get_item"),
        (DynamoDBBackend, "put_item"), (DynamoDBBackend, "delete_item"),
        (DynamoDBBackend, "update_item"),
        (Table, "query"), (Table, "_item_comes_before_dct"),
        (Table, "_get_last_evaluated_key"), (Item, "size"), (DynamoType, "compare"),
        (DynamoType, "cast_value"), (comparisons, "get_comparison_func"),
        (comparisons, "get_filter_expression"), (table_mod, "RESULT_SIZE_LIMIT"),
        (serialize, "BaseJSONSerializer"), (serialize, "ResponseSerializer"),
        (dynamo_type, "LimitedSizeDict"), (dynamo_type, "ItemSizeTooLarge"),
        (dynamo_type, "bytesize"), (comparisons, "ConditionExpressionParser"),
        (parse_mod, "BaseJSONParser"), (parse_mod, "RequestParser"),
        (ddb_utilities, "dynamo_to_dict"), (ddb_responses, "dynamo_to_dict"),
        (ddb_responses, "DynamoResult"),
    ]
    needed += [(exc, name) for name in (
        "ConditionalCheckFailed", "MockValidationException", "MultipleTransactionsException",
        "TooManyTransactionsException", "TransactionCanceledException",
        "TransactWriteSingleOpException",
    )]
    for owner, name in needed:
        if owner is None or not hasattr(owner, name):
            problems.append(f"{getattr(owner, '__name__', owner)}.{name} is missing")
    if not problems:
        original = _originals.get("transact_write_items", DynamoDBBackend.transact_write_items)
        names = set(original.__code__.co_names)
        if not {"deepcopy", "tables", "get_item", "put_item", "update_item"} <= names:
            problems.append("DynamoDBBackend.transact_write_items no longer deep-copies tables")
        init = _originals.get("Table.__init__", Table.__init__)
        if "defaultdict" not in init.__code__.co_names:
            problems.append("Table.__init__ no longer keeps items in a defaultdict")
        query_fn = _originals.get("Table.query", Table.query)
        params = tuple(inspect.signature(query_fn).parameters)
        if params != _QUERY_PARAMS:
            problems.append(f"Table.query's parameters changed: {params}")
        if not {"all_items", "_item_comes_before_dct", "deepcopy"} <= set(
            query_fn.__code__.co_names
        ):
            problems.append("Table.query no longer walks all_items()")
        if table_mod.RESULT_SIZE_LIMIT != 1_000_000:
            problems.append("RESULT_SIZE_LIMIT changed")
        json_cls = serialize.BaseJSONSerializer
        structure = _originals.get("serialize_structure", json_cls._serialize_type_structure)
        base = serialize.ResponseSerializer._serialize_type_structure
        if tuple(inspect.signature(structure).parameters) != (
            "self", "serialized", "value", "shape", "key"
        ) or "_serialize_structure_member" not in base.__code__.co_names or not hasattr(
            json_cls, "get_serialized_name"
        ):
            problems.append("the JSON response serializer's structure method changed")
    if not problems:
        item_init = _originals.get("Item.__init__", Item.__init__)
        setitem = dynamo_type.LimitedSizeDict.__setitem__
        if tuple(inspect.signature(item_init).parameters) != (
            "self", "hash_key", "range_key", "attrs"
        ) or "LimitedSizeDict" not in item_init.__code__.co_names or (
            ITEM_SIZE_LIMIT not in setitem.__code__.co_consts
        ) or "size" not in setitem.__code__.co_names:
            problems.append("Item.__init__ / LimitedSizeDict.__setitem__ changed")
        parser = comparisons.ConditionExpressionParser
        parse = _originals.get("parse_condition", parser.parse)
        init = parser.__init__.__code__.co_names
        if tuple(inspect.signature(parse).parameters) != ("self",) or not {
            "expr_attr_names_found", "expr_attr_values_found", "_make_op_condition"
        } <= set(parse.__code__.co_names) or not {
            "condition_expression", "expression_attribute_names",
            "expression_attribute_values", "expr_attr_names_found", "expr_attr_values_found",
        } <= set(init):
            problems.append("ConditionExpressionParser changed")
        if not {"hash_key", "range_key", "attrs", "LimitedSizeDict"} <= set(
            Item.__deepcopy__.__code__.co_names
        ) or not {"type", "value", "is_list", "is_map", "is_set"} <= set(
            DynamoType.__deepcopy__.__code__.co_names
        ) or set(inspect.signature(Item.__init__).parameters) - {
            "self", "hash_key", "range_key", "attrs"
        }:
            problems.append("Item/DynamoType.__deepcopy__ changed")
        to_dict: Any = _originals.get("dynamo_to_dict", ddb_utilities.dynamo_to_dict)
        shared = getattr(ddb_responses, "dynamo_to_dict", None) is to_dict
        if not shared or tuple(
            inspect.signature(to_dict).parameters
        ) != ("obj",) or not {"DynamoType", "to_json", "b64decode", "dynamo_to_dict"} <= set(
            to_dict.__code__.co_names
        ):
            problems.append("dynamo_to_dict changed")
        json_parser = parse_mod.BaseJSONParser
        structure_parse = _originals.get("parse_structure",
                                         json_parser.__dict__.get("_parse_structure"))
        if structure_parse is None or tuple(inspect.signature(structure_parse).parameters) != (
            "self", "shape", "value"
        ) or "MAP_TYPE" not in structure_parse.__code__.co_names or not {
            "_default_handle", "_parse_map", "_parse_list"
        } <= set(dir(json_parser)):
            problems.append("the JSON request parser's structure method changed")
        problems += shape_problems(parse_mod, serialize, _originals) + size_shape_problems()
    if problems:
        raise MotoPatchError(
            f"moto {version} is not shaped as medispecs_desktop/local/moto_patches.py expects: "
            + "; ".join(problems)
            + ". Re-check the patches against this moto's DynamoDBBackend.transact_write_items"
            " and Table.query, then add the version to SUPPORTED_MOTO_VERSIONS."
        )
    return {
        "DynamoDBBackend": DynamoDBBackend, "Table": Table, "table_mod": table_mod,
        "exc": exc, "comparisons": comparisons, "BaseJSONSerializer": serialize.BaseJSONSerializer,
        "Item": Item, "BaseJSONParser": parse_mod.BaseJSONParser,
        "ddb_utilities": ddb_utilities, "ddb_responses": ddb_responses,
    }


# --------------------------------------------------------------------------- apply / remove

def apply() -> None:
    """Install the patches (idempotent, thread-safe). Raises :class:`MotoPatchError` if the
    installed moto is not the one they were written for."""
    with _apply_lock:
        if _originals:
            return
        parts = _moto_parts()
        backend_cls, table_cls = parts["DynamoDBBackend"], parts["Table"]
        _originals["transact_write_items"] = backend_cls.transact_write_items
        _originals["Table.__init__"] = table_cls.__init__
        _originals["Table.query"] = table_cls.query
        backend_cls.transact_write_items = transact_write_items
        table_cls.__init__ = _make_table_init(_originals["Table.__init__"])
        table_cls.query = query
        _originals["Item.__init__"] = parts["Item"].__init__
        parts["Item"].__init__ = item_init
        parser_cls = parts["comparisons"].ConditionExpressionParser
        _originals["parse_condition"] = parser_cls.parse
        parser_cls.parse = make_parse_condition(_originals["parse_condition"])
        install_wire(_originals, parts["BaseJSONSerializer"], parts["BaseJSONParser"],
                     (parts["ddb_utilities"], parts["ddb_responses"]))
    log.debug("moto DynamoDB patches applied (transactions: undo log; query: sorted "
              "partitions; AttributeValues serialised as they are)")


def remove() -> None:
    """Put moto's own methods back (tables made meanwhile keep their SortedPartition dicts,
    which moto's own code reads and writes like the plain dicts they are)."""
    with _apply_lock:
        if not _originals:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table

        DynamoDBBackend.transact_write_items = (  # type: ignore[method-assign]
            _originals["transact_write_items"]
        )
        Table.__init__ = _originals["Table.__init__"]  # type: ignore[method-assign]
        Table.query = _originals["Table.query"]  # type: ignore[method-assign]
        from moto.dynamodb.models.dynamo_type import Item

        Item.__init__ = _originals["Item.__init__"]  # type: ignore[method-assign]
        from moto.dynamodb.comparisons import ConditionExpressionParser

        ConditionExpressionParser.parse = (  # type: ignore[method-assign]
            _originals["parse_condition"]
        )
        clear_parse_cache()
        uninstall_wire(_originals)
        _originals.clear()


def is_applied() -> bool:
    return bool(_originals)


@contextmanager
def stock() -> Iterator[None]:
    """Run a block on moto's own code (for comparisons in tests), then restore the patches if
    they were applied before."""
    was = is_applied()
    remove()
    try:
        yield
    finally:
        if was:
            apply()


def _make_table_init(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        items = self.items
        if type(items) is defaultdict and items.default_factory is dict and not items:
            self.items = defaultdict(SortedPartition)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


# --------------------------------------------------------------------------- sorted partitions

class SortedPartition(dict[Any, Any]):
    """One partition of a range-key table: ``{range DynamoType: Item}`` like moto's own, plus its
    range keys in moto's sort order (by ``cast_value``), kept by bisection on every insert and
    delete. ``ordered`` turns False for good if keys of incomparable types ever meet (queries on
    that partition then take moto's own path)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.casts: list[Any] = []  # sorted cast values, parallel to ``keys_sorted``
        self.keys_sorted: list[Any] = []
        self.ordered = True
        if args or kwargs:
            self.update(*args, **kwargs)

    def __reduce__(self) -> Any:  # copy, deepcopy and pickle rebuild through __setitem__
        return (type(self), (), None, None, iter(self.items()))

    def _insert(self, key: Any) -> None:
        if not self.ordered:
            return
        try:
            cast = key.cast_value
            i = bisect.bisect_left(self.casts, cast)
        except (AttributeError, TypeError):
            self.ordered = False
            self.casts, self.keys_sorted = [], []
            return
        self.casts.insert(i, cast)
        self.keys_sorted.insert(i, key)

    def _discard(self, key: Any) -> None:
        if not self.ordered:
            return
        cast = key.cast_value
        i = bisect.bisect_left(self.casts, cast)
        if i < len(self.casts) and self.casts[i] == cast:
            del self.casts[i]
            del self.keys_sorted[i]
        else:  # pragma: no cover - would mean the lists and the dict disagree
            self.ordered = False

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.lock:
            if not dict.__contains__(self, key):
                self._insert(key)
            dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        with self.lock:
            dict.__delitem__(self, key)
            self._discard(key)

    _MISSING = object()

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        with self.lock:
            if dict.__contains__(self, key):
                value = dict.pop(self, key)
                self._discard(key)
                return value
        if default is SortedPartition._MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[Any, Any]:
        with self.lock:
            key, value = dict.popitem(self)
            self._discard(key)
            return key, value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        with self.lock:
            if not dict.__contains__(self, key):
                self._insert(key)
                dict.__setitem__(self, key, default)
            return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        with self.lock:
            dict.clear(self)
            self.casts, self.keys_sorted = [], []
            self.ordered = True

    def __ior__(self, other: Any) -> SortedPartition:  # type: ignore[misc]
        self.update(other)
        return self

    def copy(self) -> SortedPartition:
        return SortedPartition(self)


# --------------------------------------------------------------------------- transactions

class _UndoLog:
    """The state of each item a transaction writes, taken just before it is written."""

    _ABSENT = object()

    def __init__(self) -> None:
        self._entries: list[tuple[Any, Any, Any, Any]] = []
        self._streams: dict[int, tuple[Any, Any, list[Any], int]] = {}

    def record(self, table: Any, hash_value: Any, range_value: Any) -> None:
        if id(table) not in self._streams:
            shard = table.stream_shard
            records = shard.items if shard is not None else []
            self._streams[id(table)] = (table, shard, records, len(records))
        if table.range_key_attr is not None:
            partition = table.items.get(hash_value)
            current = partition.get(range_value) if partition is not None else None
        else:
            current = table.items.get(hash_value)
        before = self._ABSENT if current is None else copy.deepcopy(current)
        self._entries.append((table, hash_value, range_value, before))

    def rollback(self) -> None:
        for table, hash_value, range_value, before in reversed(self._entries):
            if table.range_key_attr is not None:
                if before is self._ABSENT:
                    partition = table.items.get(hash_value)
                    if partition is not None:
                        partition.pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            elif before is self._ABSENT:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before
        for table, shard, records, length in self._streams.values():
            if shard is not None and table.stream_shard is shard:
                del records[length:]
                shard.items = records  # a Lambda consumer may have swapped in a new list
        self._entries.clear()


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.6's ``DynamoDBBackend.transact_write_items`` with an undo log of the items it
    writes instead of a deep copy of every table it names (see the module doc)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _TRANSACTION_LOCK:
        undo = _UndoLog()
        target_items: set[tuple[str, str]] = set()

        def check_unicity(table_name: str, key: dict[str, Any]) -> None:
            item = (str(table_name), str(dict(sorted(key.items()))))
            if item in target_items:
                raise MultipleTransactionsException()
            target_items.add(item)

        errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
        try:
            for item in transact_items:
                original_item: dict[str, Any] | None = None
                if len(list(item.keys())) > 1:
                    raise TransactWriteSingleOpException
                try:
                    op_type, op = next(iter(item.items()))
                    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                        raise ValueError("Unsupported transaction operation")

                    table_name = op["TableName"]
                    condition_expression = op.get("ConditionExpression")
                    expression_attribute_names = op.get("ExpressionAttributeNames")
                    expression_attribute_values = op.get("ExpressionAttributeValues")
                    return_values_on_condition_check_failure = op.get(
                        "ReturnValuesOnConditionCheckFailure"
                    )

                    if op_type == "Put":
                        attrs = op["Item"]
                        table = self.get_table(table_name)
                        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                        if table.range_key_attr is not None:
                            key[table.range_key_attr] = attrs[table.range_key_attr]
                    else:
                        key = op["Key"]

                    check_unicity(table_name, key)

                    current = self.get_item(table_name, key)
                    if condition_expression is not None:
                        condition_op = get_filter_expression(
                            condition_expression,
                            expression_attribute_names,
                            expression_attribute_values,
                        )
                        if not condition_op.expr(current):
                            if return_values_on_condition_check_failure == "ALL_OLD" and current:
                                original_item = current.to_json()["Attributes"]
                            raise ConditionalCheckFailed(item=original_item)

                    if op_type != "ConditionCheck":
                        # get_item above succeeded, so the table and the key are valid
                        table = self.get_table(table_name)
                        undo.record(table, *self.get_keys_value(table, key))
                    if op_type == "Put":
                        self.put_item(
                            table_name,
                            op["Item"],
                            condition_expression=condition_expression,
                            expression_attribute_names=expression_attribute_names,
                            expression_attribute_values=expression_attribute_values,
                        )
                    elif op_type == "Delete":
                        self.delete_item(
                            table_name,
                            key,
                            condition_expression=condition_expression,
                            expression_attribute_names=expression_attribute_names,
                            expression_attribute_values=expression_attribute_values,
                        )
                    elif op_type == "Update":
                        self.update_item(
                            table_name,
                            key,
                            update_expression=op["UpdateExpression"],
                            condition_expression=condition_expression,
                            expression_attribute_names=expression_attribute_names,
                            expression_attribute_values=expression_attribute_values,
                        )
                    errors.append((None, None, None))
                except (MultipleTransactionsException, MockValidationException):
                    raise  # rolled back below, as moto does
                except ConditionalCheckFailed as e:
                    errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
                except Exception as e:  # noqa: BLE001 - moto reports it as a cancellation reason
                    errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]
        except BaseException:
            undo.rollback()
            raise
        if any(code is not None for code, _, _ in errors):
            undo.rollback()
            raise TransactionCanceledException(errors)


# --------------------------------------------------------------------------- query

def query(
    self: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, Any]] | None = None,
    range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Any], int, dict[str, Any] | None]:
    """``Table.query``: a table query on one partition finds its page by binary search
    (module doc, point 2); everything else is moto's own ``Table.query``."""
    page = None
    if not index_name and not filter_kwargs:
        page = _page(self, hash_key, range_comparison, range_objs, limit,
                     exclusive_start_key, scan_index_forward, range_key_conditions)
    if page is None:
        original = _originals.get("Table.query")
        if original is None:  # pragma: no cover - only reachable after remove() mid-call
            from moto.dynamodb.models.table import Table

            original = Table.query
        return original(
            self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
            scan_index_forward, projection_expressions, index_name, consistent_read,
            filter_expression, hash_key_conditions, range_key_conditions, **filter_kwargs,
        )
    results, scanned_count, last_evaluated_key = page
    # moto's own post-processing (no index here)
    results = clone_items(results)  # copy.deepcopy(results), without its generic dispatch
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


def _range_bounds(
    casts: list[Any], kind: str, values: list[Any]
) -> tuple[int, int]:
    """Ascending positions ``[lo, hi)`` of the keys matching the key condition."""
    n = len(casts)
    if kind == "eq":
        return bisect.bisect_left(casts, values[0]), bisect.bisect_right(casts, values[0])
    if kind == "lt":
        return 0, bisect.bisect_left(casts, values[0])
    if kind == "le":
        return 0, bisect.bisect_right(casts, values[0])
    if kind == "gt":
        return bisect.bisect_right(casts, values[0]), n
    if kind == "ge":
        return bisect.bisect_left(casts, values[0]), n
    if kind == "between":
        lo = bisect.bisect_left(casts, values[0])
        return lo, max(lo, bisect.bisect_right(casts, values[1]))
    # begins_with: the strings starting with the prefix follow it contiguously
    prefix = values[0]
    lo = hi = bisect.bisect_left(casts, prefix)
    top = n
    while hi < top:
        mid = (hi + top) // 2
        if casts[mid].startswith(prefix):
            hi = mid + 1
        else:
            top = mid
    return lo, hi


def _condition_kind(range_comparison: str, values: list[Any]) -> str | None:
    from moto.dynamodb.comparisons import get_comparison_func

    func = get_comparison_func(range_comparison)
    kinds = {"=": "eq", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
             "BETWEEN": "between", "BEGINS_WITH": "prefix"}
    for name, kind in kinds.items():
        if func is not None and func is get_comparison_func(name):
            arity = 2 if kind == "between" else 1
            return kind if len(values) == arity else None
    return None


def _page(
    table: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    scan_index_forward: bool,
    range_key_conditions: list[tuple[str, str, list[Any]]] | None,
) -> tuple[list[Any], int, dict[str, Any] | None] | None:
    """moto's page loop over only the items it can reach, or None for moto's own path."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    key_type = table.range_key_type
    if hash_key is None or table.range_key_attr is None or key_type not in ("S", "N"):
        return None
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        return None
    if range_key_conditions and (
        len(range_key_conditions) != 1 or range_key_conditions[0][0] != table.range_key_attr
    ):
        return None
    kind = None
    if range_comparison:
        kind = _condition_kind(range_comparison, range_objs)
        if kind is None or any(getattr(v, "type", None) != key_type for v in range_objs):
            return None
        if kind == "prefix" and key_type != "S":
            return None
    partition = table.items.get(hash_key)
    if partition is None:
        return [], 0, None
    if type(partition) is not SortedPartition:
        return None
    with partition.lock:
        if not partition.ordered:
            return None
        casts, keys = partition.casts, partition.keys_sorted
        n = len(keys)

        def key_at(pos: int) -> Any:  # pos in scan order
            return keys[pos] if scan_index_forward else keys[n - 1 - pos]

        def item_at(pos: int) -> Any:
            return dict.__getitem__(partition, key_at(pos))

        lo, hi = 0, n
        if kind is not None:
            lo, hi = _range_bounds(casts, kind, [v.cast_value for v in range_objs])
            # cross-check the bounds with moto's own comparison (else take moto's path)
            inside = [p for p in (lo, hi - 1) if lo < hi]
            outside = [p for p in (lo - 1, hi) if 0 <= p < n]
            if not all(keys[p].compare(range_comparison, range_objs) for p in inside) or any(
                keys[p].compare(range_comparison, range_objs) for p in outside
            ):
                log.warning("moto query fast path disagrees with moto's comparison; "
                            "using moto's own query")
                return None
        run_start, run_end = (lo, hi) if scan_index_forward else (n - hi, n - lo)

        # moto skips the items up to and including ExclusiveStartKey one by one with
        # _item_comes_before_dct; over a sorted partition they are a prefix: bisect it
        start = 0
        if exclusive_start_key is not None and n:
            hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
            top = n
            while start < top:
                mid = (start + top) // 2
                if table._item_comes_before_dct(
                    item_at(mid), exclusive_start_key, hash_attrs, range_attrs,
                    scan_index_forward,
                ):
                    start = mid + 1
                else:
                    top = mid

        # moto's loop. Items before the key condition's run never change it (the page is
        # empty there: no limit is reached, and no single item exceeds the 1 MB page size).
        results: list[Any] = []
        result_size = 0
        scanned_count = 0
        last_evaluated_key = None
        for pos in range(max(start, run_start), run_end):
            result = item_at(pos)
            size = item_size(result)  # result.size(), strings measured directly
            if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
                last_evaluated_key = table._get_last_evaluated_key(results[-1], None)
                break
            results.append(result)
            result_size += size
            scanned_count += 1
        else:
            # Past the run moto still checks each item against the limits before rejecting
            # it: a full page meets the first one; a nearly 1 MB page may meet a big one.
            trailing = range(max(start, run_end), n)
            if trailing and len(results) == limit:
                last_evaluated_key = table._get_last_evaluated_key(results[-1], None)
            elif trailing and result_size > RESULT_SIZE_LIMIT - _ITEM_SIZE_MARGIN:
                for pos in trailing:
                    if result_size + item_size(item_at(pos)) > RESULT_SIZE_LIMIT:
                        last_evaluated_key = table._get_last_evaluated_key(results[-1], None)
                        break
        return results, scanned_count, last_evaluated_key
