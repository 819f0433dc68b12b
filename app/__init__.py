"""The composition root: the ``learnstream`` command, the demo, the health checks and the
list of projections that runs. The only package that imports every stage, each when it is
needed (``learnstream --help`` loads none of them)."""

from app.wiring import running_projections

__all__ = ["running_projections"]
