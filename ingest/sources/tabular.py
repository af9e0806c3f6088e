"""Many stories per file: JSON, JSONL, CSV and XLSX exports, one story per object or row.

A field map says which field is the record id, the title and the story text; every
other field is kept as source metadata. Unset roles are guessed from common names
(``id``/``slug``, ``title``/``name``, ``body``/``text``/``story``), so the shared corpus
(``slug``, ``title``, ``body`` + company, industry, tags, year, link) and typical CRM
or spreadsheet exports ingest without configuration. A bad row is reported and skipped;
the rest of the file still ingests.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from typing import Any

from ingest.sources.base import (
    Extracted,
    ExtractionError,
    FileInput,
    RowProblem,
    check_zip,
    decode_text,
    describe_failure,
)

ROLE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "id": ("id", "slug", "uuid", "key", "story_id", "record_id"),
    "title": ("title", "name", "headline", "subject"),
    "text": ("body", "text", "story", "content", "full_text", "description"),
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


class FieldMap:
    """Resolves roles (id, title, text) to the actual field names of one file."""

    def __init__(self, fields: Iterable[str], explicit: Mapping[str, str]) -> None:
        by_norm = {_norm(f): f for f in fields if f is not None}
        self.roles: dict[str, str | None] = {}
        for role, candidates in ROLE_CANDIDATES.items():
            wanted = explicit.get(role)
            if wanted is not None:
                self.roles[role] = by_norm.get(_norm(wanted))
                continue
            self.roles[role] = next((by_norm[c] for c in candidates if c in by_norm), None)

    def require_text(self, origin_desc: str, explicit: Mapping[str, str]) -> str:
        text_field = self.roles["text"]
        if text_field is None:
            hint = f"field '{explicit['text']}' is not there" if "text" in explicit else "no story-text field found"
            raise ExtractionError(
                "parse_error",
                f'{origin_desc}: {hint}; name it with --map text=FIELD (or REFFY_FIELD_MAP=\'{{"text": "FIELD"}}\')',
            )
        return text_field


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rows_to_stories(
    rows: Iterable[tuple[str, Mapping[str, Any] | RowProblem]],
    fields: Iterable[str],
    inp: FileInput,
    source_type: str,
) -> Iterator[Extracted | RowProblem]:
    """Stories of ``rows`` (consumed lazily, one at a time). A row that fails for any reason
    is a RowProblem; the next row is still read."""
    explicit = inp.settings.field_map
    fmap = FieldMap(fields, explicit)
    text_field = fmap.require_text(inp.path.name, explicit)
    seen_ids: dict[str, int] = {}
    for position, row in rows:
        if isinstance(row, RowProblem):
            yield row
            continue
        try:
            story = _row_story(row, position, fmap, text_field, seen_ids, inp, source_type)
        except Exception as exc:
            reason, detail = describe_failure(exc, position)
            yield RowProblem(reason, detail)
            continue
        yield story


def _row_story(
    row: Mapping[str, Any],
    position: str,
    fmap: FieldMap,
    text_field: str,
    seen_ids: dict[str, int],
    inp: FileInput,
    source_type: str,
) -> Extracted | RowProblem:
    record_id = _record_id(row, fmap, position, seen_ids)
    text = row.get(text_field)
    text = "" if text is None else str(text).strip()
    if not text:
        return RowProblem("empty", f"{position}: the '{text_field}' field is empty", record_id)
    title_field = fmap.roles["title"]
    title = str(row.get(title_field) or "").strip() if title_field else ""
    meta = {
        str(k): _jsonable(v)
        for k, v in row.items()
        if k not in (text_field, title_field) and k is not None and v not in (None, "")
    }
    return Extracted(
        title=title or text.split("\n", 1)[0][:120],
        text=text,
        meta=meta,
        source_record_id=record_id,
        source_uri=f"{inp.path.resolve().as_uri()}#{record_id}",
        source_type=source_type,
    )


def _record_id(row: Mapping[str, Any], fmap: FieldMap, position: str, seen: dict[str, int]) -> str:
    """The row's id field; else its title; else its position. Repeats get a #n suffix."""
    id_field, title_field = fmap.roles["id"], fmap.roles["title"]
    base = str(row.get(id_field) or "").strip() if id_field else ""
    if not base and title_field:
        base = _norm(str(row.get(title_field) or ""))
    base = base or position
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}#{seen[base]}"


