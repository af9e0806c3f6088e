"""Story explorer: every gold story this user may see, searchable and filterable, one click
from its story page. Rows come from ``svc.stories`` (filters and text matching happen there)."""

from __future__ import annotations

import streamlit as st

from reffy.ui import present
from reffy.ui.session import page_context, shown_errors
from reffy.ui.widgets import STORY_PAGE, filter_sidebar
from reffy.wording import plural

COLUMNS = [
    "customer",
    "title",
    "score",
    "industry",
    "country",
    "year",
    "shareability",
    "source_type",
    "products",
    "competitors",
]
NAMED = ("industry", "country")  # shown by name (Banking & financial services, Denmark), filtered by id

LINKED = ("industry", "country", "product", "competitor")  # filters a link may carry: /explorer?industry=finance

svc, user, audience = page_context()
st.title("Story explorer")
linked = {k: st.query_params.get_all(k) for k in LINKED if st.query_params.get_all(k)}
if linked and st.session_state.get("explorer_linked") != linked:
    # A link's filters, checked by the service (names or ids, any case): they become the sidebar's
    # choice once; a value that names nothing is an error listing the valid ones, over all stories.
    with shown_errors(stop=False):
        for key, values in svc.resolve_filters(linked, user=user, audience=audience).items():
            st.session_state[f"filter_{key}"] = values
        st.session_state["explorer_linked"] = linked
    if st.session_state.get("explorer_linked") != linked:
        st.caption("The link's filters were not applied: every story is listed. Pick filters in the sidebar.")
filters = filter_sidebar(svc, user, audience)
text = st.text_input(
    "Search", key="explorer_text", placeholder="Customer, title or any word in the story", icon=":material/search:"
)
with shown_errors():
    rows = svc.stories(user=user, audience=audience, filters=filters or None, text=text.strip() or None)
st.caption(plural(len(rows), "story") + (" (external audience: public stories only)" if audience == "external" else ""))
if not rows:
    st.info("No story matches. Clear the search or loosen the filters.", icon=":material/search_off:")
    st.stop()

table = [
    {c: (data.get(f"{c}_name") or data.get(c)) if c in NAMED else data.get(c) for c in COLUMNS}
    for data in (row.to_dict() for row in rows)
]
event = st.dataframe(
    table,
    key="explorer_table",
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0, max_value=present.MAX_SCORE, format="%d"),
        "year": st.column_config.NumberColumn("year", format="%d"),
        "products": st.column_config.ListColumn("products"),
        "competitors": st.column_config.ListColumn("competitors"),
    },
)
if event.selection.rows:
    st.switch_page(STORY_PAGE, query_params={"id": rows[event.selection.rows[0]].story_id})

ids = [row.story_id for row in rows]
titles = {row.story_id: f"{row.customer or '?'}: {row.title}" for row in rows}
pick, go = st.columns([4, 1], vertical_alignment="bottom")
chosen = pick.selectbox(
    "Open a story",
    ids,
    format_func=titles.__getitem__,
    key="explorer_pick",
    index=None,
    placeholder="Pick a story (or click a row)",
)
if go.button("Open", key="explorer_open", disabled=chosen is None) and chosen:
    st.switch_page(STORY_PAGE, query_params={"id": chosen})
