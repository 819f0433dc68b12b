"""Benchmarks, one module per claim. Run from the repository root as modules, e.g.
``python -m bench.ingest``; each writes ``bench/results/<name>.json`` and ``.md``."""
