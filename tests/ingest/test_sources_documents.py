"""Format extractors for one-story files, run on real files generated in tmp_path."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from ingest.sources.base import Extracted, ExtractionError, FileInput
from ingest.sources.documents import EXTRACTORS, humanise, tidy
from reffy.config import Settings


def run(path: Path, settings: Settings) -> Extracted:
    """Call the registered extractor the way the folder walker does."""
    stories = list(EXTRACTORS[path.suffix.lower()](FileInput(path, path.read_bytes(), settings)))
    assert len(stories) == 1
    return stories[0]


def fails(path: Path, settings: Settings) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        run(path, settings)
    assert info.value.detail.strip()
    return info.value


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------------- registry and helpers


def test_registry_maps_every_supported_suffix() -> None:
    assert set(EXTRACTORS) == {
        ".md",
        ".markdown",
        ".txt",
        ".text",
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".pptx",
        ".vtt",
        ".srt",
    }
    assert EXTRACTORS[".md"] is EXTRACTORS[".markdown"]
    assert EXTRACTORS[".vtt"] is EXTRACTORS[".srt"]


def test_tidy_and_humanise() -> None:
    assert tidy("a  \r\nb\n\n\n\n\nc\t\n") == "a\nb\n\nc"
    assert humanise("acme-bank_keynote") == "Acme bank keynote"
    assert humanise("---") == "Untitled"


# --------------------------------------------------------------------------- Markdown


def test_markdown_front_matter_becomes_json_meta(tmp_path: Path, settings: Settings) -> None:
    md = write(
        tmp_path / "acme.md",
        (
            "---\n"
            "title: Acme Bank cuts onboarding to 5 minutes\n"
            "id: acme-001\n"
            "url: https://example.com/acme\n"
            "published: 2024-03-01\n"
            "updated: 2024-03-02T10:30:00\n"
            "industries: [banking, fintech]\n"
            "customer: {name: Acme Bank, employees: 1200}\n"
            "---\n"
            "# A different heading\n\n"
            "## Challenge\n\nOnboarding took **two weeks**.   \n\n\n\n\nThen it took five minutes.\n"
        ),
    )
    ex = run(md, settings)
    assert ex.title == "Acme Bank cuts onboarding to 5 minutes"
    assert ex.source_type == "markdown"
    assert ex.meta["published"] == "2024-03-01"
    assert ex.meta["updated"] == "2024-03-02T10:30:00"
    assert ex.meta["industries"] == ["banking", "fintech"]
    assert ex.meta["customer"] == {"name": "Acme Bank", "employees": 1200}
    assert ex.meta["id"] == "acme-001" and ex.meta["url"] == "https://example.com/acme"
    assert ex.source_record_id is None and ex.source_uri is None
    json.dumps(ex.meta)  # JSON-able
    assert "## Challenge" in ex.text and "**two weeks**." in ex.text  # stays Markdown
    assert "title:" not in ex.text and "---" not in ex.text
    assert "**two weeks**.\n\nThen it took" in ex.text  # trailing spaces and blank runs tidied
    assert ex.warnings == []


def test_markdown_title_from_first_h1_outside_code_fence(tmp_path: Path, settings: Settings) -> None:
    md = write(
        tmp_path / "story.markdown", "Intro line.\n\n```bash\n# not a title\n```\n\n# Globex goes cloud\n\nBody.\n"
    )
    ex = run(md, settings)
    assert ex.title == "Globex goes cloud"
    assert ex.meta == {}


def test_markdown_without_heading_uses_humanised_stem(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "initech-payroll_story.md", "Initech moved payroll.\n\n## Results\n\nFast.\n"), settings)
    assert ex.title == "Initech payroll story"


def test_markdown_broken_front_matter_is_ingested_with_warning(tmp_path: Path, settings: Settings) -> None:
    md = write(
        tmp_path / "broken.md", "---\ntitle: [unclosed\ntags: a, b\n---\n# Umbrella story\n\nThe body survives.\n"
    )
    ex = run(md, settings)
    assert [r for r, _ in ex.warnings] == ["parse_error"]
    assert "front matter" in ex.warnings[0][1]
    assert "title: [unclosed" in ex.text and "The body survives." in ex.text
    assert ex.title == "Umbrella story"
    assert ex.meta == {}


def test_markdown_front_matter_only_is_empty(tmp_path: Path, settings: Settings) -> None:
    assert fails(write(tmp_path / "x.md", "---\ntitle: Nothing here\n---\n\n"), settings).reason == "empty"


# --------------------------------------------------------------------------- plain text


def test_text_cp1252_is_decoded_with_encoding_warning(tmp_path: Path, settings: Settings) -> None:
    body = (
        "Café Rouge loyalty story\n\n"
        "The café chain said “we doubled repeat visits” after the résumé of the pilot. "
        "Every employé at the café got the new app, and the café’s regulars loved it.\n"
    )
    ex = run(write(tmp_path / "cafe.txt", body.encode("cp1252")), settings)
    assert ex.title == "Café Rouge loyalty story"
    assert "“we doubled repeat visits”" in ex.text and "résumé" in ex.text
    assert ex.source_type == "text"
    assert [r for r, _ in ex.warnings] == ["encoding"]


def test_text_utf8_has_no_warning_and_whole_text(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "note.text", "\n\n  Hooli search story  \nLine two.\n"), settings)
    assert ex.title == "Hooli search story"
    assert ex.text == "Hooli search story\nLine two."
    assert ex.warnings == []


@pytest.mark.parametrize("data", [b"", b"  \n\n\t\n"])
def test_empty_text_file_is_empty(tmp_path: Path, settings: Settings, data: bytes) -> None:
    assert fails(write(tmp_path / "empty.txt", data), settings).reason == "empty"


def test_binary_blob_named_txt_is_encoding_error(tmp_path: Path, settings: Settings) -> None:
    err = fails(write(tmp_path / "blob.txt", bytes(range(256)) * 8), settings)
    assert err.reason == "encoding"
    assert "UTF-8" in err.detail


# --------------------------------------------------------------------------- HTML


def test_html_file_main_text_without_boilerplate(tmp_path: Path, settings: Settings) -> None:
    article = " ".join(
        f"Sentence {i} explains how Vandelay Industries rebuilt its import pipeline with fewer errors."
        for i in range(12)
    )
    page = f"""<!doctype html><html><head><title>Vandelay imports faster</title></head><body>
    <nav><a href="/">Home</a> <a href="/pricing">PricingNavLink</a> <a href="/about">AboutNavLink</a></nav>
    <article><h1>Vandelay imports faster</h1><p>{article}</p><p>{article}</p></article>
    <footer>Copyright FooterBoilerplate 2024. All rights reserved. Privacy policy.</footer>
    </body></html>"""
    ex = run(write(tmp_path / "vandelay.htm", page), settings)
    assert ex.title == "Vandelay imports faster"
    assert "rebuilt its import pipeline" in ex.text
    assert "PricingNavLink" not in ex.text and "FooterBoilerplate" not in ex.text
    assert ex.source_type == "html"


def test_javascript_only_html_is_empty(tmp_path: Path, settings: Settings) -> None:
    page = "<html><head><title>App</title></head><body><script>render()</script></body></html>"
    assert fails(write(tmp_path / "app.html", page), settings).reason == "empty"


# --------------------------------------------------------------------------- PDF


def _pdf(title: str | None = "Acme Bank case study") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
        pdf.set_author("Jane Doe")
        pdf.set_subject("Retail banking")
    pdf.add_page()
    pdf.multi_cell(0, 6, "Acme Bank digital onboarding")
    pdf.ln(6)
    pdf.multi_cell(
        0,
        6,
        (
            "Acme Bank needed a faster onboarding flow for its retail customers across all of its regions. "
            "The project started with a careful transfor-\nmation of the branch network and continued with a new "
            "mobile app that lets people open an account in minutes."
        ),
    )
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Results were strong.")
    pdf.add_page()
    pdf.multi_cell(0, 6, "Call volume dropped by 40 percent in the first quarter.")
    return bytes(pdf.output())


def test_pdf_pages_joined_dehyphenated_and_reflowed(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "acme.pdf", _pdf()), settings)
    assert ex.title == "Acme Bank case study"
    assert ex.meta == {"pages": 2, "title": "Acme Bank case study", "author": "Jane Doe", "subject": "Retail banking"}
    assert ex.source_type == "pdf"
    assert "careful transformation of the branch network" in ex.text
    assert "transfor-" not in ex.text
    # wrapped lines become one paragraph; heading, paragraphs and pages stay apart
    paras = ex.text.split("\n\n")
    assert paras[0] == "Acme Bank digital onboarding"
    assert paras[1].startswith("Acme Bank needed") and paras[1].endswith("open an account in minutes.")
    assert "\n" not in paras[1]
    assert paras[2:] == ["Results were strong.", "Call volume dropped by 40 percent in the first quarter."]


def test_pdf_without_info_title_uses_first_line(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "untitled.pdf", _pdf(title=None)), settings)
    assert ex.title == "Acme Bank digital onboarding"
    assert ex.meta == {"pages": 2}


def test_pdf_without_text_layer_is_empty(tmp_path: Path, settings: Settings) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 50, style="F")
    err = fails(write(tmp_path / "scan.pdf", bytes(pdf.output())), settings)
    assert err.reason == "empty"
    assert "OCR" in err.detail


def _encrypt(data: bytes, user: str, owner: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_password_protected_pdf_is_encrypted(tmp_path: Path, settings: Settings) -> None:
    err = fails(write(tmp_path / "locked.pdf", _encrypt(_pdf(), "pw", "pw")), settings)
    assert err.reason == "encrypted"
    assert "password" in err.detail


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "owner-only.pdf", _encrypt(_pdf(), "", "owner")), settings)
    assert "careful transformation" in ex.text


def test_truncated_pdf_is_corrupt(tmp_path: Path, settings: Settings) -> None:
    data = _pdf()
    err = fails(write(tmp_path / "cut.pdf", data[: len(data) // 2]), settings)
    assert err.reason == "corrupt"
    assert err.detail.startswith("PDF could not be read") and "re-export" in err.detail


# --------------------------------------------------------------------------- Word


def _docx(path: Path, *, title: str = "Globex ERP rollout") -> Path:
    import docx

    doc = docx.Document()
    doc.core_properties.title = title
    doc.core_properties.author = "Sam Writer"
    doc.core_properties.subject = "Manufacturing"
    doc.core_properties.keywords = "erp, manufacturing; cloud"
    doc.add_heading("Globex goes live", level=0)
    doc.add_paragraph("Globex runs twelve plants.")
    doc.add_heading("Challenge", level=1)
    doc.add_paragraph("Spreadsheets everywhere", style="List Bullet")
    doc.add_paragraph("No single stock view", style="List Bullet")
    table = doc.add_table(rows=2, cols=2)
    for r, row in enumerate([("Metric", "Result"), ("Close time", "3 days")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    doc.add_paragraph("After the table.")
    doc.save(path)
    return path


def test_docx_blocks_in_order_with_markdown_headings_lists_tables(tmp_path: Path, settings: Settings) -> None:
    ex = run(_docx(tmp_path / "globex.docx"), settings)
    assert ex.text == (
        "# Globex goes live\n\nGlobex runs twelve plants.\n\n## Challenge\n\n"
        "- Spreadsheets everywhere\n- No single stock view\n\n"
        "Metric | Result\nClose time | 3 days\n\nAfter the table."
    )
    assert ex.title == "Globex ERP rollout"
    assert ex.meta == {
        "title": "Globex ERP rollout",
        "author": "Sam Writer",
        "subject": "Manufacturing",
        "keywords": ["erp", "manufacturing", "cloud"],
    }
    assert ex.source_type == "docx"


def test_docx_without_core_title_uses_first_heading(tmp_path: Path, settings: Settings) -> None:
    ex = run(_docx(tmp_path / "globex.docx", title=""), settings)
    assert ex.title == "Globex goes live"
    assert "title" not in ex.meta


def test_docx_merged_cells_appear_once(tmp_path: Path, settings: Settings) -> None:
    import docx

    doc = docx.Document()
    table = doc.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "Yearly results"
    for c, value in enumerate(["2023", "2024", "2024"]):
        table.cell(1, c).text = value
    path = tmp_path / "merged.docx"
    doc.save(path)
    ex = run(path, settings)
    assert ex.text == "Yearly results\n2023 | 2024 | 2024"
    assert ex.meta == {}  # python-docx's default author "python-docx" is a placeholder, not an author


def test_zip_that_is_not_a_docx_is_corrupt(tmp_path: Path, settings: Settings) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "just a zip")
    err = fails(write(tmp_path / "fake.docx", buf.getvalue()), settings)
    assert err.reason == "corrupt"
    assert err.detail.startswith("Word document could not be read") and "save it again" in err.detail


def test_empty_docx_is_empty(tmp_path: Path, settings: Settings) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(path)
    assert fails(path, settings).reason == "empty"


# --------------------------------------------------------------------------- PowerPoint


def _pptx(path: Path, *, core_title: str = "") -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.core_properties.title = core_title
    prs.core_properties.author = "Deck Author"
    s1 = prs.slides.add_slide(prs.slide_layouts[1])  # title and content
    s1.shapes.title.text = "Initech saves 30%"
    s1.placeholders[1].text_frame.text = "Legacy billing\nManual reconciliation"
    s1.notes_slide.notes_text_frame.text = "Mention the CFO quote."
    s2 = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    s2.shapes.title.text = "Results"
    rows = s2.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1)).table
    for r, row in enumerate([("KPI", "Change"), ("Cost", "-30%")]):
        for c, value in enumerate(row):
            rows.cell(r, c).text = value
    s3 = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    s3.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = "Thank you"
    prs.save(path)
    return path


def test_pptx_slides_text_tables_and_speaker_notes(tmp_path: Path, settings: Settings) -> None:
    ex = run(_pptx(tmp_path / "initech.pptx"), settings)
    assert ex.text == (
        "## Slide 1: Initech saves 30%\n\nLegacy billing\nManual reconciliation\n\n"
        "Speaker notes: Mention the CFO quote.\n\n"
        "## Slide 2: Results\n\nKPI | Change\nCost | -30%\n\n"
        "## Slide 3\n\nThank you"
    )
    assert ex.title == "Initech saves 30%"
    assert ex.meta == {"slides": 3, "author": "Deck Author"}
    assert ex.source_type == "pptx"


def test_pptx_core_title_wins(tmp_path: Path, settings: Settings) -> None:
    ex = run(_pptx(tmp_path / "deck.pptx", core_title="Initech billing story"), settings)
    assert ex.title == "Initech billing story" and ex.meta["title"] == "Initech billing story"


def test_garbage_pptx_is_corrupt(tmp_path: Path, settings: Settings) -> None:
    err = fails(write(tmp_path / "deck.pptx", b"PK\x03\x04 truncated"), settings)
    assert err.reason == "corrupt" and "PowerPoint" in err.detail


# --------------------------------------------------------------------------- transcripts

VTT = """WEBVTT

