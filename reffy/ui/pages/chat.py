"""Find stories: quick search (cards in well under a second) or an answer written from the best
stories, with citations, in a conversation the service keeps (so it survives restarts).

Everything comes from the service: search, ask (streamed), conversations, feedback. Session
state holds only what is on screen now (the current conversation id, the last result list).
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from reffy.auth import User
from reffy.errors import NotFound
from reffy.service import ReffyService
from reffy.ui import present
from reffy.ui.session import CHANNEL, page_context, shown_errors
from reffy.ui.widgets import (
    feedback_form,
    filter_sidebar,
    story_card,
    story_details,
    story_link,
)
from reffy.wording import plural

CONV_KEY = "conversation_id"
SEARCH_KEY = "last_search"
MODES = ("Quick search", "Answer")
RESULTS = 8


# -- conversations (sidebar) ------------------------------------------------------------------
def _open(conversation_id: str | None) -> None:
    st.session_state[CONV_KEY] = conversation_id
    st.session_state["mode"] = "Answer"


def _new(svc: ReffyService, user: User) -> None:
    with shown_errors():
        _open(str(svc.new_conversation(user)["id"]))


def _rename(svc: ReffyService, user: User, conversation_id: str) -> None:
    title = (st.session_state.get("conv_title") or "").strip()
    if title:
        with shown_errors():
            svc.rename_conversation(user, conversation_id, title)


def _delete(svc: ReffyService, user: User, conversation_id: str) -> None:
    with shown_errors():
        svc.delete_conversation(user, conversation_id)
    st.session_state[CONV_KEY] = None


def conversation_sidebar(svc: ReffyService, user: User) -> dict[str, Any] | None:
    """List, open, start, rename and delete the user's conversations; returns the open one."""
    with shown_errors():
        conversations = svc.conversations(user)
    current_id = st.session_state.get(CONV_KEY)
    current = next((c for c in conversations if str(c["id"]) == str(current_id)), None)
    if current is None:
        st.session_state[CONV_KEY] = None
    with st.sidebar:
        st.subheader("Conversations")
        st.button(
            "New conversation", key="conv_new", icon=":material/add:", on_click=_new, args=(svc, user), width="stretch"
        )
        shown = conversations[:40]
        tz = st.context.timezone if isinstance(st.context.timezone, str) else None
        for conv, label in zip(shown, present.conversation_labels(shown, tz=tz), strict=True):
            is_current = current is not None and conv["id"] == current["id"]
            st.button(
                label,
                key=f"conv_{conv['id']}",
                on_click=_open,
                args=(str(conv["id"]),),
                type="primary" if is_current else "tertiary",
                width="stretch",
            )
        if current is not None:
            with st.expander("Rename or delete", icon=":material/edit:"):
                st.text_input("Title", value=current.get("title") or "", key="conv_title")
                st.button("Rename", key="conv_rename", on_click=_rename, args=(svc, user, str(current["id"])))
                st.button(
                    "Delete conversation",
                    key="conv_delete",
                    on_click=_delete,
                    args=(svc, user, str(current["id"])),
                    type="secondary",
                    icon=":material/delete:",
                )
    return current


