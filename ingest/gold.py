"""Gold: the curated library that search and answers read.

One row per story (duplicate group, canonical version) whose rubric total, after analysts'
overrides, reaches ``gold_min_score`` and that is a customer story: a page that is an
announcement or an event post with no outcome, or that has neither a customer nor a result
(:func:`ingest.extract.kind.not_a_story`), is kept out and listed in ``gold_held`` with the
reason (an analyst's ``gold`` override, ``include`` or ``exclude``, wins over the rule). Plus,
for a group whose canonical is internal, its public twin (``ingest.dedup.public_twins``) when
it is public and strong enough itself. Each row says which audience it is the group's story
for (``audience``): ``all``, or ``internal`` (the canonical) and ``external`` (its twin), so
each audience sees the group once - the external one through its published copy instead of
not at all. Each row keeps both kinds of metadata (source metadata as ingested, extracted
metadata as scored), the score breakdown with evidence,
the shareability decision and why, and a ``summary`` written for retrieval: customer,
industry, country, challenge, solution, outcomes and the best quote, in that order, so the
facts people search by sit inside the embedding model's window. Bodies are split into
overlapping chunks for passage retrieval. A build replaces gold in one transaction.

Size: one build (silver rows in, gold rows, chunks and the kept-out lists out) whose steps share the
rows they read; split, they would pass a dozen tables between modules.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from ingest import shareability
from ingest.dedup import INHERITED_OVERRIDES, public_twins
from ingest.overrides import overrides_by_record
from reffy.config import Settings
from reffy.domain.country import country_name
from reffy.domain.industry import META_KEYS
from reffy.models import utcnow
from reffy.rubric import Rubric, Taxonomy
from reffy.store.warehouse import open_warehouse
from reffy.wording import Said

CHUNKER_VERSION = "recursive-v1"
ABSTRACT_KEYS = ("summary", "abstract", "description", "excerpt")
LINK_KEYS = ("link", "url", "canonical_url", "source_url")


# The columns of gold_stories, in table order, with their SQL types (JSON ones sent as text).
_STORIES_COLUMNS = (
    ("story_id", "VARCHAR"),
    ("record_key", "VARCHAR"),
    ("group_key", "VARCHAR"),
    ("title", "VARCHAR"),
    ("customer", "VARCHAR"),
    ("country", "VARCHAR"),
    ("industry", "VARCHAR"),
    ("products", "VARCHAR"),
    ("competitors", "VARCHAR"),
    ("quotes", "VARCHAR"),
    ("outcomes", "VARCHAR"),
    ("shareability", "VARCHAR"),
    ("shareability_reason", "VARCHAR"),
    ("score", "INTEGER"),
    ("score_breakdown", "VARCHAR"),
    ("scorer_key", "VARCHAR"),
    ("rubric_version", "VARCHAR"),
    ("source_type", "VARCHAR"),
    ("source_uri", "VARCHAR"),
    ("source_record_id", "VARCHAR"),
    ("source_link", "VARCHAR"),
    ("source_meta", "VARCHAR"),
    ("duplicates", "VARCHAR"),
    ("year", "INTEGER"),
    ("tags", "VARCHAR"),
    ("summary", "VARCHAR"),
    ("text", "VARCHAR"),
    ("overridden_fields", "VARCHAR"),
    ("intro", "VARCHAR"),
    ("industry_name", "VARCHAR"),
    ("country_name", "VARCHAR"),
    ("industry_label", "VARCHAR"),
    ("chunker", "VARCHAR"),
    ("built_at", "TIMESTAMPTZ"),
    ("audience", "VARCHAR"),  # last: a twin's placement rewrites it
)
_STORIES_INSERT = "INSERT INTO gold_stories ({}) SELECT {}".format(
    ", ".join(name for name, _ in _STORIES_COLUMNS), ", ".join(f"unnest(?::{kind}[])" for _, kind in _STORIES_COLUMNS)
)


@dataclass(slots=True)
class GoldSummary:
    candidates: int = 0
    unscored: int = 0
    below_threshold: int = 0
    not_stories: int = 0  # at or above the threshold but not customer stories (see gold_held)
    stories: int = 0
    chunks: int = 0
    public: int = 0
    internal: int = 0
    fallback_offline: int = 0
    public_twins: int = 0  # published copies serving the external audience for an internal canonical
    duration_s: float = 0.0
    scorer_key: str = ""
    min_score: int = 0


def _facts(meta: dict[str, Any], industry_name: str | None) -> str:
    facts = []
    if meta.get("customer"):
        facts.append(f"Customer: {meta['customer']}")
    if industry_name:
        facts.append(f"Industry: {industry_name}")
    if country := country_name(meta.get("country")):
        facts.append(f"Country: {country}")
    if meta.get("products"):
        facts.append("Products: " + ", ".join(meta["products"]))
    return " | ".join(facts)


def abstract_of(source_meta: dict[str, Any]) -> str | None:
    """The source's own abstract (a summary, description or excerpt field), if it has one."""
    return next(
        (
            str(source_meta[k]).strip()
            for k in ABSTRACT_KEYS
            if isinstance(source_meta.get(k), str) and len(source_meta[k]) > 40
        ),
        None,
    )


