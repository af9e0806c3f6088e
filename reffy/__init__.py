"""Reffy: find the right customer story in seconds.

The package is a library first: every adapter (CLI, API, MCP server, Streamlit app)
is a thin layer over :mod:`reffy.service`. Heavy dependencies are imported lazily
so that ``reffy --help`` stays instant.
"""

__version__ = "0.1.0"
