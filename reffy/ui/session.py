"""Per-process and per-session plumbing every page shares: the one cached service, who is
logged in, which audience they see, and how service errors are shown.

One service per process (``st.cache_resource``) so models and indexes load once. ``reffy app``
builds and warms it *before* the server starts listening (:func:`preload`), so the first visitor
never waits for a model; under a plain ``streamlit run app.py`` the first visit warms it. The user lives in ``st.session_state`` for the browser session only;
everything worth keeping (conversations, feedback, usage) goes through the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from reffy.auth import LOCAL_USER, Role, User
from reffy.errors import PermissionDenied, ReffyError
from reffy.service import ReffyService

USER_KEY = "reffy_user"
AUDIENCE_KEY = "audience"
AUDIENCES = ("internal", "external")
CHANNEL = "app"


_preloaded: ReffyService | None = None


def preload(service: ReffyService) -> None:
    """Make ``service`` (already warmed by the caller) the one :func:`get_service` returns."""
    global _preloaded
    _preloaded = service


@st.cache_resource(show_spinner="Loading the search models…")
def get_service() -> ReffyService:
    """The process-wide service: search models and indexes load once, then stay. ``reffy app``
    hands over one it warmed before listening; otherwise the first visit warms it (a few seconds
    with the ONNX embedder). Not on a background thread: CPython 3.11's compiler is not safe to
    run in two threads at once ("AST constructor recursion depth mismatch"), and Streamlit
    compiles page scripts while a warm-up would be importing."""
    if _preloaded is not None:
        return _preloaded
    service = ReffyService()
    service.warm()
    return service


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's OIDC login)."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        return False


def oidc_role(svc: ReffyService, email: str) -> Role:
    """An SSO user's role: their entry in the users file (by e-mail) wins, else the default
    from ``[reffy] oidc_default_role`` in secrets, else member."""
    from reffy.auth import load_users, users_file

    path = users_file(svc.settings)
    if path is not None and email in (users := load_users(path)):
        return users[email][0]
    default = (st.secrets.get("reffy") or {}).get("oidc_default_role", Role.member.value)
    return Role(default)


def resolve_user(svc: ReffyService) -> User | None:
    """Who this session acts as, or None while a login is needed."""
    user = st.session_state.get(USER_KEY)
    if user is not None:
        return user
    if oidc_configured():
        if st.user.is_logged_in:
            email = str(st.user.get("email") or st.user.get("name") or "sso-user")
            user = User(email, oidc_role(svc, email))
            st.session_state[USER_KEY] = user
            return user
        return None
    if not svc.login_required():
        st.session_state[USER_KEY] = LOCAL_USER
        return LOCAL_USER
    return None


def current_user() -> User:
    """The logged-in user (app.py guarantees one before any page but login runs)."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        st.stop()
    return user


def log_out() -> None:
    st.session_state.pop(USER_KEY, None)
    if oidc_configured() and st.user.is_logged_in:
        st.logout()


def audience() -> str:
    """The audience the pages search for: the sidebar choice; always external for viewers."""
    user = current_user()
    return user.audience(st.session_state.get(AUDIENCE_KEY))


def audience_control(svc: ReffyService, user: User) -> str:
    """Sidebar radio; a viewer sees it fixed to external (the service enforces it too)."""
    if user.role is Role.viewer or st.session_state.get(AUDIENCE_KEY) not in AUDIENCES:
        st.session_state[AUDIENCE_KEY] = "external" if user.role is Role.viewer else svc.settings.audience
    chosen = st.sidebar.radio(
        "Audience", AUDIENCES, key=AUDIENCE_KEY, horizontal=True,
        disabled=user.role is Role.viewer,
        help="External shows only stories cleared for customers. Viewers always see external.",
    )  # fmt: skip
    return user.audience(chosen)


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show a service error as the app's one error box, with its how-to-fix message."""
    try:
        yield
    except PermissionDenied as exc:
        st.error(f"Not allowed: {exc}", icon=":material/lock:")
        st.stop()
    except ReffyError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


def page_context() -> tuple[ReffyService, User, str]:
    """(service, user, audience) for a page."""
    return get_service(), current_user(), audience()


def story_url(story_id: str) -> dict[str, Any]:
    """Query parameters that open the story page on one story."""
    return {"id": story_id}
