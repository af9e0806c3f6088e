"""Industry classification with the real bundled MiniLM (loaded once for the module), the
metadata mapping, and the two taxonomy files. Example stories are written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingest.extract.industry import IndustryClassifier, concept_for, industry_from_meta, map_industry
from reffy.rubric import Industry, Taxonomy, load_taxonomy

REPO = Path(__file__).resolve().parents[2]
EVAL_TAXONOMY = REPO / "eval" / "corpus_industries.yaml"
CORPUS_TAGS = {
    "tech",
    "e-commerce",
    "finance",
    "healthcare",
    "media-entertainment",
    "other",
    "education",
    "automotive",
    "legal",
    "insurance",
    "consulting",
    "telecommunications",
    "government",
    "hr",
    "research-academia",
    "energy",
}

STORIES = {
    "finance": (
        "Nordhavn Sparekasse speeds up mortgage answers",
        "Nordhavn Sparekasse is a savings bank with 300,000 retail customers. Its advisers answer "
        "questions about mortgages, loans, card disputes and savings accounts, and the fraud team "
        "reviews suspicious transactions every day.",
    ),
    "healthcare": (
        "Westbridge Clinics cuts missed appointments",
        "Westbridge Clinics runs twelve outpatient clinics where doctors and nurses see 2,000 patients "
        "a day. Patients call to book appointments, renew prescriptions and ask about test results.",
    ),
    "telecommunications": (
        "Kestrel Telecom answers roaming questions at night",
        "Kestrel Telecom is a mobile and broadband operator with 30 million subscribers. "
        "Customers ask about mobile plans, roaming charges, SIM cards and network outages.",
    ),
    "government": (
        "Aldermoor City Council opens a digital front desk",
        "Aldermoor City Council serves 180,000 residents. Citizens contact the council about waste "
        "collection, parking permits, council tax and housing benefits.",
    ),
    "retail-ecommerce": (
        "Tidewell Grocers answers delivery questions",
        "Tidewell Grocers is a supermarket chain and online grocery store. Shoppers ask about "
        "their orders, home deliveries, refunds for missing items and the loyalty programme.",
    ),
    "education": (
        "Halden University College helps students find answers",
        "Halden University College has 9,000 students. Students ask about enrolment, exam timetables, "
        "course fees and certificates, and teachers want fewer repeated questions.",
    ),
    "legal": (
        "Brandt & Okoye speeds up contract review",
        "Brandt & Okoye is a law firm of 200 lawyers. Its attorneys and paralegals review contracts, "
        "research case law and prepare litigation documents for clients.",
    ),
    "tech": (
        "Codewright ships a code review assistant",
        "Codewright is a developer tools company whose SaaS product helps software engineers review pull "
        "requests. The assistant reads the codebase, suggests fixes and integrates with the IDE.",
    ),
}


@pytest.fixture(scope="module")
def embedder():
    from reffy.embedder import get_embedder

    return get_embedder()


@pytest.fixture(scope="module")
def classifier(embedder):
    return IndustryClassifier(load_taxonomy(), embedder)


@pytest.mark.parametrize("expected", sorted(STORIES))
def test_clear_examples_with_the_default_taxonomy(classifier, expected):
    title, text = STORIES[expected]
    industry, confidence = classifier.classify(title, text, {})
    assert industry == expected
    assert 0.0 < confidence <= 1.0


def test_classify_many_matches_classify(classifier):
    items = [(t, x, {}) for t, x in STORIES.values()]
    assert classifier.classify_many(items) == [classifier.classify(t, x, m) for t, x, m in items]


def test_metadata_wins(classifier):
    title, text = STORIES["tech"]
    assert classifier.classify(title, text, {"industry": "banking"}) == ("finance", 1.0)
    assert classifier.classify(title, text, {"sector": "Public Sector"}) == ("government", 1.0)
    assert classifier.classify(title, text, {"vertical": "Travel & Hospitality"}) == ("travel-hospitality", 1.0)
    assert classifier.classify(title, text, {"industry": "nonsense words"})[0] == "tech"  # unmapped: text decides


def test_eval_taxonomy_example(embedder):
    classifier = IndustryClassifier(load_taxonomy(EVAL_TAXONOMY), embedder)
    title, text = STORIES["tech"]
    assert classifier.classify(title, text)[0] == "tech"
    title, text = STORIES["retail-ecommerce"]
    assert classifier.classify(title, text)[0] == "e-commerce"
    airline = (
        "Aerlinn keeps passengers informed",
        "Aerlinn Regional Airways is an airline flying 40 routes. "
        "Passengers ask about delayed flights, rebooking and baggage.",
    )
    assert classifier.classify(*airline)[0] == "other"  # travel folds into the corpus's "other"


def test_text_with_no_industry_signal_is_other(classifier):
    for text in ("We met on Tuesday and talked about next steps.", "Lorem ipsum dolor sit amet."):
        industry, confidence = classifier.classify("Notes", text)
        assert industry == "other" and confidence < 0.11


def test_low_confidence_falls_back_to_other(embedder):
    classifier = IndustryClassifier(load_taxonomy(), embedder, min_confidence=0.999)
    industry, confidence = classifier.classify("Notes", "We met on Tuesday and talked about next steps.")
    assert industry == "other" and confidence < 0.999
    no_other = Taxonomy(version="t", industries=[i for i in load_taxonomy().industries if i.id != "other"])
    assert IndustryClassifier(no_other, embedder, min_confidence=0.999).classify("Notes", "We met.")[0] is None


def test_explain_lists_every_industry(classifier):
    title, text = STORIES["finance"]
    explained = classifier.explain(title, text)
    assert set(explained) == set(classifier.ids)
    assert max(explained, key=lambda k: explained[k]["score"]) == "finance"


def test_keywords_alone_without_an_embedder():
    classifier = IndustryClassifier(load_taxonomy(), None)
    title, text = STORIES["healthcare"]
    assert classifier.classify(title, text)[0] == "healthcare"


@pytest.mark.parametrize(
    ("label", "default_id", "corpus_id"),
    [
        ("banking", "finance", "finance"),
        ("Telecom", "telecommunications", "telecommunications"),
        ("public sector", "government", "government"),
        ("energy", "energy-utilities", "energy"),
        ("travel & hospitality", "travel-hospitality", "other"),
        ("media", "media-entertainment", "media-entertainment"),
        ("retail", "retail-ecommerce", "e-commerce"),
        ("logistics", "logistics", "other"),
        ("Fintech", "finance", "finance"),
        ("Software", "tech", "tech"),
        ("", None, None),
        (None, None, None),
        ("quantum basket weaving", None, None),
    ],
)
def test_map_industry(label, default_id, corpus_id):
    assert map_industry(label, load_taxonomy()) == default_id
    assert map_industry(label, load_taxonomy(EVAL_TAXONOMY)) == corpus_id


def test_industry_from_meta_keys_and_lists():
    taxonomy = load_taxonomy()
    assert industry_from_meta({"sector": ["insurance", "banking"]}, taxonomy) == "insurance"
    assert industry_from_meta({"industry_id": "legal"}, taxonomy) == "legal"
    assert industry_from_meta({}, taxonomy) is None


def test_a_custom_taxonomy_maps_onto_known_concepts():
    taxonomy = Taxonomy(
        version="t",
        industries=[
            Industry(id="banks", name="Banks", description="Banks."),
            Industry(id="public", name="Public administration", description="Councils."),
            Industry(id="misc", name="Miscellaneous", description="Anything else."),
            Industry(id="space", name="Space exploration", description="Rockets."),
        ],
    )
    assert [concept_for(i.id, i.name) for i in taxonomy.industries] == ["finance", "government", "other", None]
    assert map_industry("banking", taxonomy) == "banks"


def test_taxonomy_files():
    default = load_taxonomy()
    assert 17 <= len(default.ids) <= 20 and "other" in default.ids
    assert len(set(default.ids)) == len(default.ids)
    assert all(len(i.description.split()) >= 12 for i in default.industries)
    corpus = load_taxonomy(EVAL_TAXONOMY)
    assert set(corpus.ids) == CORPUS_TAGS and len(corpus.ids) == 16
    raw = yaml.safe_load(EVAL_TAXONOMY.read_text(encoding="utf-8"))
    assert set(raw) == {"version", "industries"}
    assert all(concept_for(i.id, i.name) for i in [*default.industries, *corpus.industries])
