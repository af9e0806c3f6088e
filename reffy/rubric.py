"""The quality rubric and the vendor profile, both loaded from YAML data files.

The rubric is versioned data, not code: each criterion has an id, points, what earns
them and an example, and a content hash. Scores are stored per (criterion id, criterion
hash), so a new rubric version rescores only the criteria it actually changed.
The vendor profile (name, products, competitors) fills the vendor-specific criteria.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from reffy.errors import ConfigError
from reffy.wording import sentence

RESOURCES = Path(__file__).resolve().parent / "resources"
DEFAULT_RUBRIC = RESOURCES / "rubric.yaml"
DEFAULT_TAXONOMY = RESOURCES / "industries.yaml"
RUBRIC_TOTAL = 31


class Criterion(BaseModel):
    id: str
    dimension: str
    points: int = Field(gt=0)
    earns: str  # what earns the points
    example: str
    partial: str | None = None  # what earns part of the points, if anything
    name: str | None = None  # what people call it ("Challenge quantified"); not part of its definition

    @cached_property
    def hash(self) -> str:
        """Changes whenever anything that defines the criterion changes (its display name does not:
        renaming a criterion rescores nothing)."""
        body = json.dumps(self.model_dump(exclude={"name"}), sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """Its name, or its id in words when the rubric gives none."""
        return self.name or self.id.replace("_", " ").capitalize()


class Dimension(BaseModel):
    id: str
    name: str
    description: str


class Rubric(BaseModel):
    version: str
    name: str
    dimensions: list[Dimension]
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        total = sum(c.points for c in self.criteria)
        if total != RUBRIC_TOTAL:
            raise ValueError(f"the rubric's criteria are worth {total} points; Reffy's scale is {RUBRIC_TOTAL}")
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criterion ids must be unique")
        dims = {d.id for d in self.dimensions}
        unknown = {c.dimension for c in self.criteria} - dims
        if unknown:
            raise ValueError(f"criteria refer to unknown dimensions: {sorted(unknown)}")
        return self

    @property
    def total(self) -> int:
        return sum(c.points for c in self.criteria)

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)


class NamedThing(BaseModel):
    name: str
    aliases: list[str] = Field(default_factory=list)
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


class VendorProfile(BaseModel):
    name: str
    website: str = ""
    description: str = ""
    products: list[NamedThing] = Field(default_factory=list)
    competitors: list[NamedThing] = Field(default_factory=list)


class Industry(BaseModel):
    id: str
    name: str
    description: str


class Taxonomy(BaseModel):
    version: str
    industries: list[Industry]

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.industries]


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader: ten times faster, same result


def _load(path: Path, model: type[BaseModel], what: str, setting: str) -> Any:
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the {what} {path}: {sentence(exc.strerror or exc)} Set {setting} to a readable file."
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(sentence(f"The {what} {path} is not valid YAML: {exc}")) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"The {what} {path} is invalid at '{where}': {first['msg']}") from exc


def load_rubric(path: Path | None = None) -> Rubric:
    return _load(path or DEFAULT_RUBRIC, Rubric, "rubric", "REFFY_RUBRIC_PATH")


def load_vendor(path: Path | None) -> VendorProfile:
    """The vendor profile; without one, vendor-specific criteria score only generic signals."""
    if path is None:
        return VendorProfile(name="")
    return _load(path, VendorProfile, "vendor profile", "REFFY_VENDOR_PATH")


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    return _load(path or DEFAULT_TAXONOMY, Taxonomy, "industry taxonomy", "REFFY_TAXONOMY_PATH")
