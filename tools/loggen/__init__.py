"""Deterministic log generators: the demo dataset (`demo.py`) and bench CloudTrail at any size
(bench/gen_cloudtrail.py), sharing the delivery layer in `common.py`."""
