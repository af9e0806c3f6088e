"""The one typed settings object. Every knob is a ``REFFY_*`` environment variable
(or a line in ``.env``); ``REFFY_HOME`` holds all state. Nothing else in Reffy reads
``os.environ``.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "REFFY_"
ENV_FILE = ".env"
HOME_ENV_FILE = "reffy.env"  # settings that belong to one library, kept in its REFFY_HOME
SECRET_FIELDS = frozenset({"llm_api_key", "api_token"})


def _default_home() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("reffy", appauthor=False))


class Settings(BaseSettings):
    """Effective configuration. Field descriptions double as ``reffy config`` help."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    _init_keys: set[str] = PrivateAttr(default_factory=set)

    home: Path = Field(default_factory=_default_home, description="Directory holding all Reffy state.")

    # ingestion limits
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused (too_large).")
    max_page_mb: float = Field(10.0, gt=0, description="Web pages and feeds larger than this are refused.")
    http_timeout_s: float = Field(20.0, gt=0, description="Timeout for one HTTP request.")
    http_retries: int = Field(2, ge=0, le=10, description="Retries for transient HTTP failures (5xx, 429, network).")
    http_concurrency: int = Field(4, ge=1, le=64, description="Web pages fetched at once.")
    user_agent: str = Field("Reffy/0.1 (+customer-story library)", description="User-Agent sent when fetching.")
    feed_min_chars: int = Field(
        1500, ge=0, description="A feed entry shorter than this is followed to its page for full text."
    )
    field_map: dict[str, str] = Field(
        default_factory=dict,
        description='Fields of JSON/CSV/XLSX sources, e.g. {"id": "slug", "title": "headline", "text": "body"}; '
        "unset roles are guessed from common names.",
    )
    batch_size: int = Field(200, ge=1, description="Records written per transaction.")
    near_dup_threshold: float = Field(
        0.7, gt=0, le=1, description="Estimated Jaccard similarity above which two stories are near-duplicates."
    )
    default_excludes: list[str] = Field(
        default_factory=lambda: [".*", "**/.*", "**/__pycache__/**", "**/~$*"],
        description="Glob patterns never ingested from folders (hidden files, Office lock files).",
    )
    max_zip_uncompressed_mb: float = Field(
        200.0,
        gt=0,
        description="A .docx/.pptx/.xlsx whose parts add up to more than this once unpacked is refused "
        "before it is opened (checked from the zip directory, so a zip bomb never expands).",
    )
    max_zip_ratio: float = Field(
        100.0,
        gt=1,
        description="A .docx/.pptx/.xlsx part (of 1 MB or more unpacked) that unpacks to more than this "
        "many times its packed size is refused as a likely zip bomb.",
    )
    max_zip_entries: int = Field(
        10_000,
        ge=1,
        description="A .docx/.pptx/.xlsx with more parts than this is refused before it is opened.",
    )
    max_json_depth: int = Field(
        64,
        ge=2,
        le=500,
        description="JSON/JSONL objects nested deeper than this are refused (that object only; "
        "the rest of the file still ingests).",
    )
    max_meta_kb: float = Field(
        64.0,
        gt=0,
        description="Largest source metadata kept per record (serialised JSON) and largest Markdown "
        "front matter parsed; larger fields are dropped with a warning, the story itself is kept.",
    )
    allow_private_urls: bool = Field(
        False,
        description="Fetch URLs on loopback, private, link-local and other non-public addresses (also "
        "as redirect targets and feed links). Off: such URLs are refused, so a link cannot reach internal services.",
    )
    public_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Domains whose web pages, feeds and feed entries are public stories "
        "(subdomains included), e.g. blog.example.com,example.org; judged on the host after redirects. Pages "
        "from any other host are internal unless their metadata says otherwise. YouTube videos are public.",
    )
    max_story_chars: int = Field(
        5_000_000,
        ge=1000,
        description="A story whose text is longer than this (about 1,500 pages) is refused "
        "(too_large): it is a dump or a hostile file, and every later step would choke on it.",
    )
    min_story_chars: int = Field(
        400,
        ge=0,
        description="A web page whose main text is shorter than this is recorded as a problem, not "
        "ingested as a story (index pages, cookie walls, error pages).",
    )

    # sources that stay in sync (`reffy sources`, `reffy sync`)
    crawl_delay_s: float = Field(
        0.5,
        ge=0,
        description="Polite pause between two requests to one site while reading a sitemap's pages or "
        "crawling (a robots.txt Crawl-delay, up to 30 s, wins when longer).",
    )
    crawl_max_pages: int = Field(200, ge=1, description="Pages a crawl source reads at most per sync.")
    crawl_max_depth: int = Field(3, ge=0, description="Links a crawl follows from its start page at most.")
    sitemap_max_urls: int = Field(
        50_000, ge=1, description="Page URLs read from one sitemap source at most (its index and every sitemap)."
    )
    sync_default_every: str = Field(
        "24h",
        description="How often `reffy sync --due`/`--watch` re-reads a source added without --every "
        "(e.g. 30m, 6h, 1d).",
    )

    # scoring (silver)
    rubric_path: Path | None = Field(None, description="Your own rubric YAML (default: Reffy's 31-point rubric).")
    vendor_path: Path | None = Field(
        None, description="Vendor profile YAML (name, products, competitors) for the vendor-specific criteria."
    )
    taxonomy_path: Path | None = Field(None, description="Industry taxonomy YAML (default: Reffy's industries).")
    embedding_model: str = Field(
        "bundled:all-MiniLM-L6-v2",
        description="Sentence-transformers model: the bundled default, a path or a hub name.",
    )
    embedding_backend: Literal["auto", "onnx", "sentence-transformers"] = Field(
        "auto",
        description="What computes embeddings: onnx (onnxruntime, no torch at query time; local BERT-style "
        "sentence-transformers folders such as the bundled model), sentence-transformers (the reference, any model), "
        "or auto (onnx when the model allows it and its one-time export succeeds, else sentence-transformers).",
    )
    embedding_bulk_int8: bool = Field(
        False,
        description="Index with the int8-quantised ONNX graph (cosine to fp32 >= 0.98; whether it is "
        "faster depends on the CPU: eval/bench_embedder.py); queries always use fp32.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where ONNX exports of embedding models are kept (unset = the user cache directory, "
        "e.g. ~/.cache/reffy/models, shared by every REFFY_HOME on the machine).",
    )
    llm_model: str | None = Field(
        None, description="litellm model string (e.g. openai/gpt-4o-mini, ollama/llama3.1); unset = offline scorer."
    )
    llm_api_base: str | None = Field(
        None, description="API base URL for the LLM (e.g. a local OpenAI-compatible server)."
    )
    llm_api_key: str | None = Field(
        None, description="API key for the LLM provider (or use the provider's own variable)."
    )
    llm_concurrency: int = Field(4, ge=1, le=64, description="LLM calls in flight at once.")
    llm_timeout_s: float = Field(120.0, gt=0, description="Timeout for one LLM call.")
    llm_max_retries: int = Field(4, ge=0, le=10, description="Retries on rate limits and transient LLM errors.")
    llm_repair_attempts: int = Field(1, ge=0, le=3, description="Re-asks after an invalid LLM answer before failing.")
    llm_tools: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Let the answer model plan its searches with a search tool: auto (when litellm knows the "
        "model to take tools), on (always, the call required by name: what local servers such as llama.cpp's need "
        "to return a tool call) or off.",
    )
    score_workers: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 64),
        ge=1,
        le=64,
        description="Processes the offline scorer runs in (default: one per CPU; 1 = in this process).",
    )

    # gold
    gold_min_score: int = Field(12, ge=0, le=31, description="Stories scoring below this (of 31) stay out of gold.")
    chunk_chars: int = Field(1200, ge=200, description="Target size of gold body chunks, in characters.")
    chunk_overlap: int = Field(150, ge=0, description="Overlap between consecutive chunks, in characters.")
    vector_chunks: int | None = Field(
        1,
        ge=0,
        description="Body chunks per story given a vector, from the start ('all' = every chunk). Every chunk stays in "
        "keyword search and reaches answers; vectors are what indexing spends its time on (eval/vector_budget.py).",
    )

    # retrieval
    chroma_url: str | None = Field(
        None, description="A Chroma server (e.g. http://127.0.0.1:8000); unset = local files."
    )
    reranker_model: str = Field(
        "",
        description="CrossEncoder re-ranker: a local model directory (or a hub name, e.g. "
        "cross-encoder/ms-marco-MiniLM-L6-v2, on a machine with network); empty = re-ranking off.",
    )
    no_answer_false_flags: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        description="`reffy tune`: the share of answerable questions (the library's own exam) "
        "that may be told 'no strong match'; sets the calibrated no-answer threshold.",
    )
    retune_growth: float = Field(
        0.25,
        gt=0,
        description="`reffy status` suggests `reffy tune` again once the library's size changed by this "
        "share since the last tune.",
    )
    rerank_top: int = Field(30, ge=0, le=200, description="Candidates re-ranked by the cross-encoder (0 = off).")
    fatigue_strength: float = Field(
        0.0, ge=0, description="Penalty for stories recommended often recently (0 = off; 0.3 is a gentle start)."
    )
    usage_window_days: int = Field(30, ge=1, description="How far back usage-aware ranking counts recommendations.")

    # answering and governance
    audience: Literal["internal", "external"] = Field(
        "internal", description="Default audience: external excludes internal-only stories everywhere."
    )
    answer_k: int = Field(6, ge=1, le=20, description="Stories given to the answer model as context.")
    answer_max_tokens: int = Field(900, ge=64, description="Upper bound on the length of a written answer.")
    history_turns: int = Field(6, ge=0, le=50, description="Earlier messages of a conversation sent with a follow-up.")

    # shared use: app login, API
    users_file: Path | None = Field(
        None,
        description="YAML of app users (name, role, argon2 password hash); unset = REFFY_HOME/users.yaml if present, "
        "else single-user mode with no login.",
    )
    api_cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the REST API.")
    api_max_body_kb: int = Field(64, ge=1, description="Largest request body the REST API accepts.")
    api_auth: bool | None = Field(
        None,
        description="Require API tokens (default: required as soon as any token has been issued, even if revoked).",
    )
    api_token: str | None = Field(None, description="Token an MCP client process acts as (from `reffy token add`).")
    session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 90,
        description="How long an app login lasts (hours): a refresh or a pasted story link "
        "keeps you signed in until then, or until you log out.",
    )

    @field_validator("vector_chunks", mode="before")
    @classmethod
    def _all_chunks(cls, value: Any) -> Any:
        """``all`` or empty: every chunk gets a vector."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "all", "none") else value

    @field_validator("public_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: Any) -> Any:
        """A JSON list or a comma-separated string; each entry a bare host name, lower case."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, (list, tuple)):
            return value
        domains = []
        for item in value:
            name = str(item).strip().lower()
            if "://" in name:
                name = urlsplit(name).hostname or ""
            name = name.removeprefix("*.").strip(".")
            if name:
                domains.append(name)
        return domains

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @cached_property
    def db_path(self) -> Path:
        return self.home / "reffy.duckdb"

    @property
    def history_path(self) -> Path:
        return self.home / "history.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def scorer_name(self) -> str:
        return "llm" if self.llm_model else "offline"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home

    def explain(self) -> list[tuple[str, Any, str]]:
        """Each setting with its effective value and where that value came from."""
        from dotenv import dotenv_values

        dotenv = {k.upper(): v for k, v in dotenv_values(ENV_FILE).items()} if Path(ENV_FILE).is_file() else {}
        home_file = self.home / HOME_ENV_FILE
        home_env = {k.upper(): v for k, v in dotenv_values(home_file).items()} if home_file.is_file() else {}
        init_keys = self._init_keys
        rows: list[tuple[str, Any, str]] = []
        for name in type(self).model_fields:
            env_name = f"{ENV_PREFIX}{name.upper()}"
            if name in init_keys:
                origin = "command line"
            elif env_name in os.environ:
                origin = f"environment ({env_name})"
            elif env_name in dotenv:
                origin = f"{ENV_FILE} ({env_name})"
            elif env_name in home_env:
                origin = f"{home_file} ({env_name})"
            else:
                origin = "default"
            value = getattr(self, name)
            if name in SECRET_FIELDS and value:
                value = "********"
            rows.append((name, value, origin))
        rows.append(("db_path", self.db_path, "derived from home"))
        return rows


def load_settings(**overrides: Any) -> Settings:
    """Build settings from defaults, ``.env``, the environment and explicit overrides."""
    from pydantic import ValidationError

    from reffy.errors import ConfigError

    try:
        settings = Settings(**overrides)
        home_file = settings.home / HOME_ENV_FILE
        if home_file.is_file():  # the library's own settings; ./.env and the environment still win
            settings = Settings(_env_file=(home_file, ENV_FILE), **overrides)  # type: ignore[call-arg]  # pydantic-settings' own keyword
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid setting: {problems}. Fix the environment variable or .env entry.") from exc
    settings._init_keys = set(overrides)
    return settings
