"""Tuning to the user's environment: allowlists (`--allow`, compiled to Sigma filters), the time
window (`--since` / `--until`), what each allowlist entry removed, and `tune`'s proposals.

Other commands that read logs take these in one line each: the click decorators in
cli/tuning_opts.py (`@allow_options`, `@window_options`, then `tuned_ruleset(...)` and
`scan_stream(..., window=window)`); from Python, `allowlist.load_allowlists` +
`allowlist.with_allowlists` give the RuleSet, and `window.TimeWindow.reject(event.time_ns)` says
whether an event is inside (for commands that read events rather than findings).
"""
