"""One story (``?id=STORY_ID``): why it scored what it scored (each rubric point with its
evidence), its facts, duplicate group, versions and source; analysts correct it here.

Overrides go through the service and take effect at the next gold build, which this page
runs right away (with an index sync) so the correction shows everywhere at once."""

from __future__ import annotations

from typing import Any

import streamlit as st

from reffy.auth import User
from reffy.errors import NotFound
from reffy.service import ReffyService
from reffy.ui import present
from reffy.ui.session import page_context, shown_errors

EXPLORER_PAGE = "reffy/ui/pages/explorer.py"


def _apply(svc: ReffyService, user: User) -> None:
    """Rebuild gold and sync the indexes so an override shows in search and here."""
    with st.spinner("Applying: rebuilding gold and indexes…"):
        svc.apply_overrides(user=user)


def override_editor(svc: ReffyService, user: User, story: dict[str, Any]) -> None:
    """Analysts' corrections: set a metadata field or a criterion's points, or remove one."""
    fields = [*present.OVERRIDE_FIELDS, *(f"points.{c['id']}" for c in story.get("criteria") or [])]
    names = {f"points.{c['id']}": f"Points: {c.get('name') or c['id']}" for c in story.get("criteria") or []}
    with st.form("override", border=True):
        st.markdown("**Correct this story**")
        field = st.selectbox("Field", fields, key="override_field", format_func=lambda f: names.get(f, f))
        value = st.text_input(
            "Value",
            key="override_value",
            help="Lists (products, competitors) are comma-separated; points are a whole number.",
        )
        reason = st.text_input("Reason", key="override_reason", placeholder="e.g. approved by the customer in May")
        submitted = st.form_submit_button("Save override", type="primary")
    if submitted:
        if not value.strip():
            st.warning("Enter a value.")
        else:
            with shown_errors():
                svc.set_override(story["story_id"], field, value.strip(), reason=reason.strip(), user=user)
                _apply(svc, user)
            st.toast(f"Override saved: {field} = {value.strip()}")
            st.rerun()
    for i, ov in enumerate(story.get("overrides") or []):
        cols = st.columns([5, 1], vertical_alignment="center")
        cols[0].markdown(
            f"`{ov['field']}` = **{present.md(ov['value'])}** · {present.md(ov.get('author') or '')}"
            + (f" · {present.md(ov['reason'])}" if ov.get("reason") else "")
        )
        if cols[1].button("Remove", key=f"override_remove_{i}", icon=":material/delete:"):
            with shown_errors():
                svc.remove_override(story["story_id"], ov["field"], user=user)
                _apply(svc, user)
            st.rerun()


svc, user, audience = page_context()
story_id = st.query_params.get("id")
if not story_id:
    st.info("Open a story from the explorer or from a search result.", icon=":material/article:")
    st.page_link(EXPLORER_PAGE, label="Story explorer", icon=":material/table_view:")
    st.stop()
with shown_errors():
    try:
        story = svc.story(story_id, user=user, audience=audience)
    except NotFound:
        st.warning(
            "This story is not in the library, or it is not shared with your audience. Search for it, or "
            "look for it in the story explorer.",
            icon=":material/search_off:",
        )
        st.page_link(EXPLORER_PAGE, label="Story explorer", icon=":material/table_view:")
        st.stop()

share, share_colour = present.share_label(story.get("shareability"))
st.markdown(
    f":{present.score_colour(story.get('score'))}-badge[{present.score_badge(story.get('score'))}] "
    f":{share_colour}-badge[{share}] :gray-badge[{present.md(story.get('source_type') or 'source')}]"
)
st.title(story["title"], anchor=False)
facts = {
    "Customer": story.get("customer"),
    "Industry": story.get("industry_name") or story.get("industry"),
    "Country": story.get("country_name") or story.get("country"),
    "Year": story.get("year"),
    "Products": ", ".join(story.get("products") or []) or None,
    "Competitors": ", ".join(story.get("competitors") or []) or None,
    "Tags": ", ".join(story.get("tags") or []) or None,
    "Scored by": story.get("scorer"),
}
st.markdown("  \n".join(f"**{k}:** {present.md(v)}" for k, v in facts.items() if v not in (None, "")))
links = present.explorer_links(story)
if links:
    for col, (label, query) in zip(st.columns(2), links, strict=False):
        with col:
            st.page_link(EXPLORER_PAGE, label=label, icon=":material/filter_list:", query_params=query)
