"""Hostile and careless inputs, generated at test time (nothing hostile is stored in the repo).

``python tests/hostile.py FOLDER`` writes the whole hostile folder (used by the peak-memory
test, which runs ``reffy ingest`` on it in a child process).
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path

GOOD_STORY = (
    "Nordvik Bank, a retail bank in Denmark, struggled with long queues in its contact centre. "
    "The bank deployed Quillon Assist to answer routine questions about cards, loans and payments. "
    "Within six months average handling time fell by 38 percent and customer satisfaction rose by 11 points."
)

# The members an Office file needs for its kind to be recognised; the bomb is the main part.
OFFICE_PARTS = {"docx": "word/document.xml", "pptx": "ppt/slides/slide1.xml", "xlsx": "xl/worksheets/sheet1.xml"}

_ZEROS = b"\0" * (1 << 20)
_BLOCK: bytes | None = None
_CRC: dict[int, int] = {}


def _zero_block() -> bytes:
    """Deflate output for 1 MiB of zeros that can be repeated: a full flush resets the
    compressor, so N copies are a valid stream of N MiB of zeros (about 1 KB each)."""
    global _BLOCK
    if _BLOCK is None:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        _BLOCK = comp.compress(_ZEROS) + comp.flush(zlib.Z_FULL_FLUSH)
    return _BLOCK


def _zeros_crc(mib: int) -> int:
    if mib not in _CRC:
        crc = 0
        for _ in range(mib):
            crc = zlib.crc32(_ZEROS, crc)
        _CRC[mib] = crc
    return _CRC[mib]


def zip_bomb(path: Path, kind: str = "docx", mib: int = 1024) -> Path:
    """A real, valid zip bomb: an Office file whose main part is ``mib`` MiB of zeros
    packed into about ``mib`` KB. Written by hand (zipfile would have to compress it all)."""
    members = [
        (
            "[Content_Types].xml",
            b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
            0,
            None,
        ),
        (OFFICE_PARTS[kind], _zero_block() * mib + b"\x03\x00", mib << 20, _zeros_crc(mib)),
    ]
    out = bytearray()
    central = bytearray()
    for name, payload, size, crc in members:
        raw = name.encode()
        method = 8 if crc is not None else 0
        crc = zlib.crc32(payload) if crc is None else crc
        size = size or len(payload)
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(payload), size, len(raw), 0)
        out += raw + payload
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            len(payload),
            size,
            len(raw),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw
    start = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0)
    path.write_bytes(bytes(out))
    return path


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Markdown whose YAML front matter is a billion-laughs alias bomb (under 1 KB)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]")
    return "---\n" + "\n".join(lines) + "\n---\n# Bomb\n\n" + GOOD_STORY + "\n"


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


def non_utf8_name(folder: Path, stem: bytes = b"caf\xe9-story", suffix: bytes = b".txt") -> Path:
    """A file whose name is not valid UTF-8 (Latin-1 é); returns its (surrogate-escaped) path."""
    raw = os.path.join(os.fsencode(folder), stem + suffix)
    with open(raw, "wb") as f:
        f.write(("Caf\u00e9 story\n\n" + GOOD_STORY).encode())
    return Path(os.fsdecode(raw))


def hostile_folder(root: Path, *, bomb_mib: int = 1024, big_line_mb: int = 45) -> Path:
    """Every hostile file at once, with two good files beside them."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "good.md").write_text("# Good story\n\n" + GOOD_STORY, encoding="utf-8")
    (root / "good.txt").write_text("Another good story\n\n" + GOOD_STORY, encoding="utf-8")
    for kind in OFFICE_PARTS:
        zip_bomb(root / f"bomb.{kind}", kind, bomb_mib)
    (root / "bomb.md").write_text(alias_bomb(), encoding="utf-8")
    (root / "deep.json").write_text(deep_json(), encoding="utf-8")
    good_row = json.dumps({"slug": "fine", "title": "A fine row", "body": GOOD_STORY})
    (root / "pathological.jsonl").write_text(
        good_row + "\n" + deep_json() + "\n" + "1" * 100_000 + "\n", encoding="utf-8"
    )
    with open(root / "big-line.jsonl", "w", encoding="utf-8") as f:  # one 45 MB line: a story far too long
        f.write('{"slug": "big", "title": "One huge line", "body": "')
        chunk = "All work and no play makes a very long customer story. " * 1000
        for _ in range(big_line_mb * (1 << 20) // len(chunk)):
            f.write(chunk)
        f.write('"}\n')
    non_utf8_name(root)
    return root


if __name__ == "__main__":
    hostile_folder(Path(sys.argv[1]))
