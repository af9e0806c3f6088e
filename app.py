"""Reffy's web app (Streamlit). Run with ``streamlit run app.py``.

This entry point only decides who is using the app and which pages they get; the pages
live in ``reffy/ui/pages`` and call :class:`reffy.service.ReffyService` for everything.
With no users file (a laptop) there is no login and the local user is an admin; with a users
file (``reffy user add``) or Streamlit's OIDC login configured in ``.streamlit/secrets.toml``
(an ``[auth]`` section), everyone logs in and gets their role's pages.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit import config as st_config

from reffy.auth import LOCAL_USER, User
from reffy.ui.session import (
    audience_control,
    get_service,
    log_out,
    resolve_user,
    shown_errors,
    write_cookie,
)

PAGES = Path(__file__).resolve().parent / "reffy" / "ui" / "pages"


def page(name: str, title: str, icon: str, *, visible: bool = True, default: bool = False) -> st.Page:
    """A page every user can reach by link; ``visible`` only decides whether it is in the menu
    (a page a role may not use still opens, and says why it is refused)."""
    return st.Page(
        PAGES / f"{name}.py",
        title=title,
        icon=icon,
        url_path=name,
        default=default,
        visibility="visible" if visible else "hidden",
    )


ROUTES = ("chat", "explorer", "story", "analytics", "insights", "ingest", "library")  # the url path of each page


def pages_for(user: User) -> list[st.Page]:
    return [
        page("chat", "Find stories", ":material/chat:", default=True),
        page("explorer", "Story explorer", ":material/table_view:"),
        page("story", "Story", ":material/article:", visible=False),
        page("analytics", "Analytics", ":material/monitoring:", visible=user.can("analytics")),
        page("insights", "Insights", ":material/insights:", visible=user.can("analytics")),
        page("ingest", "Ingest", ":material/upload:", visible=user.can("ingest")),
        page("library", "Library status", ":material/database:", visible=user.can("analytics")),
    ]


def login_pages() -> list[st.Page]:
    """Before login every route shows the login page under its own address, so a pasted link
    (``/story?id=...``) is found rather than "Page not found", and after login the same address
    (query included) opens the page it names."""
    return [
        st.Page(PAGES / "login.py", title="Log in", icon=":material/login:", url_path=name, default=name == "chat")
        for name in ROUTES
    ]


def main() -> None:
    if st_config.get_option("runner.postScriptGC"):
        # A full collection after every run walks the whole heap (torch, Chroma, ...) holding the
        # GIL, so a run's last deltas reached the browser 0.3-0.5 s late; Python's own
        # generational collector still runs. (A config.toml or --runner.postScriptGC false works too.)
        st_config.set_option("runner.postScriptGC", False)
    st.set_page_config(page_title="Reffy", page_icon=":mag:", layout="wide")
    st.set_option("client.toolbarMode", "viewer")  # no "Deploy" button for sales people
    svc = get_service()
    with shown_errors():
        user = resolve_user(svc)
    write_cookie(svc)
    if user is None:
        st.navigation(login_pages(), position="hidden").run()
        return
    nav = st.navigation(pages_for(user))
    with st.sidebar:
        st.caption(f"Signed in as **{user.name}** ({user.role.value})")
        audience_control(svc, user)
        if user != LOCAL_USER:
            st.button("Log out", key="logout", on_click=log_out, args=(svc,), icon=":material/logout:")
    nav.run()


main()