NOTE Title: Acme Bank keynote at FinConf

1
00:00:00.000 --> 00:00:02.000
<v Maria Jensen>Welcome everyone to the keynote

2
00:00:02.000 --> 00:00:04.000
<v Maria Jensen>Welcome everyone to the keynote
today we talk about onboarding

3
00:00:04.000 --> 00:00:06.000
<v Maria Jensen>today we talk about onboarding
at Acme &amp; partners.

4
00:00:06.500 --> 00:00:08.000
<v.loud Tom Berg>Thanks Maria. <i>So</i> what changed?

5
00:00:12.000 --> 00:00:14.500
<v Tom Berg>After a pause, the numbers.
"""


def test_vtt_speakers_rolling_dedupe_and_paragraphs(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "acme-keynote.vtt", VTT), settings)
    assert ex.text == (
        "Maria Jensen: Welcome everyone to the keynote today we talk about onboarding at Acme & partners.\n\n"
        "Tom Berg: Thanks Maria. So what changed?\n\n"
        "After a pause, the numbers."  # gap > 2 s: new paragraph, same speaker, no label
    )
    assert ex.title == "Acme Bank keynote at FinConf"
    assert ex.meta == {"duration_s": 14.5, "cues": 5, "speakers": ["Maria Jensen", "Tom Berg"]}
    assert "-->" not in ex.text and "00:00" not in ex.text
    assert ex.source_type == "transcript"


def test_vtt_without_title_note_uses_stem_and_splits_long_runs(tmp_path: Path, settings: Settings) -> None:
    cues = "".join(f"00:00:{i:02d}.000 --> 00:00:{i + 1:02d}.000\nsentence number {i}.\n\n" for i in range(8))
    ex = run(write(tmp_path / "acme-bank-keynote.vtt", "WEBVTT\n\n" + cues), settings)
    assert ex.title == "Acme bank keynote"
    paras = ex.text.split("\n\n")
    assert len(paras) == 2 and paras[0].count("sentence") == 6 and paras[1] == "sentence number 6. sentence number 7."
    assert "speakers" not in ex.meta and ex.meta["cues"] == 8 and ex.meta["duration_s"] == 8.0


YOUTUBE_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.310 align:start position:0%
\x20
welcome<00:00:00.480><c> to</c><00:00:00.640><c> the</c><00:00:00.880><c> keynote</c>

00:00:02.310 --> 00:00:02.320 align:start position:0%
welcome to the keynote
\x20

00:00:02.320 --> 00:00:05.000 align:start position:0%
welcome to the keynote
today<00:00:02.800><c> we</c><00:00:03.000><c> talk</c><00:00:03.300><c> about</c>

00:00:05.000 --> 00:00:05.010 align:start position:0%
today we talk about
\x20

00:00:05.010 --> 00:00:07.000 align:start position:0%
today we talk about
onboarding<00:00:05.500><c> at</c><00:00:05.800><c> acme</c>
"""


