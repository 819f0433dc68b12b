"""The public surface is deliberate: every package declares ``__all__`` and every name in it
exists. A rename or removal shows up here, not in a user's import."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "learnstream",
    "learnstream.contracts",
    "devstack",
    "ingest",
    "projections",
    "learner_model",
    "warehouse",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_declares_and_exports_its_api(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} declares no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def test_contracts_export_every_event_class() -> None:
    import learnstream.contracts as contracts

    for cls in contracts.EVENT_TYPES.values():
        assert cls.__name__ in contracts.__all__, cls.__name__


def test_core_exports() -> None:
    import learnstream

    assert {"Settings", "load_settings", "EventRejected", "TransientError"} <= set(
        learnstream.__all__
    )
