"""Continuous detection (issue 15): read only what is new, carry correlation windows across
runs, raise each alert once, even when the process is killed.

state.py   the one SQLite database (files seen, alerts emitted = the outbox, carried matches)
identity.py what makes an alert the same alert in two runs
cycle.py   one incremental run: new files -> pipeline.scan_stream -> new alerts, one commit
sinks.py   output file / stdout / webhook, each fed from the outbox after the commit
"""
