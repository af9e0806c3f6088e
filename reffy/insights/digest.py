"""The insights digest: themes of a period's questions with their demand, trend, answer and
thumbs-down rates, the strong stories that match each, gaps, and products and competitors named
in questions against the stories that cover them; rendered as Markdown or CSV for a weekly note.

:func:`build` is pure over its inputs (questions, an embedding function, a coverage function): the
service supplies the history rows, Reffy's embedder and the loaded library, and decides what an
audience may see.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reffy.insights import themes as th
from reffy.insights.questions import Question
from reffy.wording import plural

GAP_MIN_SHARE = 0.03  # a theme in demand holds at least this share of the period's questions ...
GAP_MIN_QUESTIONS = 5  # ... and at least this many
GAP_MAX_STRONG = 0  # ... and is a gap when at most this many strong stories match it
NAMED_SHARE = 0.5  # a theme is about a product or competitor that this share of its questions names
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Named:
    """A product or competitor of the vendor profile, with the names a question may use for it."""

    kind: str  # product / competitor
    name: str
    pattern: re.Pattern[str]


def named_things(vendor: Any) -> list[Named]:
    """Matchers for the vendor's products and competitors: the name and its aliases as whole words.
    A one-word product alias ("Flow", "Assist") is an everyday word, so only full names and
    multi-word aliases count for products (as the question parser reads them)."""
    out = []
    for kind, things, single in (("product", vendor.products, False), ("competitor", vendor.competitors, True)):
        for thing in things:
            names = [thing.name, *(a for a in thing.aliases if single or " " in a)]
            alternation = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
            out.append(Named(kind, thing.name, re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])", re.IGNORECASE)))
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _trend(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "none"
    change = (now - before) / before
    return f"{change:+.0%}"


def build(
    current: Sequence[Question],
    previous: Sequence[Question],
    *,
    embed: Callable[[list[str]], np.ndarray],
    coverage: Callable[[np.ndarray], list[dict[str, Any]]],
    named_stories: Callable[[str, str], list[dict[str, Any]]],
    named: Sequence[Named] = (),
    method: str = "ward-merge",
) -> dict[str, Any]:
    """Themes of ``current`` (compared with ``previous``, the period before). ``embed``: unit
    vectors for texts; ``coverage``: the strong stories matching a theme's centre (dicts with
    ``story_id``, ``title``, ``similarity``, ...); ``named_stories(kind, name)``: the strong stories
    that name this product or competitor (they match a theme most of whose questions name it)."""
    distinct: dict[str, int] = {}
    for q in current:
        distinct.setdefault(th.fold(q.text), len(distinct))
    texts = list(distinct)
    index_of = [distinct[th.fold(q.text)] for q in current]
    weights = Counter(index_of)
    weight_list = [weights[i] for i in range(len(texts))]
    vectors = embed(texts) if texts else np.zeros((0, 1), np.float32)
    clustering = th.cluster(vectors, weight_list, method=method) if texts else None
    labels = clustering.labels if clustering is not None else np.zeros(0, dtype=np.int64)
    centres = clustering.centres if clustering is not None else np.zeros((0, 1), np.float32)
    terms = th.ctfidf_terms(texts, labels.tolist(), weight_list) if texts else {}

    before_counts: Counter[int] = Counter()
    if previous and len(centres):
        before = list({th.fold(q.text): None for q in previous})
        before_labels = dict(zip(before, th.assign(embed(before), centres).tolist(), strict=True))
        before_counts = Counter(before_labels[th.fold(q.text)] for q in previous)

    total = len(current)
    themes: list[dict[str, Any]] = []
    for theme in range(len(centres)):
        members = [q for q, i in zip(current, index_of, strict=True) if labels[i] == theme]
        n = len(members)
        stories = coverage(centres[theme])
        about = [
            thing
            for thing in named
            if sum(1 for q in members if thing.pattern.search(q.text)) >= NAMED_SHARE * max(n, 1)
        ]
        seen = {s["story_id"] for s in stories}
        for thing in about:
            for story in named_stories(thing.kind, thing.name):
                if story["story_id"] not in seen:
                    seen.add(story["story_id"])
                    stories.append(story | {"similarity": None, "names": thing.name})
        strong = len(stories)
        demand = n >= GAP_MIN_QUESTIONS and n >= GAP_MIN_SHARE * total
        examples = [texts[i] for i in th.representatives(vectors, labels, centres, theme, EXAMPLES)]
        themes.append(
            {
                "theme": theme + 1,
                "label": ", ".join(terms.get(theme, [])[:3]) or examples[0],
                "terms": terms.get(theme, []),
                "examples": examples,
                "questions": n,
                "share": _rate(n, total),
                "people": len({q.user for q in members}),
                "previous": before_counts.get(theme, 0),
                "trend": _trend(n, before_counts.get(theme, 0)),
                "answer_rate": _rate(sum(not q.no_answer for q in members), n),
                "thumbs_down_rate": _rate(sum(q.thumbs_down for q in members), n),
                "strong_stories": strong,
                "stories": stories,
                "about": [thing.name for thing in about],
                "cohesion": round(th.cohesion(vectors, labels, centres, theme), 3),
                "gap": bool(demand and strong <= GAP_MAX_STRONG),
                "summary": None,
            }
        )
    themes.sort(key=lambda t: (-int(t["questions"]), int(t["theme"])))
    for rank, theme_row in enumerate(themes, 1):
        theme_row["theme"] = rank
    other = sum(1 for i in index_of if labels[i] < 0) if texts else 0

    mentions: Counter[tuple[str, str]] = Counter()
    people: dict[tuple[str, str], set[str]] = {}
    for q in current:
        for thing in named:
            if thing.pattern.search(q.text):
                mentions[(thing.kind, thing.name)] += 1
                people.setdefault((thing.kind, thing.name), set()).add(q.user)
    named_rows = [
        {
            "kind": kind,
            "name": name,
            "questions": n,
            "people": len(people[(kind, name)]),
            "strong_stories": len(named_stories(kind, name)),
        }
        for (kind, name), n in sorted(mentions.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return {
        "questions": total,
        "distinct_questions": len(texts),
        "people": len({q.user for q in current}),
        "previous_questions": len(previous),
        "themes": themes,
        "other_questions": other,
        "gaps": [t["theme"] for t in themes if t["gap"]],
        "named": named_rows,
        "clustering": {
            "method": clustering.method if clustering else method,
            "themes_tried": clustering.tried if clustering else {},
            "silhouette": clustering.silhouette if clustering else None,
        },
    }


# -- rendering -----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def markdown(digest: dict[str, Any]) -> str:
    """The digest as Markdown, to paste into a weekly note."""
    period = digest["period"]
    lines = [
        f"# What people asked: {period['since'][:10]} to {period['until'][:10]}",
        "",
        f"{plural(digest['questions'], 'question')} from {plural(digest['people'], 'person', 'people')} "
        f"({digest['previous_questions']:,} in the {plural(period['days'], 'day')} before); "
        f"{plural(len(digest['themes']), 'theme')}, {plural(digest['other_questions'], 'question')} in no theme.",
        "",
    ]
    if digest["themes"]:
        lines += [
            "| # | theme | questions | people | trend | answered | thumbs-down | strong stories | gap |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for t in digest["themes"]:
            label = t["label"] + (f" ({t['summary']})" if t.get("summary") else "")
            lines.append(
                f"| {t['theme']} | {label} | {t['questions']} | {t['people']} | {t['trend']} | "
                f"{_pct(t['answer_rate'])} | {_pct(t['thumbs_down_rate'])} | {t['strong_stories']} | "
                f"{'**gap**' if t['gap'] else ''} |"
            )
        lines.append("")
    gaps = [t for t in digest["themes"] if t["gap"]]
    if gaps:
        lines += ["## Gaps: asked often, few strong stories", ""]
        for t in gaps:
            lines.append(
                f"- **{t['label']}**: asked {plural(t['questions'], 'time')} by "
                f"{plural(t['people'], 'person', 'people')}; {plural(t['strong_stories'], 'strong story')}. "
                f"For example: “{t['examples'][0]}”"
            )
        lines.append("")
    if digest["named"]:
        lines += ["## Products and competitors named in questions", ""]
        for r in digest["named"]:
            lines.append(
                f"- {r['name']} ({r['kind']}): asked {plural(r['questions'], 'time')}; "
                f"{plural(r['strong_stories'], 'strong story')}"
            )
        lines.append("")
    review = digest.get("review") or {}
    if review:
        lines += [
            "## Review queue",
            "",
            f"{plural(review['items'], 'item')} ({plural(review['searches'], 'search')}, "
            f"{plural(review['answers'], 'answer')}): {review['no_answer']:,} found no strong story, "
            f"{review['thumbs_down']:,} got a thumbs-down, {review['removals']:,} had a citation or quote removed; "
            f"{review['reviewed']:,} reviewed.",
            "",
        ]
    cost = digest.get("llm") or {}
    if cost.get("model"):
        lines.append(
            f"Theme summaries by {cost['model']}: {cost['written']} written, {cost['cached']} cached, "
            f"{cost['failed']} failed, "
            f"${cost['cost_usd']:.4f}."
        )
    return "\n".join(lines).rstrip() + "\n"


THEME_COLUMNS = (
    "theme",
    "label",
    "summary",
    "questions",
    "share",
    "people",
    "previous",
    "trend",
    "answer_rate",
    "thumbs_down_rate",
    "strong_stories",
    "gap",
    "terms",
    "examples",
    "stories",
)


def theme_rows(digest: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per theme (lists joined), for tables and CSV."""
    rows = []
    for t in digest["themes"]:
        row = {c: t.get(c) for c in THEME_COLUMNS}
        row["terms"] = "; ".join(t["terms"])
        row["examples"] = " | ".join(t["examples"])
        row["stories"] = "; ".join(s.get("title") or s["story_id"][:12] for s in t["stories"])
        rows.append(row)
    return rows


def csv_text(digest: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(THEME_COLUMNS))
    writer.writeheader()
    writer.writerows(theme_rows(digest))
    return out.getvalue()