# -- answers ----------------------------------------------------------------------------------
def citations_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The citations stored with an answer message, as [{n, story_id, title, ...}]."""
    cited = (message.get("meta") or {}).get("citations") or message.get("citations") or message.get("cited") or []
    out = []
    for i, c in enumerate(cited, start=1):
        out.append(c if isinstance(c, dict) else {"n": i, "story_id": str(c), "title": str(c)})
    return out


def render_answer(svc: ReffyService, user: User, message: dict[str, Any]) -> None:
    """An assistant message: the verified text, its citations as links, and feedback."""
    if message.get("no_answer"):
        st.warning("No strong match in the library for this question.", icon=":material/search_off:")
    st.markdown(message.get("content") or "")
    citations = citations_of(message)
    if citations:
        st.caption("Sources")
        for c in citations:
            if c.get("story_id"):
                story_link(str(c["story_id"]), present.citation_label(c), icon=":material/format_quote:")
    meta = [
        m for m in (message.get("model"), f"{message['latency_ms']:.0f} ms" if message.get("latency_ms") else None) if m
    ]
    if meta:
        st.caption(" · ".join(meta))
    if message.get("id") is not None:
        feedback_form(svc, user, key=f"msg_{message['id']}", message_id=int(message["id"]))


def conversation_view(
    svc: ReffyService, user: User, conversation: dict[str, Any] | None, filters: dict[str, Any], audience: str
) -> None:
    if conversation is not None:
        with shown_errors():
            try:
                full = svc.conversation(user, str(conversation["id"]))
            except NotFound:
                st.session_state[CONV_KEY] = None
                st.rerun()
        st.subheader(full.get("title") or "Conversation")
        for message in full.get("messages") or []:
            with st.chat_message(message.get("role") or "assistant"):
                if message.get("role") == "user":
                    st.markdown(present.md(message.get("content") or ""))
                else:
                    render_answer(svc, user, message)
    else:
        st.caption("Ask a question: the answer is written from the strongest matching stories, with citations.")
    question = st.chat_input("Ask about your customer stories…", key="ask_input")
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(present.md(question))
    with st.chat_message("assistant"), shown_errors():
        stream = svc.ask(
            question,
            user=user,
            conversation_id=st.session_state.get(CONV_KEY),
            audience=audience,
            filters=filters or None,
            channel=CHANNEL,
        )
        st.session_state[CONV_KEY] = str(stream.conversation_id)
        st.write_stream(stream)
    st.rerun()  # show the stored, verified answer with its citations and feedback


# -- quick search -----------------------------------------------------------------------------
def search_view(svc: ReffyService, user: User, filters: dict[str, Any], audience: str) -> None:
    """Cards for the latest search. A fresh search is timed from the query to the last card;
    the caption that closes the list carries that time (the browser test waits for it)."""
    query = st.chat_input("Search customer stories…", key="search_input")
    started = time.perf_counter()
    if query:
        with shown_errors():
            result = svc.search(
                query, filters=filters, k=RESULTS, mode="hybrid", user=user, audience=audience, channel=CHANNEL
            )
        st.session_state[SEARCH_KEY] = {"result": result, "ms": None}
    last = st.session_state.get(SEARCH_KEY)
    if last is None:
        st.caption("Describe the customer you need: industry, country, problem, product, competitor…")
        return
    result = last["result"]
    st.subheader(f"Stories for “{present.md(result.query)}”")
    if not result.hits:
        st.warning("No stories match this search and these filters.", icon=":material/search_off:")
        return
    cards = [present.build_card(hit, story_details(svc, hit.story_id, user, audience)) for hit in result.hits]
    if result.no_answer:
        st.warning(
            "No strong match: none of these stories fits the search well. The closest ones are below.",
            icon=":material/search_off:",
        )
    for rank, card in enumerate(cards, start=1):
        story_card(svc, user, card, key=card.story_id, rank=rank)
    if query:
        last["ms"] = (time.perf_counter() - started) * 1000
    done = f"{plural(len(cards), 'story')} for “{present.md(result.query)}”" + (
        f" in {last['ms']:.0f} ms" if last["ms"] else ""
    )
    st.caption(" · ".join([*result.notes, done]))


svc, user, audience = page_context()
filters = filter_sidebar(svc, user, audience)
conversation = conversation_sidebar(svc, user)
st.title("Find customer stories")
st.session_state.setdefault("mode", MODES[0])  # opening a conversation switches it to Answer
mode = st.segmented_control(
    "Mode",
    MODES,
    required=True,
    key="mode",
    help="Quick search lists stories; Answer writes a short brief with citations.",
)
if mode == "Answer":
    conversation_view(svc, user, conversation, filters, audience)
else:
    search_view(svc, user, filters, audience)