source = present.web_link(story.get("source_link")) or present.web_link(story.get("source_uri"))
if source:
    st.markdown(f"[:material/open_in_new: Source]({source})")
elif story.get("source_uri"):
    st.caption(
        f"From an internal document ({present.md(present.file_name(story['source_uri']))}): ask marketing for "
        "a version to share."
    )

card = present.Card(
    story_id=story["story_id"],
    title=story["title"],
    customer=story.get("customer"),
    industry=story.get("industry_name") or story.get("industry"),
    country=story.get("country_name") or story.get("country"),
    year=story.get("year"),
    quality=story.get("score"),
    shareability=story.get("shareability"),
    source_link=source,
    outcome=present.top_outcome(story.get("outcomes") or []),
    quote=present.best_quote(story.get("quotes") or []),
)
with st.expander("Copy as reference", icon=":material/content_copy:"):
    st.code(present.reference_snippet(card), language=None, wrap_lines=True)

rubric, evidence, related, corrections = st.tabs(
    ["Rubric", "Outcomes and quotes", "Duplicates and versions", "Overrides"]
)
with rubric:
    criteria = story.get("criteria") or []
    st.caption(f"{story.get('score')} of {story.get('max_score', present.MAX_SCORE)} points")
    st.dataframe(
        [
            {
                "dimension": c.get("dimension_name") or c.get("dimension"),
                "criterion": c.get("name") or c.get("id"),
                "points": c.get("points"),
                "of": c.get("max_points"),
                "evidence": c.get("evidence"),
                "withdrawn": bool(c.get("withdrawn")),
            }
            for c in criteria
        ],
        hide_index=True,
        key="rubric_table",
        column_config={"evidence": st.column_config.TextColumn("evidence", width="large")},
    )
    st.markdown("**The evidence, whole**")
    for section in present.rubric_sections(criteria):
        with st.expander(section.label):
            for c in section.criteria:
                st.markdown(present.criterion_line(c))
                if c.get("evidence"):
                    st.markdown(f"> {present.md(c['evidence'])}")
                else:
                    st.caption("No evidence for this point in the story.")
with evidence:
    for outcome in story.get("outcomes") or []:
        st.markdown(f"- :material/trending_up: {present.md(outcome)}")
    for quote in story.get("quotes") or []:
        st.markdown(f"> {present.md(present.quote_line(quote))}")
    if not story.get("outcomes") and not story.get("quotes"):
        st.caption("No outcome figures or quotes were extracted.")
    if story.get("summary"):
        with st.expander("Retrieval summary (what search matches against)"):
            st.text(story["summary"])
    with st.expander("Full text"):
        st.text(story.get("text") or "")
with related:
    duplicates = story.get("duplicates") or []
    st.markdown("**Duplicate group**")
    if duplicates:
        st.caption("Other copies of this story, grouped under it (they are not searched separately).")
        st.dataframe(
            [d if isinstance(d, dict) else {"story": d} for d in duplicates], hide_index=True, key="duplicates_table"
        )
    else:
        st.caption("No other copy of this story was found.")
    st.markdown("**Versions**")
    st.dataframe(story.get("versions") or [], hide_index=True, key="versions_table")
with corrections:
    if user.can("override"):
        override_editor(svc, user, story)
    else:
        for ov in story.get("overrides") or []:
            st.markdown(f"`{ov['field']}` = **{present.md(ov['value'])}**")
        st.caption("Analysts can correct this story's facts and points.")
