"""Per-process and per-session plumbing every page shares: the one cached service, who is
logged in, which audience they see, and how service errors are shown.

One service per process (``st.cache_resource``) so models and indexes load once. ``reffy app``
builds and warms it *before* the server starts listening (:func:`preload`), so the first visitor
never waits for a model; under a plain ``streamlit run app.py`` the first visit warms it.

Signing in: the service checks the password and starts a session (:mod:`reffy.sessions`); this
module only moves its token. It lives in ``st.session_state`` for the open tab and in a cookie
for the next one (a refresh, a pasted story link): Streamlit reads cookies (``st.context.cookies``,
as sent when the tab connected) but cannot write them, so a one-line script rendered with
``st.html(..., unsafe_allow_javascript=True)`` sets or clears it. Every run asks the service who
the token belongs to, so a logout (here or in another tab), an expiry or a removed user takes
effect at the next click. Everything worth keeping (conversations, feedback, usage) goes through
the service.
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
TOKEN_KEY = "reffy_session_token"  # this tab's session token
REFUSED_KEY = "reffy_refused_token"  # a cookie token the service refused (not asked again)
COOKIE_KEY = "reffy_cookie_write"  # (token, max age) to write into the cookie, or (None, 0) to clear it
AUDIENCE_KEY = "audience"
AUDIENCES = ("internal", "external")
CHANNEL = "app"
NOT_AVAILABLE = (
    "The story library is not available right now. An admin can see why on the Library status page and fix it."
)


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
    """Who this run acts as, or None while a login is needed: single sign-on (Streamlit keeps
    that session), no login at all on a laptop, else the session token of this tab or, in a new
    tab, of the cookie; the service decides whether it is still good."""
    if oidc_configured():
        user = st.session_state.get(USER_KEY)
        if user is not None:
            return user
        if st.user.is_logged_in:
            email = str(st.user.get("email") or st.user.get("name") or "sso-user")
            user = User(email, oidc_role(svc, email))
            st.session_state[USER_KEY] = user
            return user
        return None
    if not svc.login_required():
        st.session_state[USER_KEY] = LOCAL_USER
        return LOCAL_USER
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        cookie = st.context.cookies.get(svc.session_cookie)
        fresh = isinstance(cookie, str) and cookie and cookie != st.session_state.get(REFUSED_KEY)
        token = cookie if fresh else None  # (AppTest has no browser: its cookies are a stand-in object)
    user = svc.session_user(token) if token else None
    if user is None:
        st.session_state.pop(USER_KEY, None)
        if token:
            st.session_state.pop(TOKEN_KEY, None)
            st.session_state[REFUSED_KEY] = token
            st.session_state[COOKIE_KEY] = (None, 0)  # the browser's cookie is dead: drop it
        return None
    st.session_state[TOKEN_KEY] = token
    st.session_state[USER_KEY] = user
    return user


def signed_in(token: str, max_age_s: int, user: User) -> None:
    """After a successful login: this tab acts as ``user``; the cookie gets the token."""
    st.session_state[TOKEN_KEY] = token
    st.session_state[USER_KEY] = user
    st.session_state[COOKIE_KEY] = (token, max_age_s)


def current_user() -> User:
    """The logged-in user (app.py guarantees one before any page but login runs)."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        st.stop()
    return user


def log_out(svc: ReffyService) -> None:
    """End the session in the service (its cookie is refused from now on) and clear the cookie."""
    token = st.session_state.pop(TOKEN_KEY, None)
    st.session_state.pop(USER_KEY, None)
    if token:
        svc.log_out(token)
        st.session_state[REFUSED_KEY] = token
    st.session_state[COOKIE_KEY] = (None, 0)
    if oidc_configured() and st.user.is_logged_in:
        st.logout()


def cookie_js(name: str, token: str | None, max_age_s: int) -> str:
    """The script that sets (or, with no token, deletes) the session cookie: whole site, sent
    on same-site requests and top-level links (Lax), Secure over https."""
    import json

    value = f"{name}={token or ''}; Path=/; Max-Age={max_age_s if token else 0}; SameSite=Lax"
    return (
        f"<script>document.cookie = {json.dumps(value)} + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )


def write_cookie(svc: ReffyService) -> None:
    """Render the pending cookie change, once (after a login, a logout or a refused cookie)."""
    pending = st.session_state.pop(COOKIE_KEY, None)
    if pending is not None:
        st.html(cookie_js(svc.session_cookie, *pending), unsafe_allow_javascript=True, width="content")


def audience() -> str:
    """The audience the pages search for: the sidebar choice; always external for viewers."""
    user = current_user()
    return user.audience(st.session_state.get(AUDIENCE_KEY))


def audience_control(svc: ReffyService, user: User) -> str:
    """Sidebar radio; a viewer sees it fixed to external (the service enforces it too)."""
    if user.role is Role.viewer or st.session_state.get(AUDIENCE_KEY) not in AUDIENCES:
        st.session_state[AUDIENCE_KEY] = "external" if user.role is Role.viewer else svc.settings.audience
    chosen = st.sidebar.radio(
        "Audience",
        AUDIENCES,
        key=AUDIENCE_KEY,
        horizontal=True,
        disabled=user.role is Role.viewer,
        help="External shows only stories cleared for customers. Viewers always see external.",
    )
    return user.audience("external" if chosen == "external" else "internal")


@contextmanager
def shown_errors(*, stop: bool = True) -> Iterator[None]:
    """Show a service error as the app's one error box, with its how-to-fix message; the page
    stops there unless ``stop`` is False (then it goes on after the block)."""
    try:
        yield
    except PermissionDenied as exc:
        st.error(f"Not allowed: {exc}", icon=":material/lock:")
        if stop:
            st.stop()
    except ReffyError as exc:
        user = st.session_state.get(USER_KEY)
        if exc.for_operators and not (user is not None and user.can("ingest")):
            st.error(NOT_AVAILABLE, icon=":material/error:")  # commands and paths are for admins
        else:
            st.error(str(exc), icon=":material/error:")
        if stop:
            st.stop()


def page_context() -> tuple[ReffyService, User, str]:
    """(service, user, audience) for a page."""
    return get_service(), current_user(), audience()


def story_url(story_id: str) -> dict[str, Any]:
    """Query parameters that open the story page on one story."""
    return {"id": story_id}
