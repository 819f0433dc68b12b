"""The docs say only what the tree holds: generated blocks are current, every path and link
they name exists, and the architecture walk names files and functions that exist."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH = re.compile(r"`((?:[A-Za-z_.][\w.-]*/)+[\w.-]+\.(?:py|xml|yaml|sh|md|json|ipynb|toml))`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
WALK_ROW = re.compile(r"^\| \d+ \| `([\w/]+\.py)` \| `([\w.]+)` \|", re.MULTILINE)


def test_generated_blocks_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def test_every_path_named_in_the_docs_exists() -> None:
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in PAGES
        for path in PATH.findall(page.read_text())
        if not (ROOT / path).exists()
    ]
    assert not missing, missing


def test_every_relative_link_resolves() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in PAGES
        for target in LINK.findall(page.read_text())
        if "://" not in target and not (page.parent / target).resolve().exists()
    ]
    assert not broken, broken


def _defines(tree: ast.Module, dotted: str) -> bool:
    scope: list[ast.stmt] = tree.body
    for part in dotted.split("."):
        found = None
        for node in scope:
            names: list[str] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            if part in names:
                found = node
                break
        if found is None:
            return False
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return True


def test_the_architecture_walk_names_what_exists() -> None:
    rows = WALK_ROW.findall((ROOT / "docs" / "architecture.md").read_text())
    assert len(rows) >= 15, "the one-event walk table lost its rows"
    wrong = [
        f"{path} {name}"
        for path, name in rows
        if not (ROOT / path).is_file() or not _defines(ast.parse((ROOT / path).read_text()), name)
    ]
    assert not wrong, wrong


def test_readme_stays_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_committed_notebooks_are_executed_and_clean() -> None:
    """They render with outputs on a code host (scripts/notebooks.sh after the demo): every
    code cell ran, none failed, figures are there, and no machine path leaked."""
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert code and all(c["execution_count"] is not None for c in code), path.name
        outputs = [o for c in code for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"], path.name
        assert any("image/png" in o.get("data", {}) for o in outputs), path.name
        text = path.read_text()
        assert "/work/" not in text and "/tmp/" not in text and "/home/" not in text, path.name
        assert path.stat().st_size < 400_000, f"{path.name}: outputs too large to commit"