# -- JSON / JSONL ---------------------------------------------------------------------
def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the non-blank lines, without building a list of all lines.
    Only CR, LF and CRLF end a line: U+2028 and friends are legal inside a JSON string.
    (str.find, not a regex: a 50 MB line is scanned at memchr speed.)"""
    start, lineno, size = 0, 0, len(text)
    while start < size:
        newline = text.find("\n", start)
        stop = size if newline < 0 else newline
        cr = text.find("\r", start, stop)
        end = stop if cr < 0 else cr
        following = stop + 1 if cr < 0 else cr + (2 if text.startswith("\n", cr + 1) else 1)
        lineno += 1
        if end > start and not text[start:end].isspace():
            yield lineno, text[start:end]
        start = following


def _too_deep(value: Any, limit: int) -> bool:
    """True when ``value`` nests containers more than ``limit`` levels deep (iterative)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return False


def _deep_problem(what: str, limit: int) -> str:
    return (
        f"{what}: nested more than {limit} levels deep (limit REFFY_MAX_JSON_DEPTH); refused as broken or "
        "hostile: flatten or remove it"
    )


def _value_error(exc: ValueError) -> str:
    text = " ".join(str(exc).split())
    if "integer string conversion" in text:
        return "a number is thousands of digits long, more than any real value"
    return text[:160]


def _json_line(lineno: int, line: str, max_depth: int) -> dict[str, Any] | RowProblem:
    where = f"line {lineno}"
    try:
        obj = json.loads(line)
    except RecursionError:
        return RowProblem("too_deep", _deep_problem(where, max_depth))
    except json.JSONDecodeError as exc:
        return RowProblem("parse_error", f"{where}: not valid JSON ({exc.msg})")
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        return RowProblem("parse_error", f"{where}: not valid JSON ({_value_error(exc)})")
    if not isinstance(obj, dict):
        return RowProblem("parse_error", f"{where}: expected a JSON object")
    if _too_deep(obj, max_depth):
        return RowProblem("too_deep", _deep_problem(where, max_depth))
    return obj


def extract_jsonl(inp: FileInput) -> Iterator[Extracted | RowProblem]:
    """One story per line. Two passes, so memory holds one line's object, not the file's:
    the first learns the field names (for the field map), the second yields stories."""
    text, warning = decode_text(inp.data)
    max_depth = inp.settings.max_json_depth
    fields: dict[str, None] = {}
    lines = objects = 0
    for lineno, line in _lines(text):
        lines += 1
        obj = _json_line(lineno, line, max_depth)
        if isinstance(obj, dict):
            objects += 1
            fields.update(dict.fromkeys(obj))
    if not objects:
        reason = "empty" if not lines else "parse_error"
        raise ExtractionError(reason, "no JSON objects found (one story object per line expected)")
    rows = ((f"line {lineno}", _json_line(lineno, line, max_depth)) for lineno, line in _lines(text))
    yield from _with_warning(_rows_to_stories(rows, fields, inp, "jsonl"), warning)


def extract_json(inp: FileInput) -> Iterator[Extracted | RowProblem]:
    text, warning = decode_text(inp.data)
    max_depth = inp.settings.max_json_depth
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ExtractionError(
            "too_deep",
            "the JSON is nested too deeply to parse (hundreds of levels); refused as "
            "broken or hostile: export the stories again as a flat array of objects",
        ) from None
    except json.JSONDecodeError as exc:
        raise ExtractionError(
            "corrupt", f"not valid JSON ({exc.msg} at line {exc.lineno}); fix the file or export it again"
        ) from exc
    except ValueError as exc:  # e.g. an integer longer than Python's 4300-digit limit
        raise ExtractionError(
            "corrupt", f"not valid JSON ({_value_error(exc)}); fix the file or export it again"
        ) from exc
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        doc = lists[0] if len(lists) == 1 else [doc]
    if not isinstance(doc, list) or not doc:
        raise ExtractionError("empty", "no story objects found (expected an array of objects)")
    rows: list[tuple[str, Mapping[str, Any] | RowProblem]] = []
    fields: dict[str, None] = {}
    for i, obj in enumerate(doc, start=1):
        if not isinstance(obj, dict):
            rows.append((f"item {i}", RowProblem("parse_error", f"item {i}: expected a JSON object")))
        elif _too_deep(obj, max_depth):
            rows.append((f"item {i}", RowProblem("too_deep", _deep_problem(f"item {i}", max_depth))))
        else:
            fields.update(dict.fromkeys(obj))
            rows.append((f"item {i}", obj))
    del doc
    yield from _with_warning(_rows_to_stories(rows, fields, inp, "json"), warning)


