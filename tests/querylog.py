"""A synthetic, seeded query log: questions from known themes, for the insights tests and
``eval/bench_insights.py``.

Every word is ours (templates and slot fillers written for this file; nothing from the corpus).
The themes fit the demo library's fictional vendor (Quillon, customer-service AI): seven are well
covered by strong demo stories, three are gaps by design (legal services, video-game player
support and property management: industries the demo library has no story about). Each question
is a template of its theme with its slots filled at random (paraphrase variation); about 10 % are
noise (one-off questions about nothing the library holds). Questions are spread over
``days`` days and ``users`` people, each person favouring a few themes; one gap theme
(``property``) rises: most of its questions fall in the last third of the period.

:func:`generate` returns plain rows; :func:`write_log` puts them into a real history store the
way the service would have (query log rows for every search and ask, a conversation with the
question and its answer for each ask, thumbs-down feedback on some answers), in one transaction
so 10,000 questions take seconds.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NOISE = "noise"


@dataclass(frozen=True)
class Theme:
    name: str
    gap: bool
    weight: float
    templates: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    rising: bool = False


THEMES: tuple[Theme, ...] = (
    Theme(
        "handling_time",
        False,
        1.6,
        (
            "{which} {bank} cut average handling time in the contact centre?",
            "{need} a {bank} that reduced call handling time with agent assist",
            "proof that Quillon Assist shortens calls for {bank} agents",
            "{bank} contact centre: after-call work and handle time went down",
            "how much faster are {bank} agents on the phone with real-time guidance?",
            "{which} {bank} got new call-centre agents up to speed quicker?",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "find me", "show me"),
            "bank": ("bank", "retail bank", "credit union", "building society", "lender"),
        },
    ),
    Theme(
        "claims",
        False,
        1.4,
        (
            "{which} insurer settles {claim} claims faster with automation?",
            "{need} an insurance story about {claim} claims handled in hours",
            "insurance company that automated first notice of loss for {claim} claims",
            "claims processing time down at an {ins}",
            "{ins} that cut the backlog of {claim} claims",
        ),
        {
            "which": ("which", "what", "is there an"),
            "need": ("I need", "looking for", "find me"),
            "claim": ("motor", "home", "property", "travel", "simple", "car"),
            "ins": ("insurer", "insurance company", "insurance carrier", "mutual insurer"),
        },
    ),
    Theme(
        "retail_chat",
        False,
        1.2,
        (
            "{which} retailer answers customer chats with a virtual agent?",
            "online shop that handles order questions with a chatbot",
            "{need} a {shop} where the bot resolves {order} queries without a queue",
            "e-commerce chatbot deflecting {order} chats for a {shop}",
            "{shop} customers get instant answers about {order} from Quillon Converse",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "show me"),
            "shop": ("grocer", "fashion retailer", "online store", "supermarket chain", "web shop"),
            "order": ("delivery", "returns", "order status", "refund"),
        },
    ),
    Theme(
        "telco",
        False,
        1.2,
        (
            "{which} {telco} reduced churn with better customer support?",
            "{telco} that reviews every customer call with automated QA",
            "{need} a {telco} story about billing questions answered faster",
            "mobile subscribers leaving less after support improved at a {telco}",
            "quality assurance on all calls at a {telco}, not a sample",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "find me"),
            "telco": ("telecom operator", "mobile operator", "telco", "broadband provider", "carrier"),
        },
    ),
    Theme(
        "patients",
        False,
        1.0,
        (
            "{which} {clinic} brought down call abandonment for patients?",
            "patients booking appointments faster at a {clinic}",
            "{need} a healthcare story about patient phone lines and scheduling",
            "{clinic} that answers patient calls without long waits",
            "hospital call centre: fewer patients hanging up before an answer",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "show me"),
            "clinic": ("hospital group", "clinic network", "health system", "healthcare provider"),
        },
    ),
    Theme(
        "residents",
        False,
        0.9,
        (
            "{which} {council} gives residents a 24/7 digital front desk?",
            "public sector story: citizens get answers outside office hours",
            "{need} a {council} that handles resident requests with a virtual assistant",
            "{council} where residents report issues and book services online",
            "local government chatbot for citizen services",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "find me"),
            "council": ("city council", "county council", "municipality", "local authority"),
        },
    ),
    Theme(
        "zentrix",
        False,
        0.8,
        (
            "customers who switched from Zentrix to Quillon",
            "{which} deals did we win against Zentrix?",
            "why did the customer replace Zentrix {tail}",
            "Zentrix displacement {win} {tail}",
            "{need} a {win} where Zentrix was the incumbent",
        ),
        {
            "which": ("which", "what"),
            "need": ("I need", "looking for", "show me"),
            "win": ("win", "reference", "story", "case"),
            "tail": ("", "and what changed", "with us", "last year"),
        },
    ),
    Theme(
        "legal",
        True,
        0.9,
        (
            "{which} law firm uses AI for client intake?",
            "{need} a legal services story about matter triage",
            "{firm} that answers client enquiries about case status automatically",
            "{firm} automating new-client conflict checks and intake forms",
            "solicitors using a virtual assistant to route legal enquiries",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "find me"),
            "firm": ("law firm", "legal practice", "firm of solicitors", "legal services firm"),
        },
    ),
    Theme(
        "gaming",
        True,
        0.8,
        (
            "{which} {studio} handles player support tickets with automation?",
            "{need} a gaming story about in-game purchase refunds",
            "{studio} where players get help with {issue} from a bot",
            "player support for an online game: {issue} questions answered instantly",
            "{studio} moderating {issue} reports from players at scale",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "show me"),
            "studio": ("game studio", "video game publisher", "online game company", "esports platform"),
            "issue": ("account recovery", "cheating", "lost items", "refund"),
        },
    ),
    Theme(
        "property",
        True,
        0.7,
        (
            "{which} {landlord} handles tenant repair requests automatically?",
            "{need} a property management story about maintenance tickets",
            "tenants reporting {repair} to their {landlord} through a chatbot",
            "{landlord} triaging {repair} requests from tenants",
            "letting agency answering tenant questions about {repair} and rent",
        ),
        {
            "which": ("which", "what", "any"),
            "need": ("I need", "looking for", "find me"),
            "landlord": ("property manager", "housing association", "landlord", "letting agency"),
            "repair": ("leaks", "broken heating", "repairs", "mould"),
        },
        rising=True,
    ),
)

NOISE_QUESTIONS = (
    "where is the pricing sheet",
    "how do I reset my password",
    "test",
    "asdf",
    "what is the agenda for the sales kickoff",
    "lunch menu friday",
    "who owns the partner portal",
    "translate this paragraph into german",
    "when is the next quarterly business review",
    "weather in lisbon tomorrow",
    "expense policy for client dinners",
    "how do I share my screen",
    "draft an email to my manager",
    "holiday calendar 2027",
    "hello",
    "what does NPS stand for",
    "printer on the third floor is broken",
    "book a meeting room",
    "how many vacation days do I have",
    "slide template for board meeting",
    "what time is it in tokyo",
    "recipe for banana bread",
    "is the office open on saturday",
    "who won the football match",
    "convert 300 dollars to euros",
    "company car policy",
    "how to write a haiku",
    "install the vpn client",
    "org chart marketing team",
    "parking permit renewal",
)


def _fill(template: str, slots: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    text = template.format(**{k: rng.choice(v) for k, v in slots.items()})
    text = " ".join(text.split()).replace(" ?", "?")
    if rng.random() < 0.3:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.rstrip("?") + rng.choice(("", " please", " - for a prospect", " in Europe", " recently"))
    return text


def generate(
    n: int = 600,
    *,
    seed: int = 17,
    days: int = 60,
    users: int = 15,
    noise: float = 0.10,
    now: datetime = NOW,
) -> list[dict[str, Any]]:
    """``n`` questions: rows of ``question``, ``theme`` (NOISE for noise), ``gap``, ``user``,
    ``created_at``, ``kind`` (search/ask), ``no_answer`` and ``thumbs_down``, oldest first."""
    rng = random.Random(seed)
    people = [f"user{i:02d}" for i in range(1, users + 1)]
    favourites = {p: rng.sample(THEMES, 3) for p in people}
    weights = [t.weight for t in THEMES]
    rows = []
    for _ in range(n):
        user = rng.choice(people)
        if rng.random() < noise:
            theme = None
            question = rng.choice(NOISE_QUESTIONS)
            if rng.random() < 0.5:
                question += f" {rng.randint(2, 999)}"
        else:
            theme = rng.choice(favourites[user]) if rng.random() < 0.5 else rng.choices(THEMES, weights)[0]
            question = _fill(rng.choice(theme.templates), theme.slots, rng)
        age = rng.random() * days
        if theme is not None and theme.rising and rng.random() < 0.7:
            age = rng.random() * days / 3
        gap = theme.gap if theme else False
        kind = "ask" if rng.random() < 0.4 else "search"
        no_answer = rng.random() < (0.7 if gap or theme is None else 0.08)
        rows.append(
            {
                "question": question,
                "theme": theme.name if theme else NOISE,
                "gap": gap,
                "user": user,
                "created_at": now - timedelta(days=age),
                "kind": kind,
                "no_answer": no_answer,
                "thumbs_down": kind == "ask" and rng.random() < (0.4 if gap else 0.05),
            }
        )
    rows.sort(key=lambda r: r["created_at"])
    return rows


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def write_log(history: Any, rows: list[dict[str, Any]], *, hit_ids: list[str] | None = None) -> None:
    """Write ``rows`` into a real :class:`reffy.history.HistoryStore` as the service logs them:
    a query-log row each; for an ask, a conversation holding the question and its answer (with
    the answer's citations and, for a thumbs-down, the feedback). ``hit_ids``: story ids to show
    as hits (a few per row, chosen by the row's index)."""
    ids = hit_ids or []
    con = history.conn
    with history._lock:
        con.execute("BEGIN IMMEDIATE")
        try:
            for user in sorted({r["user"] for r in rows}):
                now = _iso(NOW)
                con.execute(
                    "INSERT OR IGNORE INTO users (name, role, created_at, last_seen) VALUES (?, 'member', ?, ?)",
                    [user, now, now],
                )
            for i, row in enumerate(rows):
                at = _iso(row["created_at"])
                hits = [ids[(i + j) % len(ids)] for j in range(3)] if ids and not row["no_answer"] else []
                mode = "hybrid" if row["kind"] == "search" else "offline"
                con.execute(
                    "INSERT INTO query_log (user, query, kind, mode, audience, channel, filters, hit_ids, cited,"
                    " no_answer, latency_ms, created_at) VALUES (?, ?, ?, ?, 'internal', 'app', '{}', ?, ?, ?, ?, ?)",
                    [
                        row["user"],
                        row["question"],
                        row["kind"],
                        mode,
                        json.dumps(hits),
                        json.dumps(hits[:1] if row["kind"] == "ask" else []),
                        int(row["no_answer"]),
                        40.0 + (i % 50),
                        at,
                    ],
                )
                if row["kind"] != "ask":
                    continue
                conversation = uuid.UUID(int=random.Random(i).getrandbits(128)).hex
                con.execute(
                    "INSERT INTO conversations (id, user, owner, title, audience, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'internal', ?, ?)",
                    [conversation, row["user"], f"staff:{row['user']}", row["question"][:60], at, at],
                )
                con.execute(
                    "INSERT INTO messages (conversation_id, role, content, audience, created_at)"
                    " VALUES (?, 'user', ?, 'internal', ?)",
                    [conversation, row["question"], at],
                )
                citations = [{"n": 1, "story_id": hits[0], "title": None}] if hits else []
                meta = {"citations": citations, "removed": ["[2]"] if i % 23 == 0 else [], "hit_ids": hits}
                answer = "No story in the library matches this well." if row["no_answer"] else "An answer [1]."
                message = con.execute(
                    "INSERT INTO messages (conversation_id, role, content, mode, latency_ms, cited, audience,"
                    " no_answer, meta, created_at) VALUES (?, 'assistant', ?, 'offline', ?, ?, 'internal', ?, ?, ?)",
                    [
                        conversation,
                        answer,
                        900.0 + (i % 300),
                        json.dumps(hits[:1]),
                        int(row["no_answer"]),
                        json.dumps(meta),
                        at,
                    ],
                ).lastrowid
                if row["thumbs_down"]:
                    con.execute(
                        "INSERT INTO feedback (user, rating, message_id, comment, query, created_at)"
                        " VALUES (?, -1, ?, 'not what I needed', ?, ?)",
                        [row["user"], message, row["question"], at],
                    )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
