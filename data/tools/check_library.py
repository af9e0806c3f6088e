"""Check the Reffy demo library against its constraints and print a summary.

Parses every story file with the same kind of library Reffy uses (python-frontmatter,
lxml, webvtt-py, csv, openpyxl, json, python-pptx, python-docx, pypdf), compares what it
finds with tools/catalog.yaml, and checks: story/industry/country/internal counts, body
length, country named in the text, metadata agreeing with the catalog, near-duplicate
pairs, .example-only URLs, .reffyignore coverage, file sizes and that the generated
binaries are up to date.

Usage: /work/main/.venv/bin/python data/tools/check_library.py   (exit 1 on any failure)
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOOLS = Path(__file__).resolve().parent
DATA = TOOLS.parent

COUNTRY_WORDS = {
    "AT": ["Austria"], "AU": ["Australia"], "BR": ["Brazil"], "CA": ["Canada"], "CH": ["Switzerland"],
    "CZ": ["Czech Republic"], "DE": ["Germany"], "DK": ["Denmark"], "ES": ["Spain"], "FI": ["Finland"],
    "FR": ["France"], "GB": ["United Kingdom"], "IE": ["Ireland"], "IN": ["India"], "IT": ["Italy"],
    "JP": ["Japan"], "LT": ["Lithuania"], "MX": ["Mexico"], "NL": ["Netherlands"], "NO": ["Norway"],
    "NZ": ["New Zealand"], "PL": ["Poland"], "PT": ["Portugal"], "SE": ["Sweden"], "SG": ["Singapore"],
    "US": ["United States"], "ZA": ["South Africa"],
}
MIN_WORDS, MAX_WORDS = 150, 900
MIN_DUP_SIMILARITY = 0.85


@dataclass
class Story:
    source: str
    fmt: str
    title: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> int:
        return len(self.text.split())


# --------------------------------------------------------------------------- readers


def read_md(path: Path, rel: str) -> list[Story]:
    import frontmatter

    post = frontmatter.load(path)
    body = re.sub(r"^# .*\n+", "", post.content.lstrip(), count=1)
    return [Story(rel, "markdown", str(post.get("title", "")), body, dict(post.metadata))]


def read_html(path: Path, rel: str) -> list[Story]:
    from lxml import html as lhtml

    tree = lhtml.fromstring(path.read_bytes())
    article = tree.find(".//article")
    if article is None:
        raise ValueError("no <article>")
    for el in article.xpath(".//h1 | .//*[contains(@class,'meta') or contains(@class,'byline') or contains(@class,'kicker')]"):
        el.drop_tree()
    text = "\n".join(" ".join(t.split()) for t in article.itertext() if t.strip())
    return [Story(rel, "html", tree.findtext(".//title") or "", text)]


def read_captions(path: Path, rel: str) -> list[Story]:
    import webvtt

    caps = webvtt.read(str(path)) if path.suffix == ".vtt" else webvtt.from_srt(str(path))
    if not caps:
        raise ValueError("no cues")
    voices = sorted({c.voice for c in caps if getattr(c, "voice", None)})
    text = " ".join(" ".join(c.text.split()) for c in caps)
    return [Story(rel, path.suffix[1:], path.stem, text, {"cues": len(caps), "voices": voices})]


def read_txt(path: Path, rel: str) -> list[Story]:
    text = path.read_text(encoding="utf-8")
    return [Story(rel, "text", text.strip().splitlines()[0], text)]


def read_csv(path: Path, rel: str) -> list[Story]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [Story(f"{rel}#{r['id']}", "csv", r["title"], r["story"],
                  {k: v for k, v in r.items() if k != "story"}) for r in rows]


def read_xlsx(path: Path, rel: str) -> list[Story]:
    import openpyxl

    ws = openpyxl.load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    out = []
    for values in rows[1:]:
        r = dict(zip(header, ["" if v is None else str(v) for v in values]))
        out.append(Story(f"{rel}#{r['id']}", "xlsx", r["title"], r["story"],
                         {k: v for k, v in r.items() if k != "story"}))
    return out


def read_jsonl(path: Path, rel: str) -> list[Story]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            meta = {k: v for k, v in r.items() if k != "body"}
            out.append(Story(f"{rel}#{r['slug']}", "jsonl", r["title"], r["body"], meta))
    return out


def core_meta(cp: Any) -> dict[str, Any]:
    meta = {"title": cp.title, "customer": cp.subject, "industry": cp.category}
    for part in (cp.keywords or "").split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            meta[key.strip()] = value.strip()
    return meta


def read_pptx(path: Path, rel: str) -> list[Story]:
    from pptx import Presentation

    prs = Presentation(str(path))
    chunks, notes = [], 0
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                chunks.append(shape.text_frame.text)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame.text.strip():
            chunks.append(slide.notes_slide.notes_text_frame.text)
            notes += 1
    meta = core_meta(prs.core_properties) | {"slides": len(prs.slides), "slides_with_notes": notes}
    return [Story(rel, "pptx", prs.core_properties.title, "\n".join(chunks[1:]), meta)]


def read_docx(path: Path, rel: str) -> list[Story]:
    import docx

    doc = docx.Document(str(path))
    paras = [p.text for p in doc.paragraphs if p.text.strip()]
    return [Story(rel, "docx", doc.core_properties.title, "\n".join(paras[1:]), core_meta(doc.core_properties))]


def read_pdf(path: Path, rel: str) -> list[Story]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    lines = [ln for ln in text.splitlines() if not ln.startswith("Quillon customer story | ")]
    info = reader.metadata or {}
    meta = {"title": info.get("/Title"), "customer": info.get("/Subject"), "pages": len(reader.pages)}
    for part in str(info.get("/Keywords", "")).split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            meta[key.strip()] = value.strip()
    body = "\n".join(lines[2:])  # drop the kicker and the title
    return [Story(rel, "pdf", meta["title"] or "", body, meta)]


READERS = {".md": read_md, ".html": read_html, ".vtt": read_captions, ".srt": read_captions,
           ".txt": read_txt, ".csv": read_csv, ".xlsx": read_xlsx, ".jsonl": read_jsonl,
           ".pptx": read_pptx, ".docx": read_docx, ".pdf": read_pdf}


# --------------------------------------------------------------------------- checks


def ignored_spec():
    import pathspec

    lines = (DATA / ".reffyignore").read_text(encoding="utf-8").splitlines()
    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def tokens(text: str) -> list[str]:
    return re.findall(r"[\w%']+", text.lower())


def dup_similarity(a: str, b: str) -> tuple[float, float]:
    """(share of the longer text's words in matching blocks, 5-word shingle Jaccard)."""
    ta, tb = tokens(a), tokens(b)
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    matched = sum(block.size for block in sm.get_matching_blocks())
    share = matched / max(len(ta), len(tb))
    sa = {" ".join(ta[i:i + 5]) for i in range(len(ta) - 4)}
    sb = {" ".join(tb[i:i + 5]) for i in range(len(tb) - 4)}
    return share, len(sa & sb) / len(sa | sb)


def main() -> int:
    failures: list[str] = []

    def fail(msg: str) -> None:
        failures.append(msg)

    vendor = yaml.safe_load((DATA / "vendor.yaml").read_text(encoding="utf-8"))
    products = [p["name"] for p in vendor["products"]]
    if not 4 <= len(products) <= 6:
        fail(f"vendor.yaml: {len(products)} products")
    if not 4 <= len([c for c in vendor["competitors"] if c["name"] != "In-house build"]) <= 6:
        fail("vendor.yaml: need 4-6 named competitors")

    catalog = {e["source"]: e for e in yaml.safe_load((TOOLS / "catalog.yaml").read_text(encoding="utf-8"))["stories"]}
    spec = ignored_spec()
    for must in ("README.md", "vendor.yaml", "tools/make_documents.py", "tools/documents.yaml"):
        if not spec.match_file(must):
            fail(f".reffyignore does not skip {must}")

    stories: list[Story] = []
    files_by_fmt: Counter[str] = Counter()
    for path in sorted(DATA.rglob("*")):
        rel = path.relative_to(DATA).as_posix()
        if path.is_dir() or spec.match_file(rel) or any(part.startswith(".") for part in path.relative_to(DATA).parts):
            continue
        reader = READERS.get(path.suffix)
        if reader is None:
            fail(f"{rel}: not ignored and no reader for {path.suffix}")
            continue
        if path.stat().st_size > 200 * 1024:
            fail(f"{rel}: larger than 200 KB")
        try:
            found = reader(path, rel)
        except Exception as exc:  # noqa: BLE001 - report and carry on
            fail(f"{rel}: does not parse ({exc})")
            continue
        files_by_fmt[path.suffix] += 1
        stories.extend(found)
        raw = path.read_bytes()
        if path.suffix not in {".pdf", ".docx", ".pptx", ".xlsx"}:
            for host in re.findall(rb"https?://([^/\s\"'<>)]+)", raw):
                if not host.decode().endswith(".example"):
                    fail(f"{rel}: URL host {host.decode()} is not .example")

    by_source = {s.source: s for s in stories}
    for missing in sorted(set(catalog) - set(by_source)):
        fail(f"catalog entry not found on disk: {missing}")
    for extra in sorted(set(by_source) - set(catalog)):
        fail(f"story not in catalog: {extra}")

    for s in stories:
        entry = catalog.get(s.source)
        if entry is None:
            continue
        if not MIN_WORDS <= s.words <= MAX_WORDS:
            fail(f"{s.source}: {s.words} words (want {MIN_WORDS}-{MAX_WORDS})")
        code = str(entry["country"])
        if not any(word in s.text for word in COUNTRY_WORDS[code]):
            fail(f"{s.source}: country {code} not named in the text")
        if not any(p in s.text for p in products):
            fail(f"{s.source}: no Quillon product named")
        meta = s.meta
        for key, want in (("industry", entry["industry"]), ("country", code)):
            if key in meta and str(meta[key]) != str(want):
                fail(f"{s.source}: metadata {key}={meta[key]!r}, catalog says {want!r}")
        if "shareability" in meta and meta["shareability"] != entry["shareability"]:
            fail(f"{s.source}: shareability {meta['shareability']!r} vs catalog {entry['shareability']!r}")
        if s.source.startswith("internal/") and "shareability" in meta:
            fail(f"{s.source}: internal/ stories must not carry a shareability field")
        if s.source.startswith("internal/") and entry["shareability"] != "internal":
            fail(f"{s.source}: in internal/ but catalogued as {entry['shareability']}")
        if s.fmt == "markdown" and s.source.startswith("website/"):
            for key in ("title", "customer", "industry", "country", "products", "url", "published", "shareability", "tags"):
                if key not in meta:
                    fail(f"{s.source}: front matter lacks {key}")

    # near-duplicate pairs
    pairs = sorted({tuple(sorted((e["source"], e["duplicate_of"]))) for e in catalog.values() if e.get("duplicate_of")})
    dup_lines = []
    for a, b in pairs:
        if a in by_source and b in by_source:
            share, jac = dup_similarity(by_source[a].text, by_source[b].text)
            dup_lines.append(f"  {a}  <->  {b}: {share:.0%} identical words, 5-shingle Jaccard {jac:.2f}")
            if share < MIN_DUP_SIMILARITY or share >= 0.999:
                fail(f"near-duplicate {a} / {b}: {share:.0%} identical (want 85-99%)")

    # generated files up to date
    gen = subprocess.run([sys.executable, str(TOOLS / "make_documents.py"), "--check"], capture_output=True, text=True)
    if gen.returncode:
        fail("generated files are not up to date: " + gen.stderr.strip())

    catalogued = [catalog[s.source] for s in stories if s.source in catalog]
    industries = Counter(e["industry"] for e in catalogued)
    countries = Counter(str(e["country"]) for e in catalogued)
    internal = [e["source"] for e in catalogued if e["shareability"] == "internal"]
    quality = Counter(e["quality"] for e in catalogued)
    fmt_counts = Counter(s.fmt for s in stories)
    if len(stories) < 44:
        fail(f"only {len(stories)} stories")
    if len(industries) < 8:
        fail(f"only {len(industries)} industries")
    if len(countries) < 8:
        fail(f"only {len(countries)} countries")
    if len(internal) < 6:
        fail(f"only {len(internal)} internal stories")
    if len(pairs) < 3:
        fail(f"only {len(pairs)} near-duplicate pairs")

    print(f"stories: {len(stories)} in {sum(files_by_fmt.values())} files")
    print("  by format: " + ", ".join(f"{k}={v}" for k, v in sorted(fmt_counts.items())))
    words = sorted(s.words for s in stories)
    print(f"  words per story: min {words[0]}, median {words[len(words) // 2]}, max {words[-1]}")
    print("  quality: " + ", ".join(f"{k}={v}" for k, v in sorted(quality.items())))
    print(f"industries ({len(industries)}): " + ", ".join(f"{k} {v}" for k, v in sorted(industries.items())))
    print(f"countries ({len(countries)}): " + ", ".join(f"{k} {v}" for k, v in sorted(countries.items())))
    print(f"internal ({len(internal)}): " + ", ".join(internal))
    print("near-duplicate pairs:")
    print("\n".join(dup_lines))
    if failures:
        print(f"\nFAILED ({len(failures)}):")
        for msg in failures:
            print("  - " + msg)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
