#!/usr/bin/env bash
# Executes the notebooks in place against the local warehouse, so the committed copies show
# their outputs on a code host. Run after scripts/demo.sh, then commit notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/python - <<'PY'
from pathlib import Path

import nbformat
from nbclient import NotebookClient

for path in sorted(Path("notebooks").glob("*.ipynb")):
    notebook = nbformat.read(path, as_version=4)
    # From the notebook's own folder, as Jupyter runs it.
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": "notebooks"}}).execute()
    for cell in notebook.cells:
        cell.get("metadata", {}).pop("execution", None)  # timings: noise in diffs
    nbformat.write(notebook, path)
    print(f"notebooks: executed {path} ({path.stat().st_size // 1024} KiB)")
PY
