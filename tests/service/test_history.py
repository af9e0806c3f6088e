"""The chat-history and usage store: real SQLite files, several threads and processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reffy.auth import Role, User, hash_token
from reffy.errors import NotFound, ReffyError
from reffy.history import SCHEMA_VERSION, HistoryStore

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


class Clock:
    """Each call returns a moment one second after the previous one."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture
def store(tmp_path: Path):
    s = HistoryStore(tmp_path / "home" / "history.sqlite", clock=Clock())
    yield s
    s.close()


def log(
    store: HistoryStore,
    query: str,
    *,
    user: str = "ann",
    kind: str = "search",
    mode: str = "hybrid",
    channel: str = "cli",
    filters: dict | None = None,
    hits: list[str] | None = None,
    no_answer: bool = False,
    latency: float = 10.0,
    cited: list[str] | None = None,
    at: datetime = T0,
) -> int:
    return store.log_query(
        user,
        query,
        kind=kind,
        mode=mode,
        audience="internal",
        channel=channel,
        filters=filters,
        hit_ids=hits or [],
        no_answer=no_answer,
        latency_ms=latency,
        cited=cited,
        now=at,
    )


# -- conversations ------------------------------------------------------------------------


def test_conversation_lifecycle(store: HistoryStore) -> None:
    first = store.create_conversation("ann")
    second = store.create_conversation("ann", audience="external")
    assert len(first["id"]) == 32 and first["title"] is None and first["audience"] == "internal"
    assert [c["id"] for c in store.list_conversations("ann")] == [second["id"], first["id"]]

    question = "Which European bank cut its contact-centre cost with a chatbot, and by how much did it save?"
    store.add_message("ann", first["id"], "user", question)
    answer = store.add_message("ann", first["id"], "assistant", "Zentrix Bank [s1].", cited=["s1"], mode="hybrid")
    store.add_message("ann", first["id"], "user", "And in retail?")

    # Auto-title from the first user message, cut at a word, and activity reorders the list.
    got = store.get_conversation("ann", first["id"])
    assert got["title"] == "Which European bank cut its contact-centre cost with a…"
    assert [m["role"] for m in got["messages"]] == ["user", "assistant", "user"]
    assert [m["content"] for m in got["messages"]] == [question, "Zentrix Bank [s1].", "And in retail?"]
    assert got["messages"][1]["cited"] == ["s1"] and got["messages"][1]["audience"] == "internal"
    assert got["updated_at"] == got["messages"][-1]["created_at"] > got["created_at"]
    assert [c["id"] for c in store.list_conversations("ann")] == [first["id"], second["id"]]
    assert store.list_conversations("ann", limit=1)[0]["id"] == first["id"]

    # Rename sticks (later user messages do not retitle) and does not count as activity.
    renamed = store.rename_conversation("ann", second["id"], "Retail wins")
    assert renamed["title"] == "Retail wins" and renamed["audience"] == "external"
    store.add_message("ann", second["id"], "user", "hello")
    assert store.get_conversation("ann", second["id"])["title"] == "Retail wins"
    store.rename_conversation("ann", first["id"], "Banks")
    assert [c["title"] for c in store.list_conversations("ann")] == ["Retail wins", "Banks"]

    store.set_conversation_audience("ann", first["id"], "external")
    assert store.get_conversation("ann", first["id"])["audience"] == "external"
    with pytest.raises(ValueError):
        store.set_conversation_audience("ann", first["id"], "everyone")

    assert store.delete_conversation("ann", first["id"]) is True
    assert [c["id"] for c in store.list_conversations("ann")] == [second["id"]]
    assert store.get_conversation("ann", first["id"]) is None
    assert store.get_message("ann", answer["id"]) is None
    assert store.recent_messages("ann", first["id"], 5) == []
    assert store.delete_conversation("ann", first["id"]) is False
    assert store.rename_conversation("ann", first["id"], "back") is None
    with pytest.raises(NotFound):
        store.add_message("ann", first["id"], "user", "still there?")
    # The text is gone from the file, not just hidden; ids are never reused.
    raw = store.db.execute("SELECT content FROM messages WHERE conversation_id = ?", [first["id"]]).fetchall()
    assert raw and all(content == "" for (content,) in raw)
    later = store.add_message("ann", second["id"], "assistant", "new")
    assert later["id"] > answer["id"] + 1


