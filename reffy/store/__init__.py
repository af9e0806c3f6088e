"""Persistent state: the DuckDB warehouse (bronze/silver/gold) and its migrations."""
