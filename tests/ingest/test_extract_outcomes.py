"""Quantified outcomes and figures, on hand-written sentences."""

from __future__ import annotations

from ingest.extract.outcomes import find_figures, find_outcomes


def test_result_sentences_are_found():
    text = (
        "## The results\n\n"
        "- **38% lower average handling time**, from 9:40 to 6:00 per call\n"
        "- Time to competence for new agents down from 16 weeks to 7 weeks\n"
        "- After-call work reduced by 85%\n\n"
        "Revenue from the app grew 3x in a year, and the team saved €1.2 million in agency fees."
    )
    outcomes = find_outcomes(text)
    assert outcomes[0].startswith("38% lower average handling time")
    assert any("from 16 weeks to 7 weeks" in o for o in outcomes)
    assert any("reduced by 85%" in o for o in outcomes)
    assert any("3x" in o for o in outcomes)


def test_context_and_plans_are_not_outcomes():
    text = (
        "The company was founded in 2012 and employs 300 people. "
        "The bank serves 1.1 million customers through 40 branches. "
        "The team aims to reduce costs by 20% next year. "
        "It uses GPT-4 for drafting."
    )
    assert find_outcomes(text) == []


def test_challenge_section_numbers_are_not_results():
    text = (
        "## The challenge\n\nBy 2022 the average call took 9 minutes, up from seven minutes three years "
        "earlier, and staff turnover ran at 31%.\n\n"
        "## Results\n\nAverage call time fell by 38% within six months."
    )
    assert find_outcomes(text) == ["Average call time fell by 38% within six months."]


def test_long_sentences_are_cut_to_the_clause_with_the_figure():
    sentence = (
        "After a long procurement process that involved legal, security, compliance, the works council "
        "and three rounds of pricing discussions with several vendors across two countries, the insurer "
        "went live in March; claims handling time fell by 42% in the first quarter."
    )
    (outcome,) = find_outcomes(sentence)
    assert outcome == "claims handling time fell by 42% in the first quarter."


def test_find_figures():
    figures = find_figures(
        "Handling time fell from 9:40 to 6:00, costs dropped 12 percent, "
        "throughput doubled and we saved $2.5 million in 18 months; 3x faster."
    )
    assert figures == ["from 9:40 to 6:00", "12 percent", "doubled", "$2.5 million", "18 months", "3x"]


# -- outcome lines are outcomes: whole statements, not titles, challenges, goals or commentary ----
def test_a_wrapped_title_is_never_an_outcome():
    pdf = (
        "QUILLON CUSTOMER STORY\n\nBergwald Privatbank: 3x faster client onboarding with\n\nQuillon Flow\n\n"
        "Bergwald Privatbank is a private bank in Zurich.\n\nThe challenge\n\nIn 2022 the average onboarding took "
        "31 days from the first meeting to an open account.\n\nThe results\n\n"
        "- Average onboarding time down from 31 days to 10 days\n\n- Compliance review time per file down 58%\n"
    )
    outcomes = find_outcomes(
        pdf,
        title="Bergwald Privatbank: 3x faster client onboarding with Quillon Flow",
        names=["Quillon Flow", "Quillon"],
    )
    assert outcomes == [
        "Average onboarding time down from 31 days to 10 days",
        "Compliance review time per file down 58%",
    ]


def test_the_situation_before_is_not_an_outcome():
    text = (
        "Tidewell Grocers runs 140 supermarkets. When online orders doubled during 2021, so did the number of "
        "customers contacting the service team. Within two years it had grown to more than 600,000 customers.\n\n"
        "At peak times customers waited more than twenty minutes to get through, and the team struggled.\n\n"
        "Tidewell introduced Quillon Converse in early 2023. Initially, the bot achieved only a 20% containment "
        "rate.\n\nFour months after launch, 41% of chat conversations were resolved by Quillon Converse without an "
        "agent, and average wait times at peak fell to under five minutes."
    )
    assert find_outcomes(text, names=["Quillon Converse", "Quillon"]) == [
        "Four months after launch, 41% of chat conversations were resolved by Quillon Converse without an agent, and "
        "average wait times at peak fell to under five minutes."
    ]


