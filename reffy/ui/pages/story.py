"""One story (``?id=STORY_ID``): why it scored what it scored (each rubric point with its
evidence), its facts, duplicate group, versions and source; analysts correct it here.

Overrides go through the service and take effect at the next gold build, which this page
runs right away (with an index sync) so the correction shows everywhere at once."""

from __future__ import annotations

import streamlit as st

from reffy.auth import User
from reffy.domain.story import StoryDetail
from reffy.errors import NotFound
from reffy.service import ReffyService
from reffy.ui import present
from reffy.ui.session import page_context, shown_errors

EXPLORER_PAGE = "reffy/ui/pages/explorer.py"


def _apply(svc: ReffyService, user: User) -> None:
    """Rebuild gold and sync the indexes so an override shows in search and here."""
    with st.spinner("Applying: rebuilding gold and indexes…"):
        svc.apply_overrides(user=user)


def override_editor(svc: ReffyService, user: User, story: StoryDetail) -> None:
    """Analysts' corrections: set a metadata field or a criterion's points, or remove one."""
    fields = [*present.OVERRIDE_FIELDS, *(f"points.{c.id}" for c in story.criteria)]
    names = {f"points.{c.id}": f"Points: {c.name or c.id}" for c in story.criteria}
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
                svc.set_override(story.story_id, field, value.strip(), reason=reason.strip(), user=user)
                _apply(svc, user)
            st.toast(f"Override saved: {field} = {value.strip()}")
            st.rerun()
    for i, ov in enumerate(story.overrides):
        cols = st.columns([5, 1], vertical_alignment="center")
        cols[0].markdown(
            f"`{ov['field']}` = **{present.md(ov['value'])}** · {present.md(ov.get('author') or '')}"
            + (f" · {present.md(ov['reason'])}" if ov.get("reason") else "")
        )
        if cols[1].button("Remove", key=f"override_remove_{i}", icon=":material/delete:"):
            with shown_errors():
                svc.remove_override(story.story_id, ov["field"], user=user)
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

share, share_colour = present.share_label(story.shareability)
st.markdown(
    f":{present.score_colour(story.score)}-badge[{present.score_badge(story.score)}] "
    f":{share_colour}-badge[{share}] :gray-badge[{present.md(story.source_type or 'source')}]"
)
st.title(story.title, anchor=False)
facts = {
    "Customer": story.customer,
    "Industry": story.industry_name or story.industry,
    "Country": story.country_name or story.country,
    "Year": story.year,
    "Products": ", ".join(story.products) or None,
    "Competitors": ", ".join(story.competitors) or None,
    "Tags": ", ".join(story.tags) or None,
}
st.markdown("  \n".join(f"**{k}:** {present.md(v)}" for k, v in facts.items() if v not in (None, "")))
links = present.explorer_links(story)
if links:
    for col, (label, query) in zip(st.columns(2), links, strict=False):
        with col:
            st.page_link(EXPLORER_PAGE, label=label, icon=":material/filter_list:", query_params=query)
card = present.page_card(story)
if card.source_link:
    st.markdown(f"[:material/open_in_new: Source]({card.source_link})")
elif story.source_uri:
    st.caption(
        f"From an internal document ({present.md(present.file_name(story.source_uri))}): ask marketing for "
        "a version to share."
    )

with st.expander("Copy as reference", icon=":material/content_copy:"):
    st.code(present.reference_snippet(card), language=None, wrap_lines=True)

rubric, evidence, related, corrections = st.tabs(
    ["Rubric", "Outcomes and quotes", "Duplicates and versions", "Overrides"]
)
with rubric:
    criteria = story.criteria
    st.caption(f"{story.score} of {story.max_score or present.MAX_SCORE} points")
    st.dataframe(
        [
            {
                "dimension": c.dimension_name or c.dimension,
                "criterion": c.name or c.id,
                "points": c.points,
                "of": c.max_points,
                "evidence": c.evidence,
                "withdrawn": c.withdrawn,
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
                if c.evidence:
                    st.markdown(f"> {present.md(c.evidence)}")
                else:
                    st.caption("No evidence for this point in the story.")
with evidence:
    for outcome in story.outcomes:
        st.markdown(f"- :material/trending_up: {present.md(outcome)}")
    for quote in story.quotes:
        st.markdown(f"> {present.md(present.quote_line(quote))}")
    if not story.outcomes and not story.quotes:
        st.caption("No outcome figures or quotes were extracted.")
    if story.summary:
        with st.expander("Retrieval summary (what search matches against)"):
            st.text(story.summary)
    with st.expander("Full text"):
        st.text(story.text)
with related:
    duplicates = story.duplicates
    st.markdown("**Duplicate group**")
    if duplicates:
        st.caption("Other copies of this story, grouped under it (they are not searched separately).")
        st.dataframe(
            [d if isinstance(d, dict) else {"story": d} for d in duplicates], hide_index=True, key="duplicates_table"
        )
    else:
        st.caption("No other copy of this story was found.")
    st.markdown("**Versions**")
    st.dataframe(list(story.versions), hide_index=True, key="versions_table")
with corrections:
    if user.can("override"):
        override_editor(svc, user, story)
    else:
        for ov in story.overrides:
            st.markdown(f"`{ov['field']}` = **{present.md(ov['value'])}**")
        st.caption("Analysts can correct this story's facts and points.")
