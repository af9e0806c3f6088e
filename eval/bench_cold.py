"""What a person waits for, from process start: one-shot CLI commands, and servers from start to
ready to their first (and tenth) answer. Nothing is warmed in advance; every command is a fresh
process, as a user runs it.

    python eval/bench_cold.py [--home DIR] [--repeat 5] [--json OUT]

``--home`` defaults to a demo library built into a temporary directory (`reffy demo --no-app`).
Reported per path: the median and the spread of ``--repeat`` runs, and the machine's load
average when it ran (a busy machine inflates every number: compare runs made at the same load).
The app's first paint, refresh and warm search come from the browser test
(``tests/adapters/test_browser.py`` writes ``tests/artifacts/browser-timings.json``), shown when present.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFFY = [sys.executable, "-m", "reffy.cli"]
CLI = {
    "reffy --help": ["--help"],
    "status": ["status"],
    "keyword search": ["search", "Zentrix", "--mode", "keyword", "--k", "5", "--json"],
    "hybrid search": ["search", "bank that cut call handling time", "--k", "5", "--json"],
    "ask (offline)": ["ask", "Which bank reduced call handling time?", "--json"],
}


def env_for(home: Path, *, bytecode: bool = True) -> dict[str, str]:
    """The user's environment for a library at ``home``. Python caches compiled modules by default;
    some sandboxes and CI images set PYTHONDONTWRITEBYTECODE, which makes every command recompile
    Reffy's own modules (about 0.1 s): dropped unless ``bytecode`` is False, so the numbers are the
    ones a user's machine gives."""
    env = {**os.environ, "REFFY_HOME": str(home), "REFFY_VENDOR_PATH": str(REPO / "data" / "vendor.yaml")}
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run([*REFFY, *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"reffy {' '.join(args)} failed:\n{out.stderr}")
    return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict, headers: dict[str, str] | None = None) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(req, timeout=120) as response:
        return json.loads(response.read())


def bench_serve(env: dict[str, str]) -> dict[str, float]:
    """`reffy serve`: start -> health ok -> first search -> tenth search (seconds)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*REFFY, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as response:
                    if json.loads(response.read())["status"] == "ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise SystemExit("reffy serve exited")
            time.sleep(0.05)
        ready = time.perf_counter() - started
        times = []
        for i in range(10):
            t = time.perf_counter()
            post(f"{url}/v1/search", {"query": f"bank that cut call handling time {i}", "k": 5})
            times.append(time.perf_counter() - t)
        return {"ready_s": ready, "first_search_s": times[0], "tenth_search_s": times[-1]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_mcp(env: dict[str, str]) -> dict[str, float]:
    """`reffy mcp` over stdio, as a desktop agent meets it: process start -> connected, -> the
    server's "ready" line on stderr, -> the first tool result asked for right after ready; and, in a
    second fresh process, the first tool result asked for at once on connect."""
    import asyncio

    from mcp import Client, StdioServerParameters, stdio_client

    async def run(wait_for_ready: bool) -> dict[str, float]:
        started = time.perf_counter()
        params = StdioServerParameters(command=sys.executable, args=["-m", "reffy.cli", "mcp"], env=env)
        with tempfile.TemporaryFile("w+") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client:
                out = {"connected_s": time.perf_counter() - started}
                if wait_for_ready:
                    while True:
                        errlog.seek(0)
                        if "reffy mcp: ready" in errlog.read():
                            break
                        if time.perf_counter() - started > 120:
                            raise SystemExit("reffy mcp never said it was ready")
                        await asyncio.sleep(0.02)
                    out["ready_s"] = time.perf_counter() - started
                asked = time.perf_counter()
                await client.call_tool("search_stories", {"query": "bank that cut call handling time", "k": 5})
                out["first_tool_result_s"] = time.perf_counter() - started
                out["first_tool_after_ask_s"] = time.perf_counter() - asked
                return out

    after_ready = asyncio.run(run(True))
    at_once = asyncio.run(run(False))
    return {**after_ready, "first_tool_at_connect_s": at_once["first_tool_result_s"]}


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="Write the report here.")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="Keep PYTHONDONTWRITEBYTECODE if set (every command recompiles Reffy's modules).",
    )
    args = parser.parse_args()
    home = args.home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="reffy-cold-")) / "demo"
        subprocess.run([*REFFY, "demo", "--no-app", "--home", str(home)], check=True, capture_output=True)
    env = env_for(home, bytecode=not args.no_bytecode)
    for argv in CLI.values():  # the OS file cache and bytecode, not Reffy: a user's second command finds them warm
        timed(argv, env)
    report: dict[str, object] = {
        "home": str(home),
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
        "bytecode_cached": "PYTHONDONTWRITEBYTECODE" not in env,
    }
    cli = {}
    for name, argv in CLI.items():
        cli[name] = summary([timed(argv, env) for _ in range(args.repeat)])
        print(
            f"{name:<16} {cli[name]['median_s']:6.2f} s  (min {cli[name]['min_s']:.2f}, max {cli[name]['max_s']:.2f})",
            flush=True,
        )
    report["cli"] = cli
    ratio = cli["keyword search"]["median_s"] / cli["reffy --help"]["median_s"]
    report["keyword_over_help"] = round(ratio, 2)
    print(f"keyword search / --help: {ratio:.2f}x", flush=True)
    report["serve"] = serve = bench_serve(env)
    print(
        (
            "reffy serve      ready {ready_s:.2f} s, first search {first_search_s:.3f} s, tenth {tenth_search_s:.3f} s"
        ).format(**serve),
        flush=True,
    )
    report["mcp"] = mcp = bench_mcp(env)
    print(
        "reffy mcp        connected {connected_s:.2f} s, ready {ready_s:.2f} s, first search after ready "
        "{first_tool_after_ask_s:.3f} s; asked at connect: result at {first_tool_at_connect_s:.2f} s".format(**mcp)
    )
    browser = REPO / "tests" / "artifacts" / "browser-timings.json"
    if browser.is_file():
        report["app"] = json.loads(browser.read_text())
        print(f"app (browser test) {json.dumps(report['app'])}")
    report["load_after"] = os.getloadavg()
    print(
        f"load average before {report['load_before'][0]:.2f}, after {report['load_after'][0]:.2f} "
        f"({report['cpus']} cores)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
