"""Answers and conversations: a question understood, searched, answered (streamed, cited and
verified), stored with its conversation; feedback on answers and cards."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from reffy.auth import LOCAL_USER, Role, User
from reffy.errors import ConfigError, NotFound
from reffy.service.base import _filter_dict
from reffy.service.search import SearchOps
from reffy.service.stories import StoryOps

if TYPE_CHECKING:
    from reffy.answer.pipeline import Answer, AnswerStream
    from reffy.retrieval.engine import SearchResult


class AnswerOps(SearchOps, StoryOps):
    def chat_model(self) -> Any:
        """The configured chat model, or None (offline answers)."""
        if not self.settings.llm_model:
            return None
        if self._chat_model is None:
            from reffy.llm import LiteLLMChatModel

            self._chat_model = LiteLLMChatModel(self.settings)
        return self._chat_model

    def ask(
        self,
        question: str,
        *,
        user: User = LOCAL_USER,
        conversation_id: str | None = None,
        audience: str | None = None,
        filters: dict[str, Any] | None = None,
        k: int | None = None,
        channel: str = "cli",
    ) -> AnswerStream:
        """Answer a question from the library, streamed. The user's message is stored before
        anything can fail; the answer (or the error) after."""
        from reffy.answer import pipeline
        from reffy.answer.understand import Request, understand

        user.require("ask")
        if not question.strip():
            raise ConfigError("The question is empty.")
        history = self.history
        history.ensure_user(user.name, user.role.value)
        requested = audience
        audience = self.audience_for(user, audience)
        if conversation_id is None:
            conversation = history.create_conversation(user, audience=audience)
        else:
            found = history.get_conversation(user, conversation_id)
            if found is None:
                raise NotFound(f"No conversation {conversation_id!r} for {user.name}: start a new one.")
            conversation = found
            if requested is None and user.role is not Role.viewer:
                audience = conversation.get("audience") or audience
        conversation_id = conversation["id"]
        if conversation.get("audience") != audience:
            history.set_conversation_audience(user, conversation_id, audience)
        earlier = history.recent_messages(user, conversation_id, max(self.settings.history_turns, 2) * 2)
        previous = next(
            (
                Request(**m["meta"]["request"])
                for m in reversed(earlier)
                if m["role"] == "assistant" and (m.get("meta") or {}).get("request")
            ),
            None,
        )
        _, (vendor, taxonomy) = self._scoring_setup()
        if filters is not None and not isinstance(filters, dict):
            filters = _filter_dict(filters)  # a SearchFilters
        explicit = {k: v for k, v in (filters or {}).items() if k != "shareability"}
        request = understand(question, vendor, taxonomy, previous=previous, explicit=explicit)
        # Earlier turns go to the model only when written for this audience: after a switch to
        # external, internal answers (which may quote internal stories) stay out of the context.
        turns = [
            {"role": m["role"], "content": m["content"]}
            for m in earlier
            if m["content"] and not m.get("error") and (audience == "internal" or m.get("audience") == "external")
        ]
        turns = turns[-self.settings.history_turns :] if self.settings.history_turns else []
        history.add_message(user, conversation_id, "user", question, audience=audience, filters=request.filters or None)
        engine = self.engine
        k = k or self.settings.answer_k

        def search(query: str, f: dict[str, Any], n: int) -> SearchResult:
            return self.search(query, filters=f, k=n, user=user, audience=audience, channel=channel, log=False)

        model = self.chat_model()
        gen = pipeline.run(
            question,
            request,
            search=search,
            by_id=engine.by_id,
            docstore=engine.docstore,
            model=model,
            history=turns,
            audience=audience,
            vendor=vendor.name,
            k=k,
            max_tokens=self.settings.answer_max_tokens,
            names=self._story_names(engine) if model is not None else None,
        )
        return pipeline.AnswerStream(
            self._recorded(gen, user, conversation_id, question, request, audience, channel), conversation_id
        )

    def _story_names(self, engine: Any) -> Any:
        """The verifier's index of story names, built once per loaded index (a new index
        generation brings a new engine, and so new names)."""
        cached = self._names
        if cached is None or cached[0] is not engine:
            from reffy.answer.verify import StoryNames

            cached = self._names = (engine, StoryNames(engine.docs))
        return cached[1]

    def _recorded(
        self, gen: Any, user: User, conversation_id: str, question: str, request: Any, audience: str, channel: str
    ) -> Any:
        from dataclasses import asdict

        started = time.perf_counter()
        try:
            answer = yield from gen
        except Exception as exc:
            from reffy.errors import ReffyError

            message = str(exc) if isinstance(exc, ReffyError) else f"{type(exc).__name__}: {exc}"
            self.history.add_message(
                user,
                conversation_id,
                "assistant",
                "",
                audience=audience,
                mode="answer",
                error=message,
                meta={"request": asdict(request)},
            )
            raise
        answer.conversation_id = conversation_id
        latency = (time.perf_counter() - started) * 1000
        answer.latency_ms = max(answer.latency_ms, latency)
        row = self.history.add_message(
            user,
            conversation_id,
            "assistant",
            answer.text,
            mode="offline" if answer.offline else "answer",
            latency_ms=answer.latency_ms,
            cited=answer.cited_ids,
            model=answer.model,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            cost_usd=answer.cost_usd,
            audience=audience,
            filters=answer.filters or None,
            no_answer=answer.no_answer,
            meta={
                "request": asdict(request),
                "citations": answer.citations,
                "removed": answer.removed,
                "hit_ids": [h.story_id for h in answer.hits],
                "prompt_version": answer.prompt_version,
                **({"llm_error": answer.error} if answer.error else {}),
            },
        )
        answer.message_id = row["id"]
        self.history.log_query(
            user.name,
            question,
            kind="ask",
            mode="offline" if answer.offline else "answer",
            audience=audience,
            channel=channel,
            filters=answer.filters or None,
            hit_ids=[h.story_id for h in answer.hits],
            no_answer=answer.no_answer,
            latency_ms=answer.latency_ms,
            cited=answer.cited_ids,
        )
        return answer

    def answer(self, question: str, **kwargs: Any) -> Answer:
        """:meth:`ask`, collected: the finished answer."""
        return self.ask(question, **kwargs).collect()

    # -- conversations and feedback -----------------------------------------------------
    def conversations(self, user: User) -> list[dict[str, Any]]:
        return self.history.list_conversations(user)

    def new_conversation(self, user: User, title: str | None = None) -> dict[str, Any]:
        self.history.ensure_user(user.name, user.role.value)
        return self.history.create_conversation(user, title, audience=self.audience_for(user, None))

    def conversation(self, user: User, conversation_id: str) -> dict[str, Any]:
        found = self.history.get_conversation(user, conversation_id)
        if found is None:
            raise NotFound(f"No conversation {conversation_id!r} for {user.name}.")
        if user.role is Role.viewer:  # a viewer never sees what was written for an internal audience
            found["messages"] = [m for m in found["messages"] if m.get("audience") in (None, "external")]
        return found

    def rename_conversation(self, user: User, conversation_id: str, title: str) -> dict[str, Any]:
        if not title.strip():
            raise ConfigError("A conversation title cannot be empty.")
        found = self.history.rename_conversation(user, conversation_id, title.strip())
        if found is None:
            raise NotFound(f"No conversation {conversation_id!r} for {user.name}.")
        return found

    def delete_conversation(self, user: User, conversation_id: str) -> None:
        if not self.history.delete_conversation(user, conversation_id):
            raise NotFound(f"No conversation {conversation_id!r} for {user.name}.")

    def feedback(
        self,
        user: User,
        *,
        rating: int,
        message_id: int | None = None,
        story_id: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        user.require("feedback")
        if rating not in (1, -1):
            raise ConfigError("rating must be 1 (thumbs up) or -1 (thumbs down).")
        if message_id is None and story_id is None:
            raise ConfigError("Feedback needs a message_id (an answer) or a story_id (a story card).")
        if story_id is not None:  # NotFound for unknown or hidden stories; a prefix is stored as the whole id
            story_id = self.resolve_story_id(story_id, user=user)
        query = None
        if message_id is not None:
            message = self.history.get_message(user, message_id) if 0 < message_id < 2**63 else None
            if message is None:
                raise NotFound(f"No message {message_id} for {user.name}.")
            conv = self.history.get_conversation(user, message["conversation_id"]) or {"messages": []}
            asked = [m for m in conv["messages"] if m["role"] == "user" and m["id"] < message_id]
            query = asked[-1]["content"] if asked else None
        self.history.ensure_user(user.name, user.role.value)
        return self.history.add_feedback(
            user, rating, message_id=message_id, story_id=story_id, comment=(comment or "").strip() or None, query=query
        )
