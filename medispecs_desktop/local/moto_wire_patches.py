"""moto's DynamoDB wire format without a walk over every type of every value.

Fixes of :mod:`medispecs_desktop.local.moto_patches` (points 3, 6, 7 and 8 of its doc), applied
and removed by it, with its version and shape checks. An ``AttributeValue`` already is its JSON
form (``{"S": "..."}``), so:

* :func:`make_parse_structure` - ``BaseJSONParser._parse_structure`` takes a request's
  ``AttributeValue`` as it comes (the same dicts and lists moto's member-by-member walk builds);
* :func:`make_dynamo_to_dict` - ``dynamo_to_dict`` (an answer's DynamoTypes to plain dicts, over
  every value of every item) dispatches on exact types first;
* :func:`make_serialize_structure` - ``BaseJSONSerializer._serialize_type_structure`` writes an
  answer's ``AttributeValue`` as it is (the same bytes);
* :func:`make_serialize_map` and :func:`make_parse_map` - a whole map of AttributeValues (an
  item, a key, ``ExpressionAttributeValues``) in one loop, instead of moto's generic dispatch
  (``_serialize``/``_parse_shape``: a method lookup, a path push and pop) for each of its
  values: the same values as the two functions above give one by one.

Binary values (which moto base64-encodes or -decodes on the way), datetimes, objects with
``to_json``, subclasses and odd shapes take moto's own code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "ATTRIBUTE_VALUE_MEMBERS",
    "install_wire",
    "make_dynamo_to_dict",
    "make_parse_map",
    "make_parse_structure",
    "make_serialize_map",
    "make_serialize_structure",
    "shape_problems",
    "uninstall_wire",
]

ATTRIBUTE_VALUE_MEMBERS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
_DYNAMODB_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})


# --------------------------------------------------------------------------- request parsing

def _parsed_attribute_value(value: Any, map_type: Callable[[], Any]) -> Any:
    """What moto's JSON parser builds for an ``AttributeValue`` (or None: take moto's code)."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        converted: Any = inner if type(inner) is str else None
    elif kind in ("BOOL", "NULL"):
        converted = inner if type(inner) is bool else None
    elif kind in ("SS", "NS"):
        ok = type(inner) is list and all(type(v) is str for v in inner)
        converted = list(inner) if ok else None
    elif kind == "M" and type(inner) is dict:
        converted = map_type()
        for name, member in inner.items():
            parsed = _parsed_attribute_value(member, map_type)
            if parsed is None or type(name) is not str:
                return None
            converted[name] = parsed
    elif kind == "L" and type(inner) is list:
        converted = []
        for element in inner:
            parsed = _parsed_attribute_value(element, map_type)
            if parsed is None:
                return None
            converted.append(parsed)
    else:
        return None
    if converted is None:
        return None
    out = map_type()
    out[kind] = converted
    return out


def make_parse_structure(original: Callable[..., Any]) -> Callable[..., Any]:
    """``BaseJSONParser._parse_structure`` (``original``) taking DynamoDB ``AttributeValue``s
    as they come."""

    def _parse_structure(self: Any, shape: Any, value: Any) -> Any:
        if (
            shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name in _DYNAMODB_SERVICES
            and shape.members.keys() == ATTRIBUTE_VALUE_MEMBERS
        ):
            parsed = _parsed_attribute_value(value, self.MAP_TYPE)
            if parsed is not None:
                return parsed
        return original(self, shape, value)

    _parse_structure.__wrapped__ = original  # type: ignore[attr-defined]
    return _parse_structure


def _is_attribute_value_map(codec: Any, shape: Any) -> bool:
    """``shape`` is a DynamoDB map of string keys to AttributeValues (AttributeMap, Key...)."""
    value_shape = shape.value
    return (
        value_shape.name == "AttributeValue"
        and value_shape.members.keys() == ATTRIBUTE_VALUE_MEMBERS
        and shape.key.type_name == "string"
        and codec.operation_model.service_model.service_name in _DYNAMODB_SERVICES
    )


