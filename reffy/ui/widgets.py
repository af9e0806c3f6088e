"""Streamlit pieces more than one page draws: story cards, the feedback form, the filter
sidebar and links to the story page. They render what the service returns and call it
back for feedback; wording comes from :mod:`reffy.ui.present`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from reffy import status_words
from reffy.auth import User
from reffy.domain.story import StoryCard
from reffy.errors import NotFound
from reffy.service import ReffyService
from reffy.ui import present
from reffy.ui.session import shown_errors
from reffy.wording import plural

STORY_PAGE = "reffy/ui/pages/story.py"


def story_link(story_id: str, label: str, *, icon: str | None = ":material/article:") -> None:
    """A link to the story page that stays in this session (so a login is kept)."""
    st.page_link(STORY_PAGE, label=label, icon=icon, query_params={"id": story_id})


def story_details(svc: ReffyService, story_id: str, user: User, audience: str) -> StoryCard | None:
    """The story's current card, which adds outcomes, quotes and products to a hit, or None when
    the story is gone or hidden from this audience. Decided per request against the current index
    (no cache that could outlive a revocation); it is a dictionary lookup."""
    try:
        return svc.card(story_id, user=user, audience=audience)
    except NotFound:
        return None


def story_card(svc: ReffyService, user: User, card: present.Card, *, key: str, rank: int | None = None) -> None:
    """One result: who, what, how good, the figure, the quote, where it came from, a snippet to paste."""
    with st.container(border=True, key=f"card_{key}"):
        head, badges = st.columns([5, 2], vertical_alignment="top")
        with head:
            prefix = f"{rank}. " if rank is not None else ""
            st.markdown(
                f"**{prefix}{present.md(card.customer or 'Unknown customer')}**"
                + (f" · {present.md(present.facts_line(card))}" if present.facts_line(card) else "")
            )
            st.markdown(f"##### {present.md(card.title)}")
        with badges:
            share, share_colour = present.share_label(card.shareability)
            st.markdown(
                f":{present.score_colour(card.quality)}-badge[{present.score_badge(card.quality)}] "
                f":{share_colour}-badge[{share}]"
            )
        if card.outcome:
            st.markdown(f":material/trending_up: **{present.md(present.short(card.outcome, 180))}**")
        quote = present.quote_line(card.quote)
        if quote:
            st.markdown(f"> {present.md(quote)}")
        if card.why:
            st.caption(f"Why: {card.why}")
        links = st.columns([1, 1, 3], vertical_alignment="center")
        with links[0]:
            story_link(card.story_id, "Open story")
        if card.source_link:
            links[1].markdown(f"[:material/open_in_new: Source]({card.source_link})")
        with st.expander("Copy as reference", icon=":material/content_copy:"):
            st.code(present.reference_snippet(card), language=None, wrap_lines=True)
        feedback_form(svc, user, key=f"story_{key}", story_id=card.story_id, label="Useful story?")


def feedback_form(
    svc: ReffyService,
    user: User,
    *,
    key: str,
    message_id: int | None = None,
    story_id: str | None = None,
    label: str = "Was this helpful?",
) -> None:
    """Thumbs up/down plus an optional comment, sent together as one feedback record."""
    sent_key = f"feedback_sent_{key}"
    if sent_key in st.session_state:
        st.caption(":material/check: Thanks, your feedback was recorded.")
        return
    with st.form(f"feedback_{key}", border=False, enter_to_submit=False):
        cols = st.columns([1, 3, 1], vertical_alignment="center")
        with cols[0]:
            thumbs = st.feedback("thumbs", key=f"thumbs_{key}")
        comment = cols[1].text_input(
            label, key=f"comment_{key}", placeholder="Comment (optional)", label_visibility="collapsed"
        )
        submitted = cols[2].form_submit_button("Send feedback", key=f"send_{key}")
    if submitted:
        if thumbs is None:
            st.warning("Pick thumbs up or thumbs down first.")
            return
        with shown_errors():
            svc.feedback(
                user,
                rating=1 if thumbs == 1 else -1,
                message_id=message_id,
                story_id=story_id,
                comment=comment.strip() or None,
            )
        st.session_state[sent_key] = True
        st.rerun()


def filter_sidebar(svc: ReffyService, user: User, audience: str) -> dict[str, Any]:
    """Sidebar filters built from the values present in the library; returns the service's filter dict."""
    with shown_errors():
        facets = svc.facets(user=user, audience=audience)
        names = svc.facet_names(user=user, audience=audience)
    with st.sidebar.expander("Filters", icon=":material/filter_list:", expanded=True):
        chosen: dict[str, Any] = {}
        for name, label in (
            ("industry", "Industry"),
            ("country", "Country"),
            ("product", "Product"),
            ("competitor", "Competitor"),
        ):
            shown = names.get(name) or {}
            options = sorted((str(v) for v in facets.get(name) or []), key=lambda v: (shown.get(v) or v).lower())
            key = f"filter_{name}"
            if any(v not in options for v in st.session_state.get(key) or []):
                st.session_state[key] = [v for v in st.session_state[key] if v in options]  # audience changed
            chosen[name] = st.multiselect(
                label,
                options,
                key=key,
                placeholder="Any",
                persist_state="session",
                format_func=_namer(shown),
            )  # the value stays the id
        years = sorted(int(y) for y in facets.get("year") or [] if y is not None)
        bounds = (years[0], years[-1]) if years else None
        span = None
        if bounds and bounds[0] < bounds[1]:
            span = st.slider("Year", bounds[0], bounds[1], bounds, key="filter_years", persist_state="session")
        min_score = st.slider(
            "Minimum score (of 31)", 0, present.MAX_SCORE, 0, key="filter_min_score", persist_state="session"
        )
    return present.search_filters(**chosen, years=span, year_bounds=bounds, min_score=min_score)