def opening(text: str, min_chars: int = 400, max_chars: int = 900) -> str:
    """The story's opening paragraphs (headings, tables and list markers skipped): where a
    write-up says who the customer is and what it did, before the details."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para or para.startswith(("#", "|")):
            continue
        out.append(re.sub(r"^[-*]\s+", "", para))
        if sum(map(len, out)) >= min_chars:
            break
    lead = " ".join(out)
    if len(lead) <= max_chars:
        return lead
    cut = lead[:max_chars]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > min_chars // 2 else cut


def build_intro(
    title: str, meta: dict[str, Any], source_meta: dict[str, Any], industry_name: str | None, text: str
) -> str:
    """How the story introduces itself, for its second profile vector: title, facts, then its
    abstract or, when the source has none, its opening paragraphs. Unlike the summary it carries
    no extracted sentences, which are noisy when no LLM wrote them."""
    facts = _facts(meta, industry_name)
    return "\n".join(x for x in (title.strip(), facts, abstract_of(source_meta) or opening(text)) if x)


def build_summary(title: str, meta: dict[str, Any], source_meta: dict[str, Any], industry_name: str | None) -> str:
    """The text that gets embedded: the facts first, then the story's own abstract, if any."""
    facts = _facts(meta, industry_name)
    lines = [title.strip()]
    if facts:
        lines.append(facts)
    abstract = abstract_of(source_meta)
    if abstract:
        lines.append(abstract)
    said = Said()  # no sentence twice: the challenge is not an outcome, an outcome not the solution
    for label, key in (("Challenge", "challenge"), ("Solution", "solution")):
        if meta.get(key) and said.new(meta[key]):
            said.say(meta[key])
            lines.append(f"{label}: {meta[key]}")
    outcomes = []
    for outcome in meta.get("outcomes") or []:
        if said.new(outcome):
            said.say(outcome)
            outcomes.append(outcome)
    if outcomes:
        lines.append("Outcomes: " + "; ".join(outcomes[:4]))
    if meta.get("competitors"):
        lines.append("Alternatives: " + ", ".join(meta["competitors"]))
    quotes = meta.get("quotes") or []
    best = next((q for q in quotes if q.get("speaker") and q.get("role")), None) or (quotes[0] if quotes else None)
    if best:
        who = ", ".join(x for x in (best.get("speaker"), best.get("role")) if x)
        lines.append(f'Quote: "{best["text"]}"' + (f" ({who})" if who else ""))
    return "\n".join(lines)


