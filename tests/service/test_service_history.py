"""The service's history side on the built demo library: conversations per user, feedback,
analytics permissions, API tokens and usage-aware ranking fed by the query log."""

from __future__ import annotations

import pytest

from reffy.auth import LOCAL_USER, Role, User
from reffy.config import load_settings
from reffy.errors import ConfigError, NotFound, PermissionDenied
from reffy.service import ReffyService

ANA, BEN = User("ana", Role.member), User("ben", Role.member)
ANALYST = User("ida", Role.analyst)


@pytest.fixture
def svc(demo_settings):
    service = ReffyService(demo_settings)
    yield service
    service.close()


def test_conversations_belong_to_their_user(svc):
    answer = svc.answer("chatbots for universities", user=ANA)
    conv_id = answer.conversation_id
    assert [c["id"] for c in svc.conversations(ANA)] == [conv_id]
    assert svc.conversations(BEN) == []
    for call in (
        lambda: svc.conversation(BEN, conv_id),
        lambda: svc.rename_conversation(BEN, conv_id, "mine"),
        lambda: svc.delete_conversation(BEN, conv_id),
        lambda: svc.ask("and in Portugal?", user=BEN, conversation_id=conv_id),
        lambda: svc.feedback(BEN, rating=1, message_id=answer.message_id),
    ):
        with pytest.raises(NotFound):
            call()
    assert svc.rename_conversation(ANA, conv_id, "Universities")["title"] == "Universities"
    svc.delete_conversation(ANA, conv_id)
    assert svc.conversations(ANA) == []


def test_a_viewer_token_named_like_a_member_sees_none_of_their_conversations(svc):
    """Ownership is the principal (name + role class), decided in the service: a viewer token an
    admin named "ana" is not the member ana."""
    member_token, viewer_token = svc.create_token("ana", Role.member), svc.create_token("ana", Role.viewer)
    member, viewer = svc.token_user(member_token), svc.token_user(viewer_token)
    assert (member.name, viewer.name) == ("ana", "ana") and member.principal != viewer.principal
    answer = svc.answer("chatbots for universities", user=member)
    conv_id = answer.conversation_id
    assert svc.conversations(viewer) == []
    for call in (
        lambda: svc.conversation(viewer, conv_id),
        lambda: svc.rename_conversation(viewer, conv_id, "x"),
        lambda: svc.delete_conversation(viewer, conv_id),
        lambda: svc.ask("and in Portugal?", user=viewer, conversation_id=conv_id),
        lambda: svc.feedback(viewer, rating=-1, message_id=answer.message_id),
    ):
        with pytest.raises(NotFound):
            call()
    own = svc.answer("chatbots for universities", user=viewer)
    assert [c["id"] for c in svc.conversations(viewer)] == [own.conversation_id]
    assert [c["id"] for c in svc.conversations(member)] == [conv_id]
    assert [c["id"] for c in svc.conversations(User("ana", Role.analyst))] == [conv_id]  # promoted: still hers


def test_conversations_continue_across_restarts(demo_settings):
    first = ReffyService(demo_settings)
    answer = first.answer("insurers using chatbots for claims", user=ANA)
    first.close()
    second = ReffyService(load_settings(home=demo_settings.home, vendor_path=demo_settings.vendor_path))
    follow = second.answer("only the ones in Lithuania", user=ANA, conversation_id=answer.conversation_id)
    assert follow.follow_up and follow.filters.get("country") == ["LT"]
    messages = second.conversation(ANA, answer.conversation_id)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    second.close()


def test_feedback_on_answers_and_stories_reaches_analytics(svc):
    answer = svc.answer("hospital patient access with a virtual agent", user=ANA)
    svc.feedback(ANA, rating=-1, message_id=answer.message_id, comment="wanted US hospitals")
    story = answer.hits[0].story_id
    svc.feedback(ANA, rating=1, story_id=story)
    with pytest.raises(ConfigError):
        svc.feedback(ANA, rating=5, story_id=story)
    with pytest.raises(NotFound):
        svc.feedback(ANA, rating=1, story_id="no-such-story")
    with pytest.raises(PermissionDenied):
        svc.usage(ANA)
    stats = svc.usage(ANALYST)
    assert stats["totals"]["feedback_down"] == 1 and stats["totals"]["feedback_up"] == 1
    down = stats["thumbs_down"][0]
    assert down["comment"] == "wanted US hospitals" and down["query"] == "hospital patient access with a virtual agent"
    assert stats["totals"]["asks"] == 1


