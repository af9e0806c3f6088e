"""The Streamlit adapter: pages (``reffy/ui/pages``) and the small presentation helpers they share.

Pages call :class:`reffy.service.ReffyService` and render what it returns; no retrieval, SQL
or prompt logic lives here. ``present`` and ``charts`` are pure (no Streamlit), so the
wording of a card or a reference snippet is tested without a running app.
"""
