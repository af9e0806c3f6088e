"""Short story ids: the 12-character prefix people see, accepted wherever a full id is.

A story id is a 64-character content hash; the CLI prints its first :data:`SHORT` characters
and every adapter accepts any unambiguous prefix of at least :data:`MIN_PREFIX`. This module
is the one place that decides what a prefix means: :func:`resolve_prefix` picks the single
candidate a prefix names, or refuses with the candidates listed (ambiguous) or with how to
find ids (unknown). Callers pass only the ids the caller may see, so a prefix can never
reveal that a story outside the caller's audience exists: the service passes the stories of
the caller's audience, the override command the library's current records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from reffy.errors import AmbiguousId, NotFound

SHORT = 12  # characters of a story id the CLI prints
MIN_PREFIX = 1  # any prefix: candidates come from the caller's audience, so none tells more than a search
MAX_LISTED = 8  # candidates named in an "ambiguous" message
HOW_TO_FIND = (
    "Story ids come with search results (`story_id`; its first 12 characters are enough): search for "
    "the story to find its id."
)
_HEX = re.compile(r"[0-9a-fA-F]+")


def short(story_id: str) -> str:
    """The id as the CLI prints it."""
    return story_id[:SHORT]


def is_prefix(ref: str) -> bool:
    """Whether ``ref`` can be the start of a story id (hex digits, long enough)."""
    return len(ref) >= MIN_PREFIX and _HEX.fullmatch(ref) is not None


def distinct_prefixes(ids: Iterable[str], least: int = SHORT) -> dict[str, str]:
    """{id: its shortest prefix of at least ``least`` characters that no other id starts with}."""
    ids = sorted(set(ids))
    out = {}
    for i, value in enumerate(ids):
        n = least
        for other in (ids[i - 1] if i else "", ids[i + 1] if i + 1 < len(ids) else ""):
            common = next(
                (k for k, (a, b) in enumerate(zip(value, other, strict=False)) if a != b), min(len(value), len(other))
            )
            n = max(n, common + 1)
        out[value] = value[:n]
    return out


def resolve_prefix(
    ref: str,
    ids: Iterable[str],
    *,
    label: Callable[[str], str] | None = None,
    what: str = "story",
    scope: str = "",
    hint: str = HOW_TO_FIND,
) -> str:
    """The one id in ``ids`` that ``ref`` is (exactly) or starts (an unambiguous prefix).

    ``label`` names a candidate in the ambiguous message (e.g. its title); ``scope`` says where
    it was looked for ("for the external audience") and ``hint`` how to find ids, in the not-found
    message. Raises :class:`AmbiguousId` listing the candidates, or :class:`NotFound`."""
    ref = ref.strip()
    pool = set(ids)
    if ref in pool:
        return ref
    matches = sorted(i for i in pool if i.startswith(ref.lower())) if is_prefix(ref) else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = distinct_prefixes(matches)
        listed = "; ".join(shown[m] + (f" ({label(m)})" if label else "") for m in matches[:MAX_LISTED])
        more = f"; and {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else ""
        raise AmbiguousId(
            f"{ref!r} is the start of {len(matches)} {what} ids: {listed}{more}. Give more characters of the id."
        )
    raise NotFound(f"No {what} {ref!r} in this library{f' ({scope})' if scope else ''}. {hint}")