def test_explicit_title_kept_and_short_title_whole(store: HistoryStore) -> None:
    named = store.create_conversation("ann", title="Pitch prep")
    store.add_message("ann", named["id"], "user", "Anything for logistics?")
    assert store.get_conversation("ann", named["id"])["title"] == "Pitch prep"
    untitled = store.create_conversation("ann")
    store.add_message("ann", untitled["id"], "assistant", "Welcome")  # assistant text never titles
    assert store.get_conversation("ann", untitled["id"])["title"] is None
    store.add_message("ann", untitled["id"], "user", "  Telcos\n in   Brazil ")
    assert store.get_conversation("ann", untitled["id"])["title"] == "Telcos in Brazil"


def test_messages_round_trip_and_recent(store: HistoryStore) -> None:
    conv = store.create_conversation("ann")
    for i in range(5):
        store.add_message("ann", conv["id"], "user" if i % 2 == 0 else "assistant", f"m{i}")
    rich = store.add_message(
        "ann",
        conv["id"],
        "assistant",
        "answer",
        mode="dense",
        latency_ms=812.5,
        cited=["s2", "s9"],
        model="gpt-x",
        tokens_in=1200,
        tokens_out=300,
        cost_usd=0.0042,
        audience="external",
        filters={"industry": ["finance"]},
        no_answer=True,
        error=None,
        meta={"prompt_version": 3},
    )
    assert store.get_message("ann", rich["id"]) == rich
    assert rich["cited"] == ["s2", "s9"] and rich["filters"] == {"industry": ["finance"]}
    assert rich["meta"] == {"prompt_version": 3} and rich["no_answer"] is True and rich["audience"] == "external"
    assert (rich["tokens_in"], rich["tokens_out"], rich["cost_usd"], rich["latency_ms"]) == (1200, 300, 0.0042, 812.5)
    assert [m["content"] for m in store.recent_messages("ann", conv["id"], 3)] == ["m3", "m4", "answer"]
    assert len(store.recent_messages("ann", conv["id"], 100)) == 6
    assert store.recent_messages("ann", conv["id"], 0) == []
    with pytest.raises(ValueError):
        store.add_message("ann", conv["id"], "system", "no")
    with pytest.raises(NotFound):
        store.add_message("ann", "nope", "user", "hi")


def test_users_other_than_the_owner_see_nothing(store: HistoryStore) -> None:
    conv = store.create_conversation("ann", title="Ann's")
    store.add_message("ann", conv["id"], "user", "secret question")
    answer = store.add_message("ann", conv["id"], "assistant", "secret answer")

    assert store.get_conversation("bob", conv["id"]) is None
    assert store.list_conversations("bob") == []
    assert store.rename_conversation("bob", conv["id"], "mine now") is None
    assert store.delete_conversation("bob", conv["id"]) is False
    assert store.recent_messages("bob", conv["id"], 10) == []
    assert store.get_message("bob", answer["id"]) is None
    with pytest.raises(NotFound):
        store.add_message("bob", conv["id"], "user", "injected")
    with pytest.raises(NotFound):
        store.set_conversation_audience("bob", conv["id"], "external")
    with pytest.raises(NotFound):
        store.add_feedback("bob", -1, message_id=answer["id"])

    mine = store.get_conversation("ann", conv["id"])
    assert mine["title"] == "Ann's" and mine["audience"] == "internal"
    assert [m["content"] for m in mine["messages"]] == ["secret question", "secret answer"]
    assert store.db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 0


def test_a_viewer_named_like_a_member_owns_none_of_the_members_conversations(store: HistoryStore) -> None:
    member, analyst, viewer = User("alice", Role.member), User("alice", Role.analyst), User("alice", Role.viewer)
    conv = store.create_conversation(member, title="Pricing against Zentrix for Nordvik")
    answer = store.add_message(member, conv["id"], "assistant", "internal answer")
    mine = store.create_conversation(viewer, audience="external")

    assert [c["id"] for c in store.list_conversations(viewer)] == [mine["id"]]
    assert store.get_conversation(viewer, conv["id"]) is None and store.get_message(viewer, answer["id"]) is None
    assert store.rename_conversation(viewer, conv["id"], "x") is None and not store.delete_conversation(
        viewer, conv["id"]
    )
    assert store.recent_messages(viewer, conv["id"], 10) == []
    with pytest.raises(NotFound):
        store.add_feedback(viewer, -1, message_id=answer["id"])
    with pytest.raises(NotFound):
        store.add_message(viewer, conv["id"], "user", "injected")
    # the same person promoted from member to analyst keeps them; the viewer's are not the member's
    assert [c["id"] for c in store.list_conversations(analyst)] == [conv["id"]]
    assert store.get_conversation(member, mine["id"]) is None
    assert store.list_conversations("alice") == []  # a bare name is no principal


