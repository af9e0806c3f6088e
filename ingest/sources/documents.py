"""Extractors for one-story files: Markdown, plain text, HTML, PDF, Word, PowerPoint, captions.

Each extractor takes a :class:`FileInput` and returns a one-element list of
:class:`Extracted`. Library failures never escape: they become :class:`ExtractionError`
with a Problem reason code (``corrupt``, ``empty``, ``encoding``, ``encrypted``) and a
detail that says what to do. Recoverable oddities (a guessed encoding, broken front
matter, an unreadable PDF page) become warnings on a story that is still ingested,
because a story with a caveat is more useful than a missing one.

Size: one extractor per document format (PDF, Word, PowerPoint, captions, HTML, Markdown), each
short, kept together because they share the error vocabulary and the block model.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import re
from typing import Any

from ingest.sources.base import (
    Extracted,
    ExtractionError,
    Extractor,
    FileInput,
    check_zip,
    decode_text,
    first_line_title,
)
from ingest.sources.html import extract_html
from reffy.wording import plural

# Values tools write when the user set nothing; as a title or author they mislead.
_PLACEHOLDERS = {"python-docx", "python-pptx", "powerpoint presentation", "untitled"}


def tidy(text: str) -> str:
    """Modest normalisation: unified newlines, no trailing spaces, at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def humanise(stem: str) -> str:
    """``acme-bank_keynote`` -> ``Acme bank keynote``: a readable title from a file name."""
    words = re.sub(r"[-_.\s]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else "Untitled"


def _cause(exc: BaseException) -> str:
    """One short line naming what went wrong, for a Problem detail."""
    msg = " ".join(str(exc).split())  # YAML and lxml messages span lines
    msg = msg[:200] + "..." if len(msg) > 200 else msg
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _prop(value: Any) -> str | None:
    """A document property as a clean string, or None when unset or a tool's placeholder."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text if text and text.lower() not in _PLACEHOLDERS else None


def _jsonable(value: Any) -> Any:
    """Front matter made JSON-able: dates to ISO strings, unknown objects to strings."""
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _binary(inp: FileInput) -> bytes:
    """The bytes of a binary format; a 0-byte file is empty, not corrupt."""
    if not inp.data:
        raise ExtractionError("empty", "the file is empty (0 bytes)")
    return inp.data


def _decode(inp: FileInput) -> tuple[str, list[tuple[str, str]]]:
    """Text of a text format plus the encoding warning, if a guess was made."""
    text, warning = decode_text(inp.data)
    if warning is None:
        return text, []
    return text, [("encoding", f"{warning}; check accented letters and quotes, or save the file as UTF-8")]


def _story(
    inp: FileInput,
    title: str | None,
    text: str,
    source_type: str,
    meta: dict[str, Any] | None = None,
    warnings: list[tuple[str, str]] | None = None,
    *,
    empty: str,
) -> list[Extracted]:
    """The one story of a file; refuses a file with no text (``empty`` is the detail)."""
    text = tidy(text)
    if not text:
        raise ExtractionError("empty", empty)
    title = (title or "").strip() or first_line_title(text, humanise(inp.path.stem))
    return [Extracted(title=title, text=text, meta=meta or {}, source_type=source_type, warnings=warnings or [])]


def _first_h1(markdown: str) -> str | None:
    """The first ``# `` heading outside code fences."""
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#\s+(.+?)\s*#*\s*$", line)):
            return m.group(1)
    return None


MAX_YAML_ALIASES = 20  # anchors are rare in front matter; a billion-laughs bomb needs many aliases


def _bounded_yaml_loader() -> type:
    """A pure-Python SafeLoader that refuses more than MAX_YAML_ALIASES aliases (``*name``,
    ``<<: *name``): nested aliases multiply (9 aliases of 9 aliases of ... is a 397-byte file
    that expands to millions of values), so their number is what must be bounded."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"more than {MAX_YAML_ALIASES} aliases (*name): refused as a possible alias bomb",
                        self.peek_event().start_mark,
                    )
            return super().compose_node(parent, index)

    return BoundedLoader


def _front_matter(raw: str, max_bytes: int) -> tuple[dict[str, Any], str]:
    """(metadata, body) of Markdown with optional front matter. Raises on front matter that
    cannot be parsed, is larger than ``max_bytes`` or uses too many YAML aliases."""
    import frontmatter
    from frontmatter.default_handlers import YAMLHandler

    handler = frontmatter.detect_format(raw, frontmatter.handlers)
    if handler is None:
        return {}, raw
    if isinstance(handler, YAMLHandler):
        loader = _bounded_yaml_loader()

        class BoundedYAML(YAMLHandler):
            def load(self, fm: str, **kwargs: object) -> Any:
                return super().load(fm, Loader=loader)

        handler = BoundedYAML()
    try:
        fm, _ = handler.split(raw)
    except ValueError:  # an opening line without a closing one: no front matter
        return {}, raw
    size = len(fm.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ValueError(
            f"the front matter is {size / 1024:.0f} KB, over the {max_bytes / 1024:.0f} KB limit (REFFY_MAX_META_KB)"
        )
    post = frontmatter.loads(raw, handler=handler)
    return _jsonable(dict(post.metadata)), post.content


def extract_markdown(inp: FileInput) -> list[Extracted]:
    """Markdown with optional YAML front matter; the body stays Markdown.

    Broken front matter does not fail the file: the whole file is ingested as the
    body (front matter kept as text, so nothing is lost) with a ``parse_error``
    warning, because the story itself is usually fine and fixing YAML is a quick edit.
    The same holds for front matter over REFFY_MAX_META_KB or with more than
    MAX_YAML_ALIASES aliases (a YAML alias bomb): it is never expanded.
    """
    raw, warnings = _decode(inp)
    meta: dict[str, Any] = {}
    body = raw
    try:
        meta, body = _front_matter(raw, int(inp.settings.max_meta_kb * 1024))
    except Exception as exc:  # yaml/toml/json errors, non-mapping front matter, limits
        warnings.append(
            (
                "parse_error",
                f"front matter could not be parsed ({_cause(exc)}); the file was ingested with "
                "the front matter kept as text: fix the YAML between the '---' lines to get its fields",
            )
        )
    title = _prop(meta.get("title")) or _first_h1(body) or humanise(inp.path.stem)
    return _story(inp, title, body, "markdown", meta, warnings, empty="the Markdown file has no text")


def extract_plain_text(inp: FileInput) -> list[Extracted]:
    """Plain text: the first line is the title, the whole text is the story."""
    text, warnings = _decode(inp)
    return _story(inp, None, text, "text", {}, warnings, empty="the text file is empty")


def extract_html_file(inp: FileInput) -> list[Extracted]:
    """An HTML file: main text and metadata via the shared trafilatura extraction."""
    html, warnings = _decode(inp)
    try:
        ex = extract_html(html, fallback_title=humanise(inp.path.stem))
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractionError(
            "corrupt", f"HTML could not be parsed: {_cause(exc)}; check the file opens in a browser"
        ) from exc
    ex.text, ex.source_type, ex.warnings = tidy(ex.text), "html", [*warnings, *ex.warnings]
    return [ex]


_BULLET = re.compile(r"([-•*▪◦‣–]|\d{1,3}[.)])\s")


def _reflow(page: str) -> str:
    """Undo PDF hard wrapping: rejoin hyphenated words and wrapped lines into paragraphs.

    pypdf gives one line per printed line and rarely a blank line between paragraphs,
    so a paragraph ends where a line is clearly shorter than the page's full lines and
    ends a sentence, or is short like a heading, or the next line is a list item.
    """
    page = page.replace("\u00ad\n", "").replace("\u00ad", "")
    page = re.sub(r"(?<=[^\W\d_])-[ \t]*\n[ \t]*(?=[a-z])", "", page)  # transfor-\nmation
    lines = [line.strip() for line in page.split("\n")]
    width = max((len(line) for line in lines), default=0)
    paras: list[str] = []
    cur, prev = "", ""
    for line in lines:
        if cur and (
            not line
            or _BULLET.match(line)
            or (prev[-1] in '.!?:"”)' and len(prev) < 0.8 * width)
            or (len(prev) < 0.6 * width and line[:1].isupper())
        ):
            paras.append(cur)
            cur = ""
        if line:
            cur = line if not cur else cur + ("" if cur.endswith("-") else " ") + line
        prev = line
    if cur:
        paras.append(cur)
    return "\n\n".join(paras)


def extract_pdf(inp: FileInput) -> list[Extracted]:
    """PDF text layer via pypdf, reflowed; refuses scanned (text-less) and locked files."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    locked = "the PDF is password-protected: save a copy without a password and ingest that"
    try:
        reader = PdfReader(io.BytesIO(_binary(inp)))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("encrypted", locked)
        pages = list(reader.pages)
        info = reader.metadata
    except ExtractionError:
        raise
    except DependencyError as exc:
        raise ExtractionError("encrypted", f"{locked} ({_cause(exc)})") from exc
    except Exception as exc:
        raise ExtractionError("corrupt", f"PDF could not be read: {_cause(exc)}; re-export or re-save it") from exc
    texts: list[str] = []
    warnings: list[tuple[str, str]] = []
    for n, page in enumerate(pages, 1):
        try:
            texts.append(_reflow(page.extract_text() or ""))
        except Exception as exc:
            warnings.append(
                ("corrupt", f"page {n} of the PDF could not be read ({_cause(exc)}); it is missing from the text")
            )
    if pages and len(warnings) == len(pages):
        raise ExtractionError(
            "corrupt", f"no page of the PDF could be read ({warnings[0][1]}); re-export or re-save it"
        )
    meta: dict[str, Any] = {"pages": len(pages)}
    meta.update({k: v for k in ("title", "author", "subject") if (v := _prop(getattr(info, k, None)))})
    empty = (
        f"the PDF has {plural(len(pages), 'page')} but no text layer (probably scanned): run OCR first "
        "(e.g. ocrmypdf) and ingest it again"
    )
    return _story(inp, meta.get("title"), "\n\n".join(t for t in texts if t), "pdf", meta, warnings, empty=empty)


def _docx_blocks(doc: Any) -> list[tuple[str, str]]:
    """(kind, markdown) per body block in document order: heading, list, para or table."""
    from docx.table import Table

    blocks: list[tuple[str, str]] = []
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            rows = []
            for row in item.rows:
                seen: list[Any] = []  # a merged cell repeats in row.cells: keep it once
                cells = []
                for cell in row.cells:
                    if not any(cell._tc is tc for tc in seen):
                        seen.append(cell._tc)
                        cells.append(" ".join(cell.text.split()))
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append(("table", "\n".join(rows)))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        num = item._p.pPr.numPr if item._p.pPr is not None else None
        heading = re.fullmatch(r"Heading (\d)", style)
        if style == "Title" or heading:
            level = 1 if heading is None else min(int(heading.group(1)) + 1, 6)
            blocks.append(("heading", f"{'#' * level} {text}"))
        elif num is not None or style.startswith("List"):
            depth = num.ilvl.val if num is not None and num.ilvl is not None else 0
            blocks.append(("list", f"{'  ' * depth}- {text}"))
        else:
            blocks.append(("para", text))
    return blocks


def extract_docx(inp: FileInput) -> list[Extracted]:
    """Word body as Markdown-ish text: Title -> ``#``, Heading N -> ``#`` * (N+1), lists, tables."""
    import docx

    data = _binary(inp)
    check_zip(data, inp.settings, "Word document")
    try:
        doc = docx.Document(io.BytesIO(data))
        blocks = _docx_blocks(doc)
        props = doc.core_properties
        meta: dict[str, Any] = {
            k: v for k in ("title", "author", "subject", "keywords") if (v := _prop(getattr(props, k)))
        }
    except Exception as exc:
        raise ExtractionError(
            "corrupt",
            f"Word document could not be read: {_cause(exc)}; open it in Word or LibreOffice and save it "
            "again as .docx",
        ) from exc
    if "keywords" in meta:
        meta["keywords"] = [k.strip() for k in re.split(r"[,;]", meta["keywords"]) if k.strip()]
    parts: list[str] = []
    for i, (kind, text) in enumerate(blocks):
        if i:
            parts.append("\n" if kind == "list" and blocks[i - 1][0] == "list" else "\n\n")
        parts.append(text)
    heading = next((t.lstrip("# ") for k, t in blocks if k == "heading"), None)
    return _story(
        inp, meta.get("title") or heading, "".join(parts), "docx", meta, empty="the Word document has no text"
    )


def _shape_texts(shapes: Any) -> list[str]:
    """Text of every shape with a text frame or a table, groups included, in reading order."""
    from pptx.shapes.group import GroupShape

    out: list[str] = []
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if isinstance(shape, GroupShape):
            out.extend(_shape_texts(shape.shapes))
        elif shape.has_text_frame:
            lines = [" ".join(line.split()) for line in shape.text_frame.text.replace("\v", "\n").split("\n")]
            if text := "\n".join(line for line in lines if line):
                out.append(text)
        elif shape.has_table:
            rows = [" | ".join(" ".join(c.text.split()) for c in row.cells) for row in shape.table.rows]
            if rows := [r for r in rows if r.strip(" |")]:
                out.append("\n".join(rows))
    return out


def extract_pptx(inp: FileInput) -> list[Extracted]:
    """Slides as ``## Slide N: title`` sections with their text and speaker notes."""
    from pptx import Presentation

    data = _binary(inp)
    check_zip(data, inp.settings, "presentation")
    try:
        prs = Presentation(io.BytesIO(data))
        sections, titles, any_text = [], [], False
        for n, slide in enumerate(prs.slides, 1):
            head = slide.shapes.title
            title = " ".join(head.text_frame.text.split()) if head is not None and head.has_text_frame else ""
            others = [s for s in slide.shapes if head is None or s.shape_id != head.shape_id]
            body = _shape_texts(others)
            notes_frame = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
            if notes_frame is not None and (notes := notes_frame.text.strip()):
                body.append(f"Speaker notes: {notes}")
            any_text = any_text or bool(title or body)
            titles.append(title)
            sections.append("\n\n".join([f"## Slide {n}: {title}" if title else f"## Slide {n}", *body]))
        props = prs.core_properties
        meta: dict[str, Any] = {"slides": len(sections)}
        meta.update({k: v for k in ("title", "author") if (v := _prop(getattr(props, k)))})
    except Exception as exc:
        raise ExtractionError(
            "corrupt",
            f"PowerPoint file could not be read: {_cause(exc)}; open it in PowerPoint or LibreOffice and save "
            "it again as .pptx",
        ) from exc
    text = "\n\n".join(sections) if any_text else ""
    title = meta.get("title") or next((t for t in titles if t), None) or humanise(inp.path.stem)
    return _story(inp, title, text, "pptx", meta, empty="the presentation has no text on its slides or in its notes")


_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")


def _new_words(prev: list[str], cur: list[str]) -> list[str]:
    """The words of a cue that do not repeat the end of the previous cue (rolling captions).

    An overlap counts when it is two words or more, or the whole of either cue; a
    one-word coincidence ("so" ... "so") is kept as speech.
    """
    p, c = ([re.sub(r"\W", "", w.lower()) for w in ws] for ws in (prev, cur))
    for k in range(min(len(p), len(c)), 0, -1):
        if p[-k:] == c[:k] and (k >= 2 or k == len(p) or k == len(c)):
            return cur[k:]
    return cur


def extract_transcript(inp: FileInput) -> list[Extracted]:
    """WebVTT/SRT captions as readable paragraphs: no timings, no rolling repeats, speakers kept."""
    import webvtt

    raw, warnings = _decode(inp)
    if not raw.strip():
        raise ExtractionError("empty", "the caption file is empty")
    fmt = "vtt" if raw.lstrip("\ufeff").startswith("WEBVTT") or inp.path.suffix.lower() != ".srt" else "srt"
    hint = (
        "a .vtt file starts with 'WEBVTT' and each cue has a '00:00:01.000 --> 00:00:04.000' line"
        if fmt == "vtt"
        else "an .srt file is numbered cues, each with a '00:00:01,000 --> 00:00:04,000' line"
    )
    try:
        captions = webvtt.from_buffer(raw.splitlines(), format=fmt)
        if not captions.captions and "-->" in raw and fmt == "vtt":
            webvtt.from_buffer(raw.splitlines(), format=fmt, strict=True)  # only to learn why
    except Exception as exc:
        raise ExtractionError("corrupt", f"captions could not be parsed ({_cause(exc)}); {hint}") from exc
    cues = captions.captions
    if not cues:
        if "-->" in raw:
            raise ExtractionError("corrupt", f"no cue with valid timings found; {hint}")
        raise ExtractionError("empty", "the caption file has no cues")

    speakers: list[str] = []
    paras: list[list[str]] = []  # each: [text chunks...]
    counts: list[int] = []
    speaker: str | None = None
    prev_words: list[str] = []
    prev_end = 0
    for cue in cues:
        voice = m.group(1).strip() if (m := _VOICE.search(cue.raw_text)) else None
        text = re.sub(r"\{\\[^}]*\}", "", htmllib.unescape(cue.text))  # also drop SRT {\an8} tags
        words = text.split()
        changed = voice is not None and voice != speaker
        if voice is not None:
            speaker = voice
            if voice not in speakers:
                speakers.append(voice)
        new = words if changed else _new_words(prev_words, words)
        gap = cue.start_time.in_milliseconds() - prev_end
        prev_words, prev_end = words, cue.end_time.in_milliseconds()
        if not new:
            continue
        if not paras or changed or gap > 2000 or counts[-1] >= 6:
            paras.append([f"{voice}:"] if changed else [])
            counts.append(0)
        paras[-1].append(" ".join(new))
        counts[-1] += 1

    notes = getattr(captions, "header_comments", [])  # NOTE blocks before the first cue
    title = next((m.group(1) for c in notes if (m := re.match(r"\s*title\s*:\s*(.+)", c, re.I))), None)
    meta: dict[str, Any] = {
        "duration_s": round(max(c.end_time.in_milliseconds() for c in cues) / 1000, 3),
        "cues": len(cues),
    }
    if speakers:
        meta["speakers"] = speakers
    text = "\n\n".join(" ".join(p) for p in paras)
    return _story(
        inp,
        title or humanise(inp.path.stem),
        text,
        "transcript",
        meta,
        warnings,
        empty="the captions have cues but no text",
    )


EXTRACTORS: dict[str, Extractor] = {
    **dict.fromkeys((".md", ".markdown"), extract_markdown),
    **dict.fromkeys((".txt", ".text"), extract_plain_text),
    **dict.fromkeys((".html", ".htm"), extract_html_file),
    ".pdf": extract_pdf,
    ".docx": extract_docx,
    ".pptx": extract_pptx,
    **dict.fromkeys((".vtt", ".srt"), extract_transcript),
}

__all__ = [
    "EXTRACTORS",
    "extract_docx",
    "extract_html_file",
    "extract_markdown",
    "extract_pdf",
    "extract_plain_text",
    "extract_pptx",
    "extract_transcript",
    "humanise",
    "tidy",
]
