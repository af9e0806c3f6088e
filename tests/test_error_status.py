"""Every domain error the network adapters can meet maps to the HTTP status that tells a client
whose move it is: the caller's (4xx) or the operator's (503), never a default that blames the
caller for a server that needs `reffy index`."""

from __future__ import annotations

import pytest

from reffy.api.errors import error_status
from reffy.errors import AmbiguousId, ConfigError, JobRunning, NotFound, PermissionDenied, WarehouseLocked
from reffy.llm import LLMError, LLMInputError, LLMUnavailable
from reffy.retrieval.filter_values import UnknownFilterValue
from reffy.retrieval.indexer import GoldOutdated, IndexIncomplete
from reffy.retrieval.layout import IndexMissing, IndexStale


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConfigError, 400),
        (UnknownFilterValue, 400),
        (AmbiguousId, 400),
        (LLMInputError, 400),
        (PermissionDenied, 403),
        (NotFound, 404),
        (JobRunning, 409),
        (LLMError, 502),
        (LLMUnavailable, 502),
        (WarehouseLocked, 503),
        (IndexMissing, 503),
        (IndexStale, 503),
        (IndexIncomplete, 503),
        (GoldOutdated, 503),
    ],
)
def test_each_error_has_the_status_of_whoever_must_act(error: type, status: int) -> None:
    exc = error.__new__(error)
    Exception.__init__(exc, "message")
    assert error_status(exc) == status
