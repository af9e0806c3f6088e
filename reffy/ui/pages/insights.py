"""Insights for analysts: the review queue (what people asked and got, page by page, marked and
noted; each story a link to its page, where analysts correct it) and the themes of what people ask
(sizes and trends, demand against coverage, gaps), with CSV and Markdown downloads.

Everything comes from the service, which refuses non-analysts and decides which story titles the
chosen audience may see. The queue is read one page at a time: 10,000 messages never load at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from reffy.errors import ReffyError
from reffy.ui import insight_charts
from reffy.ui.session import page_context, shown_errors
from reffy.ui.widgets import story_link
from reffy.wording import plural

if TYPE_CHECKING:
    from reffy.service import ReffyService

PAGE_SIZE = 20
OFFSET_KEY = "review_offset"
SIGNATURE_KEY = "review_filters"
ONLY = {"everything": None, "thumbs-down": "thumbs-down", "no answer": "no-answer", "removals": "removals"}
ONLY["not reviewed yet"] = "unreviewed"
KINDS = {"searches and answers": None, "searches": "search", "answers": "answer"}


def _move(step: int) -> None:
    st.session_state[OFFSET_KEY] = max(0, st.session_state.get(OFFSET_KEY, 0) + step)


def _mark(svc: ReffyService, user: Any, item: str, reviewed: bool | None, note_key: str | None = None) -> None:
    note = st.session_state.get(note_key) if note_key else None
    try:
        svc.review_mark(user, item, reviewed=reviewed, note=note)
    except ReffyError as exc:  # shown on the next run; the service's message says why
        st.session_state["review_error"] = str(exc)


def review_item(svc: ReffyService, user: Any, item: dict[str, Any]) -> None:
    key = item["item"].replace(":", "_")
    with st.container(border=True, key=f"item_{key}"):
        flags = []
        if item["no_answer"]:
            flags.append(":orange-badge[no strong match]")
        if item["removed"]:
            flags.append(f":red-badge[{plural(len(item['removed']), 'removal')}]")
        if item["thumbs_down"]:
            flags.append(f":red-badge[{item['thumbs_down']} 👎]")
        if item["thumbs_up"]:
            flags.append(f":green-badge[{item['thumbs_up']} 👍]")
        if item["reviewed"]:
            flags.append(f":blue-badge[reviewed by {item['reviewed_by']}]")
        st.markdown(f"**{item['question'] or '(no text)'}** {' '.join(flags)}")
        who = item["user"] + (f" ({item['role']})" if item.get("role") else "")
        latency = f"{item['latency_ms']:.0f} ms" if item.get("latency_ms") is not None else ""
        filters = ", ".join(f"{k}={v}" for k, v in (item.get("filters") or {}).items())
        st.caption(
            " · ".join(
                x
                for x in (
                    item["created_at"][:16].replace("T", " "),
                    who,
                    item["kind"],
                    item.get("mode") or "",
                    latency,
                    f"filters {filters}" if filters else "",
                    item["item"],
                )
                if x
            )
        )
        if item["kind"] == "answer":
            text = item.get("answer")
            if text:
                st.markdown(text if len(text) <= 1200 else text[:1200] + "…")
            elif item.get("answer_withheld"):
                st.caption(f"Answer {item['answer_withheld']}.")
            if item["removed"]:
                st.caption("Removed by verification: " + "; ".join(map(str, item["removed"])))
        stories = item["citations"] if item["kind"] == "answer" else item["hits"][:5]
        for story in stories:
            story_link(story["story_id"], f"{story['title']} ({story.get('score')}/31)")
        hidden = item.get("hits_not_shown", 0) + item.get("citations_not_shown", 0)
        if hidden:
            st.caption(f"{plural(hidden, 'internal-only story', 'internal-only stories')} not named for this audience.")
        for f in item["feedback"]:
            st.caption(f"{'👍' if f['rating'] > 0 else '👎'} {f['user']}: {f.get('comment') or ''}")
        left, right = st.columns([1, 3])
        if item["reviewed"]:
            left.button("Undo review", key=f"undo_{key}", on_click=_mark, args=(svc, user, item["item"], False))
        else:
            left.button("Mark reviewed", key=f"rev_{key}", on_click=_mark, args=(svc, user, item["item"], True))
        note_key = f"note_{key}"
        right.text_input(
            "Note",
            value=item.get("note") or "",
            key=note_key,
            label_visibility="collapsed",
            placeholder="A note for the team (Enter saves it)",
            on_change=_mark,
            args=(svc, user, item["item"], None, note_key),
        )


def review_tab(svc: ReffyService, user: Any, audience: str) -> None:
    cols = st.columns(4)
    days = cols[0].selectbox(
        "Since", [1, 7, 30, 90, 365], index=1, key="review_days", format_func=lambda d: f"{d} days"
    )
    only = cols[1].selectbox("Show", list(ONLY), key="review_only")
    kind = cols[2].selectbox("Kind", list(KINDS), key="review_kind")
    by_user = cols[3].text_input("Person", key="review_user", placeholder="anyone")
    signature = (days, only, kind, by_user)
    if st.session_state.get(SIGNATURE_KEY) != signature:  # new filters start at the first page
        st.session_state[SIGNATURE_KEY] = signature
        st.session_state[OFFSET_KEY] = 0
    if error := st.session_state.pop("review_error", None):
        st.error(error, icon=":material/error:")
    offset = st.session_state.get(OFFSET_KEY, 0)
    with shown_errors():
        page = svc.review_queue(
            user,
            since=f"{days}d",
            only=ONLY[only],
            kind=KINDS[kind],
            by_user=by_user or None,
            limit=PAGE_SIZE,
            offset=offset,
            audience=audience,
        )
    total, shown = page["total"], len(page["items"])
    if not shown:
        st.info(
            "Nothing to review with these filters." if total == 0 else "No more items: go back a page.",
            icon=":material/inbox:",
        )
    else:
        st.caption(f"Items {offset + 1}-{offset + shown} of {total}, newest first.")
    for item in page["items"]:
        review_item(svc, user, item)
    prev, _, nxt = st.columns([1, 4, 1])
    prev.button("Previous", key="review_prev", disabled=offset == 0, on_click=_move, args=(-PAGE_SIZE,))
    nxt.button("Next", key="review_next", disabled=offset + shown >= total, on_click=_move, args=(PAGE_SIZE,))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def themes_tab(svc: ReffyService, user: Any, audience: str) -> None:
    days = st.segmented_control(
        "Period", [7, 30, 90], default=30, required=True, key="insights_days", format_func=lambda d: f"{d} days"
    )
    with st.spinner("Grouping the questions into themes…"), shown_errors():
        digest = svc.insights(user, days=int(days), audience=audience)
    if digest.get("empty"):
        st.info(digest["empty"], icon=":material/inbox:")
        return
    cols = st.columns(4)
    cols[0].metric("Questions", digest["questions"], help=f"{digest['previous_questions']} in the period before")
    cols[1].metric("People", digest["people"])
    cols[2].metric("Themes", len(digest["themes"]), help=f"{digest['other_questions']} questions fit no theme")
    cols[3].metric("Gaps", len(digest["gaps"]), help="Asked often, and no strong story matches")
    themes = digest["themes"]
    if themes:
        left, right = st.columns(2)
        with left:
            st.markdown("**Theme sizes: this period and the one before**")
            st.altair_chart(insight_charts.theme_sizes(themes), key="chart_theme_sizes")
        with right:
            st.markdown("**Demand against coverage**")
            st.altair_chart(insight_charts.demand_coverage(themes), key="chart_demand_coverage")
            st.caption(f"A strong story scores at least {digest['strong_score']} of 31. Red: a gap.")
    rows = svc.insights_rows(digest)
    st.dataframe(rows, hide_index=True, key="table_themes")
    down = st.columns(2)
    down[0].download_button(
        "Download CSV",
        svc.insights_render(digest, "csv"),
        file_name=f"reffy-themes-{days}d.csv",
        mime="text/csv",
        key="csv_themes",
        on_click="ignore",
        icon=":material/download:",
    )
    down[1].download_button(
        "Download Markdown",
        svc.insights_render(digest, "markdown"),
        file_name=f"reffy-insights-{days}d.md",
        mime="text/markdown",
        key="md_themes",
        on_click="ignore",
        icon=":material/description:",
    )
    for t in themes:
        title = f"{t['theme']}. {t['label']} · {plural(t['questions'], 'question')} · trend {t['trend']}"
        with st.expander(("🔴 gap · " if t["gap"] else "") + title):
            if t.get("summary"):
                st.markdown(f"_{t['summary']}_")
            st.caption(
                f"{plural(t['people'], 'person', 'people')} · answered {_pct(t['answer_rate'])} · "
                f"thumbs-down {_pct(t['thumbs_down_rate'])} · terms: {', '.join(t['terms'])}"
            )
            for example in t["examples"]:
                st.markdown(f"- {example}")
            if t["stories"]:
                st.markdown("Strong stories that match:")
                for story in t["stories"]:
                    story_link(story["story_id"], f"{story['title']} ({story.get('score')}/31)")
            else:
                st.caption("No strong story matches this theme.")
    if digest["named"]:
        st.markdown("**Products and competitors named in questions**")
        st.dataframe(digest["named"], hide_index=True, key="table_named")


svc, user, audience = page_context()
st.title("Insights")
if not user.can("analytics"):
    st.error(f"Not allowed: {user.refusal('analytics')}", icon=":material/lock:")
    st.stop()
view = st.segmented_control(
    "View", ["Review", "Themes"], default="Review", required=True, key="insights_view", label_visibility="collapsed"
)
if view == "Review":
    review_tab(svc, user, audience)
else:
    themes_tab(svc, user, audience)
