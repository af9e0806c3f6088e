"""Login: name and password checked by the service against the users file (argon2 hashes),
or Streamlit's OIDC login when ``.streamlit/secrets.toml`` has an ``[auth]`` section.

Shown at whatever address was opened (app.py routes every page here until someone signs in),
so after login the same address, a pasted story link included, opens what it names. The
session itself (how long it lasts, ending it) belongs to the service."""

from __future__ import annotations

import streamlit as st

from reffy.ui.session import get_service, oidc_configured, shown_errors, signed_in

svc = get_service()
st.title("Reffy")
st.caption("Find the right customer story in seconds.")
if st.query_params.get("id"):
    st.info("Log in to open the story this link points to.", icon=":material/link:")

if oidc_configured():
    if st.button("Log in with single sign-on", key="sso_login", type="primary", icon=":material/key:"):
        st.login()  # the [auth] provider in .streamlit/secrets.toml; st.user is filled on return
else:
    with st.form("login", width=420):
        name = st.text_input("Name", key="login_name", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        with shown_errors():
            login = svc.log_in(name, password)
        if login is None:
            st.error("Wrong name or password.")
        else:
            signed_in(login.token, login.max_age_s, login.user)
            st.rerun()
