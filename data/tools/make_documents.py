"""Generate the binary stories of the Reffy demo library from documents.yaml.

Writes (relative to the data/ folder, whatever the current directory is):

* decks/*.pptx               python-pptx, one story per deck, speaker notes
* docs/*.docx                python-docx, headings + paragraphs, core properties set
* docs/*.pdf                 fpdf2 with the core Helvetica font (real text layer, latin-1)
* exports/internal_wins.xlsx openpyxl, one story per row

The output is reproducible: every embedded timestamp is fixed and zip-based files are
rewritten with a fixed date on every entry, so two runs give byte-identical files.

Usage:  /work/main/.venv/bin/python data/tools/make_documents.py [--check]
        --check regenerates into a temporary folder and compares with the files on disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import re
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

TOOLS = Path(__file__).resolve().parent
DATA = TOOLS.parent
SOURCE = TOOLS / "documents.yaml"

ZIP_DATE = (2025, 1, 1, 0, 0, 0)
MAX_BYTES = 200 * 1024

COUNTRY_NAMES = {
    "AT": "Austria", "AU": "Australia", "BR": "Brazil", "CA": "Canada", "CH": "Switzerland",
    "CZ": "Czech Republic", "DE": "Germany", "DK": "Denmark", "ES": "Spain", "FI": "Finland",
    "FR": "France", "GB": "United Kingdom", "IE": "Ireland", "IN": "India", "IT": "Italy",
    "JP": "Japan", "LT": "Lithuania", "MX": "Mexico", "NL": "Netherlands", "NO": "Norway",
    "NZ": "New Zealand", "PL": "Poland", "PT": "Portugal", "SE": "Sweden", "SG": "Singapore",
    "US": "United States", "ZA": "South Africa",
}


# --------------------------------------------------------------------------- helpers


def load_source() -> dict[str, Any]:
    with SOURCE.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    fixed = spec["fixed_datetime"]
    if isinstance(fixed, str):
        fixed = dt.datetime.fromisoformat(fixed)
    spec["fixed_datetime"] = fixed.replace(tzinfo=None)
    return spec


def keywords(item: dict[str, Any]) -> str:
    """Metadata string stored in the keywords property of every generated document."""
    products = ", ".join(item.get("products", []))
    return (
        f"country={item['country']}; industry={item['industry']}; "
        f"products={products}; shareability={item.get('shareability', 'public')}"
    )


def comments(item: dict[str, Any]) -> str:
    country = COUNTRY_NAMES.get(str(item["country"]), str(item["country"]))
    return (
        f"Customer story: {item['customer']} ({country}). Published {item['published']}. "
        f"Shareability: {item.get('shareability', 'public')}."
    )


def set_core_properties(cp: Any, item: dict[str, Any], author: str, fixed: dt.datetime) -> None:
    """Same core properties for python-docx and python-pptx documents."""
    cp.title = item["title"]
    cp.subject = item["customer"]
    cp.author = author
    cp.category = item["industry"]
    cp.keywords = keywords(item)
    cp.comments = comments(item)
    cp.content_status = item.get("shareability", "public")
    cp.language = "en"
    cp.last_modified_by = author
    cp.revision = 1
    cp.created = fixed
    cp.modified = fixed
    cp.last_printed = fixed


def normalise_zip(data: bytes, fixed: dt.datetime) -> bytes:
    """Rewrite a zip (docx/pptx/xlsx) with fixed entry dates, attributes and core dates."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():  # original order: [Content_Types].xml stays first
            payload = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = payload.decode("utf-8")
                for tag in ("created", "modified"):
                    text = re.sub(
                        rf"(<dcterms:{tag}\b[^>]*>)[^<]*(</dcterms:{tag}>)",
                        rf"\g<1>{stamp}\g<2>",
                        text,
                    )
                payload = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 0
            zi.external_attr = 0
            dst.writestr(zi, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def latin1(text: str, where: str) -> str:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise SystemExit(f"{where}: PDF text must be latin-1, found {text[exc.start:exc.end]!r}") from exc
    return text


def clean(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------- pptx


def build_pptx(deck: dict[str, Any], author: str, fixed: dt.datetime) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    title_layout, bullet_layout, title_only = prs.slide_layouts[0], prs.slide_layouts[1], prs.slide_layouts[5]

    for spec in deck["slides"]:
        kind = spec.get("kind", "bullets")
        if kind == "title":
            slide = prs.slides.add_slide(title_layout)
            slide.shapes.title.text = clean(spec["title"])
            slide.placeholders[1].text = clean(spec.get("subtitle", ""))
        elif kind == "quote":
            slide = prs.slides.add_slide(title_only)
            slide.shapes.title.text = clean(spec.get("title", "In their words"))
            box = slide.shapes.add_textbox(Inches(0.8), Inches(2.0), Inches(8.4), Inches(4.0))
            tf = box.text_frame
            tf.word_wrap = True
            tf.text = clean(spec["quote"])
            tf.paragraphs[0].runs[0].font.size = Pt(26)
            tf.paragraphs[0].runs[0].font.italic = True
            p = tf.add_paragraph()
            p.text = "- " + clean(spec["attribution"])
            p.runs[0].font.size = Pt(18)
        else:
            slide = prs.slides.add_slide(bullet_layout)
            slide.shapes.title.text = clean(spec["title"])
            tf = slide.placeholders[1].text_frame
            for i, bullet in enumerate(spec.get("bullets", [])):
                p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
                p.text = clean(bullet)
                p.runs[0].font.size = Pt(20)
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = clean(spec["notes"])

    set_core_properties(prs.core_properties, deck, author, fixed)
    buf = io.BytesIO()
    prs.save(buf)
    return normalise_zip(buf.getvalue(), fixed)


# --------------------------------------------------------------------------- docx


def build_docx(doc_spec: dict[str, Any], author: str, fixed: dt.datetime) -> bytes:
    from docx import Document

    doc = Document()
    doc.add_heading(clean(doc_spec["title"]), level=0)
    for section in doc_spec["sections"]:
        if section.get("heading"):
            doc.add_heading(clean(section["heading"]), level=1)
        for para in section.get("paragraphs", []):
            doc.add_paragraph(clean(para))
        for bullet in section.get("bullets", []):
            doc.add_paragraph(clean(bullet), style="List Bullet")
        if section.get("quote"):
            doc.add_paragraph(clean(section["quote"]), style="Intense Quote")
            doc.add_paragraph(clean(section["attribution"]))
    set_core_properties(doc.core_properties, doc_spec, author, fixed)
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue(), fixed)


# --------------------------------------------------------------------------- pdf


def build_pdf(doc_spec: dict[str, Any], author: str, fixed: dt.datetime) -> bytes:
    from fpdf import FPDF

    where = doc_spec["file"]

    class StoryPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("Helvetica", size=8)
            self.set_text_color(110, 110, 110)
            self.cell(0, 4, f"Quillon customer story | quillon.example | page {self.page_no()}", align="C")

    pdf = StoryPDF(format="A4")
    pdf.set_creation_date(fixed.replace(tzinfo=dt.timezone.utc))
    pdf.set_producer("Reffy demo library generator (fpdf2)")
    pdf.set_creator("data/tools/make_documents.py")
    pdf.set_title(latin1(doc_spec["title"], where))
    pdf.set_author(author)
    pdf.set_subject(latin1(doc_spec["customer"], where))
    pdf.set_keywords(latin1(keywords(doc_spec), where))
    pdf.set_lang("en")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    width = pdf.epw

    def para(text: str, size: float = 10.5, style: str = "", gap: float = 2.5) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(width, size * 0.5, latin1(clean(text), where), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_text_color(20, 60, 110)
    para("QUILLON CUSTOMER STORY", size=9, style="B", gap=1)
    para(doc_spec["title"], size=18, style="B", gap=4)
    pdf.set_text_color(0, 0, 0)
    for section in doc_spec["sections"]:
        if section.get("heading"):
            pdf.set_text_color(20, 60, 110)
            para(section["heading"], size=13, style="B", gap=1.5)
            pdf.set_text_color(0, 0, 0)
        for text in section.get("paragraphs", []):
            para(text)
        for bullet in section.get("bullets", []):
            pdf.set_x(pdf.l_margin + 4)
            pdf.set_font("Helvetica", size=10.5)
            pdf.multi_cell(width - 4, 5.25, latin1("- " + clean(bullet), where), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        if section.get("bullets"):
            pdf.ln(1.5)
        if section.get("quote"):
            para(section["quote"], size=12, style="I", gap=1)
            para("- " + section["attribution"], size=10, gap=3)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- xlsx


def build_xlsx(sheet_spec: dict[str, Any], author: str, fixed: dt.datetime) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_spec["sheet"]
    columns = sheet_spec["columns"]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in sheet_spec["rows"]:
        values = []
        for col in columns:
            value = row.get(col, "")
            if isinstance(value, (dt.date, dt.datetime)):
                value = value.isoformat()
            values.append("" if value is None else str(value))
        ws.append(values)
    widths = {"id": 14, "title": 48, "customer": 26, "industry": 18, "country": 9, "products": 40,
              "shareability": 13, "published": 12, "url": 38, "story": 110}
    for idx, col in enumerate(columns, start=1):
        letter = ws.cell(row=1, column=idx).column_letter
        ws.column_dimensions[letter].width = widths.get(col, 20)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"

    props = wb.properties
    props.creator = author
    props.lastModifiedBy = author
    props.title = sheet_spec.get("title", sheet_spec["sheet"])
    props.created = fixed
    props.modified = fixed  # openpyxl overwrites this on save; normalise_zip fixes it again
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue(), fixed)


# --------------------------------------------------------------------------- main


def render_all(spec: dict[str, Any]) -> dict[str, bytes]:
    fixed, author = spec["fixed_datetime"], spec["author"]
    out: dict[str, bytes] = {}
    for deck in spec.get("decks", []):
        out[deck["file"]] = build_pptx(deck, author, fixed)
    for doc_spec in spec.get("documents", []):
        suffix = Path(doc_spec["file"]).suffix
        if suffix == ".docx":
            out[doc_spec["file"]] = build_docx(doc_spec, author, fixed)
        elif suffix == ".pdf":
            out[doc_spec["file"]] = build_pdf(doc_spec, author, fixed)
        else:
            raise SystemExit(f"{doc_spec['file']}: unsupported document type {suffix}")
    for sheet in spec.get("spreadsheets", []):
        out[sheet["file"]] = build_xlsx(sheet, author, fixed)
    for rel, data in out.items():
        if len(data) > MAX_BYTES:
            raise SystemExit(f"{rel}: {len(data)} bytes, over the {MAX_BYTES} byte limit")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)

    rendered = render_all(load_source())
    # Render a second time in-process: any non-determinism shows up here already.
    again = render_all(load_source())
    unstable = [rel for rel in rendered if rendered[rel] != again[rel]]
    if unstable:
        print("not reproducible:", ", ".join(unstable), file=sys.stderr)
        return 1

    if args.check:
        stale = [rel for rel, data in rendered.items()
                 if not (DATA / rel).is_file() or (DATA / rel).read_bytes() != data]
        for rel in stale:
            print(f"out of date: {rel}", file=sys.stderr)
        return 1 if stale else 0

    for rel, data in sorted(rendered.items()):
        path = DATA / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"{hashlib.sha256(data).hexdigest()[:16]}  {len(data):>7}  {rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