def make_parse_map(original: Callable[..., Any]) -> Callable[..., Any]:
    """``RequestParser._parse_map`` (``original``), for JSON parsers: a DynamoDB map of
    AttributeValues whose every value :func:`_parsed_attribute_value` takes is built in one
    loop (string keys are returned as they are by moto's JSON parser: it has no
    ``_parse_string``); any other map, or one odd value, takes moto's loop."""

    def _parse_map(self: Any, shape: Any, value: Any) -> Any:
        if type(value) is dict and getattr(self, "_parse_string", None) is None and \
                _is_attribute_value_map(self, shape):
            map_type = self.MAP_TYPE
            parsed = map_type()
            for name, member in value.items():
                converted = _parsed_attribute_value(member, map_type)
                if converted is None or type(name) is not str or not name:
                    break
                parsed[name] = converted
            else:
                return parsed
        return original(self, shape, value)

    _parse_map.__wrapped__ = original  # type: ignore[attr-defined]
    return _parse_map


# --------------------------------------------------------------------------- answers

_PLAIN = (str, int, float, bool, bytes, type(None))


def make_dynamo_to_dict(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``moto.dynamodb.models.utilities.dynamo_to_dict`` (``original``) with the common cases
    first: plain values as they are, DynamoTypes other than binary as ``{type: value}``, dicts
    and lists member by member - what moto's chain of ``isinstance``/``hasattr`` checks gives
    for them. Anything else (binary values, datetimes, ``to_json`` objects, subclasses) is
    moto's (whose recursion comes back here)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    def dynamo_to_dict(obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return obj
        if kind is DynamoType and obj.type not in ("B", "BS"):
            return {obj.type: dynamo_to_dict(obj.value)}
        if kind is dict or kind is LimitedSizeDict:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(v) for v in obj]
        return original(obj)

    dynamo_to_dict.__wrapped__ = original  # type: ignore[attr-defined]
    return dynamo_to_dict


# --------------------------------------------------------------------------- serializer

