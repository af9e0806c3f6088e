"""Service results as plain JSON-ready values, for every adapter that prints or sends them.

The service hands out typed objects (a ``SearchResult`` holding ``Hit``\\ s, each holding a
``StoryCard``; an ``Answer``; a ``StoryDetail``). Their JSON form is theirs to decide: a type
with a ``to_dict()`` (a story card, which leaves out what its audience may not see; a hit, which
flattens its card's facts) is asked for it, other dataclasses are taken field by field. One
function, so the CLI's ``--json``, the REST API and the MCP server cannot drift apart.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` with every dataclass, tuple and nested collection made plain."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return jsonable(to_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
