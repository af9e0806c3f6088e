"""One error vocabulary for the network adapters (REST API and MCP server).

``ReffyError`` subclasses are translated by class name, walking the MRO, so a subclass
(``LLMUnavailable``) inherits its parent's status (``LLMError`` -> 502) without this module
importing the LLM or retrieval backends. No web framework is imported here.
"""

from __future__ import annotations

import re
from typing import Any

from reffy.errors import ReffyError

# HTTP status per error class name; the first class found walking the exception's MRO wins.
STATUS_BY_ERROR: dict[str, int] = {
    "NotFound": 404,
    "PermissionDenied": 403,
    "ConfigError": 400,
    "AmbiguousId": 400,  # a story id prefix that names several stories: the message lists them
    "SourceNotFound": 400,
    "OverrideError": 400,
    "LLMInputError": 400,  # the request itself is too large for the model
    "LLMError": 502,  # the answer provider failed or is misconfigured
    "WarehouseLocked": 503,  # a writer holds the library; retry shortly
    "WarehouseError": 503,
    "JobRunning": 409,  # a pipeline run is already going: wait for it, or resume it
    "SyncRunning": 409,  # another process holds the sync lock (`reffy sync` in a terminal or cron)
    "IndexMissing": 503,  # the server's library is not indexed yet: an operator runs `reffy index`
    "IndexStale": 503,
    "IndexIncomplete": 503,  # a killed build: an operator reruns `reffy index`
    "GoldOutdated": 503,  # gold built by an older Reffy: an operator runs `reffy build`, then `reffy index`
    "VectorIndexMismatch": 503,
    "KeywordIndexStale": 503,
}


def snake(name: str) -> str:
    """``LLMUnavailable`` -> ``llm_unavailable``, ``NotFound`` -> ``not_found``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_status(exc: ReffyError) -> int:
    for cls in type(exc).__mro__:
        if cls.__name__ in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls.__name__]
    return 400


def reffy_error_payload(exc: ReffyError) -> dict[str, Any]:
    """``{"error": {"code", "message"}}`` for a domain error; the code is the class name in snake case."""
    return error_body(snake(type(exc).__name__), str(exc) or type(exc).__name__)