# -- CSV / XLSX -------------------------------------------------------------------------
def extract_csv(inp: FileInput) -> Iterator[Extracted | RowProblem]:
    text, warning = decode_text(inp.data)
    if not text.strip():
        raise ExtractionError("empty", "the CSV file is empty")
    try:  # sniff only the delimiter: the sniffer's quoting guesses are unreliable
        delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if inp.path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(max(int(inp.settings.max_file_mb * 1024 * 1024), 131072))
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=csv.excel, delimiter=delimiter)
    if not reader.fieldnames:
        raise ExtractionError("empty", "the CSV file has no header row")

    def rows() -> Iterator[tuple[str, Mapping[str, Any] | RowProblem]]:  # streamed: one row in memory
        try:
            for row in reader:
                position = f"row {reader.line_num}"
                if None in row:  # more cells than headers
                    extra = row.pop(None)
                    if any(str(x).strip() for x in extra):
                        yield position, RowProblem("parse_error", f"{position}: more cells than header columns")
                        continue
                yield position, row
        except csv.Error as exc:
            yield f"row {reader.line_num}", RowProblem("parse_error", f"row {reader.line_num}: {exc}")

    yield from _with_warning(_rows_to_stories(rows(), reader.fieldnames, inp, "csv"), warning)


def _sheet_rows(sheet: Any) -> tuple[list[str], Iterator[tuple[str, dict[str, Any]]]] | None:
    """(header, rows) of a sheet, rows streamed; None when no row has two values."""
    cells = sheet.iter_rows(values_only=True)
    for header_at, first in enumerate(cells):  # noqa: B007 - the header's row number counts on below
        if sum(v is not None for v in first) >= 2:
            break
    else:
        return None
    header = [str(v).strip() if v is not None else f"column_{j + 1}" for j, v in enumerate(first)]

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for i, r in enumerate(cells):
            if any(v not in (None, "") for v in r):
                yield f"{sheet.title}!row {header_at + 2 + i}", dict(zip(header, r, strict=False))

    return header, rows()


def extract_xlsx(inp: FileInput) -> Iterator[Extracted | RowProblem]:
    from openpyxl import load_workbook

    check_zip(inp.data, inp.settings, "workbook")
    try:
        wb = load_workbook(io.BytesIO(inp.data), read_only=True, data_only=True)
    except Exception as exc:
        raise ExtractionError("corrupt", f"the workbook could not be read ({exc}); re-save it as .xlsx") from exc
    produced = False
    problems: list[str] = []
    try:
        for sheet in wb.worksheets:
            try:
                found = _sheet_rows(sheet)
                if found is None:
                    continue
                header, rows = found
                try:
                    FieldMap(header, inp.settings.field_map).require_text(inp.path.name, inp.settings.field_map)
                except ExtractionError as exc:
                    problems.append(f"sheet '{sheet.title}': {exc.detail}")
                    continue
                for item in _rows_to_stories(rows, header, inp, "xlsx"):
                    if isinstance(item, Extracted) and len(wb.worksheets) > 1:
                        item.source_record_id = f"{sheet.title}!{item.source_record_id}"
                        item.source_uri = f"{inp.path.resolve().as_uri()}#{item.source_record_id}"
                        item.meta.setdefault("sheet", sheet.title)
                    produced = produced or isinstance(item, Extracted)
                    yield item
            except Exception as exc:
                reason, detail = describe_failure(exc, f"sheet '{sheet.title}'")
                yield RowProblem(reason, detail)
                problems.append(f"sheet '{sheet.title}' could not be read")
    finally:
        wb.close()
    if not produced:
        raise ExtractionError("empty", "no sheet with a header row and story text: " + "; ".join(problems or ["empty"]))


def _with_warning(items: Iterator[Extracted | RowProblem], warning: str | None) -> Iterator[Extracted | RowProblem]:
    first = True
    for item in items:
        if first and warning and isinstance(item, Extracted):
            item.warnings.append(("encoding", warning))
            first = False
        yield item


EXTRACTORS = {
    ".jsonl": extract_jsonl,
    ".ndjson": extract_jsonl,
    ".json": extract_json,
    ".csv": extract_csv,
    ".tsv": extract_csv,
    ".xlsx": extract_xlsx,
}
