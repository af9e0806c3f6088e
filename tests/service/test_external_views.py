"""External views carry nothing internal, and a duplicate group's story is chosen per audience.

On the real demo library: Nordvik Bank's story exists as an internal blog post (the fullest
telling, so the group's canonical) and as its published twin on the website. Internal users
see the canonical, external users the twin - each sees the story once. No view handed to
the external audience (story page, card, explorer row, search hit, answer hit, MCP tool)
carries server paths, source record ids, versions, duplicates or analysts' overrides."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import DATA
from helpers import query

from reffy.auth import Role, User
from reffy.config import load_settings
from reffy.errors import NotFound
from reffy.service import ReffyService

VIEWER = User("pat", Role.viewer)
NORDVIK = "Nordvik Bank handling time per call"
INTERNAL_KEYS = (
    "source_uri",
    "source_record_id",
    "record_key",
    "group_key",
    "versions",
    "duplicates",
    "overrides",
    "withdrawn",
    "overridden",
    "shareability_reason",
)


@pytest.fixture
def svc(demo_settings) -> Iterator[ReffyService]:
    service = ReffyService(demo_settings)
    yield service
    service.close()


def nordvik(svc: ReffyService) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the internal canonical, its public twin) of Nordvik Bank's duplicate group."""
    docs = [d for d in svc.engine.docs if d.customer == "Nordvik Bank"]
    canonical = next(d for d in docs if d.audience == "internal")
    twin = next(d for d in docs if d.audience == "external")
    return canonical, twin


