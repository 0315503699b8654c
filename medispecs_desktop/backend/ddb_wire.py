"""DynamoDB answers parsed without botocore's walk over every member of every value.

botocore's JSON parser turns a DynamoDB answer into Python by walking the service model: for each
``AttributeValue`` of each item it looks up all ten members of the shape (``S``, ``N``, ``B``,
``SS``, ``NS``, ``BS``, ``M``, ``L``, ``NULL``, ``BOOL``) and parses the one present through
another shape lookup. A listing page (101 items of ~20 attributes) cost the function ~4 ms of
CPU in that walk alone, more than the rest of its work on the page. Yet an ``AttributeValue`` on
the wire already *is* its parsed form (``{"S": "text"}`` parses to ``{"S": "text"}``) for every
type but the binary ones (base64 on the wire, ``bytes`` once parsed).

:class:`AttributeValueParser` is botocore's own ``JSONParser`` that returns such a value as it
came (the dict ``json.loads`` built) when it holds exactly one member of type ``S``/``N``/``BOOL``/
``NULL``/``SS``/``NS``, or ``M``/``L`` of such values - the same result botocore's walk gives.
Binary values (``B``/``BS``, anywhere inside), malformed values (two members, ``null``s, unknown
members) and every other shape take botocore's code. :func:`install` puts it into a botocore
session as its ``response_parser_factory`` component (botocore's documented way to replace a
session component); clients made from that session use it for the ``json`` protocol only.

If botocore is not shaped as this was written against (``JSONParser`` is not the ``json``
protocol's parser, or has no ``_handle_structure``), :func:`install` logs a warning and leaves the
session as it is: answers are then parsed by botocore's own code, correct and only slower.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from botocore import parsers

__all__ = ["ATTRIBUTE_VALUE_SHAPE", "AttributeValueParser", "ParserFactory", "install",
           "is_plain_attribute_value"]

log = logging.getLogger(__name__)

ATTRIBUTE_VALUE_SHAPE = "AttributeValue"
_SCALARS: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def is_plain_attribute_value(value: Any) -> bool:
    """True if ``value`` is a well-formed AttributeValue whose parsed form is itself (one
    member; no binary value anywhere inside)."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return type(inner) is scalar
    if kind in ("SS", "NS"):
        return type(inner) is list and all(type(e) is str for e in inner)
    if kind == "M":
        return type(inner) is dict and all(
            type(k) is str and is_plain_attribute_value(v) for k, v in inner.items())
    if kind == "L":
        return type(inner) is list and all(is_plain_attribute_value(e) for e in inner)
    return False


class AttributeValueParser(parsers.JSONParser):
    """botocore's ``json`` protocol parser with plain AttributeValues taken as they came."""

    def _handle_structure(self, shape: Any, value: Any) -> Any:
        if shape.name == ATTRIBUTE_VALUE_SHAPE and is_plain_attribute_value(value):
            return value
        return cast(Any, super())._handle_structure(shape, value)


class ParserFactory(parsers.ResponseParserFactory):
    """botocore's parser factory, with :class:`AttributeValueParser` for the ``json``
    protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return AttributeValueParser(**cast(Any, self)._defaults)
        return super().create_parser(protocol_name)


def supported() -> bool:
    """botocore is shaped as :class:`AttributeValueParser` expects."""
    protocols: Any = parsers.PROTOCOL_PARSERS
    return (protocols.get("json") is parsers.JSONParser
            and callable(getattr(parsers.BaseJSONParser, "_handle_structure", None))
            and hasattr(parsers.ResponseParserFactory(), "_defaults"))


def install(session: Any) -> bool:
    """Use :class:`ParserFactory` in the botocore ``session`` (True) - or, if botocore changed
    shape, nothing (False, with a warning: botocore's own parser stays)."""
    if not supported():
        log.warning("botocore's JSON parser changed shape: DynamoDB answers are parsed by "
                    "botocore's own (slower) code")
        return False
    session.register_component("response_parser_factory", ParserFactory())
    return True
