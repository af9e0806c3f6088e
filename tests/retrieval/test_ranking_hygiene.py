"""Keyword stuffing does not buy rank: a public story that repeats the words people search for
stays out of the top three of unrelated searches, and is still found by its own name."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from reffy.config import load_settings
from reffy.retrieval.repetition import repetitive, windows, without_repetition
from reffy.service import ReffyService

DATA = Path(__file__).resolve().parents[2] / "data"

# Twenty searches a sales team runs against the demo library; none is about the stuffed story.
QUERIES = [
    "bank that cut call handling time",
    "insurer that automated claims",
    "retailer that replaced Zentrix",
    "hospital patient access",
    "telecom operator that reduced churn",
    "energy company outage calls",
    "public sector council citizen services",
    "airline customer service automation",
    "logistics company tracking",
    "university student support chatbot",
    "media group subscriptions",
    "grocery retailer customer care",
    "manufacturing company field service",
    "credit union member service",
    "contact centre cost reduction",
    "self-service voice bot for utilities",
    "healthcare provider appointment booking",
    "insurance company in Switzerland",
    "fashion retailer in Poland",
    "freight company in Europe",
]

NATURAL = (
    "Acme Widgets makes industrial fasteners in Leeds. Its order desk took 2,000 calls a week and customers "
    "waited nine minutes on average. With Quillon Converse answering order-status questions in chat, waiting "
    'time fell to under a minute and the desk now handles 40% more orders with the same team. "We finally '
    'answer every customer the same day," said Jo Park, head of operations at Acme Widgets.'
)


def stuffing(seed: int = 7, words: int = 700) -> str:
    """What a keyword stuffer writes: the words of popular searches, shuffled and repeated."""
    vocab = sorted({w.strip(",.").lower() for q in QUERIES for w in q.split() if len(w) > 3})
    rng = random.Random(seed)
    return " ".join(rng.choice(vocab) for _ in range(words))


def test_prose_is_untouched_and_stuffing_removed() -> None:
    prose = (DATA / "website" / "nordvik-bank.md").read_text()
    assert without_repetition(prose) == prose
    assert not any(repetitive(w) for w in windows(prose, 300))
    stuffed = f"{NATURAL}\n\n{stuffing()}\n\n{NATURAL}"
    cleaned = without_repetition(stuffed)
    assert len(cleaned) < len(stuffed) / 2
    assert "Acme Widgets makes industrial fasteners" in cleaned  # the story itself is kept
    assert "".join(windows(stuffed)) == stuffed  # windows cover the text exactly


def test_no_real_story_loses_a_window(corpus_path: Path) -> None:
    """The thresholds' margin, on 1,483 published case studies: no story or summary loses text,
    and pieces of chunk size (300-1,200 characters) are taken for stuffing at most 1 in 10,000."""
    dropped, pieces, flagged = [], 0, 0
    with corpus_path.open(encoding="utf-8") as lines:
        for line in lines:
            story = json.loads(line)
            for field in ("body", "summary"):
                text = story.get(field) or ""
                if without_repetition(text) != text:
                    dropped.append((story["slug"], field))
            for size in (300, 600, 1200):
                for piece in windows(story.get("body") or "", size):
                    pieces += 1
                    flagged += without_repetition(piece) != piece
    assert dropped == []
    assert flagged <= pieces / 10_000, (flagged, pieces)


def library_with(home: Path, folder: Path, body: str) -> tuple[ReffyService, str]:
    """The demo library plus one public story with ``body``; returns the service and its id."""
    folder.mkdir()
    (folder / "acme-widgets.md").write_text(
        "---\ntitle: Acme Widgets answers every customer the same day\ncustomer: Acme Widgets\nindustry: manufacturing\n"
        f"country: GB\nproducts: [Quillon Converse]\nshareability: public\n---\n\n{body}\n",
        encoding="utf-8",
    )
    svc = ReffyService(load_settings(home=home, vendor_path=DATA / "vendor.yaml"))
    svc.ingest([str(folder)])
    svc.score()
    svc.build()
    svc.index()
    own = svc.search("Acme Widgets", k=3, audience="external")
    assert own.hits and own.hits[0].customer == "Acme Widgets"  # in gold, public, found by its name
    return svc, own.hits[0].story_id


def top3_for(svc: ReffyService, story_id: str) -> set[str]:
    return {q for q in QUERIES if story_id in [h.story_id for h in svc.search(q, k=3, audience="external").hits]}


def test_stuffing_buys_no_rank(demo_library: Path, tmp_path: Path) -> None:
    """The same story with and without popular terms stuffed in, each added to a copy of the demo
    library: the stuffed one reaches the top three of no search the plain one does not. (A short
    story about customer service is near the top of a few of these by its own words, in a library
    of a few dozen public stories; the premise checks that most searches are unrelated to it.)"""
    tops = {}
    for name, body in (
        ("plain", f"{NATURAL}\n\n{NATURAL}"),
        ("stuffed", f"{NATURAL}\n\n{stuffing(1)}\n\n{stuffing(2)}\n\n{NATURAL}"),
    ):
        home = tmp_path / name / "home"
        shutil.copytree(demo_library, home)
        svc, story_id = library_with(home, tmp_path / name / "source", body)
        tops[name] = top3_for(svc, story_id)
        svc.close()
    assert len(tops["plain"]) <= 5, tops["plain"]
    assert tops["stuffed"] <= tops["plain"], tops["stuffed"] - tops["plain"]
