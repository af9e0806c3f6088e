"""Versioned prompt files (``reffy/answer/prompts/*.md``): front matter names the version,
the body is a template filled with ``str.format`` fields. A changed prompt is a new file with
a new version (answers record the version they were written with); earlier files stay as the
record of what those answers were asked."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import frontmatter

ANSWER_PROMPT = "answer_v2.md"


@dataclass(frozen=True, slots=True)
class Prompt:
    version: str
    template: str

    def render(self, **fields: object) -> str:
        return self.template.format(**fields)


@lru_cache(maxsize=8)
def load_prompt(name: str = ANSWER_PROMPT) -> Prompt:
    post = frontmatter.loads(resources.files("reffy.answer").joinpath("prompts", name).read_text(encoding="utf-8"))
    return Prompt(version=str(post["version"]), template=post.content.strip())
