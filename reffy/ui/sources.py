"""The registered sources in the app: a table for Library status (analysts and admins) and, on the
Ingest page, the admin's controls to add, sync and remove one. Syncs and removals run as
background jobs of the server (:meth:`reffy.service.ReffyService.start_sync`), shown by the same
job panel as pipeline runs; every permission is the service's to decide."""

from __future__ import annotations

from typing import Any

import streamlit as st

from reffy.auth import User
from reffy.service import ReffyService
from reffy.ui import present
from reffy.ui.session import shown_errors

KINDS: dict[str, str] = {
    "auto": "Decide from the address",
    "page": "A page or feed",
    "sitemap": "A sitemap",
    "crawl": "Crawl from here",
}


def _rows(sources: list[dict[str, Any]], tz: str | None) -> list[dict[str, Any]]:
    return [
        {
            "name": s["name"],
            "kind": s["kind"],
            "source": s["spec"],
            "last sync": present.when(s["last_sync_at"], tz=tz) if s["last_sync_at"] else "never",
            "status": s["status"],
            "stories": s["records"],
            "new": s["counts"].get("new", 0),
            "updated": s["counts"].get("updated", 0),
            "removed": s["counts"].get("removed", 0),
            "problems": s["problems"],
            "every": s["every"],
            "next due": present.when(s["next_due_at"], tz=tz),
        }
        for s in sources
    ]


def sources_table(svc: ReffyService, user: User, *, key: str) -> list[dict[str, Any]]:
    """Every source with its last sync, next due time, counts and problems; the rows shown."""
    with shown_errors(stop=False):
        sources = svc.sources(user)
        tz = st.context.timezone if isinstance(st.context.timezone, str) else None
        if not sources:
            st.caption("No source registered: admins add them on the Ingest page or with `reffy sources add`.")
            return []
        st.dataframe(_rows(sources, tz), hide_index=True, key=f"sources_{key}")
        st.caption("Problems of a source's last sync are listed under Recent problems, by its ingest run.")
        return sources
    return []


def sources_admin(svc: ReffyService, user: User) -> None:
    """Add a source; sync all, or one; remove one (with or without its stories)."""
    sources = sources_table(svc, user, key="ingest")
    with st.form("source_add", border=True):
        st.markdown("**Add a source** (read by every sync)")
        spec = st.text_input("Folder on the server, web page, feed, sitemap or YouTube link", key="source_spec")
        cols = st.columns(3)
        name = cols[0].text_input("Name (optional)", key="source_name")
        kind = cols[1].selectbox("Kind", list(KINDS), format_func=lambda k: KINDS[k], key="source_kind") or "auto"
        every = cols[2].text_input("Every (e.g. 6h; empty: the default)", key="source_every")
        include = st.text_input("Only paths like (e.g. /customers/*; optional)", key="source_include")
        match = st.text_input("YouTube channels: only videos matching (e.g. customer|case study)", key="source_match")
        if st.form_submit_button("Add source", icon=":material/add:"):
            with shown_errors(stop=False):
                row = svc.add_source(
                    user,
                    spec,
                    name=name.strip() or None,
                    kind=kind,
                    include=[include.strip()] if include.strip() else [],
                    every=every.strip() or None,
                    match=match.strip() or None,
                )
                st.toast(f"Added {row['name']}: sync it to read it.", icon=":material/add:")
                st.rerun()
    if not sources:
        return
    names = [s["name"] for s in sources]
    actions = st.columns([2, 1, 1, 1])
    chosen = actions[0].selectbox("Source", names, key="source_chosen", label_visibility="collapsed")
    if actions[1].button("Sync all", icon=":material/sync:", key="source_sync_all"):
        with shown_errors(stop=False):
            job = svc.start_sync(user)
            st.toast(f"Sync started (run {job.id}); it goes on if you leave this page.", icon=":material/sync:")
    if actions[2].button("Sync this one", icon=":material/sync:", key="source_sync_one"):
        with shown_errors(stop=False):
            job = svc.start_sync(user, [str(chosen)])
            st.toast(f"Syncing {chosen} (run {job.id}).", icon=":material/sync:")
    keep = st.checkbox("Keep its stories when removing", key="source_keep")
    if actions[3].button("Remove", icon=":material/delete:", key="source_remove"):
        with shown_errors(stop=False):
            job = svc.start_remove_source(user, str(chosen), keep_stories=keep)
            st.toast(f"Removing {chosen} (run {job.id}).", icon=":material/delete:")