def test_migration_to_principals_keeps_existing_conversations_with_their_owner(tmp_path: Path) -> None:
    """A v1 file (conversations keyed by name) opened by this Reffy: every row stays readable by
    the principal that wrote it, and by no one of the other role class."""
    from reffy import history

    path = tmp_path / "history.sqlite"
    con = sqlite3.connect(path)
    import sqlite_utils

    db = sqlite_utils.Database(con)
    history._v1(db)
    con.execute("PRAGMA user_version=1")
    now = "2025-01-01T00:00:00.000+00:00"
    db["users"].insert_all(
        [
            {"name": "alice", "role": "viewer", "created_at": now},  # last seen as a viewer token
            {"name": "bob", "role": "viewer", "created_at": now},
            {"name": "carl", "role": "member", "created_at": now},
        ]
    )
    rows = [
        ("a-int", "alice", "internal"),
        ("a-ext", "alice", "external"),
        ("b-ext", "bob", "external"),
        ("c-ext", "carl", "external"),
        ("a-mixed", "alice", "external"),
    ]
    for cid, user, audience in rows:
        db["conversations"].insert(
            {"id": cid, "user": user, "title": cid, "audience": audience, "created_at": now, "updated_at": now}
        )
    db["messages"].insert(
        {
            "conversation_id": "a-mixed",
            "role": "assistant",
            "content": "an internal answer",
            "audience": "internal",
            "created_at": now,
        }
    )
    con.commit()
    con.close()

    store = HistoryStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION == 4  # v2 principals, v3 sessions and jobs, v4 review marks
        ids = lambda user: sorted(c["id"] for c in store.list_conversations(user))  # noqa: E731
        # anything internal was written by staff (a viewer only ever gets the external audience)
        assert ids(User("alice", Role.member)) == ["a-int", "a-mixed"]
        assert ids(User("alice", Role.viewer)) == ["a-ext"]
        assert ids(User("bob", Role.viewer)) == ["b-ext"] and ids(User("bob", Role.admin)) == []
        assert ids(User("carl", Role.member)) == ["c-ext"] and ids(User("carl", Role.viewer)) == []
        assert (
            store.get_conversation(User("alice", Role.member), "a-mixed")["messages"][0]["content"]
            == "an internal answer"
        )
    finally:
        store.close()


def test_ensure_user_upserts(store: HistoryStore) -> None:
    first = store.ensure_user("ann", "analyst")
    again = store.ensure_user("ann")
    assert again["role"] == "analyst" and again["created_at"] == first["created_at"]
    assert again["last_seen"] > first["last_seen"]
    assert store.ensure_user("ann", "admin")["role"] == "admin"
    store.create_conversation("carl")  # an unseen user gets a row, so the foreign key holds
    assert store.db["users"].get("carl")["role"] is None


# -- durability and concurrency -------------------------------------------------------------


def test_reopen_sees_everything_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "history.sqlite"
    s = HistoryStore(path)
    conv = s.create_conversation("ann")
    msg = s.add_message("ann", conv["id"], "user", "kept?")
    s.add_feedback("ann", 1, message_id=msg["id"])
    log(s, "kept?", hits=["s1"])
    token, _ = s.add_token("ann", "member")
    s.close()

    again = HistoryStore(path)
    try:
        assert again.get_conversation("ann", conv["id"])["messages"][0]["content"] == "kept?"
        assert again.usage_counts(3650, now=T0) == {"s1": 1}
        assert again.token_user(token) == ("ann", "member")
        assert again.usage_stats(now=datetime.now(UTC))["totals"]["feedback_up"] == 1
        assert again.db.journal_mode == "wal"
        assert again.schema_version == SCHEMA_VERSION
        pragma = again.db.conn.execute
        assert pragma("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert pragma("PRAGMA foreign_keys").fetchone()[0] == 1
        assert set(again.db.table_names()) >= {
            "users",
            "conversations",
            "messages",
            "feedback",
            "query_log",
            "api_tokens",
        }
        assert "idx_messages_conversation_id_id" in {i.name for i in again.db["messages"].indexes}
    finally:
        again.close()
    # Any other SQLite client sees WAL mode on the file itself.
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    HistoryStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ReffyError, match="Upgrade Reffy"):
        HistoryStore(path)


