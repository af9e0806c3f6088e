"""Domain errors. Every message says what went wrong *and* how to fix it.

Adapters translate these once (CLI: exit code + message); core code raises them
instead of returning sentinels, and never swallows unexpected exceptions.
"""


class ReffyError(Exception):
    """Base class for errors a user can act on. ``for_operators``: the fix is for whoever runs
    Reffy (a command, a setting, a file), so an app shows people who cannot act on it a plain
    "not available" instead, and the details on Library status."""

    exit_code = 1
    for_operators = False


class ConfigError(ReffyError):
    """A setting is missing or invalid."""

    exit_code = 2


class SourceNotFound(ReffyError):
    """An ingest source (path, URL) does not exist or is not understood."""

    exit_code = 2


class WarehouseError(ReffyError):
    """The DuckDB warehouse cannot be opened or migrated."""

    for_operators = True


class WarehouseLocked(WarehouseError):
    """Another Reffy process holds the write lock on the warehouse."""


class NotFound(ReffyError):
    """A story, conversation or message does not exist (or is not visible to this user/audience)."""

    exit_code = 3


class AmbiguousId(ReffyError):
    """A shortened id (a prefix) names more than one thing; the message lists them."""

    exit_code = 2


class PermissionDenied(ReffyError):
    """The user's role does not allow this operation."""

    exit_code = 4


class JobRunning(ReffyError):
    """A background pipeline run is already going; a second one would fight it for the warehouse."""

    exit_code = 1


class SyncRunning(ReffyError):
    """Another `reffy sync` (or a source removal) holds the sync lock; two would fight over the
    same pages and the same warehouse. The message names its process and when it started."""

    exit_code = 5
