"""Score a story against the rubric with an LLM, and trust only what the story shows.

The prompt is versioned data (``ingest/prompts/<name>.md``). The answer is parsed
leniently (code fences, prose around it, truncated JSON repaired) but validated strictly:
exactly the requested criteria, whole points within range - never clamped; an invalid
answer is re-asked with the validation errors. Finally every point must be backed by a
quote found in the story (:mod:`reffy.domain.evidence`); points whose quote is not found are
withdrawn and recorded as such.

The schema sent is bounded (``maxLength`` on every free string, ``maxItems`` on every list,
exactly one entry per criterion): servers that turn it into a grammar (llama.cpp's) then
produce an answer that ends, instead of a quote that runs until the token limit. Each story
ends as a valid row or a recorded failure (invalid_output, llm_unavailable, timeout,
input_rejected); only an LLM that cannot be reached at all (:class:`reffy.llm.LLMUnreachable`)
or is misconfigured stops the run, since every other story would fail the same way.

Size: the LLM scorer end to end (prompt rendering, bounded answer schema, lenient parsing, strict
validation, evidence check, repair); split, the schema and its validation would drift apart.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import json_repair
from pydantic import BaseModel, ValidationError, field_validator

from ingest.scoring.base import Scorer, ScoringFailure
from reffy.config import Settings
from reffy.domain.evidence import evidence_found
from reffy.errors import LLMInputError, LLMTimeout, LLMUnavailable, LLMUnreachable, ReffyError
from reffy.llm import ChatModel, ChatResponse, LiteLLMChatModel, Messages, estimate_cost
from reffy.models import CriterionScore, Quote, ScoreResult, StoryInput, StoryMetadata
from reffy.rubric import Criterion, Rubric, Taxonomy, VendorProfile
from reffy.wording import plural, sentence

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
DEFAULT_PROMPT = "score_v2"
_SECTION = re.compile(r"^=== (\w+) ===$", re.M)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


# -- prompt as data ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Prompt:
    """A prompt file split into named sections; ``version`` = file stem + content hash."""

    name: str
    version: str
    sections: dict[str, str]

    def render(self, section: str, **values: str) -> str:
        """Fill ``{{name}}`` placeholders in one pass (values are never re-expanded)."""

        def fill(m: re.Match[str]) -> str:
            if m.group(1) not in values:
                raise KeyError(f"prompt {self.name}: no value for {{{{{m.group(1)}}}}} in section {section!r}")
            return values[m.group(1)]

        return _PLACEHOLDER.sub(fill, self.sections[section])


@lru_cache(maxsize=8)
def load_prompt(name: str = DEFAULT_PROMPT) -> Prompt:
    raw = (PROMPTS / f"{name}.md").read_text(encoding="utf-8")
    pieces = _SECTION.split(raw)  # [preamble, name1, body1, name2, body2, ...]
    sections = {pieces[i]: pieces[i + 1].strip("\n") for i in range(1, len(pieces), 2)}
    return Prompt(name, f"{name}-{hashlib.sha256(raw.encode()).hexdigest()[:8]}", sections)


def prompt_version(name: str = DEFAULT_PROMPT) -> str:
    """The version LLM scores are stored under, without building a scorer (or importing litellm)."""
    return load_prompt(name).version


# -- the answer ----------------------------------------------------------------------------------
class CriterionAnswer(BaseModel):
    id: str
    evidence: str = ""
    rationale: str = ""
    points: int

    @field_validator("evidence", "rationale", mode="before")
    @classmethod
    def _null_text(cls, value: Any) -> Any:
        return "" if value is None else value


class QuoteAnswer(BaseModel):
    text: str
    speaker: str | None = None
    role: str | None = None


class MetadataAnswer(BaseModel):
    customer: str | None = None
    country: str | None = None
    industry: str | None = None
    products: list[str] = []
    competitors: list[str] = []
    quotes: list[QuoteAnswer] = []
    outcomes: list[str] = []
    shareability: Literal["public", "internal"] | None = None
    challenge: str | None = None
    solution: str | None = None

    @field_validator("products", "competitors", "quotes", "outcomes", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("shareability", mode="before")
    @classmethod
    def _share(cls, value: Any) -> Any:
        value = value.strip().lower() if isinstance(value, str) else value
        return None if value in ("", "null", "unknown", "none") else value


class ScoreAnswer(BaseModel):
    """Parsed leniently (extra keys ignored, metadata fields optional); asked for strictly."""

    criteria: list[CriterionAnswer] = []  # absent = none given; the id check reports what is missing
    metadata: MetadataAnswer | None = None


def _strict(node: Any) -> Any:
    """Schema for the provider: every property required, no extras, no defaults/titles."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items() if k not in ("default", "title", "properties", "$defs")}
        for mapping in ("properties", "$defs"):  # names here are fields/models, not schema keywords
            if mapping in node:
                out[mapping] = {name: _strict(sub) for name, sub in node[mapping].items()}
        if "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


