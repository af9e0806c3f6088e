"""The offline scorer: rubric points from text signals, no LLM, fully deterministic.

Each known criterion has a rule that looks for concrete signals (a named customer,
baseline and outcome figures, attributed quotes, challenge and rollout language, the
vendor's products and competitors) and returns points with the sentence that earned
them as evidence, so every score is explainable. Metadata comes from
:mod:`ingest.extract` (gazetteer, patterns, MiniLM industry similarity).

Bump ``OFFLINE_VERSION`` whenever a rule changes: it keys the silver cache.

Size: the offline scorer: one rule per rubric criterion, each a few lines, plus its worker-process
plumbing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.extract import extract_metadata
from ingest.extract.outcomes import spelled_figures
from ingest.scoring.base import Scorer
from reffy.domain.text import ASCII_FOLDS, DIGIT_GATE, CueGate, cue_gate
from reffy.models import CriterionScore, ScoreResult, StoryInput, StoryMetadata
from reffy.rubric import Criterion, Rubric, VendorProfile

OFFLINE_VERSION = (
    "offline-4"  # 3: outcome lines refuse customer profiles and critical commentary; 4: evidence is whole sentences
)
EVIDENCE_CHARS = 1200  # evidence is a whole sentence; only a run-on "sentence" longer than this is cut

_SENTENCE = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"“'(]?[A-Z0-9])|\n+")
_NUMBER = re.compile(
    r"(?<![\w.])(?:[$€£¥]\s?)?\d[\d,.]*(?:\s?(?:%|percent|per cent|x|times|k|m|bn|million|billion|"
    r"thousand|hours?|minutes?|seconds?|days?|weeks?|months?|ms|points?|pp))?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")


# pattern -> a cheap necessary condition for it (see _Doc.test)
_GATES: dict[re.Pattern[str], CueGate] = {}


def _cues(*words: str) -> re.Pattern[str]:
    pattern = re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)
    gate = cue_gate(words)
    if gate is not None:
        _GATES[pattern] = gate
    return pattern


CHALLENGE = _cues(
    "challeng",
    "problem",
    "struggl",
    "pain",
    "bottleneck",
    "difficult",
    "backlog",
    "long wait",
    "waiting",
    "manual",
    "slow",
    "inefficien",
    "costly",
    "expensive",
    "frustrat",
    "complain",
    "pressure",
    "could not",
    "couldn't",
    "unable",
    "lacked",
    "lack of",
    "needed to",
    "faced",
    "issue",
    "error-prone",
    "outdated",
    "legacy",
    "overwhelm",
    "scal(?:e|ing) (?:issue|problem|limit)",
    "time-consuming",
    "limitation",
    "hard to",
    "too many",
    "too long",
)
STAKES = _cues(
    "cost",
    "revenue",
    "churn",
    "risk",
    "complian",
    "regulat",
    "reputation",
    "los[st]",
    "losing",
    "penalt",
    "fine[sd]?",
    "satisfaction",
    "SLA",
    "margin",
    "safety",
    "trust",
    "customers? (?:left|leave)",
)
SOLUTION = _cues(
    "deploy",
    "implement",
    "integrat",
    "built",
    "build",
    "rolled out",
    "launch",
    "automat",
    "uses",
    "using",
    "platform",
    "architecture",
    "pipeline",
    "workflow",
    "model",
    "assistant",
    "agent",
    "bot",
    "retriev",
    "fine-tun",
    "connect",
    "hand(?:s|ed)? (?:off|over)",
)
ROLLOUT = _cues(
    "pilot",
    "proof of concept",
    "poc",
    "phase",
    "roll-?out",
    "rolled out",
    "went live",
    "go-live",
    "launched in",
    "within \\w+ (?:weeks|months)",
    "in \\w+ (?:weeks|months)",
    "migrat",
    "team of",
    "sprint",
    "first release",
    "beta",
    "in production",
    "production since",
    "timeline",
)
RESULT = _cues(
    "reduc",
    "cut",
    "fell",
    "drop",
    "increas",
    "rose",
    "rise",
    "improv",
    "saved",
    "sav(?:e|ing)s",
    "grew",
    "growth",
    "doubl",
    "halv",
    "boost",
    "faster",
    "fewer",
    "more than",
    "up to",
    "lower",
    "higher",
    "accura",
    "resolution",
    "deflect",
    "automat",
)
BASELINE = re.compile(
    r"\bfrom\s+\S+\s+(?:\S+\s+){0,3}to\s+\S*\d|\bwithin\s+(?:\w+\s+){0,2}(?:days?|weeks?|months?|years?)"
    r"|\bin\s+(?:the\s+)?(?:first|just)\s+(?:\w+\s+)?(?:days?|weeks?|months?|year)|\bcompared\s+(?:to|with)"
    r"|\byear[- ]over[- ]year\b|\bbaseline\b|\bafter\s+(?:\w+\s+)?(?:weeks?|months?|years?)\b",
    re.IGNORECASE,
)
IMPACT = _cues(
    "sav(?:e|ed|ing|ings)",
    "revenue",
    "ROI",
    "return on investment",
    "cost",
    "NPS",
    "CSAT",
    "satisfaction",
    "retention",
    "churn",
    "profit",
    "payback",
    "\\$",
    "€",
    "£",
    "EUR",
    "USD",
    "GBP",
)
CHOICE = _cues(
    "chose",
    "chosen",
    "selected",
    "picked",
    "decided (?:on|to)",
    "opted",
    "went with",
    "partnered with",
    "because",
    "unlike",
    "the only",
    "differentiat",
    "stood out",
    "ability to",
    "why \\w+ won",
)
ALTERNATIVE = _cues(
    "evaluated",
    "compared",
    "shortlist",
    "alternatives?",
    "other vendors",
    "several vendors",
    "incumbent",
    "replac",
    "displac",
    "switch(?:ed)? from",
    "in-house",
    "home-?grown",
    "previous (?:vendor|system|tool|provider)",
    "legacy (?:system|tool|platform|IVR)",
    "instead of",
    "build (?:vs|versus|or) buy",
)
CONTEXT_SIZE = re.compile(
    r"\d[\d,.]*\s*(?:million|billion|thousand|k|m)?\s*(?:\+\s*)?(?:customers|employees|staff|members|"
    r"users|patients|students|branches|stores|shops|sites|subscribers|passengers|agents|"
    r"policyholders|clients|locations|hospitals|countries|markets|vehicles|orders|visitors|"
    r"merchants|sellers|drivers|developers|people)",
    re.IGNORECASE,
)
_GATES[CONTEXT_SIZE] = DIGIT_GATE  # it starts with a digit
CONTEXT_BUSINESS = _cues(
    "headquartered",
    "based in",
    "one of the (?:largest|leading|biggest)",
    "provider of",
    "operator",
    "retailer",
    "insurer",
    "manufacturer",
    "bank\\b",
    "hospital",
    "university",
    "platform for",
    "company that",
    "marketplace",
    "founded in",
    "serves",
    "serving",
)


_ANONYMOUS = re.compile(
    r"\b(?:a|an|one of the)\s+(?:large|leading|major|global|big|top|well-known|"
    r"confidential|anonymous|fortune)\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


@dataclass(slots=True)
class _Doc:
    """One story's sentences, read by every rule. Several rules ask the same pattern of the
    same sentence, so each (pattern, sentence) answer and each sentence's figure test is
    computed once; patterns built by :func:`_cues` are first checked with their cheap gate."""

    sentences: list[str]
    meta: StoryMetadata
    vendor: VendorProfile
    text: str
    lows: list[str] = field(init=False)  # each sentence lower-cased
    _gate_texts: list[str | None] = field(init=False)  # what gates read (see CueGate.admits)
    _joined: str = field(init=False)  # all of them: a gate narrows to the literals found here
    _memo: dict[Any, list[bool | None]] = field(init=False)
    _gates: dict[re.Pattern[str], CueGate] = field(init=False)

    def __post_init__(self) -> None:
        self.lows = [s.lower() for s in self.sentences]
        self._gate_texts = [None if ASCII_FOLDS.search(s) else low for s, low in zip(self.sentences, self.lows)]
        self._joined = "\n".join(t for t in self._gate_texts if t is not None)
        self._memo, self._gates = {}, {}

    def _answers(self, pattern: re.Pattern[str]) -> list[bool | None]:
        memo = self._memo.get(pattern)
        if memo is None:
            memo = self._memo[pattern] = [None] * len(self.sentences)
            self._gates[pattern] = _GATES.get(pattern, CueGate.ANY).narrowed(self._joined)
        return memo

    def test(self, pattern: re.Pattern[str], i: int) -> bool:
        """``bool(pattern.search(sentence i))``, remembered."""
        memo = self._answers(pattern)
        hit = memo[i]
        if hit is None:
            hit = self._gates[pattern].admits(self._gate_texts[i]) and pattern.search(self.sentences[i]) is not None
            memo[i] = hit
        return hit

    def hits(self, pattern: re.Pattern[str]) -> list[bool]:
        """``test(pattern, i)`` for every sentence (in one pass)."""
        memo = self._answers(pattern)
        if None in memo:
            admits, search = self._gates[pattern].admits, pattern.search
            memo[:] = [
                hit if hit is not None else admits(gate_text) and search(s) is not None
                for hit, gate_text, s in zip(memo, self._gate_texts, self.sentences)
            ]
        return memo  # type: ignore[return-value]

    def figure(self, i: int) -> bool:
        """``has_figure(sentence i)``, remembered."""
        memo = self._memo.get(has_figure)
        if memo is None:
            memo = self._memo[has_figure] = [None] * len(self.sentences)
        hit = memo[i]
        if hit is None:
            hit = memo[i] = has_figure(self.sentences[i])
        return hit

    def first(self, pattern: re.Pattern[str], *, numeric: bool = False) -> str | None:
        for i, s in enumerate(self.sentences):
            if self.test(pattern, i) and (not numeric or self.figure(i)):
                return s
        return None

    def indices(self, pattern: re.Pattern[str], *, numeric: bool = False) -> list[int]:
        return [i for i, hit in enumerate(self.hits(pattern)) if hit and (not numeric or self.figure(i))]

    def count(self, pattern: re.Pattern[str], *, numeric: bool = False) -> list[str]:
        return [self.sentences[i] for i in self.indices(pattern, numeric=numeric)]


def has_figure(sentence: str) -> bool:
    """A number that is a measurement, not a year or a list index."""
    if not _DIGIT.search(sentence):
        return False  # _NUMBER needs a digit
    for m in _NUMBER.finditer(sentence):
        token = m.group(0).strip()
        digits = re.sub(r"\D", "", token)
        if _YEAR.match(token) or (len(digits) == 1 and token == digits and len(sentence) < 12):
            continue
        return True
    return False


def split_sentences(text: str) -> list[str]:
    out = []
    for part in _SENTENCE.split(text):
        part = part.strip().lstrip("#>-*• ").strip()
        if len(part) >= 12:
            out.append(part)
    return out


def _ev(sentence: str | None) -> str:
    if not sentence:
        return ""
    if len(sentence) <= EVIDENCE_CHARS:
        return sentence
    cut = sentence[: EVIDENCE_CHARS - 1]
    return cut[: cut.rfind(" ")].rstrip(" ,;:") + "…" if " " in cut else cut + "…"  # at a word, never mid-word


Rule = Callable[[_Doc, Criterion], tuple[int, str, str]]


def _customer_named(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    if d.meta.customer:
        name = d.meta.customer.lower()
        mention = next((s for s, low in zip(d.sentences, d.lows) if name in low), None)
        return c.points, _ev(mention), f"the customer is named: {d.meta.customer}"
    anonymous = d.first(_ANONYMOUS)
    if anonymous:
        return min(1, c.points), _ev(anonymous), "the customer is described but not named"
    return 0, "", "no customer named"


def _customer_context(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    size, business = d.first(CONTEXT_SIZE), d.first(CONTEXT_BUSINESS)
    kinds = [k for k, found in (("size", size), ("line of business", business), ("country", d.meta.country)) if found]
    if not kinds:
        return 0, "", "no customer context"
    points = c.points if len(kinds) >= 2 else min(1, c.points)
    return points, _ev(size or business), "context: " + ", ".join(kinds)


def _customer_voice(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    for q in d.meta.quotes:
        if q.speaker and q.role:
            return c.points, _ev(q.text), f"{q.speaker}, {q.role} speaks for the customer"
    return 0, "", "no named customer person with a role"


def _challenge_stated(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hits = d.count(CHALLENGE)
    points = min(c.points, len(hits))
    return points, _ev(hits[0] if hits else None), f"{len(hits)} sentence(s) describe the problem"


def _challenge_quantified(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hit = d.first(CHALLENGE, numeric=True)
    return (c.points, _ev(hit), "the problem is sized with a figure") if hit else (0, "", "the problem has no figure")


def _stakes(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hit = next((d.sentences[i] for i in d.indices(CHALLENGE) if d.test(STAKES, i)), None)
    return (c.points, _ev(hit), "the business stakes are stated") if hit else (0, "", "no business stakes")


def _products_named(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    if d.meta.products:
        name = d.meta.products[0].lower()
        mention = next((s for s, low in zip(d.sentences, d.lows) if name in low), None)
        return c.points, _ev(mention), "products named: " + ", ".join(d.meta.products)
    if d.vendor.name:
        mention = next((s for s in d.sentences if re.search(rf"\b{re.escape(d.vendor.name)}\b", s)), None)
        if mention:
            return min(1, c.points), _ev(mention), f"{d.vendor.name} is named but no product"
    return 0, "", "no vendor product named"


def _solution_described(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hits = d.count(SOLUTION)
    points = c.points if len(hits) >= 3 else min(1, c.points) if hits else 0
    return points, _ev(hits[0] if hits else None), f"{len(hits)} sentence(s) describe the solution"


def _implementation(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hits = d.count(ROLLOUT)
    return min(c.points, len(hits)), _ev(hits[0] if hits else None), f"{len(hits)} rollout detail(s)"


def _outcome_figures(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    results = [d.sentences[i] for i in d.indices(RESULT, numeric=True) if not d.test(CHALLENGE, i) or d.test(RESULT, i)]
    results = list(dict.fromkeys([*d.meta.outcomes, *results]))
    figures = {m.group(0) for s in results for m in _NUMBER.finditer(s) if not _YEAR.match(m.group(0).strip())}
    figures |= {f for s in d.meta.outcomes for f in spelled_figures(s)}  # "four in ten cancellations"
    if len(figures) >= 2:
        return c.points, _ev(results[0]), f"{len(figures)} distinct result figures"
    if figures:
        return min(c.points, max(1, c.points // 2)), _ev(results[0]), "one quantified result"
    return 0, "", "no quantified result"


def _outcome_baseline(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hit = next((s for i, s in enumerate(d.sentences) if d.figure(i) and d.test(BASELINE, i)), None)
    return (c.points, _ev(hit), "results tied to a baseline or timeframe") if hit else (0, "", "no baseline")


def _customer_quote(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    attributed = [q for q in d.meta.quotes if q.speaker]
    if attributed and any(q.role for q in attributed):
        q = next(q for q in attributed if q.role)
        return c.points, _ev(q.text), f"quote from {q.speaker}, {q.role}"
    if attributed:
        return min(c.points, 2), _ev(attributed[0].text), f"quote from {attributed[0].speaker} (no role)"
    if d.meta.quotes:
        return min(c.points, 1), _ev(d.meta.quotes[0].text), "an unattributed quote"
    return 0, "", "no customer quote"


def _business_impact(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    hit = next((s for i, s in enumerate(d.sentences) if d.figure(i) and d.test(IMPACT, i) and d.test(RESULT, i)), None)
    return (c.points, _ev(hit), "results in business terms") if hit else (0, "", "no business value stated")


def _why_vendor(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    names = [d.vendor.name, *[p.name for p in d.vendor.products]] if d.vendor.name else []
    strong = next((s for s in d.count(CHOICE) if any(n and n in s for n in names)), None)
    if strong:
        return c.points, _ev(strong), "why the vendor was chosen"
    weak = d.first(CHOICE)
    return (min(1, c.points), _ev(weak), "a reason for the choice") if weak else (0, "", "no reason for the choice")


def _competitive_context(d: _Doc, c: Criterion) -> tuple[int, str, str]:
    if d.meta.competitors:
        name = d.meta.competitors[0]
        first_word = name.split()[0].lower()
        mention = next((s for s, low in zip(d.sentences, d.lows) if first_word in low), None)
        return c.points, _ev(mention), "alternatives named: " + ", ".join(d.meta.competitors)
    hit = d.first(ALTERNATIVE)
    return (min(1, c.points), _ev(hit), "an unnamed alternative") if hit else (0, "", "no competitive context")


RULES: dict[str, Rule] = {
    "customer_named": _customer_named,
    "customer_context": _customer_context,
    "customer_voice": _customer_voice,
    "challenge_stated": _challenge_stated,
    "challenge_quantified": _challenge_quantified,
    "stakes": _stakes,
    "products_named": _products_named,
    "solution_described": _solution_described,
    "implementation": _implementation,
    "outcome_figures": _outcome_figures,
    "outcome_baseline": _outcome_baseline,
    "customer_quote": _customer_quote,
    "business_impact": _business_impact,
    "why_vendor": _why_vendor,
    "competitive_context": _competitive_context,
}


class OfflineScorer(Scorer):
    """Deterministic rubric scoring and metadata extraction without an LLM.

    The work is pure-Python text processing, so :func:`ingest.silver.score_library` runs it in
    ``workers`` processes (see :meth:`worker_setup`). The one step that needs the embedding
    model, the industry similarities, runs in the calling process (:meth:`prepare`, in
    batches) and its result travels with each story, so no worker loads a model."""

    scorer_key = "offline"
    prompt_version = OFFLINE_VERSION
    concurrency = 1
    parallel = True
    batch_commits = True  # a story takes milliseconds: commit them in batches, not one by one

    def __init__(self, rubric: Rubric, vendor: VendorProfile, classifier, workers: int = 1) -> None:
        self.rubric, self.vendor, self.classifier = rubric, vendor, classifier
        self.workers = workers
        # story id -> what the classifier's model found: (industry, 1.0) from metadata, or similarities
        self._industries: dict[str, Any] = {}

    def prepare(self, stories: list[StoryInput]) -> None:
        """Embed many stories for the industry classifier in one batch (the rest of the
        classification is pure Python and happens when each story is scored)."""
        todo = [s for s in stories if s.story_id not in self._industries]
        if todo and self.classifier is not None:
            found = self.classifier.embed_many([(s.title, s.text, s.meta) for s in todo])
            self._industries.update({s.story_id: f for s, f in zip(todo, found, strict=True)})

    def _industry(self, story: StoryInput) -> tuple[str | None, float] | None:
        self.prepare([story])
        found = self._industries.get(story.story_id)
        return None if found is None else self.classifier.decide(story.title, story.text, found)

    def metadata(self, story: StoryInput) -> StoryMetadata:
        return extract_metadata(story, vendor=self.vendor, classifier=self.classifier, industry=self._industry(story))

    def score(
        self, story: StoryInput, criteria: list[Criterion] | None = None, want_metadata: bool = True
    ) -> ScoreResult:
        started = time.perf_counter()
        meta = self.metadata(story)
        doc = _Doc(split_sentences(story.text), meta, self.vendor, story.text)
        scores = []
        for criterion in criteria if criteria is not None else self.rubric.criteria:
            rule = RULES.get(criterion.id)
            if rule is None:
                scores.append(
                    CriterionScore(
                        criterion.id,
                        0,
                        criterion.points,
                        "",
                        "no offline rule for this criterion: score it with an LLM",
                    )
                )
                continue
            points, evidence, why = rule(doc, criterion)
            scores.append(
                CriterionScore(criterion.id, max(0, min(points, criterion.points)), criterion.points, evidence, why)
            )
        self._industries.pop(story.story_id, None)
        return ScoreResult(
            story.story_id,
            "offline",
            "",
            OFFLINE_VERSION,
            scores,
            meta if want_metadata else StoryMetadata(),
            latency_s=time.perf_counter() - started,
        )

    def estimate(self, story: StoryInput, criteria: list[Criterion]) -> tuple[int, float | None]:
        return 0, 0.0

    # -- worker processes -----------------------------------------------------------------------
    def worker_setup(self) -> tuple[Callable[..., None], tuple[Any, ...], Callable[[list[Any]], list[Any]]]:
        """(initializer, its arguments, task runner) for a pool of worker processes."""
        classifier = self.classifier.deciding_copy() if self.classifier is not None else None
        return _init_worker, (self.rubric, self.vendor, classifier), _score_tasks

    def worker_task(self, story: StoryInput, criteria: list[Criterion], want_metadata: bool) -> tuple:
        """What a worker needs to score ``story`` exactly as :meth:`score` would here (what the
        model found stays here too, should the story be scored in this process after all)."""
        self.prepare([story])
        return story, criteria, want_metadata, self._industries.get(story.story_id)


_WORKER: OfflineScorer | None = None


def _init_worker(rubric: Rubric, vendor: VendorProfile, classifier) -> None:
    """Runs once in each worker process: a scorer whose classifier has no model (what the
    model found for a story comes with its task)."""
    global _WORKER
    _WORKER = OfflineScorer(rubric, vendor, classifier)


def _score_tasks(tasks: list[tuple]) -> list[ScoreResult]:
    """Score a few stories in a worker process (see :meth:`OfflineScorer.worker_task`)."""
    assert _WORKER is not None, "the worker initializer did not run"
    out = []
    for story, criteria, want_metadata, found in tasks:
        if found is not None:
            _WORKER._industries[story.story_id] = found
        out.append(_WORKER.score(story, criteria, want_metadata))
    return out
