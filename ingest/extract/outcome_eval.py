"""Precision of the offline extractor's outcome lines against a hand-labelled check set.

The set (``eval/outcome_lines.jsonl``, described in ``eval/README.md``) holds one labelled
*line* per row: a span of one story's text that an extractor displayed (or could have), and
whether it is an outcome: a measured change, or a figure with what it measures, achieved by
the customer (not a goal, not the challenge or baseline, not context, not commentary), that
reads as a whole statement (not a title, a heading or a cut-off fragment, nor glued to
another sentence). Rows::

    {"set": "demo" | "corpus", "split": "dev" | "heldout", "story": KEY, "start": 120, "end": 188,
     "sha": "3f9c0a1b2d4e", "outcome": true, "why": "change", "text": "..."}

The stories the set covers are every demo story and the corpus slugs listed in
``eval/outcome_stories.json`` (a fixed sample: ``dev`` was used while writing the rules,
``heldout`` only to measure them); every line displayed for them is counted, so a row is
needed for each. ``story`` is the demo library's catalogue key (``website/nordvik-bank.md``,
``exports/references.csv#REF-0102``) or a corpus slug. ``start``/``end`` are character offsets
into the story's text as Reffy reads it (the demo file through its source connector; a corpus
story's ``body``), from the first to the last letter or digit of the line. ``sha`` is the first
12 hex digits of the SHA-1 of the line's words (letters and digits, space-joined), so a changed
source is detected. Demo rows carry the line's ``text``; corpus rows never do (licence).

A displayed line is matched to a row by its span: the words of the line are looked up in the
story's words (markup, link targets and URLs left out), so the clean-up the extractor applies
does not matter. Precision counts displayed lines that have a row; recall counts labelled
outcomes that some displayed outcome line overlaps.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHECK_SET = REPO / "eval" / "outcome_lines.jsonl"
SAMPLE = REPO / "eval" / "outcome_stories.json"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "stories.jsonl"
DEMO_DIR = REPO / "data"

_WORD = re.compile(r"[^\W_]+")
_HIDDEN = re.compile(r"\]\([^)\s]*\)|https?://\S+|</?[a-zA-Z][^>]{0,200}>")


def _words(text: str) -> list[re.Match[str]]:
    """The letter-and-digit runs of ``text``, link targets, URLs and HTML tags left out
    (blanked to spaces of the same length, so offsets stay those of the text)."""
    if "](" in text or "http" in text or "<" in text:
        text = _HIDDEN.sub(lambda m: " " * len(m.group(0)), text)
    return list(_WORD.finditer(text))


def line_sha(line: str) -> str:
    """The short hash a row stores for its line: SHA-1 of its words, space-joined."""
    return hashlib.sha1(" ".join(m.group(0) for m in _words(line)).encode("utf-8")).hexdigest()[:12]


class StoryWords:
    """One story's words, for locating displayed lines in it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.matches = _words(text)
        self.joined = " ".join(m.group(0) for m in self.matches)
        # character position in ``joined`` -> index of the word starting there
        self._at: dict[int, int] = {}
        pos = 0
        for i, m in enumerate(self.matches):
            self._at[pos] = i
            pos += len(m.group(0)) + 1

    def locate(self, line: str) -> tuple[int, int] | None:
        """(start, end) of ``line`` in the text: from its first to its last word; None when
        its words do not occur in order."""
        words = [m.group(0) for m in _words(line.rstrip("…").rstrip("."))]
        if not words:
            return None
        needle = " ".join(words)
        at = self.joined.find(needle)
        while at >= 0:
            end_pos = at + len(needle)
            if at in self._at and (end_pos == len(self.joined) or self.joined[end_pos] == " "):
                first = self._at[at]
                last = first + len(words) - 1
                return self.matches[first].start(), self.matches[last].end()
            at = self.joined.find(needle, at + 1)
        return None

    def sha(self, start: int, end: int) -> str:
        return line_sha(self.text[start:end])


@dataclass
class Story:
    key: str
    set: str
    split: str  # demo, or corpus-<split> (dev, heldout1, heldout2)
    title: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    source_type: str = ""
    origin: str = ""


