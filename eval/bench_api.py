"""/v1/search latency and throughput under concurrent clients, over real HTTP on loopback.

    python eval/bench_api.py [--home DEMO_HOME] [--clients 20] [--requests 600] [--out FILE]

Starts ``reffy serve`` (uvicorn, one process) on a private copy of a built library (default: a
fresh build of the demo library), with an API token so each request also pays for auth, warms
it up, then runs ``--clients`` concurrent httpx clients that together issue ``--requests``
searches: realistic sales questions, half hybrid and half keyword, some with filters. Prints
p50/p95/p99 latency (overall and per mode) and throughput, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("bank that cut call handling time", {}),
    ("European bank that cut contact-centre cost with a chatbot", {"industry": ["finance"]}),
    ("retailer that reduced returns", {}),
    ("insurance claims settled faster with automation", {}),
    ("hospital or health provider that lowered call abandonment", {}),
    ("customer who switched from Zentrix", {}),
    ("telecom operator self-service success", {}),
    ("German company onboarding time reduced", {"country": ["DE"]}),
    ("utility that handled a storm surge of calls", {}),
    ("public sector agency citizen service", {}),
    ("complaints handling time halved", {"min_score": 15}),
    ("travel company chatbot during disruption", {}),
    ("manufacturer field service knowledge base", {}),
    ("logistics customer tracking questions", {}),
    ("reference for Quillon Assist in a contact centre", {}),
    ("Nordic customer with strong ROI figures", {"year_min": 2022}),
    ("ecommerce company in the UK", {"country": ["GB"]}),
    ("fraud scares and account access problems", {}),
    ("agent assist that improved first contact resolution", {}),
    ("small business desk support automation", {}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"n": 0}
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.mean(latencies), 1),
        "max_ms": round(max(latencies), 1),
    }


def prepare_home(source: Path | None, tmp: Path) -> Path:
    """A private copy of a built library (the bench adds a token; the original is never touched)."""
    home = tmp / "home"
    if source is None:
        print("Building the demo library (reffy demo) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "reffy.cli", "demo", "--no-app", "--home", str(home)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    else:
        shutil.copytree(source, home)
    return home


def start_server(home: Path, port: int) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("reffy")
    cmd = [str(exe), "serve", "--home", str(home), "--port", str(port)]
    env = {**os.environ, "REFFY_HOME": str(home)}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_ready(base: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"reffy serve exited:\n{proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=30).json().get("status") == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("reffy serve did not become ready")


async def load(base: str, token: str, clients: int, total: int) -> dict[str, Any]:
    results: list[tuple[str, float, int, float | None]] = []  # mode, latency ms, status, server ms
    counter = iter(range(total))

    async def client_loop(cid: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
            for i in counter:
                query, filters = QUERIES[(i * 7 + cid) % len(QUERIES)]
                mode = "hybrid" if i % 2 == 0 else "keyword"
                body = {"query": query, "k": 10, "mode": mode, "filters": filters or None}
                started = time.perf_counter()
                response = await http.post("/v1/search", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                server = None
                if response.status_code == 200:
                    timings = response.json().get("timings_ms") or {}
                    server = sum(timings.values()) if timings else None
                results.append((mode, elapsed, response.status_code, server))

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(c) for c in range(clients)))
    wall = time.perf_counter() - started
    ok = [r for r in results if r[2] == 200]
    return {
        "clients": clients,
        "requests": len(results),
        "errors": len(results) - len(ok),
        "status_counts": {str(s): sum(1 for r in results if r[2] == s) for s in sorted({r[2] for r in results})},
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(results) / wall, 1),
        "latency": summarize([r[1] for r in ok]),
        "by_mode": {m: summarize([r[1] for r in ok if r[0] == m]) for m in ("hybrid", "keyword")},
        "server_search_ms": summarize([r[3] for r in ok if r[3] is not None]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="A built Reffy home (copied; default: build the demo library).")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=600, help="Total searches across all clients.")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "reffy-bench-api.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reffy-bench-api-") as tmp:
        home = prepare_home(args.home, Path(tmp))
        from reffy.auth import Role
        from reffy.config import load_settings
        from reffy.service import ReffyService

        svc = ReffyService(load_settings(home=home))
        token = svc.create_token("bench", Role.member, label="bench_api")
        svc.close()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(home, port)
        try:
            wait_ready(base, proc)
            asyncio.run(load(base, token, clients=min(args.clients, args.warmup), total=args.warmup))
            print(f"Load: {args.clients} concurrent clients, {args.requests} searches against {base} ...", flush=True)
            report = asyncio.run(load(base, token, clients=args.clients, total=args.requests))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    report["note"] = "one uvicorn process, loopback HTTP, bearer-token auth on every request"
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    lat = report["latency"]
    print(
        f"{report['requests']} requests, {report['errors']} errors, {report['throughput_rps']} req/s; "
        f"p50 {lat.get('p50_ms')} ms, p95 {lat.get('p95_ms')} ms, p99 {lat.get('p99_ms')} ms"
    )
    for mode, stats in report["by_mode"].items():
        print(f"  {mode:<8} p50 {stats.get('p50_ms')} ms, p95 {stats.get('p95_ms')} ms (n={stats['n']})")
    server = report["server_search_ms"]
    print(f"  search work inside the server: p50 {server.get('p50_ms')} ms, p95 {server.get('p95_ms')} ms")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
