"""Every class of bad input lands in ingest_errors with a readable reason; the run goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import STORY, query, scalar

from reffy.config import load_settings
from reffy.service import ReffyService


def good(root: Path) -> None:
    (root / "good.md").write_text(f"# Nordvik Bank\n\n{STORY}\n", encoding="utf-8")


def problems(home: Path) -> dict[str, tuple[str, str, str]]:
    rows = query(home, "SELECT origin, reason, severity, detail FROM ingest_errors")
    return {Path(o).name: (r, s, d) for o, r, s, d in rows}


def run(settings, root: Path):
    return ReffyService(settings).ingest([str(root)])


@pytest.mark.parametrize(
    ("name", "content", "reason", "severity", "ingested"),
    [
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", "corrupt", "error", False),
        ("empty.md", b"", "empty", "error", False),
        ("blank.txt", b"   \n\n  \n", "empty", "error", False),
        (
            "latin1.txt",
            "Caf\u00e9 au lait \u2014 a story about S\u00e3o Paulo\n".encode("cp1252", "replace") * 20,
            "encoding",
            "warning",
            True,
        ),
        ("garbage.txt", bytes(range(256)) * 40, "mislabelled", "error", False),
        ("really-text.pdf", STORY.encode(), "mislabelled", "warning", True),
        ("legacy.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "unsupported", "warning", False),
        ("old.ppt", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "unsupported", "warning", False),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "unsupported", "warning", False),
        ("notzip.docx", b"PK\x03\x04 this is not really a zip", "mislabelled", "error", False),
        ("bad.json", b'{"title": "x", ', "corrupt", "error", False),
    ],
)
def test_bad_file_is_recorded_and_the_good_one_still_ingests(
    settings, tmp_path, name, content, reason, severity, ingested
):
    root = tmp_path / "lib"
    root.mkdir()
    good(root)
    (root / name).write_bytes(content)
    summary = run(settings, root)
    assert summary.status == ("partial" if severity == "error" else "completed")  # warnings: the item was read
    got = problems(settings.home)
    assert got[name][:2] == (reason, severity), got
    assert len(got[name][2]) > 15  # a readable sentence, not a bare code
    origins = {Path(o).name for (o,) in query(settings.home, "SELECT origin FROM bronze_current")}
    assert "good.md" in origins
    assert (name in origins) is ingested


def test_oversized_file_is_refused_without_reading_it(tmp_path, home):
    settings = load_settings(home=home, max_file_mb=0.001)
    root = tmp_path / "lib"
    root.mkdir()
    (root / "huge.txt").write_text("word " * 2000, encoding="utf-8")
    (root / "small.txt").write_text("A small story about Nordvik Bank.", encoding="utf-8")
    summary = run(settings, root)
    reason, _, detail = problems(settings.home)["huge.txt"]
    assert reason == "too_large" and "REFFY_MAX_FILE_MB" in detail
    assert summary.new == 1


def test_symlink_leading_outside_the_root_is_not_followed(settings, tmp_path):
    outside = tmp_path / "secret.md"
    outside.write_text("# Secret\n\nPayroll data that must never be ingested.", encoding="utf-8")
    root = tmp_path / "lib"
    root.mkdir()
    good(root)
    os.symlink(outside, root / "link.md")
    (root / "sub").mkdir()
    os.symlink(tmp_path, root / "sub" / "loop")  # a directory link: never walked
    (root / "inside.md").write_text("# Inside\n\nA story inside the root folder, linked.", encoding="utf-8")
    os.symlink(root / "inside.md", root / "alias.md")
    run(settings, root)
    assert problems(settings.home)["link.md"][0] == "outside_root"
    texts = " ".join(t for (t,) in query(settings.home, "SELECT text FROM bronze_records"))
    assert "Payroll" not in texts
    assert scalar(settings.home, "SELECT count(*) FROM bronze_records WHERE origin LIKE '%alias.md'") == 1


def test_failed_file_is_retried_on_the_next_run_and_then_ingests(settings, tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    bad = root / "story.md"
    bad.write_bytes(b"")
    run(settings, root)
    bad.write_text(f"# Fixed\n\n{STORY}", encoding="utf-8")
    assert run(settings, root).new == 1


def test_bad_rows_do_not_stop_the_rest_of_a_jsonl_file(settings, tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"slug": "a", "title": "A", "body": "Story A text"}\n'
        "{not json}\n"
        '["a list"]\n'
        '{"slug": "c", "title": "C", "body": ""}\n'
        '{"slug": "d", "title": "D", "body": "Story D text"}\n',
        encoding="utf-8",
    )
    summary = ReffyService(settings).ingest([str(path)])
    assert summary.new == 2 and summary.errors == 3
    reasons = sorted(r for (r,) in query(settings.home, "SELECT reason FROM ingest_errors"))
    assert reasons == ["empty", "parse_error", "parse_error"]
    details = " ".join(d for (d,) in query(settings.home, "SELECT detail FROM ingest_errors"))
    assert "line 2" in details and "line 3" in details


def test_missing_path_is_a_clear_error(settings, tmp_path):
    from reffy.errors import SourceNotFound

    with pytest.raises(SourceNotFound, match="No such file, folder or URL"):
        ReffyService(settings).ingest([str(tmp_path / "nope")])