def test_usage_analytics_count_searches_and_gaps(svc):
    svc.search("bank contact centre", user=ANA, filters={"industry": ["finance"]})
    svc.search("zzqx unknown words", user=BEN, mode="keyword")
    svc.search("energy utility outage calls", user=BEN, filters={"country": ["JP"], "industry": ["energy-utilities"]})
    stats = svc.usage(ANALYST)
    assert stats["totals"]["searches"] == 3 and stats["totals"]["users"] == 2
    assert {r["query"] for r in stats["zero_result"]} >= {"zzqx unknown words"}
    gaps = {(g["facet"], g["value"]): g for g in stats["content_gaps"]}
    assert gaps[("country", "JP")]["requested"] == 1
    assert gaps[("industry", "finance")]["strong_stories"] >= 1
    assert all(r["title"] for r in stats["most_cited"])


def test_analyst_tables_and_coverage(svc):
    with pytest.raises(PermissionDenied):
        svc.coverage(ANA)
    rows = svc.score_table(ANALYST)
    # every duplicate group once: public twins serving only the external audience are not counted twice
    assert len(rows) == len([d for d in svc.engine.docs if d.audience != "external"]) < len(svc.engine.docs)
    grid = svc.coverage(ANALYST, min_score=0)
    assert sum(c["strong"] for c in grid) == len(rows)


def test_api_tokens_are_hashed_tied_to_a_user_and_revocable(svc):
    assert not svc.api_auth_required()
    token = svc.create_token("pat", Role.viewer, "crm")
    assert svc.api_auth_required()
    user = svc.token_user(token)
    assert user == User("pat", Role.viewer)
    assert svc.token_user(token + "x") is None
    assert token not in svc.settings.history_path.read_bytes().decode("latin-1")
    (row,) = svc.list_tokens()
    assert svc.revoke_token(row["id"]) and svc.token_user(token) is None
    assert svc.api_auth_required()  # revoking the last token does not reopen the API to anonymous callers


def test_heavily_recommended_stories_are_penalised_when_fatigue_is_on(demo_settings):
    query = "contact centre agents handling time"
    plain = ReffyService(demo_settings)
    shown = [h.story_id for h in plain.search(query, k=5, log=False).hits]
    top = shown[0]
    for _ in range(12):  # the same story recommended again and again
        plain.search(query, k=5)
    plain.close()
    tired = ReffyService(demo_settings.model_copy(update={"fatigue_strength": 0.5}))
    hits = tired.search(query, k=5, log=False).hits
    assert hits[0].story_id != top  # demoted (at this strength, out of the top 5)
    assert tired.usage_counts()[top] == 12
    fresh = ReffyService(demo_settings).search(query, k=5, fresh=True, log=False).hits
    assert {h.story_id for h in fresh} - set(shown)  # stories never shown surface


def test_local_user_is_an_admin_without_login(svc):
    assert not svc.login_required() and svc.authenticate("anyone", "") == LOCAL_USER


def test_cli_user_add_writes_an_argon2_hash_and_turns_login_on(demo_settings):
    from typer.testing import CliRunner

    from reffy.cli import app

    runner = CliRunner()
    home = ["--home", str(demo_settings.home)]
    assert (
        runner.invoke(
            app, ["user", "add", "ana", "--role", "superuser", *home], input="pw12345678\npw12345678\n"
        ).exit_code
        != 0
    )
    added = runner.invoke(app, ["user", "add", "ana", "--role", "analyst", *home], input="pw12345678\npw12345678\n")
    assert added.exit_code == 0, added.output
    text = (demo_settings.home / "users.yaml").read_text()
    assert "pw12345678" not in text and "$argon2id$" in text
    svc = ReffyService(demo_settings)
    assert svc.login_required() and svc.authenticate("ana", "pw12345678") == User("ana", Role.analyst)
    assert svc.authenticate("ana", "wrong-password") is None
    listed = runner.invoke(app, ["user", "list", *home])
    assert "ana\tanalyst" in listed.output
