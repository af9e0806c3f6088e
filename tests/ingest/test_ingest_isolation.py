"""One hostile or careless file never stops a folder, and never takes the machine's memory.

Every file is real and generated here: zip bombs (valid zips that really expand), YAML alias
bombs, JSON nested 100,000 deep, names that are not UTF-8. The folder is ingested by the real
pipeline into a real DuckDB; what could not be read is in ``ingest_errors`` with a reason.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import STORY, query, scalar
from hostile import GOOD_STORY, alias_bomb, deep_json, hostile_folder, non_utf8_name, zip_bomb

from ingest.sources.base import decode_text
from reffy.config import load_settings
from reffy.service import ReffyService

TESTS = Path(__file__).resolve().parents[1]


def problems(home: Path) -> dict[str, list[tuple[str, str, str]]]:
    """file name -> [(reason, severity, detail)] of the last run."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for origin, reason, severity, detail in query(
        home,
        "SELECT origin, reason, severity, detail FROM ingest_errors WHERE run_id = (SELECT max(id) FROM "
        "ingest_runs) ORDER BY id",
    ):
        out.setdefault(Path(origin).name, []).append((reason, severity, detail))
    return out


def ingested(home: Path) -> dict[str, str]:
    """file name (plus #record id) -> text of the current bronze records."""
    rows = query(home, "SELECT origin, source_record_id, text FROM bronze_current")
    return {Path(o).name + (f"#{r}" if r else ""): t for o, r, t in rows}


def ingest(settings, path: Path):
    return ReffyService(settings).ingest([str(path)])


def test_hostile_files_are_recorded_and_every_good_file_beside_them_is_ingested(settings, tmp_path):
    root = hostile_folder(tmp_path / "lib", bomb_mib=128, big_line_mb=6)
    summary = ingest(settings, root)
    assert summary.status == "partial" and summary.errors == 7
    got = problems(settings.home)
    for kind in ("docx", "pptx", "xlsx"):
        [(reason, severity, detail)] = got[f"bomb.{kind}"]
        assert (reason, severity) == ("zip_bomb", "error")
        assert f"inside the .{kind} file unpacks to 128.0 MB" in detail and "zip bomb" in detail
    assert got["deep.json"][0][:2] == ("too_deep", "error")
    assert sorted(r[:2] for r in got["pathological.jsonl"]) == [("parse_error", "error"), ("too_deep", "error")]
    assert any("thousands of digits" in d for _, _, d in got["pathological.jsonl"])
    assert (
        got["big-line.jsonl"][0][:2] == ("too_large", "error")
        and "REFFY_MAX_STORY_CHARS" in got["big-line.jsonl"][0][2]
    )
    [(reason, severity, detail)] = got["bomb.md"]  # the front matter is refused, the story kept
    assert (reason, severity) == ("parse_error", "warning") and "alias bomb" in detail
    texts = ingested(settings.home)
    assert set(texts) == {"good.md", "good.txt", "caf\\xe9-story.txt", "pathological.jsonl#fine", "bomb.md"}
    assert all(GOOD_STORY in t for t in texts.values())
    meta = scalar(settings.home, "SELECT meta FROM bronze_current WHERE origin LIKE '%bomb.md'")
    assert json.loads(meta) == {}  # nothing of the bomb was expanded into metadata
    run = query(settings.home, "SELECT status, errors FROM ingest_runs")
    assert run == [("partial", 7)]


