"""The chat-history and usage store: one SQLite file, ``REFFY_HOME/history.sqlite``.

Tables (created idempotently by the numbered steps in ``_MIGRATIONS``; the schema
version reached is kept in ``PRAGMA user_version``):

``users``
    ``name`` (pk), ``role``, ``created_at``, ``last_seen``. One row per person who used
    any channel; ``ensure_user`` upserts it and stamps ``last_seen``.
``conversations``
    ``id`` (uuid4 hex), ``user`` (the owner's name, fk users), ``owner`` (the owner's
    principal, :attr:`reffy.auth.User.principal`: ``viewer:<name>`` or ``staff:<name>``;
    every ownership check compares it, never the name alone, so a viewer token named like a
    member sees none of the member's conversations), ``title``, ``audience``
    (internal/external), ``created_at``, ``updated_at`` (bumped by every message, so
    lists sort by activity), ``deleted_at``. A deleted conversation stays as a titleless
    tombstone so ids are never reused.
``messages``
    ``id`` (integer, insertion order), ``conversation_id`` (fk), ``role`` (user/assistant),
    ``content``, and for answers ``mode``, ``latency_ms``, ``cited`` (JSON list of story
    ids), ``model``, ``tokens_in``/``tokens_out``/``cost_usd``, ``audience``, ``filters``
    (JSON), ``no_answer``, ``error``, ``meta`` (JSON), ``created_at``. Deleting the
    conversation redacts the text columns (content, cited, filters, error, meta) but keeps
    the row, so feedback never points at a recycled id and cost totals stay true.
``feedback``
    ``rating`` (+1/-1) on an answer (``message_id``) and/or a story (``story_id``), with
    ``comment`` and the ``query`` it answered. Ids are loose references: feedback outlives
    a deleted conversation.
``query_log``
    One row per search or ask from any channel: ``user``, ``query``, ``kind``
    (search/ask), ``mode``, ``audience``, ``channel`` (cli/api/app/mcp...), ``filters``,
    ``hit_ids`` (JSON, ranked), ``cited`` (JSON), ``no_answer``, ``latency_ms``,
    ``created_at``. Feeds analytics and usage-aware ranking (``usage_counts``).
``api_tokens``
    ``user``, ``role``, ``label``, ``token_hash`` (SHA-256 of the token; the plaintext is
    shown once and never stored), ``created_at``, ``last_used``, ``revoked_at``.
``sessions`` (v2; owned by :mod:`reffy.sessions`)
    One row per app login: ``token_hash`` (SHA-256 of the random token the browser keeps
    in a cookie; never the token itself), ``user``, ``role``, ``via`` (password/sso),
    ``created_at``, ``expires_at``, ``revoked_at`` (set by logout or by removing the user).
``jobs`` (v2; owned by :mod:`reffy.jobs`)
    One row per background pipeline run started from the app: ``kind``, ``user``,
    ``status`` (running/completed/partial/failed/interrupted), ``stage`` and
    ``done``/``total``/``message`` (progress), ``specs`` and ``options`` (JSON, what to
    run, so a job can be resumed), ``result`` (JSON, per step), ``problems`` (JSON, per
    input line), ``error``, ``run_id`` (the ingest run), ``pid`` (the server process that
    runs it), ``created_at``/``started_at``/``updated_at``/``finished_at``.
``review_marks`` (v4; owned by :mod:`reffy.insights.review`)
    An analyst's mark on one item of the review queue: ``item`` (pk, ``search:<query_log id>``
    or ``answer:<message id>``), ``reviewed_by``/``reviewed_at`` (NULL: not reviewed, or the mark
    was taken back), ``note``, ``note_by``, ``updated_at``. The queue pages by ``created_at``, so
    v4 also indexes ``query_log (kind, created_at)`` and ``messages (role, created_at)``.
``theme_summaries`` (v4; owned by :mod:`reffy.insights.themes`)
    One line an LLM wrote about a theme, cached by ``key`` (a hash of the model, the prompt
    version and the theme's questions), with ``model``, ``tokens_in``/``tokens_out``,
    ``cost_usd`` and ``created_at``: a digest rerun on the same questions costs nothing.
``question_vectors`` (v4; owned by :mod:`reffy.insights.vectors`)
    The embedding of one distinct question (``key``: a hash of the embedding model and the folded
    text; ``vector``: float32 bytes), so themes embed each question once, not on every digest.

Concurrency: WAL journal, ``busy_timeout`` 10 s, foreign keys on. One connection per
store, shared by the threads of a process behind a lock; every write is one
``BEGIN IMMEDIATE`` transaction (it takes the write lock up front, so two processes never
deadlock upgrading a read), retried with backoff if another process still holds the lock.
Timestamps are UTC ISO-8601 strings with milliseconds, so they sort as text.

Size: the SQLite history's schema and migrations and every query on it (conversations, messages,
feedback, query log, tokens, sessions, jobs, review marks); one file keeps each migration beside the
queries it serves.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from reffy.auth import User, hash_token, new_token
from reffy.errors import NotFound, ReffyError
from reffy.models import utcnow


def _import_sqlite_utils():
    """``sqlite_utils`` imports pandas when it is installed (0.5-1 s), only to accept DataFrames
    and Timestamps, which Reffy never passes. Imported from the main thread (the CLI), pandas is
    hidden for the moment of the import, so `reffy search` does not pay for it. Elsewhere (the
    app's script threads, which do use pandas, and servers' warm-up threads) it is imported
    normally: hiding a module while another thread might import it could break that import."""
    import sys

    if (
        "sqlite_utils" in sys.modules
        or "pandas" in sys.modules
        or threading.current_thread() is not threading.main_thread()
    ):
        import sqlite_utils
    else:
        sys.modules["pandas"] = None  # type: ignore[assignment,unused-ignore]  # `import pandas` raises ImportError
        try:
            import sqlite_utils
        finally:
            del sys.modules["pandas"]
    return sqlite_utils


if TYPE_CHECKING:
    import sqlite_utils

T = TypeVar("T")

SCHEMA_VERSION = 4
ROLES = ("user", "assistant")
AUDIENCES = ("internal", "external")
FACETS = ("industry", "country", "product", "competitor")
TITLE_CHARS = 60
_RETRIES = 6
_JSON_LIST = ("cited", "hit_ids")
_JSON_DICT = ("filters", "meta")
_CONVERSATION = "id, user, title, audience, created_at, updated_at"  # the public columns
Owner = User | str  # a User (its principal owns the rows), or a principal id given as is


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    """JSON columns back to Python (missing -> []/{}), 0/1 flags back to bool."""
    for key in _JSON_LIST:
        if key in row:
            row[key] = json.loads(row[key]) if row[key] else []
    for key in _JSON_DICT:
        if key in row:
            row[key] = json.loads(row[key]) if row[key] else {}
    if "no_answer" in row:
        row["no_answer"] = bool(row["no_answer"])
    return row


def title_from(text: str) -> str:
    """A conversation title from its first question: whitespace collapsed, ~60 chars."""
    flat = " ".join(text.split())
    if len(flat) <= TITLE_CHARS:
        return flat
    cut = flat[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) >= TITLE_CHARS // 2 else flat[:TITLE_CHARS]).rstrip(" ,.;:-") + "…"


def _v1(db: sqlite_utils.Database) -> None:
    db.table("users").create(
        {"name": str, "role": str, "created_at": str, "last_seen": str},
        pk="name",
        not_null={"created_at"},
        if_not_exists=True,
    )
    db.table("conversations").create(
        {
            "id": str,
            "user": str,
            "title": str,
            "audience": str,
            "created_at": str,
            "updated_at": str,
            "deleted_at": str,
        },
        pk="id",
        foreign_keys=[("user", "users", "name")],
        not_null={"user", "audience", "created_at", "updated_at"},
        if_not_exists=True,
    )
    db.table("messages").create(
        {
            "id": int,
            "conversation_id": str,
            "role": str,
            "content": str,
            "mode": str,
            "latency_ms": float,
            "cited": str,
            "model": str,
            "tokens_in": int,
            "tokens_out": int,
            "cost_usd": float,
            "audience": str,
            "filters": str,
            "no_answer": int,
            "error": str,
            "meta": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id")],
        not_null={"conversation_id", "role", "created_at"},
        if_not_exists=True,
    )
    db.table("feedback").create(
        {
            "id": int,
            "user": str,
            "rating": int,
            "message_id": int,
            "story_id": str,
            "comment": str,
            "query": str,
            "created_at": str,
        },
        pk="id",
        not_null={"user", "rating", "created_at"},
        if_not_exists=True,
    )
    db.table("query_log").create(
        {
            "id": int,
            "user": str,
            "query": str,
            "kind": str,
            "mode": str,
            "audience": str,
            "channel": str,
            "filters": str,
            "hit_ids": str,
            "cited": str,
            "no_answer": int,
            "latency_ms": float,
            "created_at": str,
        },
        pk="id",
        not_null={"user", "query", "kind", "created_at"},
        if_not_exists=True,
    )
    db.table("api_tokens").create(
        {
            "id": int,
            "user": str,
            "role": str,
            "label": str,
            "token_hash": str,
            "created_at": str,
            "last_used": str,
            "revoked_at": str,
        },
        pk="id",
        not_null={"user", "role", "token_hash", "created_at"},
        if_not_exists=True,
    )
    indexes = {
        "conversations": [["user", "updated_at"]],
        "messages": [["conversation_id", "id"]],
        "feedback": [["created_at"], ["message_id"], ["user"]],
        "query_log": [["created_at"], ["user"]],
        "api_tokens": [["token_hash"]],
    }
    for table, column_sets in indexes.items():
        for columns in column_sets:
            db.table(table).create_index(columns, if_not_exists=True, unique=table == "api_tokens")


def _v2(db: sqlite_utils.Database) -> None:
    """Conversations owned by principal (name + role class), not by name alone. Existing rows
    go to the principal that can have written them: a conversation with anything internal in it
    was staff's (viewers only ever get the external audience); otherwise the role the name was
    last seen with decides, staff when unknown - a viewer may lose sight of an old external
    conversation, but no viewer is handed a member's."""
    db.table("conversations").add_column("owner", str)
    db.execute(
        "UPDATE conversations SET owner = CASE"
        " WHEN audience = 'internal' OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id"
        "  AND m.audience = 'internal') THEN 'staff:' || user"
        " WHEN (SELECT role FROM users u WHERE u.name = conversations.user) = 'viewer' THEN 'viewer:' || user"
        " ELSE 'staff:' || user END"
    )
    db.table("conversations").create_index(["owner", "updated_at"], if_not_exists=True)