def _writer(path: str, worker: int, n: int, barrier) -> None:
    store = HistoryStore(Path(path))
    user = f"user{worker}"
    conv = store.create_conversation(user)
    barrier.wait(timeout=60)
    for i in range(n):
        store.add_message(user, conv["id"], "user", f"{worker}:{i}")
        store.log_query(
            user,
            f"{worker}:{i}",
            kind="search",
            mode="hybrid",
            audience="internal",
            channel="api",
            filters=None,
            hit_ids=[f"s{worker}"],
            no_answer=False,
            latency_ms=1.0,
        )
    store.close()


def test_several_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path, workers, n = tmp_path / "home" / "history.sqlite", 4, 150
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)  # the stores (and the schema) are created concurrently, then all write at once
    procs = [ctx.Process(target=_writer, args=(str(path), w, n, barrier)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * workers

    store = HistoryStore(path)
    try:
        db = store.db
        assert db["messages"].count == workers * n and db["query_log"].count == workers * n
        assert store.usage_counts(1) == {f"s{w}": n for w in range(workers)}
        for w in range(workers):
            (conv,) = store.list_conversations(f"user{w}")
            got = store.get_conversation(f"user{w}", conv["id"])
            assert [m["content"] for m in got["messages"]] == [f"{w}:{i}" for i in range(n)]
            assert all(store.get_message(f"user{w}", m["id"])["content"] == m["content"] for m in got["messages"])
        assert len({r["id"] for r in db.query("SELECT id FROM messages")}) == workers * n
    finally:
        store.close()


def test_threads_sharing_one_store_lose_nothing(store: HistoryStore) -> None:
    threads_n, n = 6, 40
    convs = [store.create_conversation(f"t{t}") for t in range(threads_n)]

    def work(t: int) -> None:
        for i in range(n):
            store.add_message(f"t{t}", convs[t]["id"], "user", f"{t}:{i}")
            log(store, f"{t}:{i}", user=f"t{t}", hits=["s1"])
            assert store.recent_messages(f"t{t}", convs[t]["id"], 1)[0]["content"] == f"{t}:{i}"

    with ThreadPoolExecutor(threads_n) as pool:
        for future in [pool.submit(work, t) for t in range(threads_n)]:
            future.result()  # re-raises anything a thread hit
    assert store.db["messages"].count == threads_n * n and store.db["query_log"].count == threads_n * n
    for t in range(threads_n):
        messages = store.get_conversation(f"t{t}", convs[t]["id"])["messages"]
        assert [m["content"] for m in messages] == [f"{t}:{i}" for i in range(n)]


# -- feedback -------------------------------------------------------------------------------


def test_feedback_validation_and_recorded_query(store: HistoryStore) -> None:
    conv = store.create_conversation("ann")
    store.add_message("ann", conv["id"], "user", "banks with chatbots")
    answer = store.add_message("ann", conv["id"], "assistant", "Zentrix [s1]")
    for bad in (0, 2, -2, True):
        with pytest.raises(ValueError):
            store.add_feedback("ann", bad, message_id=answer["id"])
    with pytest.raises(ValueError):
        store.add_feedback("ann", 1)
    with pytest.raises(NotFound):
        store.add_feedback("ann", 1, message_id=999_999)

    down = store.add_feedback("ann", -1, message_id=answer["id"], comment="wrong bank")
    assert down["query"] == "banks with chatbots" and down["rating"] == -1 and isinstance(down["id"], int)
    story_only = store.add_feedback("bob", 1, story_id="s7", query="retail in Spain")
    assert story_only["message_id"] is None and story_only["story_id"] == "s7"
    both = store.add_feedback("ann", 1, message_id=answer["id"], story_id="s1", query="explicit")
    assert both["query"] == "explicit"
    assert store.db["feedback"].count == 3


# -- usage ----------------------------------------------------------------------------------


def test_usage_counts_window_and_top_k(store: HistoryStore) -> None:
    now = T0 + timedelta(days=30)
    log(store, "q1", hits=["a", "b", "c", "d", "e", "f"], at=now - timedelta(hours=1))  # f is 6th: not counted
    log(store, "q2", kind="ask", hits=["a", "b"], cited=["a", "z"], at=now - timedelta(days=2))  # a once per query
    log(store, "q3", hits=["b"], at=now - timedelta(days=8))  # outside a 7-day window
    log(store, "q4", hits=["a"], at=now + timedelta(hours=1))  # after `now`
    log(store, "q5", hits=[], no_answer=True, at=now - timedelta(days=1))

    assert store.usage_counts(7, now=now) == {"a": 2, "b": 2, "c": 1, "d": 1, "e": 1, "z": 1}
    assert store.usage_counts(7, top=1, now=now) == {"a": 2, "z": 1}
    assert store.usage_counts(10, now=now) == {"b": 3, "a": 2, "c": 1, "d": 1, "e": 1, "z": 1}
    assert store.usage_counts(7, top=10, now=now)["f"] == 1
    assert store.usage_counts(1, now=now - timedelta(days=20)) == {}
    assert list(store.usage_counts(10, now=now)) == ["b", "a", "c", "d", "e", "z"]  # most used first


def test_usage_stats_on_a_hand_computed_log(store: HistoryStore) -> None:
    now = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
    d1, d2 = datetime(2025, 3, 18, 10, 0, tzinfo=UTC), datetime(2025, 3, 19, 10, 0, tzinfo=UTC)
    fin = {"industry": ["finance"], "country": "Spain", "year_min": 2020}
    # Searches: latencies 10, 20, 30, 40, 100 -> p50 30, p95 40 + 0.8 * 60 = 88.
    log(store, "bank chatbot", user="ann", latency=10, hits=["s1", "s2"], filters=fin, at=d1)
    log(store, "bank chatbot", user="bob", latency=20, hits=["s1"], filters={"industry": ["finance", "retail"]}, at=d1)
    log(store, "quantum  farming", user="ann", latency=30, hits=[], at=d1 + timedelta(hours=1))
    log(store, "Quantum farming", user="cat", latency=40, mode="keyword", channel="api", hits=[], at=d2)
    log(store, "telco", user="cat", latency=100, hits=["s3"], filters={"competitor": ["Acme"], "product": []}, at=d2)
    # Asks: 500 and 1500 -> p50 1000, p95 1450; one is a no-answer despite its hits.
    log(store, "why did we win", user="ann", kind="ask", latency=500, hits=["s1"], cited=["s1"], channel="app", at=d2)
    log(
        store,
        "quantum farming",
        user="bob",
        kind="ask",
        latency=1500,
        hits=["s9"],
        no_answer=True,
        channel="app",
        at=d2,
    )
    log(store, "too old", user="dan", latency=9999, hits=[], at=now - timedelta(days=31))

    store._clock = Clock(now - timedelta(hours=1))  # feedback timestamps inside the window
    conv = store.create_conversation("ann")
    store.add_message("ann", conv["id"], "user", "why did we win")
    answer = store.add_message("ann", conv["id"], "assistant", "Because [s1]")
    store.add_feedback("ann", -1, message_id=answer["id"], comment="vague")
    store.add_feedback("bob", 1, story_id="s1")
    store.add_feedback("cat", -1, story_id="s3", comment="old", query="telco")

    stats = store.usage_stats(30, now=now)
    assert stats["daily_active_users"] == [{"day": "2025-03-18", "users": 2}, {"day": "2025-03-19", "users": 3}]
    assert stats["queries_per_day"] == [{"day": "2025-03-18", "queries": 3}, {"day": "2025-03-19", "queries": 4}]
    assert stats["latency"]["search"] == {"p50": 30.0, "p95": pytest.approx(88.0), "n": 5}
    assert stats["latency"]["ask"] == {"p50": 1000.0, "p95": pytest.approx(1450.0), "n": 2}
    assert stats["mode_split"] == [
        {"kind": "search", "mode": "hybrid", "n": 4},
        {"kind": "ask", "mode": "hybrid", "n": 2},
        {"kind": "search", "mode": "keyword", "n": 1},
    ]
    channels = [{"channel": "cli", "n": 4}, {"channel": "app", "n": 2}, {"channel": "api", "n": 1}]
    assert stats["channel_split"] == channels
    assert stats["most_cited"] == [
        {"story_id": "s1", "n": 3},
        {"story_id": "s2", "n": 1},
        {"story_id": "s3", "n": 1},
        {"story_id": "s9", "n": 1},
    ]
    assert stats["zero_result"] == [{"query": "quantum farming", "n": 2}, {"query": "Quantum farming", "n": 1}]
    stamps = [d["created_at"] for d in stats["thumbs_down"]]
    assert stats["thumbs_down"] == [
        {"query": "telco", "comment": "old", "story_id": "s3", "message_id": None, "created_at": stamps[0]},
        {
            "query": "why did we win",
            "comment": "vague",
            "story_id": None,
            "message_id": answer["id"],
            "created_at": stamps[1],
        },
    ]
    assert stamps[0] > stamps[1]  # newest first
    assert stats["requested_facets"] == [
        {"facet": "industry", "value": "finance", "n": 2},
        {"facet": "competitor", "value": "Acme", "n": 1},
        {"facet": "country", "value": "Spain", "n": 1},
        {"facet": "industry", "value": "retail", "n": 1},
    ]
    assert stats["totals"] == {"queries": 7, "users": 3, "asks": 2, "searches": 5, "feedback_up": 1, "feedback_down": 2}
    # A one-day window keeps only what happened since 2025-03-19 12:00: nothing.
    assert store.usage_stats(1, now=now)["totals"]["queries"] == 0


def test_empty_store_stats(store: HistoryStore) -> None:
    stats = store.usage_stats()
    assert stats["latency"] == {"search": {"p50": 0.0, "p95": 0.0, "n": 0}, "ask": {"p50": 0.0, "p95": 0.0, "n": 0}}
    assert stats["totals"] == {"queries": 0, "users": 0, "asks": 0, "searches": 0, "feedback_up": 0, "feedback_down": 0}
    for key in (
        "daily_active_users",
        "queries_per_day",
        "mode_split",
        "channel_split",
        "most_cited",
        "zero_result",
        "thumbs_down",
        "requested_facets",
    ):
        assert stats[key] == [], key
    assert store.usage_counts(30) == {}


# -- tokens ---------------------------------------------------------------------------------


def test_tokens_are_hashed_and_revocable(store: HistoryStore) -> None:
    token, row = store.add_token("ann", "admin", "laptop")
    other, _ = store.add_token("bob", "viewer")
    assert token.startswith("reffy_") and len(token) > 40
    assert row == {
        "id": row["id"],
        "user": "ann",
        "role": "admin",
        "label": "laptop",
        "created_at": row["created_at"],
        "last_used": None,
        "revoked_at": None,
        "revoked": False,
    }

    assert store.token_user(token) == ("ann", "admin")
    assert store.token_user(other) == ("bob", "viewer")
    assert store.token_user("reffy_not-a-token") is None
    listed = store.list_tokens()
    assert [t["user"] for t in listed] == ["ann", "bob"]
    assert listed[0]["last_used"] is not None
    assert all("token_hash" not in t for t in listed)

    # Only the digest is stored: not in the table, not in the database file or its WAL.
    stored = store.db.execute("SELECT token_hash FROM api_tokens WHERE id = ?", [row["id"]]).fetchone()[0]
    assert stored == hash_token(token)
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
    assert hash_token(token).encode() in raw
    assert token.encode() not in raw and token[len("reffy_") :].encode() not in raw
    assert token not in repr(store.db.execute("SELECT * FROM api_tokens").fetchall())

    assert store.revoke_token(row["id"]) is True
    assert store.token_user(token) is None
    assert store.token_user(other) == ("bob", "viewer")
    assert store.revoke_token(row["id"]) is False
    assert store.revoke_token(12345) is False
    assert [t["revoked"] for t in store.list_tokens()] == [True, False]
