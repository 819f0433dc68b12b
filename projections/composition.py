"""Which projections run: this stage's, plus those other stages register.

The learner-model stage depends on projections (it implements :class:`Projection`); this
stage must not depend on it. So it is looked up lazily, by name, only when composing the
running set: ``learner_model.projections()`` if that package and function exist.
"""

from __future__ import annotations

import importlib

from projections.projection import Projection
from projections.runner import default_projections


def other_stages() -> list[Projection]:
    """Projections registered by other stages (``learner_model.projections()``)."""
    try:
        module = importlib.import_module("learner_model")
    except ImportError:
        return []
    offered = getattr(module, "projections", None)
    return list(offered()) if callable(offered) else []


def all_projections() -> list[Projection]:
    """Ours plus other stages'. Another stage's projection replaces ours when it offers the
    same name or read model (the learner-model stage replaces the baseline
    ``learner_model_state``), so no view has two owners."""
    added = other_stages()
    taken = {p.name for p in added} | {t.name for p in added for t in p.tables}
    ours = [
        p
        for p in default_projections()
        if p.name not in taken and not any(t.name in taken for t in p.tables)
    ]
    return ours + added
