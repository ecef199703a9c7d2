"""Tuning to the user's environment: allowlists (`--allow`, compiled to Sigma filters), the time
window (`--since` / `--until`), what each allowlist entry removed, and `tune`'s proposals.

Other commands that read logs take these in one line each: the click decorators in
cli/tuning_opts.py, and `prepare_ruleset` + `scan_stream(..., window=...)` as the library calls.
"""
