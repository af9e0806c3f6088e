"""Every domain error the network adapters can meet maps to the HTTP status that tells a client
whose move it is: the caller's (4xx) or the operator's (503), never a default that blames the
caller for a server that needs `reffy index`."""

from __future__ import annotations

import pytest

from reffy.api.errors import error_status
from reffy.errors import (
    AmbiguousId,
    ConfigError,
    GoldOutdated,
    IndexIncomplete,
    IndexMissing,
    IndexStale,
    JobRunning,
    LLMError,
    LLMInputError,
    LLMUnavailable,
    NotFound,
    PermissionDenied,
    UnknownFilterValue,
    WarehouseLocked,
)


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


def test_every_domain_error_is_declared_in_one_module() -> None:
    """A ReffyError defined elsewhere would escape the statuses and exit codes declared here;
    the LLM scorer's per-story failure is the one exception (it is also the pipeline's own
    ScoringFailure, which the shared error module cannot import)."""
    import ast
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    errors = {"ReffyError"} | {
        node.name
        for node in ast.walk(ast.parse((repo / "reffy/errors.py").read_text()))
        if isinstance(node, ast.ClassDef)
    }
    elsewhere = []
    for path in [*repo.glob("reffy/**/*.py"), *repo.glob("ingest/**/*.py")]:
        if path.name == "errors.py" and path.parent.name == "reffy":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in errors for b in node.bases):
                elsewhere.append(f"{path.relative_to(repo)}:{node.name}")
    assert elsewhere == ["ingest/scoring/llm.py:ScoringFailed"]


def test_each_status_is_a_class_attribute_a_subclass_inherits() -> None:
    from reffy import errors

    assert errors.LLMTimeout.http_status == errors.LLMError.http_status == 502
    assert errors.UnknownFilterValue.exit_code == errors.ConfigError.exit_code == 2
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.ReffyError):
            assert cls.http_status in (400, 401, 403, 404, 409, 502, 503) and cls.exit_code in (1, 2, 3, 4, 5), name
