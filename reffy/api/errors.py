"""One error vocabulary for the network adapters (REST API and MCP server).

Each ``ReffyError`` declares its HTTP status (``http_status``, inherited by subclasses:
``LLMUnavailable`` answers ``LLMError``'s 502); this module turns one into a response body. No
web framework is imported here.
"""

from __future__ import annotations

import re
from typing import Any

from reffy.errors import ReffyError


def snake(name: str) -> str:
    """``LLMUnavailable`` -> ``llm_unavailable``, ``NotFound`` -> ``not_found``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_status(exc: ReffyError) -> int:
    """The status each error declares (:mod:`reffy.errors`): whose move it is."""
    return exc.http_status


def reffy_error_payload(exc: ReffyError) -> dict[str, Any]:
    """``{"error": {"code", "message"}}`` for a domain error; the code is the class name in snake case."""
    return error_body(snake(type(exc).__name__), str(exc) or type(exc).__name__)
