"""Insights: what people asked and got (the review queue), what they ask *about* (themes of
questions, with gaps where demand is high and strong stories few) and a digest of both.

Read side only: the history store, the loaded search index and Reffy's own embedder; never the
pipeline. Permissions are decided by :class:`reffy.service.insights.InsightOps`, not here.
"""