def test_a_file_name_that_is_not_utf8_is_ingested_and_stored_readably(settings, tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    path = non_utf8_name(root)
    (root / "empty.md").write_bytes(b"")
    non_utf8_name(root, b"r\xe9sum\xe9", b".md").write_bytes(b"")  # a failing one: its problem is stored too
    summary = ingest(settings, root)
    assert summary.new == 1
    [(origin, uri, title)] = query(settings.home, "SELECT origin, source_uri, title FROM bronze_current")
    assert origin == str(root / "caf\\xe9-story.txt") and uri.endswith("/caf%E9-story.txt")
    assert title == "Caf\u00e9 story"
    assert problems(settings.home)["r\\xe9sum\\xe9.md"][0][0] == "empty"
    assert ingest(settings, root).unchanged == 1  # the stored name matches it on the next run
    assert path.exists()


def test_zip_limits_are_checked_from_the_directory_before_parsing(tmp_path, home):
    root = tmp_path / "lib"
    root.mkdir()
    zip_bomb(root / "deck.pptx", "pptx", 16)  # 16 MB of zeros in 16 KB: over the ratio
    with zipfile.ZipFile(root / "parts.docx", "w") as z:  # stored, so no ratio: only the number of parts
        for i in range(40):
            z.writestr(f"word/media/part{i}.xml", "<x/>")
    with zipfile.ZipFile(root / "big.xlsx", "w") as z:  # stored: 3 MB unpacked, ratio 1
        z.writestr("xl/worksheets/sheet1.xml", os.urandom(3 << 20))
    (root / "ok.md").write_text(f"# Ok\n\n{STORY}", encoding="utf-8")
    settings = load_settings(home=home, max_zip_entries=20, max_zip_uncompressed_mb=2)
    ingest(settings, root)
    got = problems(home)
    assert got["deck.pptx"][0][:2] == ("zip_bomb", "error") and "REFFY_MAX_ZIP_RATIO" in got["deck.pptx"][0][2]
    assert got["parts.docx"][0][:2] == ("too_large", "error") and "40 parts (limit 20)" in got["parts.docx"][0][2]
    assert got["big.xlsx"][0][:2] == ("too_large", "error")
    assert "expands to 3.0 MB (limit 2 MB); it may be a zip bomb" in got["big.xlsx"][0][2]
    assert set(ingested(home)) == {"ok.md"}


def test_front_matter_with_a_few_aliases_still_parses(settings, tmp_path):
    path = tmp_path / "anchors.md"
    path.write_text(
        "---\nbase: &b {industry: finance}\ncustomer: *b\nother: *b\n---\n# Anchored\n\n" + STORY, encoding="utf-8"
    )
    ingest(settings, path)
    meta = json.loads(scalar(settings.home, "SELECT meta FROM bronze_current"))
    assert meta["customer"] == {"industry": "finance"} and not problems(settings.home)


def test_front_matter_over_the_size_limit_is_kept_as_text(tmp_path, home):
    path = tmp_path / "big.md"
    path.write_text('---\nnotes: "' + "x" * 5000 + '"\n---\n# Big\n\n' + STORY, encoding="utf-8")
    ingest(load_settings(home=home, max_meta_kb=2), path)
    [(reason, severity, detail)] = problems(home)["big.md"]
    assert (reason, severity) == ("parse_error", "warning") and "over the 2 KB limit" in detail
    assert scalar(home, "SELECT meta FROM bronze_current") == "{}"


def test_alias_bomb_alone_stays_small(settings, tmp_path):
    path = tmp_path / "bomb.md"
    path.write_text(alias_bomb(), encoding="utf-8")
    assert len(path.read_bytes()) < 1000
    ingest(settings, path)
    assert scalar(settings.home, "SELECT length(meta) + length(text) FROM bronze_current") < 2000


def test_json_nesting_is_capped_per_object(settings, tmp_path):
    nested = {"slug": "deep", "title": "Deep", "body": "Deep story text.", "x": json.loads("[" * 100 + "]" * 100)}
    rows = [{"slug": "a", "title": "A", "body": "Story A text"}, nested, {"slug": "b", "title": "B", "body": "Story B"}]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    array = tmp_path / "rows.json"
    array.write_text(json.dumps(rows), encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text(deep_json(), encoding="utf-8")
    svc = ReffyService(settings)
    summary = svc.ingest([str(jsonl), str(array), str(deep)])
    assert (summary.new, summary.errors, summary.status) == (4, 3, "partial")
    got = problems(settings.home)
    assert [r[:2] for r in got["rows.jsonl"]] == [("too_deep", "error")] and "line 2" in got["rows.jsonl"][0][2]
    assert [r[:2] for r in got["rows.json"]] == [("too_deep", "error")] and "item 2" in got["rows.json"][0][2]
    assert "REFFY_MAX_JSON_DEPTH" in got["rows.json"][0][2]
    assert got["deep.json"][0][0] == "too_deep"


def test_oversized_metadata_is_dropped_with_a_warning_and_the_story_kept(settings, tmp_path):
    rows = [
        {
            "slug": "a",
            "title": "A",
            "body": STORY,
            "industry": "finance",
            "blob": "y" * 200_000,
            "odd": "\ud800 lone surrogate",
        }
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = ingest(settings, path)
    assert (summary.new, summary.warnings, summary.status) == (1, 1, "completed")
    [(reason, severity, detail)] = problems(settings.home)["rows.jsonl"]
    assert (reason, severity) == ("meta_too_large", "warning")
    assert "limit 64 KB" in detail and "without these fields: blob" in detail
    meta = json.loads(scalar(settings.home, "SELECT meta FROM bronze_current"))
    assert meta == {"slug": "a", "industry": "finance", "odd": "\ufffd lone surrogate"}


def test_a_story_over_the_text_limit_is_refused_and_the_rest_kept(tmp_path, home):
    rows = [{"slug": "a", "title": "A", "body": STORY}, {"slug": "b", "title": "B", "body": "word " * 2000}]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = ingest(load_settings(home=home, max_story_chars=5000), path)
    assert (summary.new, summary.errors) == (1, 1)
    [(reason, _, detail)] = problems(home)["rows.jsonl"]
    assert reason == "too_large" and "9,999 characters (limit 5,000" in detail


def test_an_unexpected_failure_in_one_file_is_recorded_and_the_folder_goes_on(settings, tmp_path, monkeypatch):
    """Whatever a parser raises (here a MemoryError and a RecursionError from inside the
    Markdown and CSV readers) stays with that file."""
    import ingest.sources.formats as formats

    def explode(kind):
        def extractor(inp):
            raise kind("simulated failure deep inside a parser")

        return extractor

    monkeypatch.setitem(formats.EXTRACTORS, ".csv", explode(MemoryError))
    monkeypatch.setitem(formats.EXTRACTORS, ".srt", explode(RecursionError))
    root = tmp_path / "lib"
    root.mkdir()
    (root / "a.csv").write_text("title,body\nA,Story\n", encoding="utf-8")
    (root / "b.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n", encoding="utf-8")
    (root / "c.md").write_text(f"# C\n\n{STORY}", encoding="utf-8")
    summary = ingest(settings, root)
    assert (summary.new, summary.errors, summary.status) == (1, 2, "partial")
    got = problems(settings.home)
    assert got["a.csv"][0][0] == "too_large" and "ran out of memory" in got["a.csv"][0][2]
    assert got["b.srt"][0][0] == "too_deep" and "nested too deeply" in got["b.srt"][0][2]


def test_utf16_and_utf32_files_with_a_byte_order_mark_are_text(settings, tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    (root / "le.txt").write_bytes(("Caf\u00e9 story\r\n\r\n" + STORY).encode("utf-16"))
    (root / "be.md").write_bytes(b"\xfe\xff" + (f"# Z\u00fcrich story\n\n{STORY}").encode("utf-16-be"))
    (root / "rows.csv").write_bytes(("title,body\nA,\u00c5rhus story\n").encode("utf-32"))
    summary = ingest(settings, root)
    assert (summary.new, summary.errors, summary.warnings) == (3, 0, 0)  # a declared encoding is no guess
    titles = {t for (t,) in query(settings.home, "SELECT title FROM bronze_current")}
    assert titles == {"Caf\u00e9 story", "Z\u00fcrich story", "A"}
    assert scalar(settings.home, "SELECT text FROM bronze_current WHERE origin LIKE '%rows.csv'") == "\u00c5rhus story"


@pytest.mark.parametrize(
    ("text", "encoding", "codec"),
    [
        ("Caf\u00e9 au lait \u2014 a story about S\u00e3o Paulo\n" * 20, "cp1252", "cp1252"),
        (
            "Le caf\u00e9 de la for\u00eat \u00e9tait tr\u00e8s r\u00e9put\u00e9, \u00e0 c\u00f4t\u00e9 de l'h\u00f4tel o\u00f9 "
            "l'on mange des cr\u00eapes.\n",
            "latin-1",
            "cp1252",
        ),
        ("S\u00f8ren k\u00f8rte til \u00c5rhus og spiste r\u00f8dgr\u00f8d med fl\u00f8de.\n", "latin-1", "cp1252"),
        ("Perch\u00e9 la citt\u00e0 \u00e8 cos\u00ec bella? Pi\u00f9 caff\u00e8, per\u00f2.\n", "latin-1", "cp1252"),
        ("Customers in Z\u00fcrich, S\u00e3o Paulo, Malm\u00f6 and Bogot\u00e1 use it.\n", "cp1252", "cp1252"),
        (
            "\u00bfQu\u00e9 pas\u00f3 en Espa\u00f1a? \u00abS\u00ed\u00bb, dijo. It cost \u00a3100.\n",
            "cp1252",
            "cp1252",
        ),
        (
            "\u0158eknu v\u00e1m p\u0159\u00edb\u011bh o m\u011bst\u011b, kde se \u0159\u00edk\u00e1, \u017ee v\u0161echno "
            "bylo lep\u0161\u00ed.\n",
            "cp1250",
            "cp1250",
        ),
        (
            "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144. \u0141\u00f3d\u017a jest pi\u0119knym "
            "miastem.\n",
            "cp1250",
            "cp1250",
        ),
        (
            "\u0150szint\u00e9n sz\u00f3lva ez egy gy\u00f6ny\u00f6r\u0171 nap, \u00e9s \u00fct\u00f6tt az \u00f3ra.\n",
            "cp1250",
            "cp1250",
        ),
        (
            "\u015eirket \u0130stanbul'da b\u00fcy\u00fcd\u00fc; \u0131l\u0131k bir g\u00fcn, g\u00fc\u00e7l\u00fc "
            "m\u00fc\u015fteri.\n",
            "cp1254",
            "cp1254",
        ),
    ],
)
def test_single_byte_text_is_decoded_in_the_code_page_its_letters_fit(text, encoding, codec):
    """Western text (including Latin-1) reads as cp1252; cp1250 wins only when its letters
    (\u0159, \u011b, \u0142, \u0151 ...) are what makes the text one language."""
    decoded, warning = decode_text(text.encode(encoding))
    assert decoded == text
    assert warning.startswith(f"not valid UTF-8; decoded as {codec}")


def test_a_symlinked_folder_outside_the_root_is_recorded_as_a_warning(settings, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nPayroll data that must never be ingested.", encoding="utf-8")
    root = tmp_path / "lib"
    root.mkdir()
    (root / "ok.md").write_text(f"# Ok\n\n{STORY}", encoding="utf-8")
    os.symlink(outside, root / "linked")
    (root / "inner").mkdir()
    os.symlink(root / "inner", root / "alias")  # inside the root: not walked twice, nothing to report
    os.symlink(root / "loop-b.md", root / "loop-a.md")  # a loop: recorded, never followed
    os.symlink(root / "loop-a.md", root / "loop-b.md")
    os.symlink(root / "loop-d", root / "loop-c")
    os.symlink(root / "loop-c", root / "loop-d")
    summary = ingest(settings, root)
    assert (summary.new, summary.errors, summary.status) == (1, 0, "completed")
    got = problems(settings.home)
    [(reason, severity, detail)] = got["linked"]
    assert (reason, severity) == ("outside_root", "warning")
    assert f"symlink to the folder {outside} leads outside {root}; not followed" == detail
    for loop in ("loop-a.md", "loop-b.md", "loop-c", "loop-d"):
        assert got[loop][0][:2] == ("outside_root", "warning") and "cannot be resolved" in got[loop][0][2]
    assert set(got) == {"linked", "loop-a.md", "loop-b.md", "loop-c", "loop-d"}


def test_ingest_exit_status_tells_completed_partial_and_failed_apart(tmp_path, home):
    from typer.testing import CliRunner

    from reffy.cli import app

    good, mixed, bad = (tmp_path / n for n in ("good", "mixed", "bad"))
    for folder in (good, mixed, bad):
        folder.mkdir()
    (good / "a.md").write_text(f"# A\n\n{STORY}", encoding="utf-8")
    (good / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # a warning only
    (mixed / "b.md").write_text(f"# B\n\n{STORY} B", encoding="utf-8")
    (mixed / "deep.json").write_text(deep_json(), encoding="utf-8")
    non_utf8_name(mixed, b"caf\xe9-deep", b".json").write_text(deep_json(), encoding="utf-8")
    (bad / "deep.json").write_text(deep_json(), encoding="utf-8")
    runner = CliRunner()
    home_opt = ["--home", str(home)]
    assert runner.invoke(app, ["ingest", str(good), *home_opt]).exit_code == 0
    partial = runner.invoke(app, ["ingest", str(mixed), *home_opt])
    assert partial.exit_code == 3 and "partial" in partial.output
    failed = runner.invoke(app, ["ingest", str(bad), "--json", *home_opt])
    assert failed.exit_code == 1 and json.loads(failed.output)["status"] == "failed"
    status = runner.invoke(app, ["status", *home_opt]).output
    assert "partial" in status and "failed" in status and "caf\\xe9-deep.json" in status
    assert "3 partial" in " ".join(runner.invoke(app, ["ingest", "--help"]).output.split())


def test_peak_memory_of_a_hostile_folder_stays_under_1_gb(tmp_path):
    """1 GB zip bombs named .docx/.pptx/.xlsx, an alias bomb, 100,000-deep JSON, a 45 MB
    single-line JSONL and a non-UTF-8 name, ingested by `reffy ingest` in a child process."""
    root = hostile_folder(tmp_path / "lib")
    driver = (
        "import json, os, resource, subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-m', 'reffy.cli', 'ingest', sys.argv[1], '--json'],"
        " capture_output=True, text=True)\n"
        "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr[-2000:],"
        " 'peak_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    env = {**os.environ, "REFFY_HOME": str(tmp_path / "home"), "PYTHONPATH": str(TESTS.parent)}
    result = json.loads(
        subprocess.run(
            [sys.executable, "-c", driver, str(root)], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert result["rc"] == 3, result["err"]
    summary = json.loads(result["out"])
    assert (summary["status"], summary["new"], summary["errors"]) == ("partial", 5, 7)
    peak_mb = result["peak_kb"] / 1024
    print(f"peak RSS of `reffy ingest` on the hostile folder: {peak_mb:.0f} MB")
    assert peak_mb < 1024
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def test_a_folder_that_cannot_be_listed_is_an_error_and_removes_nothing(settings, tmp_path, monkeypatch):
    """Tests run as root, who can list anything: the OS refusal is injected at os.walk's
    error hook, exactly where a permission error would arrive."""
    import ingest.sources.files as files

    root = tmp_path / "lib"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text(f"# A\n\n{STORY}", encoding="utf-8")
    (root / "sub" / "b.md").write_text(f"# B\n\n{STORY} Bee.", encoding="utf-8")
    assert ingest(settings, root).new == 2
    real_walk = os.walk

    def walk(top, followlinks=False, onerror=None):
        for dirpath, dirnames, filenames in real_walk(top, followlinks=followlinks, onerror=onerror):
            if "sub" in dirnames:
                dirnames.remove("sub")
                onerror(PermissionError(13, "Permission denied", os.path.join(dirpath, "sub")))
            yield dirpath, dirnames, filenames

    monkeypatch.setattr(files.os, "walk", walk)
    summary = ingest(settings, root)
    assert (summary.status, summary.removed, summary.unchanged) == ("partial", 0, 1)
    [(reason, severity, detail)] = problems(settings.home)["sub"]
    assert (reason, severity) == ("unreadable", "error") and "Permission denied" in detail
    assert scalar(settings.home, "SELECT count(*) FROM bronze_current") == 2