def leaks(value: Any, path: str = "") -> list[str]:
    """Where a view (dicts, lists, dataclasses) holds something internal: a server path in any
    string, or a value under an internal key (present but empty/null is fine)."""
    if hasattr(value, "to_dict"):  # a story card or page: its JSON form, as every adapter sends it
        value = value.to_dict()
    elif is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        found = [f"{path}.{k}" for k, v in value.items() if k in INTERNAL_KEYS and v not in (None, [], {})]
        return found + [x for k, v in value.items() for x in leaks(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [x for i, v in enumerate(value) for x in leaks(v, f"{path}[{i}]")]
    if isinstance(value, str) and ("file://" in value or str(DATA) in value):
        return [f"{path}: {value[:80]}"]
    return []


def test_the_public_twin_is_the_external_audiences_copy_of_an_internal_story(svc: ReffyService, demo_home: Path):
    canonical, twin = nordvik(svc)
    assert canonical.shareability == "internal" and twin.shareability == "public"
    assert canonical.source_uri.endswith("blog/nordvik-bank-handling-time.html")
    assert twin.source_uri.endswith("website/nordvik-bank.md")
    assert twin.source_link == "https://quillon.example/customers/nordvik-bank"
    rows = query(
        demo_home, "SELECT audience, shareability_reason FROM gold_stories WHERE story_id = ?", [twin.story_id]
    )
    assert rows == [("external", "source metadata; the public twin of an internal story")]

    for mode in ("keyword", "hybrid"):
        external = svc.search(NORDVIK, audience="external", mode=mode, k=10, log=False).hits
        internal = svc.search(NORDVIK, audience="internal", mode=mode, k=10, log=False).hits
        assert external[0].story_id == twin.story_id, mode  # before: the external user lost the story
        assert [h.customer for h in internal].count("Nordvik Bank") == 1 and internal[0].story_id == canonical.story_id
        assert [h.customer for h in external].count("Nordvik Bank") == 1
    # the explorer, its facets and the analysts' tables show each group once, per audience
    external_ids = {r.story_id for r in svc.stories(audience="external")}
    internal_ids = {r.story_id for r in svc.stories(audience="internal")}
    assert twin.story_id in external_ids and canonical.story_id not in external_ids
    assert canonical.story_id in internal_ids and twin.story_id not in internal_ids
    with pytest.raises(NotFound):
        svc.story(canonical.story_id, user=VIEWER)
    assert svc.story(twin.story_id, user=VIEWER).title == twin.title
    answer = svc.answer("Which Danish bank cut its call handling time?", user=VIEWER)
    assert twin.story_id in [c["story_id"] for c in answer.citations]


def test_external_views_carry_no_internal_annotations(svc: ReffyService) -> None:
    canonical, twin = nordvik(svc)
    page = svc.story(twin.story_id, user=VIEWER)
    assert page.text and page.criteria and page.source_link == twin.source_link
    assert page.duplicates == page.versions == page.overrides == ()
    assert not {"source_uri", "source_record_id", "record_key", "audience", "group_key"} & set(page.to_dict())
    assert all(
        set(c) <= {"id", "name", "dimension", "dimension_name", "points", "max_points", "evidence"}
        for c in page.to_dict()["criteria"]
    )
    assert not any(c.withdrawn or c.overridden for c in page.criteria)
    assert page.criteria[0].name == "Customer named"  # people's words for viewers too
    assert not leaks(page)
    # the same page for the internal audience keeps them: the projection is the audience's, not the story's
    inside = svc.story(twin.story_id, audience="internal")
    assert inside.source_uri.startswith("file://") and inside.versions and inside.duplicates
    assert svc.story(canonical.story_id).duplicates[0]["source_uri"].endswith("website/nordvik-bank.md")

    assert not leaks(svc.card(twin.story_id, user=VIEWER))
    assert not leaks(svc.stories(user=VIEWER))
    result = svc.search(NORDVIK, user=VIEWER, k=10, log=False)
    assert result.hits and all(h.source_uri is None and h.source_record_id is None for h in result.hits)
    assert not leaks(result.hits)
    answer = svc.answer("Which Danish bank cut its call handling time?", user=VIEWER)
    assert answer.hits and not leaks(answer.hits) and not leaks(answer.citations)
    # members asking for the external audience get the external view too
    assert "source_uri" not in svc.story(twin.story_id, user=User("mo", Role.member), audience="external").to_dict()


def test_an_override_is_never_shown_to_the_external_audience(demo_settings) -> None:
    svc = ReffyService(demo_settings)
    try:
        story = next(d for d in svc.engine.docs if d.customer == "Greystone Building Society")
        svc.set_override(
            story.story_id,
            "customer",
            "Greystone BS",
            author="ida.kovac@quillon.example",
            reason="legal asked: never say Building Society to prospects",
        )
        svc.build()
        svc.index()
        story_id = next(d.story_id for d in svc.engine.docs if d.customer == "Greystone BS")
        inside = svc.story(story_id)
        assert inside.overrides[0]["author"].startswith("ida.kovac") and "legal" in inside.overrides[0]["reason"]
        page = svc.story(story_id, user=VIEWER)
        assert page.customer == "Greystone BS" and page.overrides == ()
        shown = json.dumps(page.to_dict())
        assert "legal asked" not in shown and "ida.kovac" not in shown and not leaks(page)
    finally:
        svc.close()


def test_revoking_the_canonical_withdraws_the_whole_group_from_external(demo_home: Path) -> None:
    """An analyst who makes the story internal (on the copy they see, the canonical) withdraws
    its public twin too; making the twin internal withdraws only the twin."""
    settings = load_settings(home=demo_home, vendor_path=DATA / "vendor.yaml")
    svc = ReffyService(settings)
    try:
        canonical, twin = nordvik(svc)
        svc.set_override(twin.story_id, "shareability", "internal", author="ida", reason="withdrawn")
        svc.build()
        assert query(demo_home, "SELECT count(*) FROM gold_stories WHERE customer = 'Nordvik Bank'")[0][0] == 1
        svc.remove_override(twin.story_id, "shareability")
        svc.set_override(canonical.story_id, "shareability", "internal", author="ida", reason="withdrawn")
        svc.build()
        rows = query(demo_home, "SELECT shareability, audience FROM gold_stories WHERE customer = 'Nordvik Bank'")
        assert rows == [("internal", "all")]
    finally:
        svc.close()


def test_mcp_tools_give_viewers_the_external_view(svc: ReffyService) -> None:
    from mcp import Client

    from reffy.mcp_server import build_server

    _, twin = nordvik(svc)
    token = svc.create_token("agent", Role.viewer)

    async def main() -> tuple[Any, Any, Any]:
        async with Client(build_server(svc, token=token)) as client:
            found = await client.call_tool("search_stories", {"query": NORDVIK, "k": 5})
            page = await client.call_tool("get_story", {"story_id": twin.story_id})
            answer = await client.call_tool("ask", {"question": "Which Danish bank cut its call handling time?"})
            return found, page, answer

    found, page, answer = anyio.run(main)
    assert found.structured_content["hits"][0]["story_id"] == twin.story_id
    for result in (found, page, answer):
        assert not result.is_error and not leaks(result.structured_content), result.structured_content
    assert page.structured_content["source_link"] == twin.source_link


def test_a_library_built_before_per_audience_rows_still_searches(demo_home: Path, tmp_path: Path) -> None:
    """An index whose cards have no audience (built by an older Reffy) is searched as before."""
    home = tmp_path / "old"
    shutil.copytree(demo_home, home)
    docs_path = home / "index" / "docs.json"
    docs = [{k: v for k, v in d.items() if k != "audience"} for d in json.loads(docs_path.read_text())]
    docs_path.write_text(json.dumps(docs))
    svc = ReffyService(load_settings(home=home, vendor_path=DATA / "vendor.yaml"))
    try:
        assert not svc.engine.per_audience
        assert svc.search(NORDVIK, audience="internal", mode="keyword", k=3, log=False).hits
    finally:
        svc.close()
