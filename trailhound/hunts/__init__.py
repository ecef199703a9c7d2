"""Hunting queries: SQL over the normalized events, in embedded DuckDB.

A hunt is one `.sql` file in `sql/` whose leading `--` comment lines are a YAML header (name,
title, tags, sources, description); `registry.py` reads them, `store.py` loads the events of a
scan into a DuckDB table `events` (with the reference lists of `sql/_lists.sql`), and `run.py`
runs one hunt over it. The detection rules say "this event is suspicious"; hunts ask questions
across events (sequences, bursts, first-seen values) that a per-event rule cannot.
"""
