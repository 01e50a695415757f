"""Parsers for request params: each checks one value and names its place ("requests[0].n") when it is wrong.

A parser is a function ``(value, path) -> parsed value`` that raises ``InvalidParams``. ``record`` builds
one for a JSON object from per-key fields and refuses unknown keys, as the run config does.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Sequence

from .rpc import InvalidParams

Parser = Callable[[Any, str], Any]
REQUIRED = object()


def join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def integer(minimum: Optional[int] = None) -> Parser:
    def parse(value, path):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidParams(path, "must be an integer")
        if minimum is not None and value < minimum:
            raise InvalidParams(path, f"must be an integer ≥ {minimum}")
        return value

    return parse


def number(minimum: Optional[float] = None, above: Optional[float] = None, maximum: Optional[float] = None) -> Parser:
    """``minimum``/``maximum`` are inclusive bounds, ``above`` an exclusive lower bound."""

    def parse(value, path):
        if not _is_number(value) or not math.isfinite(value):
            raise InvalidParams(path, "must be a finite number")
        if minimum is not None and value < minimum:
            raise InvalidParams(path, f"must be ≥ {minimum}")
        if above is not None and value <= above:
            raise InvalidParams(path, f"must be > {above}")
        if maximum is not None and value > maximum:
            raise InvalidParams(path, f"must be ≤ {maximum}")
        return float(value)

    return parse


def string(nonempty: bool = False) -> Parser:
    def parse(value, path):
        if not isinstance(value, str):
            raise InvalidParams(path, "must be a string")
        if nonempty and not value:
            raise InvalidParams(path, "must not be empty")
        return value

    return parse


def boolean() -> Parser:
    def parse(value, path):
        if not isinstance(value, bool):
            raise InvalidParams(path, "must be true or false")
        return value

    return parse


def one_of(*choices) -> Parser:
    def parse(value, path):
        if isinstance(value, bool) or value not in choices:
            raise InvalidParams(path, "must be one of " + ", ".join(repr(choice) for choice in choices))
        return value

    return parse


def id_value() -> Parser:
    def parse(value, path):
        if not (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
            raise InvalidParams(path, "must be a string or an integer")
        return value

    return parse


def nullable(inner: Parser) -> Parser:
    return lambda value, path: None if value is None else inner(value, path)


def array(item: Parser, min_items: int = 0, max_items: Optional[int] = None) -> Parser:
    def parse(value, path):
        if not isinstance(value, list):
            raise InvalidParams(path, "must be an array")
        if len(value) < min_items:
            raise InvalidParams(path, f"must have at least {min_items} item{'s' if min_items != 1 else ''}")
        if max_items is not None and len(value) > max_items:
            raise InvalidParams(path, f"must have at most {max_items} items")
        return [item(element, join(path, i)) for i, element in enumerate(value)]

    return parse


def pair(item: Parser) -> Parser:
    def parse(value, path):
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidParams(path, "must be an array of two items")
        return (item(value[0], join(path, 0)), item(value[1], join(path, 1)))

    return parse


def any_of(description: str, *parsers: Parser) -> Parser:
    """The first parser that accepts the value; otherwise ``description`` says what was expected."""

    def parse(value, path):
        for parser in parsers:
            try:
                return parser(value, path)
            except InvalidParams:
                continue
        raise InvalidParams(path, f"must be {description}")

    return parse


def record(fields: Dict[str, Sequence]) -> Parser:
    """``fields`` maps each key to ``(parser,)`` (required) or ``(parser, default)``. Absent optional keys
    take the default; an explicit ``null`` is only accepted where the parser accepts it."""

    def parse(value, path):
        if not isinstance(value, dict):
            raise InvalidParams(path, "must be an object")
        unknown = [key for key in value if key not in fields]
        if unknown:
            raise InvalidParams(join(path, unknown[0]), "unknown key")
        parsed = {}
        for key, spec in fields.items():
            parser, default = spec[0], spec[1] if len(spec) > 1 else REQUIRED
            if key in value:
                parsed[key] = parser(value[key], join(path, key))
            elif default is REQUIRED:
                raise InvalidParams(join(path, key), "required")
            else:
                parsed[key] = default
        return parsed

    return parse


def exactly_one(parsed: Dict[str, Any], path: str, *keys: str) -> str:
    """The one of ``keys`` that is present (not None); an error naming ``path`` otherwise."""
    present = [key for key in keys if parsed.get(key) is not None]
    if len(present) != 1:
        raise InvalidParams(path, f"must have exactly one of {', '.join(keys)}")
    return present[0]
