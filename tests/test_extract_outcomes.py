"""Quantified outcomes and figures, on hand-written sentences."""

from __future__ import annotations

from ingest.extract.outcomes import find_figures, find_outcomes


def test_result_sentences_are_found():
    text = ("## The results\n\n"
            "- **38% lower average handling time**, from 9:40 to 6:00 per call\n"
            "- Time to competence for new agents down from 16 weeks to 7 weeks\n"
            "- After-call work reduced by 85%\n\n"
            "Revenue from the app grew 3x in a year, and the team saved €1.2 million in agency fees.")
    outcomes = find_outcomes(text)
    assert outcomes[0].startswith("38% lower average handling time")
    assert any("from 16 weeks to 7 weeks" in o for o in outcomes)
    assert any("reduced by 85%" in o for o in outcomes)
    assert any("3x" in o for o in outcomes)


def test_context_and_plans_are_not_outcomes():
    text = ("The company was founded in 2012 and employs 300 people. "
            "The bank serves 1.1 million customers through 40 branches. "
            "The team aims to reduce costs by 20% next year. "
            "It uses GPT-4 for drafting.")
    assert find_outcomes(text) == []


def test_challenge_section_numbers_are_not_results():
    text = ("## The challenge\n\nBy 2022 the average call took 9 minutes, up from seven minutes three years "
            "earlier, and staff turnover ran at 31%.\n\n"
            "## Results\n\nAverage call time fell by 38% within six months.")
    assert find_outcomes(text) == ["Average call time fell by 38% within six months."]


def test_long_sentences_are_cut_to_the_clause_with_the_figure():
    sentence = ("After a long procurement process that involved legal, security, compliance, the works council "
                "and three rounds of pricing discussions with several vendors across two countries, the insurer "
                "went live in March; claims handling time fell by 42% in the first quarter.")
    (outcome,) = find_outcomes(sentence)
    assert outcome == "claims handling time fell by 42% in the first quarter."


def test_find_figures():
    figures = find_figures("Handling time fell from 9:40 to 6:00, costs dropped 12 percent, "
                           "throughput doubled and we saved $2.5 million in 18 months; 3x faster.")
    assert figures == ["from 9:40 to 6:00", "12 percent", "doubled", "$2.5 million", "18 months", "3x"]
