"""ReffyRetriever inside a real LangChain chain (LCEL) with a fake chat model, over the demo library."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from reffy.auth import Role, User
from reffy.langchain import ReffyRetriever, format_stories
from reffy.service import ReffyService


@pytest.fixture
def svc(demo_settings) -> Iterator[ReffyService]:
    service = ReffyService(demo_settings)
    yield service
    service.close()


class PromptRecorder(BaseCallbackHandler):
    """Keeps every prompt a chat model received."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], **kwargs: Any) -> None:
        self.prompts.extend(m.content for batch in messages for m in batch)


def test_retriever_returns_story_documents(svc: ReffyService) -> None:
    docs = ReffyRetriever(service=svc, k=3).invoke("bank that cut call handling time")
    assert 0 < len(docs) <= 3
    first = docs[0]
    assert first.page_content and first.id == first.metadata["story_id"]
    assert {
        "story_id",
        "title",
        "customer",
        "industry",
        "country",
        "year",
        "quality",
        "score",
        "shareability",
        "source",
        "why",
    } <= set(first.metadata)
    story = svc.story(first.metadata["story_id"])
    assert first.page_content == story.summary
    assert first.metadata["title"] == story.title
    passages = ReffyRetriever(service=svc, k=3, content="passage", mode="keyword").invoke("call handling time")
    assert passages and all(d.page_content for d in passages)


def test_retriever_honours_filters_audience_and_viewers(svc: ReffyService) -> None:
    finance = ReffyRetriever(service=svc, k=10, filters={"industry": ["finance"]}).invoke("reduce costs")
    assert finance and all(d.metadata["industry"] == "finance" for d in finance)
    internal = [r for r in svc.stories(audience="internal") if r.shareability == "internal"]
    for retriever in (
        ReffyRetriever(service=svc, k=20, audience="external", strict=False),
        ReffyRetriever(service=svc, k=20, user=User("v", Role.viewer), audience="internal", strict=False),
    ):
        docs = retriever.invoke(internal[0].title)
        assert docs and all(d.metadata["shareability"] == "public" for d in docs)
    assert not ReffyRetriever(service=svc).invoke("recipe for sourdough bread with rye flour")  # no padding


def test_retriever_inside_a_chain_with_a_fake_chat_model(svc: ReffyService) -> None:
    retriever = ReffyRetriever(service=svc, k=3)
    prompt = ChatPromptTemplate.from_template(
        "Recommend one customer reference, citing it as [n], using only these stories:\n\n{stories}\n\nNeed: {need}"
    )
    model = FakeListChatModel(responses=["Use Nordvik Bank [1]."])
    chain = {"stories": retriever | format_stories, "need": RunnablePassthrough()} | prompt | model | StrOutputParser()
    recorder = PromptRecorder()
    reply = chain.invoke("a bank that cut call handling time", config={"callbacks": [recorder]})
    assert reply == "Use Nordvik Bank [1]."
    expected = retriever.invoke("a bank that cut call handling time")
    assert len(recorder.prompts) == 1
    sent = recorder.prompts[0]
    assert "Need: a bank that cut call handling time" in sent
    for i, doc in enumerate(expected, 1):  # every retrieved story reached the prompt, numbered, with its link
        assert f"[{i}] {doc.metadata['title']}" in sent
        assert doc.page_content in sent
        assert (doc.metadata["source"] or "") in sent


@pytest.mark.anyio
async def test_retriever_ainvoke(svc: ReffyService) -> None:
    docs = await ReffyRetriever(service=svc, k=2, mode="keyword").ainvoke("retailer returns")
    assert docs and len(docs) <= 2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
