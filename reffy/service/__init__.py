"""The one API every adapter (CLI, app, REST API, MCP server) calls.

It composes the backends and owns no SQL, parsing or ranking of its own; adapters own no logic
beyond presenting what it returns. The operations live by concern in this package (library,
search, stories, answers, identity, analytics, sources, insights), each a mixin over :class:`ServiceBase`; every
method takes the acting user and decides its permission itself.
"""

from __future__ import annotations

from reffy.service.analytics import AnalyticsOps
from reffy.service.identity import IdentityOps
from reffy.service.insights import InsightOps
from reffy.service.sources import SourceOps

__all__ = ["ReffyService"]


class ReffyService(SourceOps, InsightOps, AnalyticsOps, IdentityOps):  # sources -> library; insights -> answers
    """Reffy's operations over one ``REFFY_HOME``. One instance per process; thread-safe."""