JOB_LOOK = {
    "running": ("running", "blue", ":material/sync:"),
    "completed": ("completed", "green", ":material/check_circle:"),
    "partial": ("finished with problems", "orange", ":material/warning:"),
    "failed": ("stopped", "red", ":material/error:"),
    "interrupted": ("interrupted", "red", ":material/error:"),
}


_RUN_NAMES = {"pipeline": "Pipeline", "sync": "Sync", "remove source": "Source removal"}


def job_panel(svc: ReffyService, user: User, *, key: str) -> None:
    """The running or last pipeline run: progress while it runs (this part of the page redraws
    every second, whatever page started the run), then what each step did and every problem,
    item by item; admins can resume a stopped run."""
    with shown_errors():
        jobs = svc.jobs(user, limit=1)
    if not jobs:
        st.caption("No pipeline run yet: start one on the Ingest page.")
        return
    first = jobs[0]

    @st.fragment(run_every=1.0 if first.running else None)
    def panel() -> None:
        with shown_errors():
            job = next(iter(svc.jobs(user, limit=1)), first)
        if first.running and not job.running:
            # The run just ended: redraw the whole page (the counts it changed, and this panel once,
            # finished) rather than drawing the finished panel here first and again in that rerun.
            st.rerun()
        label, colour, icon = JOB_LOOK.get(job.status, (job.status, "gray", ":material/info:"))
        tz = st.context.timezone if isinstance(st.context.timezone, str) else None
        with st.container(border=True, key=f"job_{key}"):
            st.markdown(
                f":{colour}-badge[{icon} {label}] **{_RUN_NAMES.get(job.kind, 'Pipeline')} run {job.id}** · started by "
                f"{present.md(job.user)} {present.when(job.started_at, tz=tz)}"
            )
            if job.running:
                st.progress(job.fraction, text=job.message)
                st.caption("This run belongs to the server: leave this page or close the browser, it keeps going.")
            for line in job.report():
                st.markdown(f"- {present.md(line)}")
            if job.error:
                st.error(job.error, icon=":material/error:")
                if (
                    user.can("ingest")
                    and job.kind == "pipeline"
                    and st.button("Resume this run", key=f"job_resume_{key}", icon=":material/replay:")
                ):
                    with shown_errors():
                        svc.resume_job(user, job.id)
                    st.rerun()
            problems = svc.job_problems(user, job) if not job.running or job.run_id else []
            if problems:
                st.markdown(f"**{plural(len(problems), 'problem')}**")
                st.dataframe(
                    [status_words.problem_row(p) for p in problems],
                    hide_index=True,
                    key=f"job_problems_{key}_{job.id}",
                    column_config={"details": st.column_config.TextColumn("details", width="large")},
                )
            elif not job.running:
                st.caption("No problems: every item was read.")

    panel()


def _namer(names: dict[str, str]) -> Callable[[str], str]:
    """A widget's ``format_func``: people's name for an id, the id itself when it has none."""
    return lambda value: names.get(value) or value
