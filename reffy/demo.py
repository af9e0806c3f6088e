"""Where the bundled demo library lives and where ``reffy demo`` builds it."""

from __future__ import annotations

from pathlib import Path

from reffy.errors import ConfigError


def demo_data_dir() -> Path:
    """The repository's ``data/`` folder (the demo library ships with the checkout)."""
    data = Path(__file__).resolve().parent.parent / "data"
    if not (data / "vendor.yaml").is_file():
        raise ConfigError(
            f"Demo data not found at {data}. Install Reffy from a checkout (`pip install -e .`) "
            "or pass --data PATH to the demo folder."
        )
    return data


def demo_home() -> Path:
    """A home of its own, so the demo never mixes with a real library."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("reffy-demo", appauthor=False))


def write_demo_settings(home: Path, data: Path) -> None:
    """Record the demo's vendor profile in the demo home, so later commands use it too."""
    from reffy.config import HOME_ENV_FILE

    home.mkdir(parents=True, exist_ok=True)
    (home / HOME_ENV_FILE).write_text(
        "# Written by `reffy demo`: settings of this demo library.\n"
        f"REFFY_VENDOR_PATH={(data / 'vendor.yaml').resolve()}\n",
        encoding="utf-8",
    )
