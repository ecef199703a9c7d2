"""Small helpers over decoded JSON values, shared by sources and normalize."""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (object, array, string, number, boolean, null),
    for messages about wrong-typed input."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return f"non-JSON {type(value).__name__}"