def load_rows(path: Path | str = CHECK_SET) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_sample(path: Path | str = SAMPLE) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def load_stories(
    sample: dict[str, Any] | None = None,
    *,
    corpus: Path | str = DEFAULT_CORPUS,
    data_dir: Path | str = DEMO_DIR,
    sets: Iterable[str] = ("demo", "corpus"),
) -> dict[tuple[str, str], Story]:
    """The stories of the sample (every demo story, the listed corpus slugs), keyed by
    (set, story), each with its ``split``; the corpus is left out when it is missing (it
    is not part of the repository)."""
    sample = sample if sample is not None else load_sample()
    out: dict[tuple[str, str], Story] = {}
    if "demo" in sets:
        from ingest.extract.evaluate import read_demo

        for key, s in read_demo(data_dir):
            out[("demo", key)] = Story(key, "demo", "demo", s.title, s.text, dict(s.meta), s.source_type, s.origin)
    split_of = {slug: split for split, slugs in sample.get("corpus", {}).items() for slug in slugs}
    if "corpus" in sets and split_of and Path(corpus).is_file():
        with Path(corpus).open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["slug"] in split_of:
                    out[("corpus", row["slug"])] = Story(
                        row["slug"], "corpus", f"corpus-{split_of[row['slug']]}", row.get("title") or "", row["body"]
                    )
    return out


def displayed_outcomes(story: Story, vendor=None) -> list[str]:
    """The outcome lines the offline scorer stores for a story (and cards, story pages and
    briefs display): :func:`ingest.extract.extract_metadata`'s ``outcomes``. Corpus stories
    are read as the corpus evaluation reads them: title and body, no metadata."""
    from ingest.extract import extract_metadata
    from reffy.models import StoryInput

    story_input = StoryInput(
        story_id=story.key,
        title=story.title,
        text=story.text,
        meta=story.meta,
        source_type=story.source_type,
        origin=story.origin,
    )
    return list(extract_metadata(story_input, vendor=vendor if story.set == "demo" else None).outcomes)


def evaluate(
    rows: list[dict[str, Any]], stories: dict[tuple[str, str], Story], extractor: Callable[[Story], list[str]]
) -> dict[str, Any]:
    """Precision and recall of ``extractor``'s lines over the stories of the set, per split.

    Returns counts per split (``demo``, ``corpus-dev``, ``corpus-heldout``) and overall, the
    displayed lines with no row (``unlabelled``: they need a label before the figure means
    anything), lines that could not be found in their story, rows whose text changed
    (``drift``) and rows naming a story that is not in the sample (``orphans``)."""
    by_story: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_story.setdefault((row["set"], row["story"]), []).append(row)
    drift: list[dict[str, Any]] = []
    unlocated: list[dict[str, Any]] = []
    unlabelled: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    counts: dict[str, dict[str, Any]] = {}
    orphans = [{"set": s, "story": k} for s, k in by_story if (s, k) not in stories and s in {x for x, _ in stories}]
    for skey, story in sorted(stories.items()):
        story_rows = by_story.get(skey, [])
        words = StoryWords(story.text)
        for row in story_rows:
            if words.sha(row["start"], row["end"]) != row["sha"]:
                drift.append({"story": row["story"], "start": row["start"], "end": row["end"]})
        c = counts.setdefault(
            story.split, {"stories": 0, "displayed": 0, "labelled": 0, "correct": 0, "positives": 0, "recalled": 0}
        )
        c["stories"] += 1
        labels = {(r["start"], r["end"]): r for r in story_rows}
        shown: list[tuple[int, int, bool]] = []
        for line in extractor(story):
            c["displayed"] += 1
            span = words.locate(line)
            if span is None:
                unlocated.append({"story": story.key, "line": line if story.set == "demo" else None})
                continue
            labelled = labels.get(span)
            if labelled is None:
                unlabelled.append(
                    {"set": story.set, "story": story.key, "start": span[0], "end": span[1], "sha": words.sha(*span)}
                )
                continue
            c["labelled"] += 1
            c["correct"] += bool(labelled["outcome"])
            shown.append((span[0], span[1], bool(labelled["outcome"])))
            if not labelled["outcome"]:
                wrong.append({"story": story.key, "start": span[0], "end": span[1], "why": labelled.get("why")})
        for row in story_rows:
            if not row["outcome"]:
                continue
            c["positives"] += 1
            hit = any(ok and s < row["end"] and row["start"] < e for s, e, ok in shown)
            c["recalled"] += hit
            if not hit:
                missed.append({"story": row["story"], "start": row["start"], "end": row["end"]})
    total = {
        k: sum(c[k] for c in counts.values())
        for k in ("stories", "displayed", "labelled", "correct", "positives", "recalled")
    }
    for c in [*counts.values(), total]:
        c["precision"] = round(c["correct"] / c["labelled"], 4) if c["labelled"] else None
        c["recall"] = round(c["recalled"] / c["positives"], 4) if c["positives"] else None
    return {
        "splits": counts,
        "total": total,
        "wrong": wrong,
        "missed": missed,
        "unlabelled": unlabelled,
        "unlocated": unlocated,
        "drift": drift,
        "orphans": orphans,
    }
