"""`reffy score` with an LLM, end to end: the real CLI and litellm client against a local
OpenAI-compatible stub on 127.0.0.1. Cost accounting, and kill-then-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import scalar, story
from llmstub import LLMStub, rubric_responder

from reffy.service import ReffyService

MODEL = "openai/gpt-4o-mini"  # in litellm's local price list, so costs are real numbers


@pytest.fixture
def stub():
    server = LLMStub().start()
    yield server
    server.stop()


def env_for(home, stub, **extra):
    return {
        **os.environ,
        "REFFY_HOME": str(home),
        "REFFY_LLM_API_BASE": stub.base_url,
        "REFFY_LLM_API_KEY": "sk-test",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        **extra,
    }


def library(settings, tmp_path, n):
    root = tmp_path / "lib"
    root.mkdir()
    for i in range(n):
        (root / f"s{i}.md").write_text(f"# Story {i}\n\n{story(i)}\n", encoding="utf-8")
    ReffyService(settings).ingest([str(root)])


def score(home, stub, *args, **extra):
    cmd = [sys.executable, "-m", "reffy.cli", "score", "--model", MODEL, "--json", *args]
    return subprocess.run(cmd, env=env_for(home, stub, **extra), capture_output=True, text=True, timeout=120)


def test_llm_scoring_accounts_tokens_and_cost_and_caches(settings, tmp_path, stub):
    library(settings, tmp_path, 3)
    stub.responder = rubric_responder()
    dry = score(settings.home, stub, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    estimate = json.loads(dry.stdout)
    assert estimate["status"] == "dry_run" and estimate["pending"] == 3 and estimate["estimated_cost_usd"] > 0
    assert stub.requests == []

    out = score(settings.home, stub)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert (summary["scored"], summary["failed"]) == (3, 0)
    assert summary["tokens_in"] == 3000 and summary["tokens_out"] == 600  # the stub's usage numbers
    assert summary["cost_usd"] == pytest.approx(3 * (1000 * 0.15 + 200 * 0.6) / 1e6)
    assert scalar(settings.home, "SELECT sum(cost_usd) FROM scoring_calls") == pytest.approx(summary["cost_usd"])
    again = json.loads(score(settings.home, stub).stdout)
    assert (again["scored"], again["cached"], again["cost_usd"]) == (0, 3, 0)
    assert len(stub.requests) == 3


def test_budget_guard_from_the_command_line(settings, tmp_path, stub):
    library(settings, tmp_path, 5)
    stub.responder = rubric_responder()
    out = json.loads(score(settings.home, stub, "--max-cost", "0.0015", REFFY_LLM_CONCURRENCY="1").stdout)
    assert out["status"] == "budget_reached" and out["cost_usd"] <= 0.0015 and out["scored"] < 5


def test_killing_score_mid_run_then_rerunning_rescores_nothing_already_scored(settings, tmp_path, stub):
    n = 10
    library(settings, tmp_path, n)
    stub.responder = rubric_responder(delay=0.25)
    cmd = [sys.executable, "-m", "reffy.cli", "score", "--model", MODEL, "--json"]
    proc = subprocess.Popen(
        cmd,
        env=env_for(settings.home, stub, REFFY_LLM_CONCURRENCY="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while len(stub.requests) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = scalar(settings.home, "SELECT count(DISTINCT story_id) FROM silver_metadata")
    assert 3 <= committed < n
    before = len(stub.requests)
    stub.responder = rubric_responder()
    rerun = json.loads(score(settings.home, stub).stdout)
    assert rerun["scored"] == n - committed and rerun["cached"] == committed
    assert len(stub.requests) - before == n - committed  # nothing already scored was asked again
    assert scalar(settings.home, "SELECT status FROM scoring_runs WHERE id = 1") == "interrupted"
