"""Domain errors, all of them. Every message says what went wrong *and* how to fix it.

Adapters translate these once: the CLI exits with ``exit_code`` and prints the message; the REST
API and the MCP server answer ``http_status`` (the caller's move: 4xx; the operator's: 503; a
provider's failure: 502). Core code raises them instead of returning sentinels, and never
swallows unexpected exceptions. Subclasses inherit both numbers unless they set their own.
"""

from __future__ import annotations


class ReffyError(Exception):
    """Base class for errors a user can act on. ``for_operators``: the fix is for whoever runs
    Reffy (a command, a setting, a file), so an app shows people who cannot act on it a plain
    "not available" instead, and the details on Library status."""

    exit_code = 1
    http_status = 400
    for_operators = False


# -- the caller's move (4xx) -----------------------------------------------------------------
class ConfigError(ReffyError):
    """A setting or an argument is missing or invalid."""

    exit_code = 2


class UnknownFilterValue(ConfigError):
    """A filter value that names nothing in this library (the message lists the valid ones)."""


class NotExportable(ConfigError):
    """A model directory the ONNX runtime cannot reproduce exactly (use sentence-transformers)."""


class SourceNotFound(ReffyError):
    """An ingest source (path, URL) does not exist or is not understood."""

    exit_code = 2


class OverrideError(ReffyError):
    """A correction names no story, field or value that exists (the message lists the valid ones)."""

    exit_code = 2


class NotFound(ReffyError):
    """A story, conversation or message does not exist (or is not visible to this user/audience)."""

    exit_code = 3
    http_status = 404


class AmbiguousId(ReffyError):
    """A shortened id (a prefix) names more than one thing; the message lists them."""

    exit_code = 2


class PermissionDenied(ReffyError):
    """The user's role does not allow this operation."""

    exit_code = 4
    http_status = 403


class Unauthorized(PermissionDenied):
    """No valid token where the library requires one."""

    http_status = 401


class JobRunning(ReffyError):
    """A background pipeline run is already going; a second one would fight it for the warehouse."""

    http_status = 409


class SyncRunning(ReffyError):
    """Another `reffy sync` (or a source removal) holds the sync lock; two would fight over the
    same pages and the same warehouse. The message names its process and when it started."""

    exit_code = 5
    http_status = 409


# -- the operator's move (503): a command or a file on the server ------------------------------
class WarehouseError(ReffyError):
    """The DuckDB warehouse cannot be opened or migrated."""

    http_status = 503
    for_operators = True


class WarehouseLocked(WarehouseError):
    """Another Reffy process holds the write lock on the warehouse; retry shortly."""


class IndexMissing(ReffyError):
    """No search index yet: `reffy index`."""

    http_status = 503
    for_operators = True


class IndexStale(ReffyError):
    """The index was built with other settings than the current ones."""

    http_status = 503
    for_operators = True


class IndexIncomplete(ReffyError):
    """The vector store does not hold what gold needs (a killed or failed build): rerun `reffy index`."""

    http_status = 503
    for_operators = True


class KeywordIndexStale(ReffyError):
    """A saved keyword index was built by another tokenizer or format: it must be rebuilt."""

    http_status = 503
    for_operators = True


class VectorIndexMismatch(ReffyError):
    """Vectors do not fit the collection (another embedding model built it)."""

    http_status = 503
    for_operators = True


class GoldOutdated(ReffyError):
    """Gold was built before it carried every column search reads: `reffy build`, then `reffy index`."""

    http_status = 503
    for_operators = True


# -- the LLM provider's failure (502) -----------------------------------------------------------
class LLMError(ReffyError):
    """The provider cannot serve requests as configured (key, model, URL): stop and fix settings."""

    http_status = 502

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts  # requests sent before giving up


class LLMUnavailable(LLMError):
    """Transient failures (rate limits, 5xx, network) outlasted every retry."""


class LLMUnreachable(LLMUnavailable):
    """Nothing answers at the LLM's address (connection refused, no such host): not retried,
    since a server that is not running does not start between two attempts."""


class LLMTimeout(LLMUnavailable):
    """The LLM did not answer within REFFY_LLM_TIMEOUT_S, twice."""


class LLMInputError(LLMError):
    """The provider refused this particular input (too long, content policy); others may pass."""

    http_status = 400