def _v3(db: sqlite_utils.Database) -> None:
    """App sessions (signed in across refreshes, ended by logout) and pipeline jobs run by the server."""
    db.table("sessions").create(
        {
            "id": int,
            "token_hash": str,
            "user": str,
            "role": str,
            "via": str,
            "created_at": str,
            "expires_at": str,
            "revoked_at": str,
        },
        pk="id",
        not_null={"token_hash", "user", "role", "created_at", "expires_at"},
        if_not_exists=True,
    )
    db.table("sessions").create_index(["token_hash"], unique=True, if_not_exists=True)
    db.table("sessions").create_index(["user"], if_not_exists=True)
    db.table("jobs").create(
        {
            "id": int,
            "kind": str,
            "user": str,
            "status": str,
            "stage": str,
            "done": int,
            "total": int,
            "message": str,
            "specs": str,
            "options": str,
            "result": str,
            "problems": str,
            "error": str,
            "run_id": int,
            "pid": int,
            "created_at": str,
            "started_at": str,
            "updated_at": str,
            "finished_at": str,
        },
        pk="id",
        not_null={"kind", "user", "status", "created_at", "updated_at"},
        if_not_exists=True,
    )
    db.table("jobs").create_index(["status"], if_not_exists=True)


def _v4(db: sqlite_utils.Database) -> None:
    """The insights review queue's marks and notes, cached LLM theme summaries, and the indexes
    the queue pages by (newest first per kind, so a page never sorts the whole log)."""
    db.table("review_marks").create(
        {"item": str, "reviewed_by": str, "reviewed_at": str, "note": str, "note_by": str, "updated_at": str},
        pk="item",
        not_null={"updated_at"},
        if_not_exists=True,
    )
    db.table("theme_summaries").create(
        {
            "key": str,
            "summary": str,
            "model": str,
            "tokens_in": int,
            "tokens_out": int,
            "cost_usd": float,
            "created_at": str,
        },
        pk="key",
        not_null={"summary", "created_at"},
        if_not_exists=True,
    )
    db.table("question_vectors").create(
        {"key": str, "vector": bytes, "created_at": str}, pk="key", not_null={"vector"}, if_not_exists=True
    )
    db.table("query_log").create_index(["kind", "created_at"], if_not_exists=True)
    db.table("messages").create_index(["role", "created_at"], if_not_exists=True)


