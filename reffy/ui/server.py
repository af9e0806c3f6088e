"""Running the Streamlit app from Reffy itself (``reffy app``, ``reffy demo``), with the
settings a person running it on a laptop or a shared VM should get without knowing them:

- the service is built and warmed *before* the server listens, so when the app answers its
  health check the first visitor gets a page at once and a fast first search;
- it binds 127.0.0.1 unless told otherwise, watches no files (a checkout holds a multi-GB
  ``.venv``: watching it costs inotify overflows and CPU at idle) and sends no usage statistics;
- no "Deploy" button, and no full garbage collection after every script run (it walks the whole
  heap holding the GIL and delayed a run's last deltas by 0.3-0.5 s).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reffy.service import ReffyService

APP = Path(__file__).resolve().parent.parent.parent / "app.py"

FLAGS = {
    "server_headless": True,
    "server_fileWatcherType": "none",
    "server_runOnSave": False,
    "browser_gatherUsageStats": False,
    "runner_postScriptGC": False,
    "client_toolbarMode": "viewer",
}


def app_script() -> Path:
    from reffy.errors import ConfigError

    if not APP.is_file():
        raise ConfigError(f"The web app ({APP}) ships with the checkout: run Reffy from a checkout of its repository.")
    return APP


def run_app(service: ReffyService, *, host: str = "127.0.0.1", port: int = 8501, on_ready: object = None) -> None:
    """Warm ``service``, then serve the app on ``host:port`` until interrupted (blocking).
    ``on_ready(seconds)`` is called once the models are loaded, before the server starts."""
    from streamlit import config as st_config
    from streamlit.web import bootstrap

    from reffy.ui import session

    script = app_script()
    started = time.perf_counter()
    service.warm()
    session.preload(service)
    if callable(on_ready):
        on_ready(time.perf_counter() - started)
    flags = {**FLAGS, "server_address": host, "server_port": port}
    st_config._main_script_path = str(script)  # where Streamlit looks for .streamlit/ and secrets
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(script), False, [], flags)
