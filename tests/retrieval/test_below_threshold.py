"""Stories under the gold threshold stay out of search, but an analyst who looks one up by its
customer's name is told it exists, apart from the results and labelled with the score it has
and the score the library needs."""

from __future__ import annotations

from helpers import query
from typer.testing import CliRunner

from reffy.auth import Role, User
from reffy.cli import app
from reffy.config import load_settings
from reffy.retrieval.below import named_in
from reffy.service import ReffyService

NAME = "Kastell Industrie"  # a demo story the offline scorer puts under the default threshold


def test_names_are_matched_as_people_type_them():
    assert named_in("Kastell Industrie", "Kastell Industrie")
    assert named_in("what did kastell industrie buy?", "Kastell Industrie")
    assert named_in("via serrana trenes", "Vía Serrana Trenes")  # accents optional
    assert named_in("kast", "Kastell Industrie")  # the start of the name, while typing
    assert not named_in("ka", "Kastell Industrie")  # too short to mean the name
    assert not named_in("industrie kastell", "Kastell Industrie")  # words in another order are another name
    assert not named_in("anything", None) and not named_in("bank", "AB")


def test_the_build_records_what_it_left_under_the_threshold(demo_home):
    rows = query(demo_home, "SELECT customer, score, min_score FROM gold_below")
    assert rows and all(score < min_score for _, score, min_score in rows)
    gold = {r[0] for r in query(demo_home, "SELECT customer FROM gold_stories")}
    assert NAME in {r[0] for r in rows} and NAME not in gold


def test_an_analyst_looking_up_the_name_sees_it_apart_from_the_results(demo_home):
    svc = ReffyService(load_settings(home=demo_home))
    result = svc.search(NAME, k=10, mode="keyword", user=User("ana", Role.analyst))
    assert NAME not in {h.customer for h in result.hits}  # never ranked
    [below] = result.below_threshold
    assert below["customer"] == NAME and below["score"] < below["min_score"] == svc.settings.gold_min_score

    for who, audience in (
        (User("mia", Role.member), None),
        (User("vic", Role.viewer), None),
        (User("ana", Role.analyst), "external"),
    ):
        assert svc.search(NAME, k=10, mode="keyword", user=who, audience=audience).below_threshold == []
    assert (
        svc.search("customer service automation", k=10, mode="keyword", user=User("ana", Role.analyst)).below_threshold
        == []
    )


def test_the_cli_labels_it(demo_home):
    out = CliRunner().invoke(app, ["search", NAME, "--mode", "keyword", "--k", "3"])
    assert out.exit_code == 0, out.output
    assert "Below the library's quality bar" in out.output
    assert f"{NAME} embraces the future of service" in out.output and "the library needs 12" in out.output


def test_the_api_lists_it_for_analyst_tokens_only(demo_settings):
    from fastapi.testclient import TestClient

    from reffy.api.app import create_app

    svc = ReffyService(demo_settings)
    tokens = {
        role.value: svc.create_token(f"{role.value}-bot", role, label="test")
        for role in (Role.viewer, Role.member, Role.analyst)
    }
    with TestClient(create_app(svc)) as client:

        def below(role: str) -> list:
            res = client.post(
                "/v1/search",
                json={"query": NAME, "mode": "keyword", "k": 3},
                headers={"Authorization": f"Bearer {tokens[role]}"},
            )
            assert res.status_code == 200, res.text
            return res.json()["below_threshold"]

        [row] = below("analyst")
        assert row["customer"] == NAME and row["score"] < row["min_score"]
        assert "source_uri" not in row  # the server's path stays on the server
        assert below("member") == [] and below("viewer") == []
