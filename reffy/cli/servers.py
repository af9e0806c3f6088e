"""The long-running faces of the library: the web app, the REST API and the MCP server."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from reffy.cli.common import HomeOpt, _console, _service, app


def _run_app(service, host: str = "127.0.0.1", port: int = 8501) -> None:
    """Run the Streamlit app over ``service`` in the foreground (Ctrl+C stops it)."""
    from reffy.ui.server import run_app

    console = _console()
    console.print("Loading the search models and indexes…")

    def ready(seconds: float) -> None:
        console.print(f"Ready in {seconds:.1f}s. The app is at [bold]http://{host}:{port}[/] (Ctrl+C stops it).")

    with contextlib.suppress(KeyboardInterrupt):
        run_app(service, host=host, port=port, on_ready=ready)


@app.command(name="app")
def app_(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0 for every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8501,
    home: HomeOpt = None,
) -> None:
    """Run the web app (search, answers, explorer, analytics, ingest). Models load before it listens;
    no file watching, no usage statistics, localhost only unless --host says otherwise."""
    _run_app(_service(home), host=host, port=port)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (0.0.0.0 for every one).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    home: HomeOpt = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs). Tokens: `reffy token add`."""
    import uvicorn

    from reffy.api import create_app

    uvicorn.run(create_app(_service(home), warm=True), host=host, port=port, log_level="info")


@app.command()
def mcp(
    transport: Annotated[
        str, typer.Option("--transport", help="stdio (desktop agents) or http (streamable HTTP at /mcp).")
    ] = "stdio",
    host: Annotated[str, typer.Option("--host", help="Interface for --transport http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for --transport http.")] = 8765,
    home: HomeOpt = None,
) -> None:
    """Serve Reffy as an MCP server (tools: search_stories, get_story, ask). Identity: REFFY_API_TOKEN."""
    from reffy.mcp_server import serve as serve_mcp

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("--transport is stdio or http")
    serve_mcp(transport, host=host, port=port, service=_service(home))  # type: ignore[arg-type]