# Bounds of the schema sent (not of what is accepted: a longer answer from a server that ignores
# them is still parsed). Generous for a real story, small enough that a grammar-bound answer of
# 15 criteria stays within a few thousand tokens.
STRING_BOUNDS = {
    "evidence": 240,
    "rationale": 160,
    "text": 300,
    "speaker": 80,
    "role": 80,
    "customer": 120,
    "country": 60,
    "challenge": 300,
    "solution": 300,
}
LIST_BOUNDS = {"products": 8, "competitors": 8, "quotes": 4, "outcomes": 6}
DEFAULT_STRING_BOUND = 120


def _bounded(node: Any, name: str | None = None) -> Any:
    """Every free string gets a ``maxLength``, every list a ``maxItems`` (by property name)."""
    if isinstance(node, list):
        return [_bounded(v, name) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            out[key] = {k: _bounded(v, k) for k, v in value.items()}
        elif key == "items":
            out[key] = _bounded(value, None)
        else:
            out[key] = _bounded(value, name)
    if out.get("type") == "string" and "enum" not in out:
        out.setdefault("maxLength", STRING_BOUNDS.get(name or "", DEFAULT_STRING_BOUND))
    if out.get("type") == "array":
        out.setdefault("maxItems", LIST_BOUNDS.get(name or "", 8))
    return out


def answer_schema(criteria: list[Criterion], industries: list[str], want_metadata: bool) -> dict[str, Any]:
    schema = _bounded(_strict(ScoreAnswer.model_json_schema()))
    schema.pop("description", None)
    schema["title"] = "story_score"
    defs = schema["$defs"]
    schema["properties"]["criteria"]["minItems"] = schema["properties"]["criteria"]["maxItems"] = len(criteria)
    defs["CriterionAnswer"]["properties"]["points"].update(
        minimum=0, maximum=max((c.points for c in criteria), default=0)
    )
    if criteria:
        defs["CriterionAnswer"]["properties"]["id"] = {"type": "string", "enum": [c.id for c in criteria]}
    if want_metadata:
        schema["properties"]["metadata"] = {"$ref": "#/$defs/MetadataAnswer"}
        if industries:
            defs["MetadataAnswer"]["properties"]["industry"] = {
                "anyOf": [{"type": "string", "enum": industries}, {"type": "null"}]
            }
    else:
        del schema["properties"]["metadata"]
        schema["required"] = ["criteria"]
        for unused in ("MetadataAnswer", "QuoteAnswer"):
            defs.pop(unused, None)
    return schema


class InvalidAnswer(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.S | re.I)
_OBJECT_START = re.compile(r'\{\s*["}]')
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)(?:```|\Z)", re.S)


def extract_json(text: str) -> tuple[dict[str, Any], bool]:
    """The first JSON object in ``text`` and whether it had to be repaired."""
    text = _THINK.sub("", text)
    if fenced := _FENCE.search(text):
        text = fenced.group(1)
    found = _OBJECT_START.search(text)  # skips braces in prose ("{like this}")
    if found is None:
        raise InvalidAnswer(["the answer contains no JSON object"])
    start = found.start()
    try:  # strict=False: raw tabs and newlines inside strings are what small models and llama.cpp's grammar write
        obj, _ = json.JSONDecoder(strict=False).raw_decode(text, start)
        repaired = False
    except json.JSONDecodeError:
        obj, repaired = json_repair.loads(text[start:]), True
    if not isinstance(obj, dict) or not obj:
        raise InvalidAnswer(["the answer is not a valid JSON object"])
    return obj, repaired


def _country_code(value: str) -> str | None:
    """ISO alpha-2 for a code, alpha-3 or exact country name (unambiguous, so no re-ask); else None."""
    import pycountry

    text = value.strip()
    if text.upper() == "UK":
        return "GB"
    try:
        return pycountry.countries.lookup(text).alpha_2 if text else None
    except LookupError:
        return None


def validate_answer(
    obj: dict[str, Any], criteria: list[Criterion], industries: list[str], want_metadata: bool
) -> ScoreAnswer:
    """Shape by pydantic, meaning here: ids exactly as asked, points whole and within range."""
    try:
        answer = ScoreAnswer.model_validate(obj)
    except ValidationError as exc:
        raise InvalidAnswer([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]) from exc
    if not want_metadata:
        answer.metadata = None
    errors: list[str] = []
    maxima = {c.id: c.points for c in criteria}
    seen: list[str] = [a.id for a in answer.criteria]
    if missing := [i for i in maxima if i not in seen]:
        errors.append(f"missing criteria: {', '.join(missing)} (score every listed criterion)")
    if extra := sorted({i for i in seen if i not in maxima}):
        errors.append(f"unexpected criteria: {', '.join(extra)} (score only the listed criteria)")
    if dupes := sorted({i for i in seen if seen.count(i) > 1}):
        errors.append(f"criteria given more than once: {', '.join(dupes)}")
    for a in answer.criteria:
        if a.id in maxima and not 0 <= a.points <= maxima[a.id]:
            errors.append(f"criterion {a.id}: points {a.points} outside 0..{maxima[a.id]}")
    meta = answer.metadata
    if want_metadata and meta is None:
        errors.append("metadata is missing")
    if meta is not None:
        if meta.country is not None:
            code = _country_code(meta.country)
            if code is None:
                errors.append(f"metadata.country {meta.country!r} is not an ISO 3166-1 alpha-2 code (or null)")
            meta.country = code
        if meta.industry is not None and industries and meta.industry not in industries:
            errors.append(f"metadata.industry {meta.industry!r} is not one of the industry ids (or null)")
    if errors:
        raise InvalidAnswer(errors)
    return answer


# -- the scorer --------------------------------------------------------------------------------
class ScoringFailed(ScoringFailure, ReffyError):
    """No valid score for this story (``reason``: invalid_output, llm_unavailable, input_rejected).

    A :class:`ingest.silver.ScoringFailure`, so a run records it and carries on; the tokens and
    cost already spent on the attempts are kept, so the run can account for them.
    """

    def __init__(
        self, reason: str, detail: str, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float = 0.0
    ) -> None:
        Exception.__init__(self, f"Scoring failed ({reason}): {detail}")
        self.reason, self.detail = reason, detail
        self.tokens_in, self.tokens_out, self.cost_usd = tokens_in, tokens_out, cost_usd


@dataclass
class ScoreTrace:
    """How a score came about: attempts, spend, rejected answers, JSON repair, quotes dropped."""

    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True  # False: the model is not in litellm's price map, cost_usd is 0
    repaired: bool = False  # the accepted answer was malformed JSON that json-repair fixed
    rejected: list[str] = field(default_factory=list)  # why earlier answers were re-asked
    quotes_dropped: int = 0  # metadata quotes not found in the story
    finish_reason: str | None = None

    def add(self, resp: ChatResponse) -> None:
        self.attempts += 1
        self.tokens_in += resp.tokens_in
        self.tokens_out += resp.tokens_out
        self.cost_usd += resp.cost_usd
        self.cost_known &= resp.cost_known
        self.finish_reason = resp.finish_reason

    def failed(self, reason: str, detail: str) -> ScoringFailed:
        return ScoringFailed(reason, detail, self.tokens_in, self.tokens_out, self.cost_usd)


class LLMScorer(Scorer):
    """Implements the ``ingest.silver.Scorer`` protocol (scorer_key, prompt_version, concurrency)."""

    scorer = "llm"

    def __init__(
        self,
        settings: Settings,
        rubric: Rubric,
        vendor: VendorProfile,
        taxonomy: Taxonomy,
        chat_model: ChatModel | None = None,
        prompt: str = DEFAULT_PROMPT,
    ) -> None:
        self.settings, self.rubric, self.vendor, self.taxonomy = settings, rubric, vendor, taxonomy
        self.chat: ChatModel = chat_model or LiteLLMChatModel(settings)
        self.prompt = load_prompt(prompt)
        self.prompt_version = self.prompt.version
        self.scorer_key = f"llm:{self.chat.model}"
        self.concurrency = settings.llm_concurrency

    # -- prompt ---------------------------------------------------------------------------
    def _criteria_block(self, criteria: list[Criterion]) -> str:
        dims = {d.id: d.name for d in self.rubric.dimensions}
        lines = []
        for c in criteria:
            lines += [
                f"- id: {c.id} (0 to {c.points} points; {dims.get(c.dimension, c.dimension)})",
                f"  Full points: {c.earns}",
            ]
            lines += [f"  Partial credit: {c.partial}"] if c.partial else []
            lines += [f"  Example evidence: {c.example}"]
        return "\n".join(lines) or "None this time: answer with an empty criteria list."

    def _vendor_block(self) -> str:
        v = self.vendor
        if not v.name:
            return "Not specified: for vendor-specific criteria, credit the solution provider the story names."

        def names(things: list[Any]) -> str:
            return "; ".join(t.name + (f" (also: {', '.join(t.aliases)})" if t.aliases else "") for t in things)

        rows = [f"Name: {v.name}"] + ([f"About: {v.description}"] if v.description else [])
        rows.append(f"Products: {names(v.products) or 'not listed'}")
        rows.append(f"Competitors: {names(v.competitors) or 'not listed'}")
        return "\n".join(rows)

    def build_messages(self, story: StoryInput, criteria: list[Criterion], want_metadata: bool = True) -> Messages:
        p = self.prompt
        industries = "; ".join(f"{i.id} ({i.name})" for i in self.taxonomy.industries) or "none defined"
        meta_fmt = p.render("metadata_format") if want_metadata else ""
        ids = ", ".join(c.id for c in criteria) or "none (an empty list)"
        system = p.render(
            "system",
            vendor_name=self.vendor.name or "named in the story",
            vendor=self._vendor_block(),
            criteria=self._criteria_block(criteria),
            metadata=("\n" + p.render("metadata", industries=industries) + "\n") if want_metadata else "",
            answer_format=p.render("format", metadata_format=meta_fmt, criterion_ids=ids),
        )
        user = p.render(
            "user", boundary=f"story-{secrets.token_hex(8)}", fields=story_fields(story), text=_data(story.text)
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    # -- scoring ------------------------------------------------------------------------------
    def score(
        self, story: StoryInput, criteria: list[Criterion] | None = None, want_metadata: bool = True
    ) -> ScoreResult:
        return self.score_with_trace(story, criteria, want_metadata)[0]

    def score_with_trace(
        self, story: StoryInput, criteria: list[Criterion] | None = None, want_metadata: bool = True
    ) -> tuple[ScoreResult, ScoreTrace]:
        crits = list(self.rubric.criteria if criteria is None else criteria)
        if not crits and not want_metadata:
            raise ValueError("nothing to score: no criteria and no metadata requested")
        started, trace = time.monotonic(), ScoreTrace()
        answer = self._ask(story, crits, want_metadata, trace)
        haystack = f"{story.title}\n{story.text}"
        result = ScoreResult(
            story_id=story.story_id,
            scorer=self.scorer,
            model=self.chat.model,
            prompt_version=self.prompt_version,
            criteria=_checked_criteria(answer, crits, haystack),
            metadata=_metadata(answer.metadata, haystack, trace) if answer.metadata else StoryMetadata(),
            tokens_in=trace.tokens_in,
            tokens_out=trace.tokens_out,
            cost_usd=trace.cost_usd,
            latency_s=time.monotonic() - started,
        )
        return result, trace

    def _ask(self, story: StoryInput, crits: list[Criterion], want_metadata: bool, trace: ScoreTrace) -> ScoreAnswer:
        """Call, parse, validate; re-ask with the validation errors up to ``llm_repair_attempts`` times."""
        industries = self.taxonomy.ids
        schema = answer_schema(crits, industries, want_metadata)
        messages = self.build_messages(story, crits, want_metadata)
        for _ in range(self.settings.llm_repair_attempts + 1):
            try:
                resp = self.chat.complete(
                    messages, json_schema=schema, temperature=0, max_tokens=answer_tokens(len(crits), want_metadata)
                )
            except LLMUnreachable:
                raise  # nothing listens: every story would fail alike, so the run stops and says why
            except (LLMUnavailable, LLMInputError) as exc:
                reason = (
                    "timeout"
                    if isinstance(exc, LLMTimeout)
                    else "llm_unavailable"
                    if isinstance(exc, LLMUnavailable)
                    else "input_rejected"
                )
                raise trace.failed(reason, str(exc)) from exc
            trace.add(resp)
            try:
                obj, trace.repaired = extract_json(resp.text)
                return validate_answer(obj, crits, industries, want_metadata)
            except InvalidAnswer as exc:
                trace.rejected.append(str(exc))
                errors = "\n".join(f"- {e}" for e in exc.errors)
                if resp.finish_reason == "length":
                    errors += "\n- the answer was cut off: keep evidence and rationales short"
                repair = self.prompt.render("repair", errors=errors)
                messages = [*messages, {"role": "assistant", "content": resp.text}, {"role": "user", "content": repair}]
        raise trace.failed(
            "invalid_output",
            f"no valid answer from {self.chat.model} after {plural(trace.attempts, 'attempt')}; "
            f"last problem: {sentence(trace.rejected[-1])} "
            "Try a stronger model (REFFY_LLM_MODEL) or more re-asks (REFFY_LLM_REPAIR_ATTEMPTS).",
        )

    def estimate(
        self, story: StoryInput, criteria: list[Criterion] | None = None, want_metadata: bool = True
    ) -> tuple[int, float | None]:
        """(tokens in, dollars) for one attempt, without calling the LLM; cost None when unpriced."""
        crits = list(self.rubric.criteria if criteria is None else criteria)
        prompt_text = "\n\n".join(m["content"] for m in self.build_messages(story, crits, want_metadata))
        return estimate_cost(self.chat.model, prompt_text, 20 + 70 * len(crits) + (350 if want_metadata else 0))


def answer_tokens(criteria: int, want_metadata: bool) -> int:
    """The ``max_tokens`` of one scoring call: room for every string of the bounded schema at
    its longest (about 3 characters a token) and the JSON around them; a model that runs on
    is cut off there and re-asked, instead of generating until the context is full."""
    per_criterion = 20 + (STRING_BOUNDS["evidence"] + STRING_BOUNDS["rationale"]) // 3
    return 64 + per_criterion * criteria + (900 if want_metadata else 0)


_STORY_TAG = re.compile(r"<(/?)story\b", re.I)
META_VALUE_CHARS = 200
META_KEY_CHARS = 60
META_FIELDS = 40


def _data(text: str) -> str:
    """Story text cannot close (or reopen) the story block: ``<story...`` becomes
    ``<story-text...``, which no boundary (``story-`` and hex digits) can equal."""
    return _STORY_TAG.sub(r"<\1story-text", text)


def story_fields(story: StoryInput) -> str:
    """The story's title and scalar source metadata as one JSON object, ``<`` and ``>`` written
    as JSON escapes: a title, key or value holding ``</story>``, a forged boundary or "ignore
    previous instructions" stays a string inside the object, never a line of the prompt.
    Bounded (keys, values and their number) so a pathological record cannot flood the prompt."""
    meta = {"source": story.source_type, **story.meta}
    fields: dict[str, Any] = {"title": story.title}
    for key, value in meta.items():
        if len(fields) > META_FIELDS:
            break
        if isinstance(value, str | int | float) and value != "":  # bools too: `confidential: true`
            fields.setdefault(str(key)[:META_KEY_CHARS], str(value)[:META_VALUE_CHARS])
    return json.dumps(fields, ensure_ascii=False, indent=1).replace("<", "\\u003c").replace(">", "\\u003e")


def _checked_criteria(answer: ScoreAnswer, criteria: list[Criterion], haystack: str) -> list[CriterionScore]:
    """Scores in the order asked; points whose evidence is not in the story are withdrawn."""
    by_id = {a.id: a for a in answer.criteria}
    out = []
    for c in criteria:
        a = by_id[c.id]
        evidence = a.evidence.strip()
        found = evidence_found(evidence, haystack) if evidence else a.points == 0
        withdrawn = a.points > 0 and not found
        out.append(
            CriterionScore(
                criterion_id=c.id,
                points=0 if withdrawn else a.points,
                max_points=c.points,
                evidence=evidence,
                rationale=a.rationale.strip(),
                evidence_found=found,
                claimed_points=a.points if withdrawn else None,
            )
        )
    return out


def _metadata(m: MetadataAnswer, haystack: str, trace: ScoreTrace) -> StoryMetadata:
    """Extracted facts, tidied; quotes not found verbatim in the story are dropped (readers take them as verbatim)."""

    def _text(value: str | None) -> str | None:
        return (value or "").strip() or None

    def _clean(items: list[str]) -> list[str]:
        return list(dict.fromkeys(s.strip() for s in items if s and s.strip()))

    quotes = [Quote(q.text.strip(), _text(q.speaker), _text(q.role)) for q in m.quotes if q.text.strip()]
    kept = [q for q in quotes if evidence_found(q.text, haystack)]
    trace.quotes_dropped = len(quotes) - len(kept)
    return StoryMetadata(
        customer=_text(m.customer),
        country=m.country,
        industry=m.industry,
        products=_clean(m.products),
        competitors=_clean(m.competitors),
        quotes=kept,
        outcomes=_clean(m.outcomes),
        shareability=m.shareability,
        challenge=_text(m.challenge),
        solution=_text(m.solution),
    )