def test_goals_conditions_prices_and_commentary_are_not_outcomes():
    text = (
        "Baltica's board wanted to cut claims handling costs by 25% by 2026. "
        "The new head of service was under pressure to cut cost per contact by 20%. "
        "Procurement insisted on a clause allowing termination if documentation time does not fall by 30%. "
        "Total contract value approximately EUR 1.5 million; 17% discount vs list. "
        "The 86% reduction in resolution time is cited without detailed methodology. "
        "First, 95% accuracy may or may not be sufficient."
    )
    assert find_outcomes(text) == []


def test_a_time_frame_is_not_a_measurement():
    assert (
        find_outcomes(
            "Six months in, the retention team was keeping a larger share of the subscribers, while "
            "handing out fewer discounts than before."
        )
        == []
    )
    assert find_outcomes("Two new engineers work night shifts on their own after five months instead of a year.") == [
        "Two new engineers work night shifts on their own after five months instead of a year."
    ]


def test_page_and_slide_lines_are_read_one_by_one():
    html = (
        "Aozora Hotels: 24-hour guest messaging\nAozora Hotels operates 34 hotels across Japan with Quillon.\n"
        "Results after six months\n- 70% of guest messages answered without staff involvement\n"
        '- Review scores up from 8.4 to 9.1\n"The best compliment we get is that guests don\'t notice," said Kenji '
        "Watanabe.\n"
    )
    assert find_outcomes(html, title="Aozora Hotels: 24-hour guest messaging") == [
        "70% of guest messages answered without staff involvement",
        "Review scores up from 8.4 to 9.1",
    ]
    slide = (
        "## Slide 4: Results after 6 months\n\nTransfers down from 27% to 8% of calls\n"
        "Repeat contacts within 7 days down 31%\nService NPS up from -12 to +19\n"
    )
    assert find_outcomes(slide) == [
        "Transfers down from 27% to 8% of calls",
        "Repeat contacts within 7 days down 31%",
        "Service NPS up from -12 to +19",
    ]


def test_lines_are_whole_statements():
    transcript = (
        "TOMÁS HERRERA: And the agents, the handling time with Assist went from seven minutes to a bit under five."
    )
    assert find_outcomes(transcript) == [
        "And the agents, the handling time with Assist went from seven minutes to a bit under five."
    ]
    long = (
        "The student service centre estimates that e-mail volume was roughly 30% lower than in the same weeks of "
        "2023, although the college points out that a new admissions portal also launched at the same time, so not "
        "all of the drop can be attributed to the assistant alone, as the college itself keeps saying."
    )
    (line,) = find_outcomes(long)
    assert (
        line
        == "The student service centre estimates that e-mail volume was roughly 30% lower than in the same weeks of 2023"
    )
    for outcome in find_outcomes(long, max_chars=60) + find_outcomes("Costs fell by 38% in the first year of the"):
        assert not outcome.endswith(("…", "with", "of the", "the"))


def test_judge_names_the_reason():
    from ingest.extract.outcomes import judge

    assert judge("Average handling time fell by 38% within six months.") is None
    assert judge("The team aims to reduce costs by 20% next year.") == "goal"
    assert judge("Phone queues on Monday mornings regularly exceeded 40 minutes.") == "no change"
    assert judge("Bergwald Privatbank: 3x faster client onboarding with") == "fragment"


def test_spelled_figures():
    from ingest.extract.outcomes import spelled_figures

    assert spelled_figures(
        "Roughly four in ten cancellations now go through the assistant; about a third of "
        "questions are resolved and satisfaction is up 14 points."
    ) == ["four in ten", "about a third", "14 points"]
