"""moto's DynamoDB item writes, condition parses and query copies at a cost independent of their
repetition.

Fixes of :mod:`medispecs_desktop.local.moto_patches` (points 2, 4 and 5 of its doc), applied and
removed by it, with its version and shape checks:

* :func:`item_init` - ``Item.__init__`` with a running size total: moto's ``LimitedSizeDict``
  re-measures every attribute already in an item before it adds one (O(attributes²) per item);
  the same limit is checked at the same points, the same ``ItemSizeTooLarge`` raised.
* :func:`make_parse_condition` - ``ConditionExpressionParser.parse`` with an LRU of recent parses
  (tree + the names and values found); moto's trees keep no state when evaluated.
* :func:`clone_items` - what ``copy.deepcopy`` of a list of items gives (moto's query copies
  its page before answering), without ``deepcopy``'s generic dispatch per value.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = [
    "FILTER_CACHE_SIZE",
    "ITEM_SIZE_LIMIT",
    "clear_parse_cache",
    "clone_items",
    "item_init",
    "item_size",
    "make_parse_condition",
    "size_shape_problems",
    "value_size",
]

FILTER_CACHE_SIZE = 512
"""Parsed condition/filter expressions kept."""
ITEM_SIZE_LIMIT = 405_000  # moto's LimitedSizeDict limit (moto/dynamodb/models/dynamo_type.py)

_filter_cache: OrderedDict[tuple[str, Any, Any], tuple[Any, list[str], list[str]]] = (
    OrderedDict()
)
_filter_cache_lock = threading.Lock()


def clear_parse_cache() -> None:
    with _filter_cache_lock:
        _filter_cache.clear()


# --------------------------------------------------------------------------- items

def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto 5.2.6's ``Item.__init__`` with a running size total (module doc): the same
    ``LimitedSizeDict``, the same ``ItemSizeTooLarge`` at the same attribute."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        # LimitedSizeDict.__setitem__: size of what is there + this key and value > limit
        # (``attrs`` is a dict: every key is new, so the total only grows)
        total += bytesize(key) + value_size(typed)
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)


def value_size(value: Any) -> int:
    """``DynamoType.size()`` (moto 5.2.6), a string measured directly: moto asks whether it
    is a number, a set, a list, a map and a bool first (most of an item's values are
    strings, and an item's size is measured on every write and for every item of a query
    page)."""
    inner = value.value
    if value.type == "S" and type(inner) is str:
        return len(inner.encode("utf-8"))
    return int(value.size())


def item_size(item: Any) -> int:
    """``Item.size()`` (moto 5.2.6): the bytes of every attribute's name and value."""
    total = 0
    for key, value in item.attrs.items():
        name = len(key.encode("utf-8")) if type(key) is str else len(key)
        total += name + value_size(value)
    return total


def size_shape_problems() -> list[str]:
    """Whether :func:`value_size` and :func:`item_size` measure as moto's own ``size``
    methods do, on values of every type (empty: they do)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attrs: dict[str, Any] = {
        "PK": {"S": "USER#ü"}, "s": {"S": "text ✓"}, "e": {"S": ""}, "n": {"N": "-1.50"},
        "b": {"B": b"\x00\x01"}, "ss": {"SS": ["a", "bc"]}, "ns": {"NS": ["1", "20"]},
        "m": {"M": {"k": {"S": "v"}, "x": {"N": "3"}}}, "l": {"L": [{"S": "a"}, {"BOOL": True}]},
        "t": {"BOOL": False}, "z": {"NULL": True}, "ünï": {"S": "ß"},
    }
    item = Item(DynamoType(attrs["PK"]), None, attrs)
    if item_size(item) != item.size() or any(
        value_size(v) != v.size() for v in item.attrs.values()
    ):
        return ["DynamoType.size / Item.size measure differently"]
    return []


def clone_items(items: list[Any]) -> list[Any]:
    """``copy.deepcopy(items)`` for a list of moto ``Item``s: the same new objects (shared
    values stay shared, through the same memo), built the way moto's own ``__deepcopy__``
    methods build them (an Item's keys and attributes; a DynamoType's type and value: lists
    and maps copied member by member, sets as new lists, scalars as they are)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    memo: dict[int, Any] = {}

    def value(v: Any) -> Any:
        if type(v) is not DynamoType:
            return copy.deepcopy(v, memo)
        found = memo.get(id(v))
        if found is not None:
            return found
        out = DynamoType.__new__(DynamoType)
        memo[id(v)] = out
        out.type = v.type
        inner = v.value
        if v.is_list():
            out.value = [value(e) for e in inner]
        elif v.is_map():
            out.value = {k: value(e) for k, e in inner.items()}
        elif v.is_set():
            out.value = list(inner)
        else:
            out.value = inner
        return out

    copies = []
    for item in items:
        found = memo.get(id(item))
        if found is None:
            cls: Any = type(item)
            found = cls.__new__(cls)
            memo[id(item)] = found
            found.hash_key = value(item.hash_key)
            found.range_key = value(item.range_key)
            attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(attrs)
            for key, v in item.attrs.items():
                dict.__setitem__(attrs, key, value(v))
            found.attrs = attrs
        copies.append(found)
    return copies


# --------------------------------------------------------------------------- expressions

def _frozen(value: Any) -> Any:
    """A hashable stand-in for ``value``, equal exactly for equal values: names (``str`` to
    ``str``, the usual case) as a sorted tuple, anything else as canonical JSON (a JSON dump per
    use cost more than the rest of a cache hit: 4 per transaction item)."""
    if value is None:
        return None
    if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return tuple(sorted(value.items()))
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def make_parse_condition(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``ConditionExpressionParser.parse`` (``original``) with an LRU of recent parses."""

    def parse(self: Any) -> Any:
        return _parse_cached(self, original)

    parse.__wrapped__ = original  # type: ignore[attr-defined]
    return parse


def _parse_cached(self: Any, original: Callable[[Any], Any]) -> Any:
    expr = self.condition_expression
    try:
        if not isinstance(expr, str) or not expr:
            raise TypeError  # moto's OpDefault: nothing to parse
        key = (expr, _frozen(self.expression_attribute_names),
               _frozen(self.expression_attribute_values))
    except (TypeError, ValueError):  # bytes, Decimals, odd shapes: not cached
        return original(self)
    with _filter_cache_lock:
        hit = _filter_cache.get(key)
        if hit is not None:
            _filter_cache.move_to_end(key)
    if hit is not None:
        tree, names, values = hit
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return tree
    names_before = len(self.expr_attr_names_found)
    values_before = len(self.expr_attr_values_found)
    tree = original(self)  # raises as moto does; failures are not kept
    found = (tree, list(self.expr_attr_names_found[names_before:]),
             list(self.expr_attr_values_found[values_before:]))
    with _filter_cache_lock:
        _filter_cache[key] = found
        while len(_filter_cache) > FILTER_CACHE_SIZE:
            _filter_cache.popitem(last=False)
    return tree
