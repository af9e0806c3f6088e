"""Is a scored page a customer story at all? Announcements, event posts and pages that report
no result are not, however well they score on customer and solution.

:func:`not_a_story` gives the reason a page is not a story, or None. A story names its customer
(or describes one: "a large European airline") and reports a result: an outcome line (see
:mod:`ingest.extract.outcomes`) or, after the solution is first named, a sentence that says what
changed ("waiting times have been much shorter", "far fewer routine questions"), not what was
wanted, planned or hoped. A page that reads as an announcement ("Big day for the team! 🎉",
"excited to announce", hashtags) or an event post ("join us", "register now") and reports no
result is named as such. Deterministic and explainable, like the other extractors: the gold
build keeps such pages out of gold, with the reason recorded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.extract.layout import restructure, solution_start
from ingest.extract.outcomes import BEFORE_AFTER, CHANGE_CUES, GOAL_CUES
from reffy.domain.text import all_sentences, nfc

_ANNOUNCEMENT = re.compile(
    r"\b(?:big day|(?:so |very |really )?(?:proud|excited|thrilled|delighted|happy|pleased) (?:to|that we)\s+"
    r"(?:share|announce|welcome|say|tell|report|have)|we(?:'re| are) (?:live|excited|thrilled|proud)|"
    r"huge thanks|big thanks|shout-?out|onwards(?=\s*!)|stay tuned|watch this space|congratulations|congrats|"
    r"(?:just|officially) (?:went|gone) live|went live (?:this|last) week|welcome (?:to the family|aboard))\b"
    r"|[\U0001F389\U0001F38A\U0001F680\U0001F973\U0001F64C\U0001F44F\u2728]",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"\b(?:join us|register (?:now|here|today)|registration (?:is )?open|save the date|rsvp|visit (?:us|our booth)|"
    r"(?:our|at) booth|see you (?:at|in|there)|doors open|book your (?:seat|place|ticket)|"
    r"limited (?:seats|places)|sign up (?:now|here|today))\b",
    re.IGNORECASE,
)
_HASHTAG = re.compile(r"(?<![\w&#])#[A-Za-z][\w]{2,}")
# Changes said in words: "much shorter", "far fewer", "faster answers", "improved noticeably".
_CHANGE_WORDS = re.compile(
    r"\b(?:shorter|fewer|faster|quicker|less|lower|higher|better|cheaper|sooner|more quickly)\b", re.IGNORECASE
)


def post_markers(text: str) -> tuple[int, int]:
    """(announcement markers, event markers) in the text; three or more hashtags count as one
    announcement marker."""
    text = nfc(text)
    announcement = len(_ANNOUNCEMENT.findall(text)) + (len(_HASHTAG.findall(text)) >= 3)
    return announcement, len(_EVENT.findall(text))


def reports_result(text: str, outcomes: Sequence[str] = (), names: Sequence[str] = ()) -> bool:
    """Whether the page says what changed for the customer: an outcome line, or a sentence from
    the first mention of the solution on (its products or vendor, ``names``) with a change
    verb, a before/after comparison or a comparative, that is not a goal or a plan."""
    if outcomes:
        return True
    triples = all_sentences(restructure(nfc(text)), with_kind=True)
    start = solution_start(triples, names)
    for _, _, sentence in triples[start:]:
        if GOAL_CUES.search(sentence):
            continue
        if CHANGE_CUES.search(sentence) or BEFORE_AFTER.search(sentence) or _CHANGE_WORDS.search(sentence):
            return True
    return False


def not_a_story(
    title: str,
    text: str,
    *,
    customer: str | None,
    described_customer: bool = False,
    outcomes: Sequence[str] = (),
    names: Sequence[str] = (),
) -> str | None:
    """Why the page is not a customer story (a short reason for people), or None when it is one.

    ``customer``: the customer as extracted (or overridden); ``described_customer``: the page
    describes an unnamed customer ("a large European airline"); ``outcomes``: its outcome lines;
    ``names``: the vendor and products it names.

    1. An announcement or an event post (two or more of their markers, see :func:`post_markers`)
       with no outcome line is not a story, whatever else it says: a go-live post names the
       customer and the products and promises a lot.
    2. A page with neither a customer (named or described) nor a result is not a story.
    A story with a customer and no result, or a result and no named customer, stays a story (a
    weak one, which the score threshold judges)."""
    if not outcomes:
        announcement, event = post_markers(f"{title}\n{text}")
        if event >= 2 and event >= announcement:
            return "an event post, not a customer story (no result reported)"
        if announcement >= 2:
            return "an announcement, not a customer story (no result reported)"
    if not customer and not described_customer and not reports_result(text, outcomes, names):
        return "no customer and no result: not a customer story"
    return None