def test_youtube_auto_captions_word_timings_and_repeats_collapse(tmp_path: Path, settings: Settings) -> None:
    ex = run(write(tmp_path / "yt.vtt", YOUTUBE_VTT), settings)
    assert ex.text == "welcome to the keynote today we talk about onboarding at acme"
    assert ex.meta == {"duration_s": 7.0, "cues": 5}


def test_srt_drops_numbers_and_timings(tmp_path: Path, settings: Settings) -> None:
    srt = (
        "1\n00:00:01,000 --> 00:00:03,000\nHooli started with one data centre.\n\n"
        "2\n00:00:03,000 --> 00:00:05,250\n<i>Now they run</i> in three regions.\n\n"
    )
    ex = run(write(tmp_path / "hooli_talk.srt", srt), settings)
    assert ex.text == "Hooli started with one data centre. Now they run in three regions."
    assert ex.title == "Hooli talk"
    assert ex.meta == {"duration_s": 5.25, "cues": 2}


def test_one_word_overlap_is_kept_as_speech(tmp_path: Path, settings: Settings) -> None:
    vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nwe did it so\n\n00:00:01.000 --> 00:00:02.000\nso fast\n"
    assert run(write(tmp_path / "t.vtt", vtt), settings).text == "we did it so so fast"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("no-header.vtt", "00:00:00.000 --> 00:00:01.000\nHello\n"),
        ("bad-times.vtt", "WEBVTT\n\n00:00:xx --> 00:00:01.000\nHello\n"),
        ("bad.srt", "this is not\na subtitle file\nat all\n"),
    ],
)
def test_malformed_captions_are_corrupt(tmp_path: Path, settings: Settings, name: str, data: str) -> None:
    err = fails(write(tmp_path / name, data), settings)
    assert err.reason == "corrupt"
    assert "-->" in err.detail  # says what a valid file looks like


def test_vtt_with_header_only_is_empty(tmp_path: Path, settings: Settings) -> None:
    assert fails(write(tmp_path / "none.vtt", "WEBVTT\n\n"), settings).reason == "empty"


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("name", ["a.pdf", "a.docx", "a.pptx", "a.vtt", "a.srt", "a.md", "a.txt"])
def test_zero_byte_file_is_empty_not_corrupt(tmp_path: Path, settings: Settings, name: str) -> None:
    assert fails(write(tmp_path / name, b""), settings).reason == "empty"


@pytest.mark.parametrize("suffix", sorted(EXTRACTORS))
@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n garbage", b"PK\x03\x04\x00\x00", b"\x00\x01\x02\xff" * 64])
def test_no_library_exception_escapes(tmp_path: Path, settings: Settings, suffix: str, data: bytes) -> None:
    path = write(tmp_path / f"junk{suffix}", data)
    try:
        run(path, settings)
    except ExtractionError as err:
        assert err.reason in {"corrupt", "empty", "encoding", "encrypted", "parse_error"}
