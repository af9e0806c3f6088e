"""Reffy's REST API (FastAPI): ``create_app(service)``; run it with ``reffy serve``.

``create_app`` is imported lazily so the framework-free parts (``reffy.api.schemas``,
``reffy.api.errors``) serve the MCP server without importing FastAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reffy.service import ReffyService

__all__ = ["create_app"]


def create_app(service: ReffyService | None = None, *, warm: bool = False) -> Any:
    from reffy.api.app import create_app as _create_app

    return _create_app(service, warm=warm)
