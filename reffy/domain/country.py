"""Countries mentioned in a story, and the one the customer most likely belongs to.

The gazetteer is built from ``pycountry`` (names, official and common names) plus
aliases, demonyms and a modest list of major cities and regions written here. Matching
is case-sensitive on whole words, so "turkey", "chad" or "us" never match; names that
are also people's names or US states ("Jordan", "Georgia", "Chad") only count after a
place preposition ("in Jordan", "based in Georgia") and never before another capitalised
word ("Jordan Smith"). Short codes (UK, US, USA, UAE) match only in capitals; two-letter
ISO codes in prose (IN, IT, NO) are never read as countries.

``primary_country`` weighs mentions: metadata first; then title, the opening paragraphs,
"headquartered in" / "based in" / "X-based" contexts and mentions near the customer's
name count more; demonyms ("Danish") count less than names, and language uses
("Japanese text", "in German") hardly at all.

Size: mostly data (the gazetteer's names, aliases, cities and demonyms) and the few rules that weigh
a mention.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from reffy.domain.text import nfc

# -- gazetteer data written for Reffy ----------------------------------------------------------
ALIASES: dict[str, list[str]] = {
    "GB": [
        "UK",
        "U.K.",
        "United Kingdom",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
    ],
    "US": ["US", "U.S.", "USA", "U.S.A.", "United States", "United States of America", "the States"],
    "NL": ["Holland", "The Netherlands", "the Netherlands"],
    "CZ": ["Czechia", "Czech Republic"],
    "KR": ["South Korea", "Republic of Korea", "Korea"],
    "KP": ["North Korea"],
    "RU": ["Russia"],
    "IR": ["Iran"],
    "VN": ["Vietnam", "Viet Nam"],
    "TW": ["Taiwan"],
    "TZ": ["Tanzania"],
    "BO": ["Bolivia"],
    "VE": ["Venezuela"],
    "MD": ["Moldova"],
    "SY": ["Syria"],
    "LA": ["Laos"],
    "CD": ["DR Congo", "DRC", "Democratic Republic of the Congo"],
    "CI": ["Ivory Coast", "Côte d'Ivoire", "Cote d'Ivoire"],
    "AE": ["UAE", "U.A.E.", "United Arab Emirates", "Emirates"],
    "TR": ["Türkiye", "Turkiye", "Turkey"],
    "MK": ["North Macedonia", "Macedonia"],
    "PS": ["Palestine"],
    "VA": ["Vatican", "Vatican City"],
    "BN": ["Brunei"],
    "CV": ["Cape Verde"],
    "SZ": ["Swaziland", "Eswatini"],
    "MM": ["Myanmar", "Burma"],
    "FM": ["Micronesia"],
    "HK": ["Hong Kong"],
    "CN": ["China", "PRC", "Mainland China"],
    "SA": ["Saudi Arabia", "KSA"],
    "NZ": ["New Zealand", "Aotearoa"],
    "ZA": ["South Africa", "RSA"],
    "PH": ["Philippines", "the Philippines"],
    "BA": ["Bosnia", "Bosnia and Herzegovina"],
}

# Names that are also common first names, US states or ordinary words: they count only
# after a place preposition and never directly before another capitalised word.
WEAK_NAMES = {
    "Jordan",
    "Chad",
    "Georgia",
    "Guinea",
    "Niger",
    "Mali",
    "Togo",
    "Dominica",
    "Israel",
    "Jersey",
    "Guernsey",
    "Turkey",
    "Panama",
    "Cuba",
    "Oman",
    "Peru",
    "Emirates",
    "Wales",
    "Monaco",
    "Congo",
    "Sudan",
    "Samoa",
    "Nauru",
    "Tonga",
    "Benin",
    "Gabon",
    "Malta",
    "Lebanon",
    "Bermuda",
    "Victoria",
    "Macedonia",
    "Vatican",
    "Man",
    "Holland",
    "Brunei",
    "Palau",
    "Kiribati",
    "Fiji",
    "Barbados",
    "Grenada",
    "Montserrat",
    "Aruba",
    "Antarctica",
    "Yemen",
}

# Capitalised phrases containing a country word that are not about that country.
BLOCKERS = [
    "Bank of America",
    "North America",
    "South America",
    "Latin America",
    "Central America",
    "Americas",
    "American Express",
    "American Airlines",
    "Georgia Tech",
    "Georgia Institute",
    "New England",
    "New Guinea Pig",
    "Indian Ocean",
    "Native American",
    "American Sign Language",
    "Mexican Standard",
    "French fries",
    "Swiss cheese",
    "Dutch auction",
    "Turkish Airlines",
    "Chinese Wall",
    "Great Wall",
    "Greenland shark",
    "Canada goose",
    "Brazil nut",
    "Jordan River",
    "Air Canada",
    "English",
    "Old English",
    "Arabic",
    "Latin",
    "Hindi",
    "Mandarin",
    "Cantonese",
]

# Demonyms and adjectives. Languages that are spoken in many countries (English, Arabic,
# Spanish in Latin America) map to the country that names them only as weak evidence.
DEMONYMS: dict[str, list[str]] = {
    "AF": ["Afghan"],
    "AL": ["Albanian"],
    "DZ": ["Algerian"],
    "AR": ["Argentine", "Argentinian", "Argentinean"],
    "AM": ["Armenian"],
    "AU": ["Australian", "Aussie"],
    "AT": ["Austrian"],
    "AZ": ["Azerbaijani"],
    "BD": ["Bangladeshi"],
    "BY": ["Belarusian"],
    "BE": ["Belgian"],
    "BO": ["Bolivian"],
    "BR": ["Brazilian"],
    "BG": ["Bulgarian"],
    "KH": ["Cambodian"],
    "CM": ["Cameroonian"],
    "CA": ["Canadian"],
    "CL": ["Chilean"],
    "CN": ["Chinese"],
    "CO": ["Colombian"],
    "CR": ["Costa Rican"],
    "HR": ["Croatian"],
    "CU": ["Cuban"],
    "CY": ["Cypriot"],
    "CZ": ["Czech"],
    "DK": ["Danish", "Dane"],
    "DO": ["Dominican"],
    "EC": ["Ecuadorian"],
    "EG": ["Egyptian"],
    "EE": ["Estonian"],
    "ET": ["Ethiopian"],
    "FI": ["Finnish", "Finn"],
    "FR": ["French"],
    "GE": ["Georgian"],
    "DE": ["German"],
    "GH": ["Ghanaian"],
    "GR": ["Greek"],
    "GT": ["Guatemalan"],
    "HK": ["Hong Konger"],
    "HU": ["Hungarian"],
    "IS": ["Icelandic"],
    "IN": ["Indian"],
    "ID": ["Indonesian"],
    "IR": ["Iranian"],
    "IQ": ["Iraqi"],
    "IE": ["Irish"],
    "IL": ["Israeli"],
    "IT": ["Italian"],
    "JM": ["Jamaican"],
    "JP": ["Japanese"],
    "JO": ["Jordanian"],
    "KZ": ["Kazakh", "Kazakhstani"],
    "KE": ["Kenyan"],
    "KR": ["South Korean", "Korean"],
    "KW": ["Kuwaiti"],
    "LV": ["Latvian"],
    "LB": ["Lebanese"],
    "LT": ["Lithuanian"],
    "LU": ["Luxembourgish"],
    "MY": ["Malaysian"],
    "MT": ["Maltese"],
    "MX": ["Mexican"],
    "MA": ["Moroccan"],
    "NP": ["Nepalese", "Nepali"],
    "NL": ["Dutch"],
    "NZ": ["Kiwi"],
    "NG": ["Nigerian"],
    "NO": ["Norwegian"],
    "PK": ["Pakistani"],
    "PA": ["Panamanian"],
    "PY": ["Paraguayan"],
    "PE": ["Peruvian"],
    "PH": ["Filipino", "Philippine"],
    "PL": ["Polish"],
    "PT": ["Portuguese"],
    "QA": ["Qatari"],
    "RO": ["Romanian"],
    "RU": ["Russian"],
    "RW": ["Rwandan"],
    "SA": ["Saudi"],
    "SN": ["Senegalese"],
    "RS": ["Serbian"],
    "SG": ["Singaporean"],
    "SK": ["Slovak", "Slovakian"],
    "SI": ["Slovenian"],
    "ZA": ["South African"],
    "ES": ["Spanish", "Spaniard"],
    "LK": ["Sri Lankan"],
    "SE": ["Swedish", "Swede"],
    "CH": ["Swiss"],
    "TW": ["Taiwanese"],
    "TZ": ["Tanzanian"],
    "TH": ["Thai"],
    "TN": ["Tunisian"],
    "TR": ["Turkish"],
    "UG": ["Ugandan"],
    "UA": ["Ukrainian"],
    "AE": ["Emirati"],
    "GB": ["British", "Scottish", "Welsh"],
    "US": ["American"],
    "UY": ["Uruguayan"],
    "UZ": ["Uzbek"],
    "VE": ["Venezuelan"],
    "VN": ["Vietnamese"],
    "ZM": ["Zambian"],
    "ZW": ["Zimbabwean"],
}

# Major cities and regions (a modest, hand-written list; ambiguous ones left out).
CITIES: dict[str, list[str]] = {
    "US": [
        "New York City",
        "New York",
        "NYC",
        "San Francisco",
        "Silicon Valley",
        "Bay Area",
        "Los Angeles",
        "Seattle",
        "Chicago",
        "Boston",
        "Austin, Texas",
        "Denver",
        "Atlanta",
        "Miami",
        "Houston",
        "Dallas",
        "Philadelphia",
        "Pittsburgh",
        "San Diego",
        "San Jose",
        "Palo Alto",
        "Mountain View",
        "Menlo Park",
        "Redmond",
        "Cupertino",
        "Sunnyvale",
        "Minneapolis",
        "Detroit",
        "Nashville",
        "Salt Lake City",
        "Washington, D.C.",
        "Washington D.C.",
        "Washington, DC",
        "California",
        "Texas",
        "Massachusetts",
        "Illinois",
        "Ohio",
        "Michigan",
        "Florida",
        "Colorado",
        "Minnesota",
        "Pennsylvania",
        "Virginia",
        "North Carolina",
        "Oregon",
        "Arizona",
        "Utah",
        "Tennessee",
        "Wisconsin",
        "Connecticut",
        "Maryland",
        "Missouri",
        "Indiana",
        "New Jersey",
        "New York State",
        "New Mexico",
    ],
    "GB": [
        "London",
        "Manchester",
        "Edinburgh",
        "Glasgow",
        "Bristol",
        "Leeds",
        "Liverpool",
        "Belfast",
        "Cardiff",
        "Oxford",
    ],
    "CA": [
        "Toronto",
        "Montreal",
        "Montréal",
        "Vancouver",
        "Ottawa",
        "Calgary",
        "Ontario",
        "Quebec",
        "Québec",
        "British Columbia",
        "Alberta",
        "Waterloo, Ontario",
    ],
    "DE": [
        "Berlin",
        "Munich",
        "München",
        "Hamburg",
        "Frankfurt",
        "Cologne",
        "Köln",
        "Stuttgart",
        "Düsseldorf",
        "Bavaria",
    ],
    "FR": ["Paris", "Lyon", "Marseille", "Toulouse"],
    "NL": ["Amsterdam", "Rotterdam", "The Hague", "Utrecht", "Eindhoven"],
    "BE": ["Brussels", "Antwerp"],
    "CH": ["Zurich", "Zürich", "Geneva", "Basel", "Lausanne"],
    "AT": ["Vienna", "Wien", "Graz", "Linz"],
    "DK": ["Copenhagen", "Aarhus"],
    "SE": ["Stockholm", "Gothenburg", "Malmö"],
    "NO": ["Oslo", "Bergen"],
    "FI": ["Helsinki", "Espoo"],
    "IE": ["Dublin", "Cork"],
    "ES": ["Madrid", "Barcelona", "Seville"],
    "PT": ["Lisbon", "Porto"],
    "IT": ["Rome", "Milan", "Turin", "Naples", "Florence"],
    "PL": ["Warsaw", "Kraków", "Krakow", "Wrocław", "Gdańsk"],
    "CZ": ["Prague", "Brno"],
    "HU": ["Budapest"],
    "RO": ["Bucharest"],
    "GR": ["Athens"],
    "TR": ["Istanbul", "Ankara"],
    "IL": ["Tel Aviv", "Jerusalem"],
    "AE": ["Dubai", "Abu Dhabi"],
    "SA": ["Riyadh", "Jeddah"],
    "QA": ["Doha"],
    "EG": ["Cairo"],
    "NG": ["Lagos", "Abuja"],
    "KE": ["Nairobi"],
    "ZA": ["Cape Town", "Johannesburg", "Durban", "Pretoria"],
    "IN": [
        "Mumbai",
        "Bombay",
        "Delhi",
        "New Delhi",
        "Bengaluru",
        "Bangalore",
        "Hyderabad",
        "Chennai",
        "Pune",
        "Kolkata",
        "Gurugram",
        "Gurgaon",
        "Noida",
    ],
    "PK": ["Karachi", "Lahore"],
    "CN": ["Beijing", "Shanghai", "Shenzhen", "Hangzhou", "Guangzhou"],
    "JP": ["Tokyo", "Osaka", "Kyoto", "Yokohama"],
    "KR": ["Seoul", "Busan"],
    "TW": ["Taipei"],
    "SG": ["Singapore"],
    "MY": ["Kuala Lumpur"],
    "ID": ["Jakarta"],
    "TH": ["Bangkok"],
    "VN": ["Hanoi", "Ho Chi Minh City"],
    "PH": ["Manila"],
    "AU": ["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide", "Canberra", "New South Wales", "Queensland"],
    "NZ": ["Auckland", "Wellington"],
    "BR": ["São Paulo", "Sao Paulo", "Rio de Janeiro", "Brasília", "Belo Horizonte"],
    "MX": ["Mexico City", "Monterrey", "Guadalajara"],
    "AR": ["Buenos Aires"],
    "CL": ["Santiago de Chile"],
    "CO": ["Bogotá", "Bogota", "Medellín", "Medellin"],
    "PE": ["Lima, Peru"],
    "EE": ["Tallinn"],
    "LT": ["Vilnius"],
    "LV": ["Riga"],
    "UA": ["Kyiv", "Kiev"],
    "LU": ["Luxembourg City"],
}

# Cities that are also people's or product names: treated like WEAK_NAMES.
WEAK_CITIES = {
    "Perth",
    "Sydney",
    "Lima, Peru",
    "Porto",
    "Bergen",
    "Cork",
    "Oxford",
    "Virginia",
    "Indiana",
    "Austin, Texas",
    "Denver",
    "Florence",
    "Paris",
    "Adelaide",
    "Wellington",
    "Victoria",
}

_PLACE_PREP = re.compile(
    r"(?:\b(?:in|from|of|across|throughout|to|within|into|based|headquartered|located|around|outside|near|for)"
    r"(?:\s+the)?\s*$)",
    re.IGNORECASE,
)
_STRONG_BEFORE = re.compile(
    r"(?:headquartered|head-quartered|based|located|founded|incorporated|operates|operating|hq)"
    r"(?:\s+\w+){0,2}\s+(?:in|out of)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_LANGUAGE_AFTER = re.compile(
    r"^[\s-]*(?:language|languages|text|texts|speakers?|speaking|-speaking|translation|translations|"
    r"dialects?|characters|tokens|queries|version|model|LLM|corpus|documents|words|sentences|"
    r"and English|or English|, English)\b",
    re.IGNORECASE,
)
_LANGUAGE_BEFORE = re.compile(r"\b(?:in|into|to|from|speak|speaks|spoken|supports?|understands?)\s+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Term:
    code: str | None  # None: a blocker
    kind: str  # name | alias | demonym | city
    weak: bool


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[re.Pattern[str], dict[str, _Term]]:
    import pycountry

    terms: dict[str, _Term] = {}

    def add(term: str, code: str | None, kind: str) -> None:
        term = term.strip()
        if not term or ("," in term and code is not None and kind == "name"):
            return
        weak = term in WEAK_NAMES or term in WEAK_CITIES
        if term not in terms or (terms[term].code is None) or kind == "name":
            terms[term] = _Term(code, kind, weak)
        if kind in {"name", "alias"} and len(term) >= 5 and " " not in term:
            terms.setdefault(term.upper(), _Term(code, kind, weak))

    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value and "(" not in value:
                add(value, country.alpha_2, "name")
                if value.startswith("the "):
                    add(value[4:], country.alpha_2, "name")
    for code, names in ALIASES.items():
        for name in names:
            add(name, code, "alias")
    for code, names in DEMONYMS.items():
        for name in names:
            add(name, code, "demonym")
    for code, names in CITIES.items():
        for name in names:
            add(name, code, "city")
    for blocker in BLOCKERS:
        terms[blocker] = _Term(None, "blocker", False)
    alternatives = sorted(terms, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.\-/@])(" + "|".join(re.escape(t) for t in alternatives) + r")(?!\w)(?!\.\w)")
    return pattern, terms


@dataclass(frozen=True, slots=True)
class Mention:
    code: str
    term: str
    kind: str
    start: int
    weight: float  # evidence that the text is *about* this country (context-adjusted)


@lru_cache(maxsize=1)
def _gazetteer_by_initial() -> tuple[re.Pattern[str], dict[str, re.Pattern[str]]]:
    """The gazetteer pattern split by the first two characters of its terms (same terms, same
    order, same boundaries), and a pattern that finds where a term could start: trying the
    thousand-term alternation only there, and only its terms that start like the text there,
    finds exactly what ``pattern.finditer`` finds, in a fraction of the time."""
    _, terms = _gazetteer()
    assert all(len(t) >= 2 for t in terms), "terms are grouped by their first two characters"
    by_prefix: dict[str, list[str]] = {}
    for term in sorted(terms, key=len, reverse=True):
        by_prefix.setdefault(term[:2], []).append(term)
    patterns = {
        prefix: re.compile(r"(?<![\w.\-/@])(" + "|".join(re.escape(t) for t in group) + r")(?!\w)(?!\.\w)")
        for prefix, group in by_prefix.items()
    }
    # an initial not preceded by a character the gazetteer's look-behind excludes (written
    # after the initial, so the search can skip ahead to candidate characters)
    initials = sorted({prefix[0] for prefix in by_prefix})
    starts = re.compile("[" + "".join(re.escape(c) for c in initials) + r"](?<![\w.\-/@].)")
    return starts, patterns


def _term_matches(text: str) -> Iterator[re.Match[str]]:
    """``_gazetteer()[0].finditer(text)``, faster (see :func:`_gazetteer_by_initial`)."""
    starts, patterns = _gazetteer_by_initial()
    resume = 0
    for candidate in starts.finditer(text):
        at = candidate.start()
        if at < resume:
            continue
        pattern = patterns.get(text[at : at + 2])  # most capitalised words start no term ("The", "We")
        m = pattern.match(text, at) if pattern is not None else None
        if m:
            resume = m.end()
            yield m


def _mentions(text: str) -> list[Mention]:
    _, terms = _gazetteer()
    out: list[Mention] = []
    for m in _term_matches(text):
        term = m.group(1)
        info = terms[term]
        if info.code is None:
            continue
        before = text[max(0, m.start() - 60) : m.start()]
        after = text[m.end() : m.end() + 40]
        if term in {"US", "IN"} and (after.startswith("$") or re.match(r"^\s*[A-Z]{2,}\b", after)):
            if term == "US" and after.startswith("$"):
                out.append(Mention(info.code, term, info.kind, m.start(), 0.3))
            continue
        if term == "US" and re.search(r"\b[A-Z]{2,}\s*$", before):
            continue  # an all-caps phrase ("CONTACT US", "LET US KNOW")
        if info.weak and (
            not _PLACE_PREP.search(before) or re.match(r"^\s+[A-Z][a-z]", after) or after.startswith("'s ")
        ):
            continue
        weight = {"name": 1.0, "alias": 1.0, "city": 0.8, "demonym": 0.45}[info.kind]
        if info.kind == "demonym":
            if _LANGUAGE_AFTER.match(after) or (_LANGUAGE_BEFORE.search(before) and not re.match(r"^\s+[A-Z]", after)):
                weight = 0.05
            elif re.match(r"^\s+(?:and|or|to|,)\s", after):
                weight = 0.2
            elif re.search(r"\b(?:a|an|the|is|its|their|as)\s+(?:[\w-]+\s+)?$", before, re.IGNORECASE) and re.match(
                r"^\s+(?:[a-z][\w-]*\s+){0,2}?(?:company|companies|firm|bank|insurer|retailer|"
                r"manufacturer|startup|start-up|operator|provider|group|business|brand|airline|"
                r"carrier|utility|university|hospital|government|agency|publisher|platform|"
                r"marketplace|leader|giant|maker|multinational|conglomerate|organi[sz]ation|"
                r"subsidiary|unicorn|scale-up|telco|broadcaster|chain|retail|e-commerce|fintech|"
                r"edtech|healthtech|insurtech|logistics|energy)\b",
                after,
            ):
                weight = 0.9  # "an Austrian manufacturer", "a Brazilian edtech startup"
        if _STRONG_BEFORE.search(before) or re.match(r"^-based\b|^\s+based\b", after):
            weight *= 3.0
        out.append(Mention(info.code, term, info.kind, m.start(), weight))
    return out


def find_countries(text: str) -> list[tuple[str, int]]:
    """(ISO alpha-2 code, number of mentions) for every country the text mentions, most
    mentioned first (ties: first mentioned first). Language uses of demonyms
    ("Japanese text") are not counted."""
    text = nfc(text)
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for mention in _mentions(text):
        if mention.weight < 0.1:
            continue
        counts[mention.code] += 1
        first.setdefault(mention.code, mention.start)
    return sorted(counts.items(), key=lambda kv: (-kv[1], first[kv[0]]))


def is_place(name: str) -> bool:
    """True when ``name`` is exactly a country, alias, demonym or city of the gazetteer."""
    _, terms = _gazetteer()
    info = terms.get(name.strip())
    return info is not None and info.code is not None


@lru_cache(maxsize=4096)
def country_name(code: str | None) -> str | None:
    """The common name people use for an ISO 3166 alpha-2 code ("GB" -> "United Kingdom")."""
    if not code:
        return None
    import pycountry

    found = pycountry.countries.get(alpha_2=code.upper())
    return getattr(found, "common_name", None) or (found.name if found else code)


def normalise_country(value: Any) -> str | None:
    """An ISO alpha-2 code for a code (alpha-2/alpha-3) or a country name/alias, else None."""
    if value is None or isinstance(value, bool):
        return None
    text = " ".join(str(value).split()).strip(" .")
    if not text:
        return None
    import pycountry

    if len(text) == 2 and text.isalpha():
        upper = text.upper()
        if upper == "UK":
            return "GB"
        return upper if pycountry.countries.get(alpha_2=upper) else None
    if len(text) == 3 and text.isalpha() and text.isupper():
        hit = pycountry.countries.get(alpha_3=text)
        if hit:
            return hit.alpha_2
    _, terms = _gazetteer()
    lowered = {t.lower(): info for t, info in terms.items() if info.code and info.kind != "demonym"}
    info = lowered.get(text.lower())
    if info:
        return info.code
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        pass
    info = {t.lower(): i for t, i in terms.items() if i.code}.get(text.lower())
    return info.code if info else None


META_KEYS = ("country_code", "country", "countries", "location", "region_country", "hq_country")


def country_from_meta(meta: dict[str, Any] | None) -> str | None:
    for key in META_KEYS:
        value = (meta or {}).get(key)
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        code = normalise_country(value)
        if code:
            return code
    return None


def country_scores(title: str, text: str, customer: str | None = None) -> dict[str, float]:
    """Weighted evidence per country code (see the module docstring for the weights)."""
    title, text = nfc(title), nfc(text)
    scores: dict[str, float] = defaultdict(float)
    for mention in _mentions(title):
        scores[mention.code] += 2.0 * mention.weight
    customer_spans: list[int] = []
    if customer:
        customer_spans = [m.start() for m in re.finditer(re.escape(customer), text)][:50]
    for mention in _mentions(text):
        factor = 1.0
        if mention.start < 1500:
            factor *= 2.0
        elif mention.start < 4000:
            factor *= 1.3
        if customer_spans and any(abs(mention.start - s) < 120 for s in customer_spans):
            factor *= 1.5
        scores[mention.code] += factor * mention.weight
    return dict(scores)


def primary_country(
    title: str, text: str, meta: dict[str, Any] | None = None, customer: str | None = None, *, min_score: float = 1.6
) -> str | None:
    """The customer's country: metadata first (``country_code``/``country``, a code or a
    name), else the best-supported country in the text when the evidence is strong
    enough (one plain mention in the opening paragraphs is; one passing demonym is not)."""
    code = country_from_meta(meta)
    if code:
        return code
    scores = country_scores(title, text, customer)
    if not scores:
        return None
    best, score = max(scores.items(), key=lambda kv: kv[1])
    return best if score >= min_score else None