def _why_not_a_story(
    meta: dict[str, Any], breakdown: list[dict[str, Any]], title: str, text: str, decision: str | None
) -> str | None:
    """Why a story that reached the threshold stays out of gold, or None. An analyst's ``gold``
    override decides when there is one; otherwise :func:`ingest.extract.kind.not_a_story`."""
    if decision == "include":
        return None
    if decision == "exclude":
        return "kept out by an analyst"
    from ingest.extract.kind import not_a_story

    described = any(r["criterion_id"] == "customer_named" and r["points"] > 0 for r in breakdown)
    return not_a_story(
        meta.get("title") or title,
        text,
        customer=meta.get("customer"),
        described_customer=described,
        outcomes=meta.get("outcomes") or [],
        names=meta.get("products") or [],
    )


def chunk_text(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """(start offset, chunk) pairs from LangChain's recursive splitter."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=min(overlap, size // 2), add_start_index=True
    )
    return [(doc.metadata.get("start_index", 0), doc.page_content) for doc in splitter.create_documents([text])]


def _source_industry(source_meta: dict[str, Any]) -> str | None:
    """The source's own industry label (``industry: e-commerce``), kept beside the taxonomy value
    it was mapped to: a filter on the label finds the stories mapped from it."""
    return next(
        (str(source_meta[k]) for k in META_KEYS if isinstance(source_meta.get(k), str) and source_meta[k].strip()), None
    )


def _year(meta: dict[str, Any]) -> int | None:
    for key in ("year", "published", "date", "published_at", "created"):
        value = meta.get(key)
        if value is None:
            continue
        text = str(value)
        if text[:4].isdigit() and 1990 <= int(text[:4]) <= 2100:
            return int(text[:4])
    return None


def _tags(meta: dict[str, Any]) -> list[str]:
    tags = meta.get("tags") or meta.get("keywords") or []
    if isinstance(tags, str):
        tags = [t for t in (p.strip() for p in tags.replace(";", ",").split(",")) if t]
    return [str(t) for t in tags if "=" not in str(t)]


def _silver(con, scorer_key: str, prompt_version: str, rubric: Rubric) -> dict[str, tuple[list[dict], dict]]:
    """story_id -> (criterion rows for the active rubric, metadata), only complete ones."""
    wanted = {(c.id, c.hash) for c in rubric.criteria}
    rows: dict[str, list[dict]] = {}
    for sid, cid, chash, pts, mx, ev, found, claimed in con.execute(
        "SELECT story_id, criterion_id, criterion_hash, points, max_points, evidence, evidence_found, claimed_points"
        " FROM silver_criteria WHERE scorer_key = ? AND prompt_version = ?",
        [scorer_key, prompt_version],
    ).fetchall():
        if (cid, chash) in wanted:
            rows.setdefault(sid, []).append(
                {
                    "criterion_id": cid,
                    "points": pts,
                    "max_points": mx,
                    "evidence": ev,
                    "evidence_found": found,
                    "claimed_points": claimed,
                }
            )
    metas = {
        sid: json.loads(m)
        for sid, m in con.execute(
            "SELECT story_id, metadata FROM silver_metadata WHERE scorer_key = ? AND prompt_version = ?",
            [scorer_key, prompt_version],
        ).fetchall()
    }
    order = {c.id: i for i, c in enumerate(rubric.criteria)}
    return {
        sid: (sorted(crit, key=lambda r: order[r["criterion_id"]]), metas[sid])
        for sid, crit in rows.items()
        if len(crit) == len(wanted) and sid in metas
    }


def build_gold(
    settings: Settings,
    rubric: Rubric,
    taxonomy: Taxonomy,
    *,
    scorer_key: str,
    prompt_version: str,
    fallback: tuple[str, str] | None = None,
) -> GoldSummary:
    """Rebuild gold from the active scorer's silver (falling back to ``fallback``'s scores
    for stories the active scorer has not scored), applying overrides and the threshold."""
    started = time.perf_counter()
    summary = GoldSummary(scorer_key=scorer_key, min_score=settings.gold_min_score)
    industry_names = {i.id: i.name for i in taxonomy.industries}
    now = utcnow()
    with open_warehouse(settings.db_path, must_exist=True) as con:
        active = _silver(con, scorer_key, prompt_version, rubric)
        backup = _silver(con, *fallback, rubric) if fallback and fallback[0] != scorer_key else {}
        overrides = overrides_by_record(con)
        twins = {t.story_id: t for t in public_twins(con, overrides, settings.public_domains).values()}
        records = con.execute(
            "SELECT id, record_key, group_key, title, text, meta, origin, source_type, source_uri, source_record_id,"
            " is_canonical FROM bronze_current WHERE is_canonical OR list_contains(?::VARCHAR[], id)"
            " ORDER BY NOT is_canonical, record_key",
            [list(twins)],
        ).fetchall()  # canonicals first: a twin is placed by what its canonical became
        copies: dict[str, list[dict]] = {}
        for group, key, uri, stype, match, sim in con.execute(
            "SELECT group_key, record_key, source_uri, source_type, duplicate_match, duplicate_similarity"
            " FROM bronze_current ORDER BY source_uri"
        ).fetchall():
            copies.setdefault(group, []).append(
                {
                    "record_key": key,
                    "source_uri": uri,
                    "source_type": stype,
                    "match": match,
                    "similarity": round(sim, 3),
                }
            )
        stories: list[tuple[Any, ...]] = []
        chunks: list[tuple[Any, ...]] = []
        held: list[tuple[Any, ...]] = []
        below: list[tuple[Any, ...]] = []
        placed: dict[str, int] = {}  # group -> index in stories of its canonical's row
        summary.candidates = sum(1 for r in records if r[10])
        for sid, key, group, title, text, meta_json, origin, stype, uri, srid, canonical in records:
            used_key = scorer_key
            if sid in active:
                criteria, meta = active[sid]
            elif sid in backup and fallback is not None:
                (criteria, meta), used_key = backup[sid], fallback[0]
                summary.fallback_offline += canonical
            else:
                summary.unscored += canonical
                continue
            source_meta = json.loads(meta_json)
            ov = overrides.get(key, {})
            if not canonical:  # a twin carries the facts analysts corrected on the canonical
                inherited = overrides.get(twins[sid].canonical_key, {})
                ov = {**{f: inherited[f] for f in INHERITED_OVERRIDES if f in inherited}, **ov}
            breakdown = []
            for row in criteria:
                pts = ov.get(f"points.{row['criterion_id']}", row["points"])
                breakdown.append({**row, "points": pts, "overridden": f"points.{row['criterion_id']}" in ov})
            score = sum(r["points"] for r in breakdown)
            if score < settings.gold_min_score:
                summary.below_threshold += canonical
                if canonical:  # kept apart for analysts' look-ups by customer name, never ranked
                    share = (
                        ov.get("shareability")
                        or shareability.decide(
                            source_meta,
                            origin,
                            stype,
                            text,
                            meta.get("shareability"),
                            public_domains=settings.public_domains,
                            source_uri=uri,
                        )[0]
                    )
                    below.append(
                        (
                            sid,
                            key,
                            meta.get("title") or title,
                            meta.get("customer"),
                            score,
                            settings.gold_min_score,
                            share,
                            uri,
                            now,
                        )
                    )
                continue
            meta = {**meta, **{k: v for k, v in ov.items() if not k.startswith("points.") and k != "gold"}}
            why_not = _why_not_a_story(meta, breakdown, title, text, ov.get("gold"))
            if why_not:
                summary.not_stories += canonical
                held.append((sid, key, meta.get("title") or title, meta.get("customer"), score, why_not, uri, now))
                continue
            if "shareability" in ov:
                share, why = ov["shareability"], "analyst override"
            else:
                share, why = shareability.decide(
                    source_meta,
                    origin,
                    stype,
                    text,
                    meta.get("shareability"),
                    public_domains=settings.public_domains,
                    source_uri=uri,
                )
            audience = "all"
            if not canonical:
                if share != "public":
                    continue  # its own scorer found it internal after all: the group stays internal
                at = placed.get(group)
                if at is not None:  # the canonical is in gold: it serves internal, the twin external
                    stories[at] = (*stories[at][:-1], "internal")
                    audience = "external"
                summary.public_twins += 1
                why = f"{why}; the public twin of an internal story"
            link = next(
                (str(source_meta[k]) for k in LINK_KEYS if str(source_meta.get(k, "")).startswith("http")), None
            )
            industry = meta.get("industry")
            others = [
                {k: v for k, v in c.items() if k != "record_key"}
                for c in copies.get(group, [])
                if c["record_key"] != key
            ]
            if canonical:
                placed[group] = len(stories)
            stories.append(
                (
                    sid,
                    key,
                    group,
                    meta.get("title") or title,
                    meta.get("customer"),
                    meta.get("country"),
                    industry,
                    json.dumps(meta.get("products") or []),
                    json.dumps(meta.get("competitors") or []),
                    json.dumps(meta.get("quotes") or [], ensure_ascii=False),
                    json.dumps(meta.get("outcomes") or [], ensure_ascii=False),
                    share,
                    why,
                    score,
                    json.dumps(breakdown, ensure_ascii=False),
                    used_key,
                    rubric.version,
                    stype,
                    uri,
                    srid,
                    link,
                    meta_json,
                    json.dumps(others),
                    _year(source_meta),
                    json.dumps(_tags(source_meta)),
                    build_summary(meta.get("title") or title, meta, source_meta, industry_names.get(industry or "")),
                    text,
                    json.dumps(sorted(ov)),
                    build_intro(
                        meta.get("title") or title, meta, source_meta, industry_names.get(industry or ""), text
                    ),
                    industry_names.get(industry or ""),
                    country_name(meta.get("country")),
                    _source_industry(source_meta),
                    CHUNKER_VERSION,
                    now,
                    audience,
                )
            )
            summary.public += share == "public"
            summary.internal += share == "internal"
            for i, (start, chunk) in enumerate(chunk_text(text, settings.chunk_chars, settings.chunk_overlap)):
                chunks.append((sid, i, chunk, start))
        summary.stories, summary.chunks = len(stories), len(chunks)
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM gold_chunks")
            con.execute("DELETE FROM gold_stories")
            con.execute("DELETE FROM gold_held")
            if held:
                con.executemany("INSERT INTO gold_held VALUES (?, ?, ?, ?, ?, ?, ?, ?)", held)
            con.execute("DELETE FROM gold_below")
            if below:
                con.executemany("INSERT INTO gold_below VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", below)
            if stories:  # column-wise through unnest(): executemany costs a round trip per row
                con.execute(_STORIES_INSERT, [list(column) for column in zip(*stories, strict=True)])
            if chunks:
                sids, idxs, texts, starts = (list(c) for c in zip(*chunks, strict=True))
                con.execute(
                    "INSERT INTO gold_chunks SELECT unnest(?::VARCHAR[]), unnest(?::INTEGER[]),"
                    " unnest(?::VARCHAR[]), unnest(?::INTEGER[])",
                    [sids, idxs, texts, starts],
                )
            summary.duration_s = time.perf_counter() - started
            con.execute(
                "INSERT INTO gold_builds (built_at, scorer_key, rubric_version, min_score, candidates, unscored,"
                " below_threshold, not_stories, stories, chunks, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    now,
                    scorer_key,
                    rubric.version,
                    settings.gold_min_score,
                    summary.candidates,
                    summary.unscored,
                    summary.below_threshold,
                    summary.not_stories,
                    summary.stories,
                    summary.chunks,
                    summary.duration_s,
                ],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return summary