def _attribute_value_json(value: Any) -> dict[str, Any] | None:
    """The JSON moto's serializer writes for a DynamoDB ``AttributeValue`` given as a
    one-key dict, or None where that takes moto's own path (binary values, odd shapes)."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return {kind: inner} if type(inner) is str else None
    if kind in ("BOOL", "NULL"):
        return {kind: inner} if type(inner) is bool else None
    if kind in ("SS", "NS"):
        if type(inner) is list and all(type(v) is str for v in inner):
            return {kind: list(inner)}
        return None
    if kind == "M" and type(inner) is dict:
        members: dict[str, Any] = {}
        for name, member in inner.items():
            converted = _attribute_value_json(member)
            if converted is None:
                return None
            members[name] = converted
        return {"M": members}
    if kind == "L" and type(inner) is list:
        elements = []
        for element in inner:
            converted = _attribute_value_json(element)
            if converted is None:
                return None
            elements.append(converted)
        return {"L": elements}
    return None


def make_serialize_structure(original: Callable[..., None]) -> Callable[..., None]:
    """``BaseJSONSerializer._serialize_type_structure`` (``original``): a DynamoDB
    ``AttributeValue`` is written as it is (what moto's member-by-member walk produces for it);
    the rest is moto's."""

    def _serialize_type_structure(
        self: Any, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name in _DYNAMODB_SERVICES
            and shape.members.keys() == ATTRIBUTE_VALUE_MEMBERS
        ):
            converted = _attribute_value_json(value)
            if converted is not None:
                serialized[self.get_serialized_name(shape, key)] = converted
                return
        original(self, serialized, value, shape, key)

    _serialize_type_structure.__wrapped__ = original  # type: ignore[attr-defined]
    return _serialize_type_structure


def make_serialize_map(original: Callable[..., None]) -> Callable[..., None]:
    """``BaseJSONSerializer._serialize_type_map`` (``original``): a DynamoDB map of
    AttributeValues (an answer's item or key) whose every value :func:`_attribute_value_json`
    writes is written in one loop, under the names moto's serializer gives them; any other
    map, or one odd value, takes moto's loop."""

    def _serialize_type_map(self: Any, serialized: Any, value: Any, shape: Any,
                            key: str) -> None:
        if type(value) is dict and _is_attribute_value_map(self, shape):
            value_shape = shape.value
            name_of = self.get_serialized_name
            map_obj = self.MAP_TYPE()
            for name, member in value.items():
                converted = _attribute_value_json(member)
                if converted is None or type(name) is not str or not name:
                    break
                map_obj[name_of(value_shape, name)] = converted
            else:
                self._default_serialize(serialized, map_obj, shape, key)
                return
        original(self, serialized, value, shape, key)

    _serialize_type_map.__wrapped__ = original  # type: ignore[attr-defined]
    return _serialize_type_map


def shape_problems(parse_mod: Any, serialize_mod: Any, originals: dict[str, Any]) -> list[str]:
    """What in moto's map parser and serializer differs from moto 5.2.6 (empty: nothing)."""
    import inspect

    problems = []
    parse_map = originals.get("parse_map", parse_mod.RequestParser.__dict__.get("_parse_map"))
    if parse_map is None or tuple(inspect.signature(parse_map).parameters) != (
        "self", "shape", "value"
    ) or not {"MAP_TYPE", "_parse_shape"} <= set(parse_map.__code__.co_names) or (
        "_parse_map" in parse_mod.BaseJSONParser.__dict__ and "parse_map" not in originals
    ):
        problems.append("the request parser's map method changed")
    json_cls = serialize_mod.BaseJSONSerializer
    serialize_map = originals.get("serialize_map", json_cls.__dict__.get("_serialize_type_map"))
    if serialize_map is None or tuple(inspect.signature(serialize_map).parameters) != (
        "self", "serialized", "value", "shape", "key"
    ) or not {"MAP_TYPE", "_serialize", "_default_serialize"} <= set(
        serialize_map.__code__.co_names
    ):
        problems.append("the JSON response serializer's map method changed")
    return problems


def install_wire(originals: dict[str, Any], json_serializer: Any, json_parser: Any,
                 to_dict_modules: tuple[Any, ...]) -> None:
    """Install the fixes of this module, keeping moto's functions in ``originals``."""
    originals["serialize_structure"] = json_serializer.__dict__["_serialize_type_structure"]
    json_serializer._serialize_type_structure = make_serialize_structure(
        originals["serialize_structure"])
    originals["serialize_map"] = json_serializer.__dict__["_serialize_type_map"]
    json_serializer._serialize_type_map = make_serialize_map(originals["serialize_map"])
    originals["parse_structure"] = json_parser.__dict__["_parse_structure"]
    json_parser._parse_structure = make_parse_structure(originals["parse_structure"])
    originals["parse_map"] = json_parser._parse_map  # RequestParser's, inherited
    json_parser._parse_map = make_parse_map(originals["parse_map"])
    originals["dynamo_to_dict"] = to_dict_modules[0].dynamo_to_dict
    fast_to_dict = make_dynamo_to_dict(originals["dynamo_to_dict"])
    for module in to_dict_modules:
        module.dynamo_to_dict = fast_to_dict


def uninstall_wire(originals: dict[str, Any]) -> None:
    """Put back moto's functions that :func:`install_wire` kept in ``originals``."""
    from moto.core.parse import BaseJSONParser
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb import responses as ddb_responses
    from moto.dynamodb.models import utilities as ddb_utilities

    serializer: Any = BaseJSONSerializer
    parser: Any = BaseJSONParser
    serializer._serialize_type_structure = originals["serialize_structure"]
    serializer._serialize_type_map = originals["serialize_map"]
    parser._parse_structure = originals["parse_structure"]
    del parser._parse_map  # RequestParser's again
    for module in (ddb_utilities, ddb_responses):
        setattr(module, "dynamo_to_dict", originals["dynamo_to_dict"])  # noqa: B010
