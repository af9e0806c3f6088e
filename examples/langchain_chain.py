"""Reffy as the retriever of a LangChain chain (runs offline on the demo library).

    reffy demo && REFFY_HOME=~/.local/share/reffy-demo python examples/langchain_chain.py "bank that cut call time"

The chat model here is LangChain's FakeListChatModel so the example needs no API key; put any
LangChain chat model in its place (e.g. ``ChatOpenAI(model="gpt-4o-mini")`` from langchain-openai).
"""

from __future__ import annotations

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from reffy.langchain import ReffyRetriever, format_stories
from reffy.service import ReffyService


def main(need: str) -> None:
    service = ReffyService()
    retriever = ReffyRetriever(service=service, k=3, audience="external")  # public stories only
    prompt = ChatPromptTemplate.from_template(
        "You recommend customer references. Use only these stories and cite them as [n]:\n\n{stories}\n\n"
        "Need: {need}\nRecommend the best one in two sentences."
    )
    model = FakeListChatModel(responses=["(a real chat model would answer here, citing [1])"])
    show = RunnableLambda(lambda value: print(value.to_string(), "\n---") or value)  # print the prompt sent
    stories = {"stories": retriever | format_stories, "need": RunnablePassthrough()}
    chain = stories | prompt | show | model | StrOutputParser()
    print(chain.invoke(need))
    service.close()


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "a bank that cut call handling time")
