"""The notebooks execute headless on a small simulated warehouse and draw their figures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from learnstream.settings import Settings
from testing.sample_log import export_all, load_simulation
from warehouse.jobs import run_job
from warehouse.truth import import_truth

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"


@pytest.fixture
def warehouse_settings(db_settings: Settings, tmp_path: Path) -> Settings:
    settings = db_settings.with_part(warehouse={"dir": tmp_path / "warehouse"})
    load = load_simulation(settings, tmp_path / "truth.json", learners=30, days=14, seed=5)
    export_all(settings)
    import_truth(settings, load.truth_path)
    for job in ("engagement", "difficulty"):
        run_job(settings, job)
    return settings


def _run(path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    # The kernel imports this checkout's packages, whatever an editable install mapped.
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    notebook: nbformat.NotebookNode = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def _figures(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def _text(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def test_notebooks_execute_and_draw_their_figures(
    warehouse_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel inherits this environment: the notebooks read it through Settings.
    monkeypatch.setenv("LEARNSTREAM_WAREHOUSE__DIR", str(warehouse_settings.warehouse.dir))
    monkeypatch.setenv("LEARNSTREAM_DATABASE_URL", warehouse_settings.resolved_database_url)
    engagement = _run(NOTEBOOKS / "engagement.ipynb", monkeypatch)
    learner_model = _run(NOTEBOOKS / "learner_model.ipynb", monkeypatch)
    # engagement: by format/genre, DAU, sessions, retention, funnel; learner model: 2.
    assert _figures(engagement) == 5
    assert _figures(learner_model) == 2
    assert "content_engagement" in _text(engagement)
    assert "No simulator truth" not in _text(learner_model)


def test_learner_model_notebook_degrades_without_truth(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = db_settings.with_part(warehouse={"dir": tmp_path / "warehouse"})
    load_simulation(settings, tmp_path / "truth.json", learners=15, days=7, seed=2)
    export_all(settings)
    run_job(settings, "difficulty")
    monkeypatch.setenv("LEARNSTREAM_WAREHOUSE__DIR", str(settings.warehouse.dir))
    notebook = _run(NOTEBOOKS / "learner_model.ipynb", monkeypatch)
    assert "No simulator truth" in _text(notebook)
    assert _figures(notebook) == 2
