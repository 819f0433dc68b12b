"""The benchmark against published baselines: replay protocol, baselines, metrics, the
knowledge-tracing datasets, the simulated-data evaluation and the behaviour ablation."""
