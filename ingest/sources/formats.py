"""Which extractor reads which file suffix, and what bytes each suffix should hold."""

from __future__ import annotations

from ingest.sources.base import Extractor
from ingest.sources.documents import EXTRACTORS as DOCUMENTS
from ingest.sources.feeds import extract_feed_file
from ingest.sources.tabular import EXTRACTORS as TABULAR

EXTRACTORS: dict[str, Extractor] = {
    **DOCUMENTS,
    **TABULAR,
    ".rss": extract_feed_file,
    ".atom": extract_feed_file,
}

# What `sniff()` should report for each suffix; anything else is a mislabelled file.
EXPECTED_KIND: dict[str, str] = dict.fromkeys(EXTRACTORS, "text")
EXPECTED_KIND.update({".pdf": "pdf", ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx"})

# Where a mislabelled file's real kind can still be read.
SUFFIX_FOR_KIND: dict[str, str] = {"pdf": ".pdf", "docx": ".docx", "pptx": ".pptx", "xlsx": ".xlsx", "text": ".txt"}
