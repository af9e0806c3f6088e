"""Scoring stories against the rubric: the interface (:mod:`.base`), the offline scorer
(:mod:`.offline`), the LLM scorer through litellm (:mod:`.llm`), the factory that picks one from
the settings (:mod:`.factory`) and their evaluation on a labelled corpus (:mod:`.evaluate`).
The run itself (budget, workers, resumable silver writes) is :mod:`ingest.silver`."""
