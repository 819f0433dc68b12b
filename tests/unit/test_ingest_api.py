"""The ingest package's public names are deliberate (httpx-style exported-members test)."""

from __future__ import annotations

import pytest

import ingest


def test_exported_names() -> None:
    assert set(ingest.__all__) == {
        "AppendResult", "DeadLetter", "Emitter", "SourceOffset", "append_batch", "ensure_topics",
    }
    for name in ingest.__all__:
        assert getattr(ingest, name).__name__ == name


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NotAThing"):
        getattr(ingest, "NotAThing")  # noqa: B009 - the name is looked up on purpose
