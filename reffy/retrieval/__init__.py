"""Retrieval: keyword (BM25) and dense (Chroma) indexes over gold, fused, filtered, re-ranked."""
