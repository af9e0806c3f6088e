"""A LangChain retriever over Reffy search, so chains and agents can cite customer stories.

Example (runnable: ``python examples/langchain_chain.py``)::

    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    from reffy.langchain import ReffyRetriever, format_stories
    from reffy.service import ReffyService

    retriever = ReffyRetriever(service=ReffyService(), k=4, audience="external",
                               filters={"industry": ["finance"]})
    prompt = ChatPromptTemplate.from_template(
        "Recommend a customer reference using only these stories:\\n{stories}\\n\\nNeed: {need}")
    chain = ({"stories": retriever | format_stories, "need": RunnablePassthrough()}
             | prompt | chat_model | StrOutputParser())
    chain.invoke("a bank that cut call handling time")

Each Document's ``page_content`` is the story's retrieval summary (or the passage that
matched, with ``content="passage"``); ``metadata`` carries the story id, title, customer,
industry, country, year, quality (of 31), score, shareability, source link and why it
matched. Governance is the service's: ``audience="external"`` (or a viewer ``user``) only
ever yields public stories. When search reports that nothing matches strongly, the
retriever returns no documents (``strict=True``) so the chain can say so instead of
recommending a weak story.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from reffy.auth import LOCAL_USER, User
from reffy.errors import NotFound

CHANNEL = "langchain"
METADATA_FIELDS = (
    "story_id",
    "title",
    "customer",
    "industry",
    "country",
    "year",
    "quality",
    "score",
    "shareability",
    "source_link",
    "source_uri",
    "source_record_id",
    "why",
)


class ReffyRetriever(BaseRetriever):
    """Reffy search as a LangChain retriever (one service call per query, plus a card lookup per hit
    for its summary, which also drops a story hidden from this audience since the search ran)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    service: Any = Field(description="A reffy.service.ReffyService (one per process).")
    k: int = Field(6, ge=1, le=50, description="Stories per query.")
    mode: Literal["hybrid", "keyword"] = "hybrid"
    filters: dict[str, Any] | None = Field(None, description="Search filters, as for `reffy search --filter`.")
    audience: Literal["internal", "external"] | None = Field(None, description="None: the library's setting.")
    user: User = Field(LOCAL_USER, description="Whose governance applies (a viewer is always external).")
    content: Literal["summary", "passage"] = Field("summary", description="What page_content holds.")
    strict: bool = Field(True, description="Return nothing when search finds no strong match.")

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.service.search(
            query,
            filters=self.filters,
            k=self.k,
            mode=self.mode,
            user=self.user,
            audience=self.audience,
            channel=CHANNEL,
        )
        if self.strict and result.no_answer:
            return []
        docs = []
        for hit in result.hits:
            text = self._content(hit)
            if text is None:  # hidden from this audience since the search ran
                continue
            metadata = {f: getattr(hit, f, None) for f in METADATA_FIELDS}
            metadata["source"] = hit.source_link or hit.source_uri
            docs.append(Document(page_content=text, metadata=metadata, id=hit.story_id))
        return docs

    def _content(self, hit: Any) -> str | None:
        if self.content == "passage" and hit.passage:
            return hit.passage
        try:
            story = self.service.card(hit.story_id, user=self.user, audience=self.audience)
        except NotFound:
            return None
        return story.summary or hit.passage or story.title or hit.title


def format_stories(docs: Sequence[Document]) -> str:
    """Documents as a numbered list a prompt can cite: ``[1] Title (Customer) <link>`` then the text."""
    lines = []
    for i, doc in enumerate(docs, 1):
        meta = doc.metadata
        who = f" ({meta['customer']})" if meta.get("customer") else ""
        link = f" <{meta['source']}>" if meta.get("source") else ""
        lines.append(f"[{i}] {meta.get('title', '')}{who}{link}\n{doc.page_content}")
    return "\n\n".join(lines) if lines else "(no matching stories)"
