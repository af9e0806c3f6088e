"""Login: name and password checked by the service against the users file (argon2 hashes),
or Streamlit's OIDC login when ``.streamlit/secrets.toml`` has an ``[auth]`` section."""

from __future__ import annotations

import streamlit as st

from reffy.ui.session import USER_KEY, get_service, oidc_configured, shown_errors

svc = get_service()
st.title("Reffy")
st.caption("Find the right customer story in seconds.")

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
            user = svc.authenticate(name, password)
        if user is None:
            st.error("Wrong name or password.")
        else:
            st.session_state[USER_KEY] = user
            st.rerun()
