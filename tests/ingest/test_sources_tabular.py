"""JSON, JSONL, CSV and XLSX exports: one story per row, field mapping, metadata kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import query, scalar, write_jsonl

from ingest.sources.base import Extracted, ExtractionError, FileInput, RowProblem
from ingest.sources.tabular import extract_csv, extract_json, extract_jsonl, extract_xlsx
from reffy.config import load_settings
from reffy.service import ReffyService


def run(extractor, path: Path, settings):
    return list(extractor(FileInput(path, path.read_bytes(), settings)))


def test_jsonl_guesses_roles_and_keeps_other_fields_as_meta(settings, tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {
                "slug": "acme-chatbot",
                "title": "Acme chatbot",
                "company": "Acme",
                "industry": "retail",
                "tags": ["chatbot", "rag"],
                "year": 2024,
                "link": "https://acme.example/x",
                "body": "Acme built a bot.",
            },
        ],
    )
    (item,) = run(extract_jsonl, path, settings)
    assert item.source_record_id == "acme-chatbot" and item.title == "Acme chatbot"
    assert item.text == "Acme built a bot."
    assert item.meta == {
        "slug": "acme-chatbot",
        "company": "Acme",
        "industry": "retail",
        "tags": ["chatbot", "rag"],
        "year": 2024,
        "link": "https://acme.example/x",
    }
    assert item.source_uri.endswith("s.jsonl#acme-chatbot")


def test_explicit_field_map_wins(tmp_path, home):
    settings = load_settings(home=home, field_map={"id": "ref", "title": "headline", "text": "narrative"})
    path = write_jsonl(tmp_path / "s.jsonl", [{"ref": "R1", "headline": "H", "narrative": "N text", "body": "other"}])
    (item,) = run(extract_jsonl, path, settings)
    assert (item.source_record_id, item.title, item.text) == ("R1", "H", "N text")
    assert item.meta == {"ref": "R1", "body": "other"}  # the id stays in meta too


def test_missing_text_field_explains_how_to_map_it(settings, tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [{"slug": "a", "title": "A", "words": "x"}])
    with pytest.raises(ExtractionError, match="--map text=FIELD") as exc:
        run(extract_jsonl, path, settings)
    assert exc.value.reason == "parse_error"


def test_rows_without_id_use_title_then_repeat_suffix(settings, tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl", [{"title": "Same Name", "text": "one"}, {"title": "Same Name", "text": "two"}]
    )
    ids = [i.source_record_id for i in run(extract_jsonl, path, settings)]
    assert ids == ["same_name", "same_name#2"]


def test_json_array_and_wrapped_object(settings, tmp_path):
    arr = tmp_path / "a.json"
    arr.write_text(json.dumps([{"id": 1, "title": "A", "text": "alpha"}, 5]), encoding="utf-8")
    items = run(extract_json, arr, settings)
    assert isinstance(items[0], Extracted) and items[0].source_record_id == "1"
    assert isinstance(items[1], RowProblem) and items[1].reason == "parse_error"
    wrapped = tmp_path / "w.json"
    wrapped.write_text(
        json.dumps({"version": 2, "stories": [{"id": "x", "title": "X", "body": "b"}]}), encoding="utf-8"
    )
    assert [i.source_record_id for i in run(extract_json, wrapped, settings)] == ["x"]


def test_csv_with_semicolons_quotes_and_multiline_cells(settings, tmp_path):
    path = tmp_path / "refs.csv"
    path.write_text(
        "id;title;customer;country;story\n"
        '1;"Bank; Denmark";Nordvik Bank;DK;"Line one.\nLine two with ""quotes""."\n'
        "2;Empty;Someone;SE;\n",
        encoding="utf-8",
    )
    items = run(extract_csv, path, settings)
    first, problem = items
    assert first.title == "Bank; Denmark" and first.text == 'Line one.\nLine two with "quotes".'
    assert first.meta == {"id": "1", "customer": "Nordvik Bank", "country": "DK"}
    assert isinstance(problem, RowProblem) and problem.reason == "empty" and problem.source_record_id == "2"


def test_csv_in_cp1252_is_decoded_with_a_warning(settings, tmp_path):
    path = tmp_path / "refs.csv"
    path.write_bytes("id,title,story\n1,Caf\u00e9,S\u00e3o Paulo retailer story\n".encode("cp1252"))
    (item,) = run(extract_csv, path, settings)
    assert item.title == "Caf\u00e9" and item.warnings and item.warnings[0][0] == "encoding"


def test_xlsx_rows_become_stories_per_sheet(settings, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Wins"
    ws.append(["Internal wins export"])  # a banner row above the header
    ws.append(["id", "title", "shareability", "published", "story"])
    ws.append([7, "Big win", "internal", datetime(2025, 3, 1), "We won against Zentrix."])
    ws.append([None, None, None, None, None])
    other = wb.create_sheet("Notes")
    other.append(["only", "notes"])
    other.append(["a", "b"])
    path = tmp_path / "wins.xlsx"
    wb.save(path)
    items = [i for i in run(extract_xlsx, path, settings) if isinstance(i, Extracted)]
    assert len(items) == 1
    (item,) = items
    assert item.source_record_id == "Wins!7" and item.text == "We won against Zentrix."
    assert item.meta["shareability"] == "internal" and item.meta["published"] == "2025-03-01T00:00:00"


def test_corrupt_xlsx_is_reported(settings, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ExtractionError) as exc:
        run(extract_xlsx, path, settings)
    assert exc.value.reason == "corrupt"


@pytest.mark.corpus
def test_shared_corpus_ingests_every_story_with_its_metadata(settings, corpus_path):
    summary = ReffyService(settings).ingest([str(corpus_path)])
    expected = sum(1 for line in corpus_path.open(encoding="utf-8") if line.strip())
    assert summary.new == expected == 1483 and summary.errors == 0
    first = json.loads(corpus_path.open(encoding="utf-8").readline())
    row = query(
        settings.home, "SELECT title, text, meta FROM bronze_current WHERE source_record_id = ?", [first["slug"]]
    )[0]
    meta = json.loads(row[2])
    assert row[0] == first["title"] and row[1] == first["body"].strip()
    for key in ("company", "industry", "tags", "year", "link"):
        assert meta[key] == first[key]
    assert scalar(settings.home, "SELECT count(DISTINCT source_record_id) FROM bronze_current") == expected
    again = ReffyService(settings).ingest([str(corpus_path)])
    assert (again.new, again.unchanged) == (0, expected)