# Ordered schema steps: version -> step. Add new steps; never edit a shipped one.
_MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {1: _v1, 2: _v2, 3: _v3, 4: _v4}


def _owner(user: Owner) -> tuple[str, str]:
    """(name, principal) of a conversation's owner."""
    return (user.name, user.principal) if isinstance(user, User) else (user, user)


class HistoryStore:
    """Users, conversations, messages, feedback, the query log and API tokens."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        # isolation_level=None: no implicit transactions; we issue BEGIN IMMEDIATE ourselves.
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        try:
            self._retry(lambda: conn.execute("PRAGMA journal_mode=wal"))
            conn.execute("PRAGMA synchronous=NORMAL")  # what SQLite recommends with WAL
            self._migrate()
        except BaseException:
            conn.close()
            raise

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the connection, imported on first use (~0.1 s): logging a search and
        reading usage, all a one-shot `reffy search` does here, run on plain sqlite3."""
        if self._db is None:
            self._db = _import_sqlite_utils().Database(self.conn)
        return self._db

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # -- plumbing ---------------------------------------------------------------------

    def _now(self, now: datetime | None = None) -> str:
        return _iso(now or self._clock())

    def _retry(self, fn: Callable[[], T]) -> T:
        for attempt in range(_RETRIES):
            try:
                with self._lock:
                    return fn()
            except sqlite3.OperationalError as exc:
                message = str(exc).lower()
                if attempt == _RETRIES - 1 or not ("locked" in message or "busy" in message):
                    raise
            time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite_utils.Database]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _write(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        """Run ``fn`` in one write transaction, retried if another process holds the lock."""

        def attempt() -> T:
            with self._transaction() as db:
                return fn(db)

        return self._retry(attempt)

    def _rows(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.conn.execute(sql, params or [])
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        """One row in one write transaction on plain sqlite3 (the hot path); its rowid."""
        sql = f'INSERT INTO "{table}" ({", ".join(f"[{k}]" for k in row)}) VALUES ({", ".join("?" * len(row))})'

        def attempt() -> int:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                rowid = self.conn.execute(sql, list(row.values())).lastrowid
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            assert rowid is not None  # an INSERT sets it
            return int(rowid)

        return self._retry(attempt)

    def _migrate(self) -> None:
        if self.schema_version == SCHEMA_VERSION:  # the common case: no write, no sqlite-utils
            return

        def step(db: sqlite_utils.Database) -> None:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ReffyError(
                    f"{self.path} has history schema v{version}, newer than this Reffy "
                    f"(v{SCHEMA_VERSION}). Upgrade Reffy to open it."
                )
            for target in sorted(v for v in _MIGRATIONS if v > version):
                _MIGRATIONS[target](db)
                db.execute(f"PRAGMA user_version={int(target)}")

        self._write(step)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- users --------------------------------------------------------------------------

    def ensure_user(self, name: str, role: str | None = None) -> dict:
        """Create or refresh a user; ``role`` is only overwritten when given."""

        def write(db: sqlite_utils.Database) -> dict:
            now = self._now()
            db.table("users").insert({"name": name, "role": role, "created_at": now, "last_seen": now}, ignore=True)
            db.table("users").update(name, {"last_seen": now} | ({"role": role} if role is not None else {}))
            return db.table("users").get(name)

        return self._write(write)

    # -- conversations ------------------------------------------------------------------

    def _owned(self, user: Owner, conversation_id: str) -> dict | None:
        sql = f"SELECT {_CONVERSATION} FROM conversations WHERE id = ? AND owner = ? AND deleted_at IS NULL"
        rows = list(self.db.query(sql, [conversation_id, _owner(user)[1]]))
        return rows[0] if rows else None

    def _require(self, user: Owner, conversation_id: str) -> dict:
        conversation = self._owned(user, conversation_id)
        if conversation is None:
            raise NotFound(
                f"Conversation {conversation_id!r} not found for {_owner(user)[0]!r}: "
                "list your conversations and pick one of those, or start a new one."
            )
        return conversation

    def create_conversation(self, user: Owner, title: str | None = None, audience: str = "internal") -> dict:
        """A new conversation owned by ``user`` (the user row is created if missing)."""
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
        name, principal = _owner(user)

        def write(db: sqlite_utils.Database) -> dict:
            now = self._now()
            db.table("users").insert({"name": name, "created_at": now, "last_seen": now}, ignore=True)
            row = {
                "id": uuid.uuid4().hex,
                "user": name,
                "title": title or None,
                "audience": audience,
                "created_at": now,
                "updated_at": now,
            }
            db.table("conversations").insert({**row, "owner": principal})
            return row

        return self._write(write)

    def list_conversations(self, user: Owner, limit: int = 100) -> list[dict]:
        """The user's conversations, most recently active first."""
        return self._rows(
            f"SELECT {_CONVERSATION} FROM conversations WHERE owner = ? AND deleted_at IS NULL "
            "ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            [_owner(user)[1], limit],
        )

    def get_conversation(self, user: Owner, conversation_id: str) -> dict | None:
        """The conversation with its ``messages`` in order, or None if not the user's."""
        with self._lock:
            conversation = self._owned(user, conversation_id)
            if conversation is None:
                return None
            rows = self.db.query("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", [conversation_id])
            return conversation | {"messages": [_decode(r) for r in rows]}

    def rename_conversation(self, user: Owner, conversation_id: str, title: str) -> dict | None:
        """Set the title (does not count as activity: list order is unchanged)."""

        def write(db: sqlite_utils.Database) -> dict | None:
            if self._owned(user, conversation_id) is None:
                return None
            db.table("conversations").update(conversation_id, {"title": title.strip() or None})
            return self._owned(user, conversation_id)

        return self._write(write)

    def delete_conversation(self, user: Owner, conversation_id: str) -> bool:
        """Hide the conversation and redact its messages; False if it is not the user's."""

        def write(db: sqlite_utils.Database) -> bool:
            if self._owned(user, conversation_id) is None:
                return False
            db.table("conversations").update(conversation_id, {"deleted_at": self._now(), "title": None})
            db.execute(
                "UPDATE messages SET content = '', cited = NULL, filters = NULL, error = NULL, meta = NULL "
                "WHERE conversation_id = ?",
                [conversation_id],
            )
            return True

        return self._write(write)

    def set_conversation_audience(self, user: Owner, conversation_id: str, audience: str) -> None:
        """Change the audience; raises NotFound if the conversation is not the user's."""
        if audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")

        def write(db: sqlite_utils.Database) -> None:
            self._require(user, conversation_id)
            db.table("conversations").update(conversation_id, {"audience": audience})

        self._write(write)

    # -- messages -----------------------------------------------------------------------

    def add_message(
        self,
        user: Owner,
        conversation_id: str,
        role: str,
        content: str,
        *,
        mode: str | None = None,
        latency_ms: float | None = None,
        cited: list[str] | None = None,
        model: str | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost_usd: float = 0.0,
        audience: str | None = None,
        filters: dict | None = None,
        no_answer: bool = False,
        error: str | None = None,
        meta: dict | None = None,
    ) -> dict:
        """Append a message; bumps ``updated_at`` and titles an untitled conversation from
        its first user message. Raises NotFound if the conversation is not the user's."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")

        def write(db: sqlite_utils.Database) -> dict:
            conversation = self._require(user, conversation_id)
            now = self._now()
            row = {
                "conversation_id": conversation_id,
                "role": role,
                "content": content,
                "mode": mode,
                "latency_ms": latency_ms,
                "cited": _dumps(list(cited) if cited is not None else None),
                "model": model,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "cost_usd": cost_usd,
                "audience": audience or conversation["audience"],
                "filters": _dumps(filters),
                "no_answer": int(no_answer),
                "error": error,
                "meta": _dumps(meta),
                "created_at": now,
            }
            message_id = int(db.table("messages").insert(row).last_pk or 0)
            update = {"updated_at": now}
            if role == "user" and not conversation["title"] and content.strip():
                update["title"] = title_from(content)
            db.table("conversations").update(conversation_id, update)
            return _decode(db.table("messages").get(message_id))

        return self._write(write)

    def recent_messages(self, user: Owner, conversation_id: str, limit: int) -> list[dict]:
        """The last ``limit`` messages, oldest first ([] if not the user's)."""
        if limit <= 0:
            return []
        with self._lock:
            if self._owned(user, conversation_id) is None:
                return []
            rows = self.db.query(
                "SELECT * FROM (SELECT * FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id",
                [conversation_id, limit],
            )
            return [_decode(r) for r in rows]

    def get_message(self, user: Owner, message_id: int) -> dict | None:
        """One message of one of the user's live conversations, else None."""
        rows = self._rows(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE m.id = ? AND c.owner = ? AND c.deleted_at IS NULL",
            [message_id, _owner(user)[1]],
        )
        return _decode(rows[0]) if rows else None

    # -- feedback -----------------------------------------------------------------------

    def add_feedback(
        self,
        user: Owner,
        rating: int,
        *,
        message_id: int | None = None,
        story_id: str | None = None,
        comment: str | None = None,
        query: str | None = None,
    ) -> dict:
        """Thumbs up (1) or down (-1) on an answer message and/or a story. Without ``query``,
        the question the message answered is recorded."""
        if isinstance(rating, bool) or rating not in (1, -1):
            raise ValueError(f"rating must be 1 (thumbs up) or -1 (thumbs down), not {rating!r}")
        if message_id is None and not story_id:
            raise ValueError("feedback needs a message_id, a story_id or both")

        def write(db: sqlite_utils.Database) -> dict:
            asked = query
            if message_id is not None:
                message = self.get_message(user, message_id)
                if message is None:
                    raise NotFound(
                        f"Message {message_id} not found for {_owner(user)[0]!r}: "
                        "feedback can only be given on your own conversations."
                    )
                if asked is None:
                    prior = list(
                        db.query(
                            "SELECT content FROM messages WHERE conversation_id = ? AND id < ? AND role = 'user' "
                            "ORDER BY id DESC LIMIT 1",
                            [message["conversation_id"], message_id],
                        )
                    )
                    asked = prior[0]["content"] if prior else None
            row = {
                "user": _owner(user)[0],
                "rating": rating,
                "message_id": message_id,
                "story_id": story_id,
                "comment": comment,
                "query": asked,
                "created_at": self._now(),
            }
            row["id"] = db.table("feedback").insert(row).last_pk
            return row

        return self._write(write)

    # -- query log and analytics ----------------------------------------------------------

    def log_query(
        self,
        user: str,
        query: str,
        *,
        kind: str,
        mode: str,
        audience: str,
        channel: str,
        filters: dict | None,
        hit_ids: list[str],
        no_answer: bool,
        latency_ms: float,
        cited: list[str] | None = None,
        now: datetime | None = None,
    ) -> int:
        """Record one search or ask; returns the row id."""
        row = {
            "user": user,
            "query": query,
            "kind": kind,
            "mode": mode,
            "audience": audience,
            "channel": channel,
            "filters": _dumps(filters or {}),
            "hit_ids": _dumps(list(hit_ids)),
            "cited": _dumps(list(cited or [])),
            "no_answer": int(no_answer),
            "latency_ms": float(latency_ms),
            "created_at": self._now(now),
        }
        return self._insert("query_log", row)

    def _window(self, days: int, now: datetime | None) -> tuple[str, str]:
        end = now or self._clock()
        return _iso(end - timedelta(days=days)), _iso(end)

    def usage_counts(self, days: int, *, top: int = 5, now: datetime | None = None) -> dict[str, int]:
        """How often each story was recommended in the last ``days`` (up to ``now``): in the
        first ``top`` hits of a logged query or cited by an answer, once per query."""
        since, until = self._window(days, now)
        rows = self._rows(
            "SELECT story_id, COUNT(*) AS n FROM ("
            " SELECT q.id, h.value AS story_id FROM query_log q, json_each(q.hit_ids) h"
            "  WHERE q.created_at >= :since AND q.created_at <= :until AND h.key < :top"
            " UNION"
            " SELECT q.id, c.value FROM query_log q, json_each(q.cited) c"
            "  WHERE q.created_at >= :since AND q.created_at <= :until"
            ") GROUP BY story_id ORDER BY n DESC, story_id",
            {"since": since, "until": until, "top": top},
        )
        return {r["story_id"]: r["n"] for r in rows}

    def usage_stats(self, days: int = 30, *, now: datetime | None = None) -> dict:
        """Analytics over the last ``days``: activity, latency, splits, gaps and feedback."""
        since, until = self._window(days, now)
        window = {"since": since, "until": until}
        in_window = "created_at >= :since AND created_at <= :until"
        log = self._rows(f"SELECT * FROM query_log WHERE {in_window} ORDER BY id", window)
        for row in log:
            _decode(row)

        latency: dict[str, dict[str, float]] = {}
        for kind in sorted({"search", "ask"} | {r["kind"] for r in log}):
            values = [r["latency_ms"] for r in log if r["kind"] == kind and r["latency_ms"] is not None]
            p50, p95 = np.percentile(values, [50, 95]).tolist() if values else (0.0, 0.0)
            latency[kind] = {"p50": float(p50), "p95": float(p95), "n": len(values)}

        facets: Counter[tuple[str, str]] = Counter()
        for row in log:
            for facet in FACETS:
                values = row["filters"].get(facet) or []
                for value in [values] if isinstance(values, str) else values:
                    if str(value).strip():
                        facets[(facet, str(value).strip())] += 1

        def ranked(counts: Counter, names: tuple[str, ...], limit: int | None = None) -> list[dict]:
            """Counter items as dicts, most frequent first, ties by key."""
            items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
            return [dict(zip(names, (*(key if isinstance(key, tuple) else (key,)), n))) for key, n in items]

        per_day = Counter(r["created_at"][:10] for r in log)
        day_users: dict[str, set[str]] = {}
        for row in log:
            day_users.setdefault(row["created_at"][:10], set()).add(row["user"])
        zero = Counter(" ".join(r["query"].split()) for r in log if r["no_answer"] or not r["hit_ids"])
        feedback = self._rows(f"SELECT * FROM feedback WHERE {in_window} ORDER BY created_at DESC, id DESC", window)
        down_keys = ("query", "comment", "story_id", "message_id", "created_at")
        return {
            "daily_active_users": [{"day": day, "users": len(users)} for day, users in sorted(day_users.items())],
            "queries_per_day": [{"day": day, "queries": n} for day, n in sorted(per_day.items())],
            "latency": latency,
            "mode_split": ranked(Counter((r["kind"], r["mode"] or "") for r in log), ("kind", "mode", "n")),
            "channel_split": ranked(Counter(r["channel"] or "" for r in log), ("channel", "n")),
            "most_cited": ranked(Counter(self.usage_counts(days, now=now)), ("story_id", "n"), 20),
            "zero_result": ranked(zero, ("query", "n"), 50),
            "thumbs_down": [{k: f[k] for k in down_keys} for f in feedback if f["rating"] < 0][:100],
            "requested_facets": ranked(facets, ("facet", "value", "n")),
            "totals": {
                "queries": len(log),
                "users": len({r["user"] for r in log}),
                "asks": sum(r["kind"] == "ask" for r in log),
                "searches": sum(r["kind"] == "search" for r in log),
                "feedback_up": sum(f["rating"] > 0 for f in feedback),
                "feedback_down": sum(f["rating"] < 0 for f in feedback),
            },
        }

    # -- API tokens ---------------------------------------------------------------------

    _TOKEN_COLUMNS = "id, user, role, label, created_at, last_used, revoked_at, revoked_at IS NOT NULL AS revoked"

    def add_token(self, user: str, role: str, label: str = "") -> tuple[str, dict]:
        """A new API token: (plaintext, shown once; its row without the hash)."""
        token = new_token()
        row = {"user": user, "role": role, "label": label, "token_hash": hash_token(token), "created_at": self._now()}
        token_id = self._write(lambda db: int(db.table("api_tokens").insert(row).last_pk or 0))
        return token, self._token_row(token_id)

    def _token_row(self, token_id: int) -> dict:
        row = self._rows(f"SELECT {self._TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", [token_id])[0]
        return row | {"revoked": bool(row["revoked"])}

    def token_user(self, token: str) -> tuple[str, str] | None:
        """(user, role) for an active token, stamping ``last_used``; None otherwise."""

        def write(db: sqlite_utils.Database) -> tuple[str, str] | None:
            rows = list(
                db.query(
                    "SELECT id, user, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                    [hash_token(token)],
                )
            )
            if not rows:
                return None
            db.table("api_tokens").update(rows[0]["id"], {"last_used": self._now()})
            return rows[0]["user"], rows[0]["role"]

        return self._write(write)

    def list_tokens(self) -> list[dict]:
        rows = self._rows(f"SELECT {self._TOKEN_COLUMNS} FROM api_tokens ORDER BY id")
        return [r | {"revoked": bool(r["revoked"])} for r in rows]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke an active token; False if there is no such active token."""

        def write(db: sqlite_utils.Database) -> bool:
            cursor = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [self._now(), token_id]
            )
            return cursor.rowcount == 1

        return self._write(write)
