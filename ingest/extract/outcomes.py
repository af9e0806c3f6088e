"""Quantified results: the sentences (or clauses) of a story that report a measured outcome.

An outcome line is shown on cards, story pages and briefs as a fact about the customer, so
it must be one: a **measured change, or a figure with what it measures, achieved**, that
reads as a whole statement. The rules, all deterministic:

1. **Lines, not layout.** Pages, slides, PDFs and notes are read one line at a time, with
   headings found where the markup lost them (:func:`ingest.extract.layout.restructure`);
   speaker labels of transcripts ("PRIYA RAMAN: ...") are dropped.
2. **A measured figure**: a percentage or points, a multiplier, money, a fraction ("a third",
   "four in ten"), a "from X to Y" change, a duration, or a count with an achievement verb.
   A duration that is only the time frame ("in the first six months", "four months after
   launch", "after 18 months") measures nothing, unless the sentence compares ("down from",
   "instead of", "compared with").
3. **An achieved-change cue**: a change verb (reduced, cut, fell, rose, improved, saved,
   doubled, ...), "up/down N", a comparison ("from 71% to 83%", "versus 71% for ..."), a
   comparative on the figure ("52% fewer", "3x faster"), or, with a share or count, an
   achievement ("achieved", "now", "answered", "resolved", "handled", "automatically",
   "without an agent").
4. **Refused**: goals, plans, targets, conditions and possibilities (aims to, wanted to, under
   pressure to, could, may, if, potential, threshold), and the items of a list introduced as
   projections; commentary about figures (unclear, not detailed, caveats, suggests, likely,
   whether, aspirational, claims about, "doesn't discuss"; a sentence whose subject is
   "The 86% ..." or that starts "This represented"), and notes about the source itself ("the
   transcript was not available", "returned a 404 error"); who the customer is rather than
   what changed (backed by, founded, headquartered, "has processed over ...", "agents who ...");
   what usually happens or what a survey or a market found (typically, often, survey of,
   respondents); the situation before (struggled, waited, previously, took, only, problem,
   backlog, ... unless a change is reported; past perfect "had grown"; the figure only in a
   "While ..." clause); a negated change ("isn't improving"); a range ("ranging from 2B to
   13B") or a scale ("from 0 to 5") taken for a change; prices and contracts; quotes;
   sentences under a challenge or background heading, or under an assessment, limitations
   or outlook heading; sentences before the story first names the solution (its products or
   vendor, or else a rollout verb), unless they sit under a results heading. A cue counts
   only within a few words of the figure it is about.
5. **Whole statements only**: a line never ends on a function word or a colon, never starts
   with a lower-case conjunction, has balanced brackets and quotes, is not the story's title,
   and is not cut with an ellipsis. A sentence longer than ``max_chars`` is shown as its
   first clause that qualifies on its own, or not at all.

Results sections come first, then reading order. :func:`find_figures` returns the figures.
``eval/outcome_precision.py`` measures the rules on a hand-labelled set.

Size: mostly regular expressions, one per family of outcome cue, and the refusals measured against
eval/outcome_lines.jsonl.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.extract.layout import ends_on_fragment_word, restructure, solution_start
from reffy.domain.text import ASCII_FOLDS, all_sentences, nfc

_NUM = r"(?:\d{1,3}(?:[,\u202f\u00a0]\d{3})+|\d+)(?:[.,]\d+)?"
_WORD_NUM = (
    r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|eighteen|twenty|thirty|forty|"
    r"fifty|sixty|ninety|a hundred|hundred)"
)
_CURRENCY = r"(?:USD|EUR|GBP|CHF|ZAR|SEK|NOK|DKK|BRL|INR|JPY|AUD|CAD|SGD|PLN|MXN)"
FIGURE = re.compile(
    rf"(?:"
    rf"[-+~≈]?{_NUM}\s?(?:%|percent\b|per cent\b|percentage points?\b|pp\b|pts\b)"  # percentages
    rf"|{_NUM}\s?(?:x|×)(?![\w])|{_NUM}-?fold\b|(?:{_NUM}|{_WORD_NUM})\s+times\b(?!\s+(?:per|a|an|each|every)\b)"  # multipliers
    rf"|(?:[$€£¥₹]|{_CURRENCY}\s?|US\$\s?){_NUM}\s?(?:[kKmMbB]n?\b|thousand\b|million\b|billion\b|bn\b)?"  # money
    rf"|{_NUM}\s?(?:million|billion|thousand|[kKmM])?\s?(?:dollars|euros|pounds|pesos|{_CURRENCY})\b"
    rf"|(?:{_NUM}|{_WORD_NUM}|a few|several)[\s-](?:milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?|hrs?|"
    rf"days?|weeks?|months?|years?)\b"  # durations
    rf"|\b\d{{1,2}}:\d{{2}}\b"  # clock durations (9:40)
    rf"|\b(?:doubled|tripled|quadrupled|halved)\b"
    rf")",
    re.IGNORECASE,
)
_VALUE = rf"[-+−]?[$€£]?(?:\d{{1,2}}:\d{{2}}|{_NUM})"
_UNIT = (
    r"(?:\s?(?:%|x\b|percent\b|ms\b|milliseconds?\b|seconds?\b|minutes?\b|hours?\b|days?\b|weeks?\b|"
    r"months?\b|years?\b|[kKmM]\b|million\b|billion\b))?"
)
_FROM_TO = re.compile(
    rf"\bfrom\s+(?:about\s+|around\s+|over\s+|under\s+|nearly\s+|almost\s+|just\s+)?{_VALUE}"
    rf"[^.;]{{0,40}}?\bto\s+(?:about\s+|around\s+|under\s+|just\s+|less than\s+)?{_VALUE}{_UNIT}",
    re.IGNORECASE,
)
# More measured quantities, only in sentences that already have a cue (see _measured).
_EXTRA_FIGURE = re.compile(
    rf"\b{_NUM}\s+points?\b"  # "up 14 points"
    r"|\b(?:by|about|around|roughly|nearly|almost|over|some|just|only|than|to)\s+(?:a|one|two)\s+(?:third|quarter|fifth|"
    r"tenth)s?\b(?!-)|\b(?:a|one|two)\s+(?:third|quarter|fifth|tenth)s?(?=\s+(?:of|off|less|more|fewer|lower|higher)\b"
    r"|\s*[,.;:)]|\s*$)"
    r"|(?<!first )(?<!second )\bhalf(?=\s+(?:of|off)\b|\s*[,.;:)]|\s*$)|\b(?:in|by)\s+half\b"
    r"|\btwo-thirds\b|\bthree-quarters\b"  # fractions ("about a third of", "by half"; not "a third layer", "the first half of 2024")
    rf"|\b(?:one|two|three|four|five|six|seven|eight|nine|{_NUM})\s+(?:in|out of)\s+"
    rf"(?:two|three|four|five|six|seven|eight|nine|ten|twenty|a hundred|{_NUM})\b",
    re.IGNORECASE,
)
_COUNT = re.compile(
    r"(?<![\w.$€£:])(?:\d{1,3}(?:[,\u202f\u00a0]\d{3})+|\d+(?:\.\d+)?\s?(?:million|billion|thousand)\b|"
    r"\d{3,})(?![\w%:]|[.,]\d)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_DURATION_KIND = re.compile(
    r"(?:milliseconds?|ms|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)$", re.IGNORECASE
)

# A duration that only says when: "in the first six months", "after 18 months", "four months after launch".
_FRAME_BEFORE = re.compile(
    r"(?:(?:^|[,;:(]\s*|\b(?:and|but|then|so)\s+)(?:in|within|after|over|during|for)\s+(?:the\s+)?"
    r"(?:first\s+|last\s+|past\s+|next\s+|initial\s+)?(?:about\s+|around\s+|roughly\s+|nearly\s+|almost\s+|just\s+)?"
    r"|\b(?:first|last|final|past|next|initial|previous|coming)\s+(?:\w+\s+)?"
    r"|\b(?:after|for|every|each|per)\s+(?:about\s+|around\s+|roughly\s+|nearly\s+|just\s+|only\s+|more than\s+|over\s+)?)$",
    re.IGNORECASE,
)
_FRAME_AFTER = re.compile(
    r"\s*(?:after|later|ago|in\b|into|since|before|earlier|of\s+(?:the\s+)?(?:full\s+)?"
    r"(?:go-live|launch|rollout|roll-out|operation|use|deployment|the pilot|going live))",
    re.IGNORECASE,
)

_CHANGE = re.compile(
    r"(?<!n't )(?<!not )(?<!never )(?<!no )\b(?:reduc(?:e|ed|es|ing|tions?)|cut(?:s|ting)?(?!-)|fell|fallen|falls|dropp(?:ed|ing)|drops?|decreas(?:ed|es|e|ing)|"
    r"declin(?:ed|es|e|ing)|shr(?:ank|unk|inks?)|slash(?:ed|es)?|lowered|plung(?:ed|es)|improv(?:e|ed|es|ements?|ing)|"
    r"increas(?:ed|es|e|ing)|rose|risen|rises|grew|grown|grows|growth|jump(?:ed|s)|climb(?:ed|s)|boost(?:ed|ing)|"
    r"doubl(?:ed|es|ing)|halv(?:ed|es|ing)|tripl(?:ed|es)|quadrupl(?:ed|es)|sav(?:ed|es|ing|ings)|sped up|"
    r"speed(?:s|ed)? up|accelerat(?:ed|es|ion)|eliminat(?:ed|es)|avoid(?:ed|s)|freed(?!-)|gain(?:ed|ing|s)?|"
    r"lift(?:ed|s)?|uplift|came down|went down|went up|come down|gone down|shortened|raised|outperform(?:ed|s)?|"
    r"surpass(?:ed|es|ing)|outperforming|"
    r"(?:down|(?<!made )(?<!make )(?<!makes )(?<!making )(?<!set )(?<!sets )(?<!sign )(?<!signed )(?<!show )"
    r"(?<!showed )(?<!turn )(?<!turned )(?<!add )(?<!adds )(?<!added )up)(?=\s+(?:by\s+)?(?:from\s+)?(?:about\s+|around\s+|roughly\s+|nearly\s+|almost\s+|over\s+|more than\s+)?"
    rf"(?:[-+−]?\d|a\s+(?:third|quarter|fifth|half)|half|one\s+in|{_WORD_NUM}(?:-\w+)?\s+(?:percent|per cent|points?)\b)))\b",
    re.IGNORECASE,
)
# Before and after: "down from", "from 71% to 83%", "compared with the year before".
_CONTRAST = re.compile(
    r"\b(?:down from|up from|than (?:before|in|the same|a year|last|previously|with)|"
    r"compared (?:with|to)\b[^;]{0,40}\b(?:before|earlier|ago|previous\w*|last|prior|same (?:period|weeks?|months?|quarter))|"
    r"previously\b.*\bnow|used to\b.*\bnow)\b"
    r"|\bfrom\s+(?:about\s+|around\s+|over\s+|more than\s+|just over\s+|nearly\s+)?[-+−]?(?:\d|\w+\s+(?:ms|seconds?|"
    r"minutes?|hours?|days?|weeks?|months?)\b)[^;]{0,40}?\bto\s+(?:under|about|around|less|a bit|just|nearly|[-+−]?\d)",
    re.IGNORECASE,
)
# Side by side: "94% of claims against 79% for Callowave", "7% versus 12%", "after five months instead of a year".
_VERSUS = re.compile(
    r"\b(?:versus|vs\.?|against|compared (?:with|to)|instead of|rather than)\s+(?:the\s+|a\s+|an\s+|"
    r"about\s+|around\s+|roughly\s+|nearly\s+|just\s+|only\s+|under\s+|over\s+|more than\s+|less than\s+)*"
    r"(?:[-+−~$€£]?\d|(?:year|month|week|day|hour|minute)s?\b|(?:one|two|three|four|five|six|seven|eight|"
    r"nine|ten|twenty|half)\b)",
    re.IGNORECASE,
)
_COMPARATIVE = re.compile(
    r"(?:%|\bpercent|\bper cent|\bpoints?|\d\s?x|×|\btimes|\bfold)\s+(?:faster|quicker|shorter|fewer|less|lower|higher|"
    r"more|better|cheaper|smaller|greater|bigger|larger|longer)\b|\btimes\s+as\s+(?:many|much|fast|quickly)\b|"
    r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?)\s+(?:faster|quicker|shorter|less|sooner|earlier)\b",
    re.IGNORECASE,
)
_ACHIEVED = re.compile(
    r"(?<!-)(?<!the )(?<!an )(?<!a )(?<!its )(?<!their )(?<!our )(?<!of )(?<!The )(?<!highly )\b(?:achiev(?:ed|es|ing)|reach(?:ed|es)|attain(?:ed|s)|deliver(?:ed|s)|now|resolv(?:ed|es)|answer(?:ed|s)|"
    r"handl(?:ed|es)|automat(?:ed|ically)|settled|processed|completed|contain(?:ed|ment)|deflect(?:ed|ion)|"
    r"correctly(?=\s+(?:in|for|on|at)\b)|absorbed|returned|held(?!\s+(?:out|back|off|up))|served|generated|enabled(?!\s+by)|"
    r"autonomously|"
    r"without (?:an? |any )?(?:agent|human|staff|attendant|person|manual|engineer|intervention))\b",
    re.IGNORECASE,
)
_ACHIEVED_STRONG = re.compile(r"\b(?:achiev(?:ed|es|ing)|reach(?:ed|es)|attain(?:ed|s))\b", re.IGNORECASE)
_ACHIEVED_PAST = re.compile(
    r"(?<!-)(?<!the )(?<!an )(?<!a )(?<!its )(?<!their )(?<!our )(?<!of )(?<!The )\b(?:achieved|reached|resolved|answered|handled|processed|completed|held(?!\s+(?:out|back|off|up))|"
    r"served|absorbed|returned|generated|enabled|automated|saved|peaked)\b",
    re.IGNORECASE,
)
_GOAL = re.compile(
    r"\b(?:aim(?:s|ed|ing)?\s+(?:to|at|for)|plan(?:s|ned|ning)?\s+to|expect(?:s|ed|ing)?\s+to|hop(?:e|es|ed|ing)\s+to|"
    r"target(?:s|ed|ing)?|goals?|objectives?|ambitions?|want(?:s|ed)?\s+to|needs?\s+to|needed|ha(?:d|ve|s)\s+to|"
    r"must|under pressure|set out to|seek(?:s|ing)?\s+to|looking to|intend\w*|in order to|would|could|might|should|"
    r"(?-i:may)|will|shall|going to|if|unless|potentially\s+\w+ing|potential\s+(?:for|to|savings?|gains?|benefits?|"
    r"reductions?|increases?|improvements?|impact|value|paths?)|projected|forecast\w*|promis\w*|guarantee\w*|"
    r"thresholds?|clause|committed to|can(?!\s+now)|cannot|can't|estimated to|expected|enough to)\b",
    re.IGNORECASE,
)
_COMMENTARY = re.compile(
    r"\b(?:caveats?|unclear|not (?:clear|detailed|specified|disclosed|provided|addressed|shared|explained|quantified|"
    r"independently|necessarily)|lacks?|lacking|without (?:detailed|independent|clear)|raises? questions|"
    r"room for improvement|skeptic\w*|sceptic\w*|caution\w*|interpreted|appears? to|seems? to|suggest(?:s|ing)?|"
    r"impl(?:y|ies|ied)|whether|warrant\w*|noteworthy|worth noting|exemplif\w*|illustrat\w*|"
    r"demonstrat(?:es|ing)\s+(?:the|how|that)|acknowledg\w*|in theory|hypothetical\w*|"
    r"(?:is|are|was|were|seems?|looks?|remains?)\s+(?:\w+\s+)?(?:compelling|impressive|significant|substantial|notable|"
    r"remarkable|commendable|modest|interesting|promising)|the (?:importance|value) of|data points?|"
    r"(?:article|author|speaker|presenter|paper) (?:notes|argues|mentions|points out)|likely|probably|presumably|"
    r"(?:also )?(?:highlights|underscores|showcases)|not available|returned an? (?:\d{3} )?error|\d{3} error|"
    r"aspirational|rather than measured|(?:does not|doesn't|did not|didn't) (?:discuss|detail|explain|mention|say|report)|"
    r"claims? about|with claims of)\b",
    re.IGNORECASE,
)
# A list introduced as projections ("these are projected benefits rather than measured outcomes:") lists none.
_PROJECTED = re.compile(
    r"\b(?:projected|anticipated|expected|forecast\w*|potential|targets?|goals?|aims?|plans?|would|"
    r"could|hypothetical\w*|rather than measured)\b",
    re.IGNORECASE,
)
# Not about this customer: what usually happens, or what a survey or a market found.
_GENERIC = re.compile(
    r"\b(?:typical(?:ly)?|usually|generally|in general|often|commonly|(?:is|are) common|common (?:in|for|among)|"
    r"tends? to|(?:market|industry) (?:is|size|opportunity)|surveys? of|"
    r"surveyed|respondents?|polls? of|market share|industry-wide|of (?:large |all |surveyed )?(?:companies|"
    r"enterprises|organi[sz]ations|firms|businesses))\b",
    re.IGNORECASE,
)
# Who the customer is, not what changed: its backing, founding, size or the volume it handles.
_PROFILE = re.compile(
    r"\b(?:backed by|founded (?:in|by)|headquartered|employs|(?:has|have) (?:processed|handled|served)|"
    r"(?:employees|staff|people|agents) who)\b",
    re.IGNORECASE,
)
_CONCESSIVE = re.compile(r"^(?:While|Although|Though|Whereas|Despite|Even though)\b")
_RESTATE = re.compile(
    r"^(?:(?:The|This|That|These|Those|Such|Its|Their|Our)\s+(?:reported\s+|claimed\s+|cited\s+|"
    r"stated\s+|headline\s+|overall\s+|final\s+)?(?:~|≈|over\s+|more than\s+)?[-+$€£]?\d|"
    r"(?:This|That|These|It)\s+represent(?:s|ed)\b)"
)
_BEFORE = re.compile(
    r"\b(?:struggl\w*|wait(?:ed|ing)|regularly|routinely|frequently|often|typically|usually|generally|commonly|"
    r"previously|used to|at the time|initially|originally|at first|only|problems?|issues?|challeng\w*|pain|"
    r"bottlenecks?|backlogs?|lost patience|complain\w*|frustrat\w*|overwhelm\w*|could not|couldn't|unable|took|"
    r"spent|stuck|baseline|legacy|manual(?:ly)?|before|in-house|incumbent|hung up|up to|began|started with|"
    r"at the start|to begin with|previous|prior|original|far from|fell short|falls short|building on|"
    r"not (?:yet )?(?:acceptable|sufficient|good enough|usable))\b",
    re.IGNORECASE,
)
_PAST_PERFECT = re.compile(
    r"\bhad\s+(?:been\s+|already\s+|previously\s+|just\s+|long\s+|never\s+)?(?:\w+ed|grown|built|"
    r"run|begun|seen|made|done|taken|become|known|shown|gone|given|chosen|written|spent|lost|"
    r"kept|held|brought|found|sold)\b",
    re.IGNORECASE,
)
_COMMERCIAL = re.compile(
    r"\b(?:price[ds]?|pricing|discount\w*|contract\w*|tender|commercials?|proposal|fees?|"
    r"licen[cs]e (?:fee|cost|price)s?|per year for|p\.a\.|per (?:user|seat|agent) per)\b",
    re.IGNORECASE,
)
_QUOTE = re.compile(
    r"\b(?:said|says|told|added|explained|put it)\b[^.]{0,80}[\"“]|[\"“][^\"”]{12,}[\"”][,]?\s+"
    r"(?:said|says|added|explained)\b",
    re.IGNORECASE,
)
_BEFORE_HEADINGS = re.compile(
    r"\b(?:challenges?|problems?|background|context|situation|before|pain|the ask|"
    r"starting point)\b",
    re.IGNORECASE,
)
_SOLUTION_HEADINGS = re.compile(r"\b(?:solutions?|approach|implementation|how)\b", re.IGNORECASE)
_RESULT_HEADINGS = re.compile(
    r"\b(?:results?|outcomes?|impact|benefits?|metrics|roi|achievements?|success|numbers|"
    r"value|performance|improvements?|business case)\b",
    re.IGNORECASE,
)
_CRITIQUE_HEADINGS = re.compile(
    r"\b(?:critical|critique|assessment|limitations?|caveats?|considerations?|concerns?|"
    r"takeaways?|implications?|future|roadmap|next steps?|what's next|outlook|"
    r"trade-?offs?|discussion|open questions)\b",
    re.IGNORECASE,
)

_FRAGMENT_START = re.compile(
    r"^(?:and|or|but|which|who|whose|while|whereas|with|as|so|because|that|plus|including|"
    r"although|though|nor|then)\b"
)
_NOUN_CLAUSE = re.compile(r"^(?:the fact that|whether|that)\b", re.IGNORECASE)  # a subject, not a statement
_SPEAKER = re.compile(
    r"^(?:[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’.-]+(?:\s+[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’.-]+){0,3}|"
    r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’.-]+(?:\s+[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’.-]+){1,2}):\s+(?=[\"“A-Z0-9])"
)
_CLAUSE_SPLIT = re.compile(
    r";\s+|\s+[—–]\s+|,\s+(?=(?:and|while|whereas|but|with|which|as|plus|although|though|"
    r"because|so|including|representing|making|allowing|enabling|meaning)\s)|:\s+(?=[A-Z0-9])"
)
_LEAD_CONJUNCTION = re.compile(r"^(?:and|but|plus|while|whereas|so)\s+")
_SUBORDINATE = re.compile(
    r"^(?:which|who|as|with|including|representing|making|allowing|enabling|meaning|although|"
    r"though|because)\b"
)


def find_figures(text: str) -> list[str]:
    """Every figure in the text as written ("38%", "3x", "€1.2 million", "16 weeks",
    "from 71% to 83%"), in order, without duplicates."""
    text = nfc(text)
    spans: list[tuple[int, int]] = []
    for m in _FROM_TO.finditer(text):
        spans.append((m.start(), m.end()))
    for m in FIGURE.finditer(text):
        if not any(s <= m.start() < e for s, e in spans):
            spans.append((m.start(), m.end()))
    out: list[str] = []
    for start, end in sorted(spans):
        figure = " ".join(text[start:end].split()).strip()
        if figure and figure not in out:
            out.append(figure)
    return out


def spelled_figures(text: str) -> list[str]:
    """Figures a digit search misses: fractions and shares in words ("four in ten", "about a
    third", "more than half"), and points ("up 14 points"), as written, lower-cased."""
    return [" ".join(m.group(0).lower().split()) for m in _EXTRA_FIGURE.finditer(nfc(text))]


# Where a FIGURE match can start: at most four characters before the first digit of a number
# ("US$ 5", "~38%"), or where one of the words of its other branches begins ("three times",
# "a few weeks", "doubled"). Trying the pattern only there finds the matches a search would
# find, at a fraction of the cost (the search tries every branch at every character).
_DIGITS = re.compile(r"\d+")
_FIGURE_WORDS = (
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "eighteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "ninety",
    "a hundred",
    "hundred",
    "a few",
    "several",
    "doubled",
    "tripled",
    "quadrupled",
    "halved",
)
_EXTRA_WORDS = ("third", "quarter", "fifth", "tenth", "half", "one in", "one out", "points")


def _could_have_figure(sentence: str, words: tuple[str, ...]) -> bool:
    """A cheap necessary condition for :func:`_measured`: a digit, or a figure word."""
    if _DIGITS.search(sentence) or ASCII_FOLDS.search(sentence):
        return True
    low = sentence.lower()
    return any(w in low for w in words)


def _is_frame(sentence: str, start: int, end: int) -> bool:
    """Whether the duration at ``sentence[start:end]`` only says when or how long ago."""
    return bool(_FRAME_BEFORE.search(sentence[max(0, start - 40) : start]) or _FRAME_AFTER.match(sentence, end))


_NEAR_CONTRAST = re.compile(
    r"\W*(?:\w+\W+){0,2}?(?:instead of|rather than|compared (?:with|to)|versus|vs\b|"
    r"down from|up from|to\b)",
    re.IGNORECASE,
)
_RANGE = re.compile(r"\b(?:rang(?:e|es|ed|ing)|var(?:y|ies|ied|ying)|spann?(?:s|ed|ing)?)\s*$", re.IGNORECASE)
_NEAR = 60  # a cue measures a figure when at most this many characters lie between them


_EXTRA_LITERALS = ("point", "third", "quarter", "fifth", "tenth", "half", " in ", " out of ")
_COMPARATIVE_WORDS = (
    "faster",
    "quicker",
    "shorter",
    "fewer",
    "less",
    "lower",
    "higher",
    "more",
    "better",
    "cheaper",
    "smaller",
    "greater",
    "bigger",
    "larger",
    "longer",
    "sooner",
    "earlier",
    "as many",
    "as much",
    "as fast",
    "as quickly",
)


def _any_figure(sentence: str, lowered: str) -> bool:
    """Whether the sentence has anything :func:`_figures` could count (a quick test)."""
    return bool(
        _figure_matches(sentence)
        or (_may_have_extra(lowered) and _EXTRA_FIGURE.search(sentence))
        or _COUNT.search(sentence)
        or ("from" in sentence and _FROM_TO.search(sentence))
    )


def _may_have_extra(lowered: str) -> bool:
    """A necessary condition for _EXTRA_FIGURE (each of its branches needs one of these)."""
    return any(literal in lowered for literal in _EXTRA_LITERALS)


def _figure_matches(sentence: str) -> list[re.Match[str]]:
    """``list(FIGURE.finditer(sentence))``, trying the pattern only where a match can start
    (see _FIGURE_WORDS): at the earliest such position that matches, then on after it."""
    if ASCII_FOLDS.search(sentence):
        return list(FIGURE.finditer(sentence))
    starts = {at for d in _DIGITS.finditer(sentence) for at in range(max(0, d.start() - 4), d.start() + 1)}
    low = sentence.lower()
    for word in _FIGURE_WORDS:
        at = low.find(word)
        while at >= 0:
            starts.add(at)
            at = low.find(word, at + 1)
    out: list[re.Match[str]] = []
    end = 0
    for at in sorted(starts):
        if at < end:
            continue
        m = FIGURE.match(sentence, at)
        if m and m.end() > m.start():
            out.append(m)
            end = m.end()
    return out


def _figures(sentence: str, compares: bool, counts: bool, counts_compared: bool) -> list[tuple[int, int, bool]]:
    """The measured figures of a sentence as (start, end, is_share): ``is_share`` for
    anything but a lone duration. A duration that is a time frame counts only when a
    comparison follows it ("after five months instead of a year"); a count ("14,000
    conversations") only next to an achievement verb in the past ("handled about 14,000
    conversations", "peaked at 240"; ``counts``: the sentence has one) or, with
    ``counts_compared`` (a comparison and a change or achievement verb: "peaked at 240,
    compared with 3,000"), anywhere."""
    out: list[tuple[int, int, bool]] = []
    for m in _figure_matches(sentence):
        if not _DURATION_KIND.search(m.group(0)):
            out.append((m.start(), m.end(), True))
        elif compares and _NEAR_CONTRAST.match(sentence, m.end()):
            out.append((m.start(), m.end(), True))  # the duration is what is compared
        elif not _is_frame(sentence, m.start(), m.end()):
            out.append((m.start(), m.end(), False))
    if "from" in sentence:
        out.extend((m.start(), m.end(), True) for m in _FROM_TO.finditer(sentence))
    if _may_have_extra(sentence.lower()):
        out.extend((m.start(), m.end(), True) for m in _EXTRA_FIGURE.finditer(sentence))
    if counts or counts_compared:
        for m in _COUNT.finditer(sentence):
            if _YEAR.match(m.group(0)) or any(a <= m.start() < b for a, b, _ in out):
                continue
            before = re.split(r"[,.;:()]", sentence[max(0, m.start() - 30) : m.start()])[-1]
            after = re.split(r"[,.;:()]", sentence[m.end() : m.end() + 40])[0]
            if counts_compared or _ACHIEVED_PAST.search(before) or _ACHIEVED_PAST.search(after):
                out.append((m.start(), m.end(), True))
    return out


def _figure_spans(sentence: str) -> list[tuple[int, int, None]]:
    return [(m.start(), m.end(), None) for m in _figure_matches(sentence)]


def _near(figures: list[tuple[int, int, bool]], cues: list[tuple[int, int]], *, shares: bool = False) -> bool:
    """Whether a cue lies within _NEAR characters of a figure (of a share, with ``shares``):
    the cue is about that figure, not about something else in the sentence."""
    for cue_start, cue_end in cues:
        for start, end, share in figures:
            if (share or not shares) and cue_start - end <= _NEAR and start - cue_end <= _NEAR:
                return True
    return False


def _spans(pattern: re.Pattern[str], sentence: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(sentence)]


def _title_words(title: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", title.lower()))


def judge(sentence: str, *, clause: bool = False, title: str = "", title_words: str | None = None) -> str | None:
    """Why ``sentence`` is not an outcome line ("no figure", "goal", "fragment", ...), or None
    when it is one. ``clause``: it was cut from a longer sentence (it may start in lower case).
    ``title_words``: :func:`_title_words` of the title, when the caller has it already."""
    s = sentence.strip()
    if len(s.split()) < 4:
        return "fragment"
    if "|" in s or s.endswith((":", "…", "...")) or ends_on_fragment_word(s):
        return "fragment"
    if (not clause and _FRAGMENT_START.match(s)) or _NOUN_CLAUSE.match(s):
        return "fragment"
    if s.count("(") != s.count(")") or s.count("“") != s.count("”") or s.count('"') % 2:
        return "fragment"
    head = title_words if title_words is not None else _title_words(title)
    if head:
        words = _title_words(s)
        if words and (head.startswith(words) or words.startswith(head)):
            return "title"
    low = s.lower()
    if not _any_figure(s, low):
        return "no figure"  # a quick test before the cues: most sentences with a digit have no figure
    verbs = _spans(_CHANGE, s)
    temporal = [
        span
        for span in (*_spans(_CONTRAST, s), *(_spans(_FROM_TO, s) if "from" in s else []))
        if not _RANGE.search(s[max(0, span[0] - 16) : span[0]])
    ]  # "ranging from 2B to 13B" is no change
    comparative = _spans(_COMPARATIVE, s) if any(w in low for w in _COMPARATIVE_WORDS) else []
    versus = _spans(_VERSUS, s)
    achieved = [*_spans(_ACHIEVED, s)]
    strong = _spans(_ACHIEVED_STRONG, s)
    if not (verbs or temporal or comparative or versus or achieved or strong):
        return "no change"
    if _GOAL.search(s):
        return "goal"
    if _COMMENTARY.search(s) or _RESTATE.match(s):
        return "commentary"
    if _QUOTE.search(s):
        return "quote"
    if _PAST_PERFECT.search(s):
        return "background"
    if _GENERIC.search(s):
        return "generic"
    if _PROFILE.search(s) and not verbs:
        return "profile"
    compares = bool(temporal or versus)
    reports_change = bool(verbs or temporal)
    achieved_past = bool(_ACHIEVED_PAST.search(s))
    figures = _figures(s, compares, achieved_past, compares and (reports_change or achieved_past))
    if not figures:
        return "no figure"
    if _CONCESSIVE.match(s) and ", " in s and all(end <= s.index(", ") for _, end, _ in figures):
        return "background"  # "While the existing solution achieved 94% accuracy, misclassifications occurred"
    # a bare "from 0 to 5" is a scale or a setting, not a change: it needs a figure inside or a change verb before it
    temporal = [
        span
        for span in temporal
        if (_CONTRAST.match(s, span[0]) and s[span[0] : span[0] + 5].lower() != "from ")
        or any(span[0] <= a < span[1] for a, _, _ in _figure_spans(s))
        or any(0 <= span[0] - e <= 30 for _, e in verbs)
    ]
    verb = _near(figures, verbs)
    change = verb or _near(figures, temporal) or _near(figures, comparative)
    if not (
        change or _near(figures, versus, shares=True) or _near(figures, achieved, shares=True) or _near(figures, strong)
    ):
        return "no change"
    if not reports_change and _BEFORE.search(s):
        return "before"
    if _COMMERCIAL.search(s) and not verb:
        return "commercial"
    return None


def _outcome_line(sentence: str, max_chars: int, title_words: str) -> str | None:
    """The sentence when it qualifies and fits in ``max_chars``; else its first clause that
    qualifies on its own, with nothing before it that governs it (a goal, commentary or a
    quote); else None."""
    if not _any_figure(sentence, sentence.lower()):
        return None
    if len(sentence) <= max_chars:
        why = judge(sentence, title_words=title_words)
        if why is None:
            return sentence
        if why in ("no figure", "no change", "title"):
            return None  # no clause has what the whole sentence lacks
    offset = 0
    for part in _CLAUSE_SPLIT.split(sentence):
        at = sentence.find(part, offset)
        offset = at + len(part) if at >= 0 else offset
        before = sentence[: max(at, 0)]
        if before and (_GOAL.search(before) or _COMMENTARY.search(before) or _QUOTE.search(before)):
            return None
        part = _LEAD_CONJUNCTION.sub("", part.strip(" ,;"))
        if not part or len(part) > max_chars or _SUBORDINATE.match(part) or part == sentence:
            continue
        if judge(part, clause=True, title_words=title_words) is None:
            return part
    return None


def find_outcomes(
    text: str, *, title: str = "", names: Sequence[str] = (), limit: int = 12, max_chars: int = 240
) -> list[str]:
    """Sentences or clauses that report a quantified result (see the module docstring),
    results sections first then in reading order; at most ``limit``. ``title``: the story's
    title (never an outcome); ``names``: the vendor and products the story names (sentences
    before the first of them describe the situation before)."""
    triples = all_sentences(restructure(nfc(text)), with_kind=True)
    lowered = "\n".join(sentence.lower() for _, _, sentence in triples)
    words = tuple(w for w in (*_FIGURE_WORDS, *_EXTRA_WORDS) if w in lowered)
    start = solution_start(triples, names)
    head = _title_words(title)
    sections: dict[str, tuple[bool, bool]] = {}
    scored: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    projected_list = False  # the list being read was introduced as projections
    last_heading = None
    for order, (kind, heading, sentence) in enumerate(triples):
        if heading != last_heading:
            projected_list, last_heading = False, heading
        if kind != "item":
            projected_list = bool(_PROJECTED.search(sentence))
        elif projected_list:
            continue
        if kind == "quote" or len(sentence) < 12 or not _could_have_figure(sentence, words):
            continue
        if heading not in sections:
            results = bool(_RESULT_HEADINGS.search(heading))
            before = _BEFORE_HEADINGS.search(heading) and not _SOLUTION_HEADINGS.search(heading)
            refused = not results and bool(before or _CRITIQUE_HEADINGS.search(heading))
            sections[heading] = (results, refused)
        in_results, refused = sections[heading]
        if refused or (order < start and not in_results):
            continue
        sentence = _SPEAKER.sub("", sentence.strip(), count=1)
        line = _outcome_line(sentence, max_chars, head)
        if line is None:
            continue
        key = line.lower()
        if key in seen:
            continue
        seen.add(key)
        scored.append((0 if in_results else 1, order, line))
    scored.sort()
    chosen = scored[:limit]
    chosen.sort(key=lambda t: t[1])
    return [c for _, _, c in chosen]


# The cues other extractors reuse (see ingest.extract.kind).
CHANGE_CUES, BEFORE_AFTER, GOAL_CUES = _CHANGE, _CONTRAST, _GOAL
