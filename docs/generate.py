"""Regenerate the generated blocks of the docs; ``--check`` only reports stale ones.

    python docs/generate.py          # rewrite docs/*.md in place
    python docs/generate.py --check  # exit 1 naming each stale file (the test suite runs this)

A block is delimited by ``<!-- generated: SOURCE -->`` and ``<!-- end generated -->``.
SOURCE is ``settings`` (the table of every environment variable ``Settings`` reads) or a
path under ``bench/results/`` (that result file, its headings moved below the page's). Figures
in the docs come from these blocks or link to their result file; none is typed by hand, so a
rerun benchmark updates the docs with one command and a stale page fails the tests.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(
    r"(<!-- generated: (?P<source>[^ ]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL
)
HEADING = re.compile(r"^(#+) ", re.MULTILINE)
# Result files start at level 1; inside a page they sit below its level-2 sections.
HEADING_SHIFT = 2


def settings_table() -> str:
    from learnstream.settings import setting_variables

    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, default, description in setting_variables():
        rows.append(f"| `{name}` | `{default}` | {description} |")
    return "\n".join(rows) + "\n"


def result_file(source: str) -> str:
    path = ROOT / source
    if not source.startswith("bench/results/") or not path.is_file():
        raise SystemExit(f"docs: unknown generated source {source!r} (a bench/results file?)")
    text = path.read_text()
    text = HEADING.sub(lambda m: "#" * (len(m.group(1)) + HEADING_SHIFT) + " ", text)
    return text.rstrip("\n") + f"\n\n(Generated from [{source}](../{source}).)\n"


def render(source: str) -> str:
    return settings_table() if source == "settings" else result_file(source)


def regenerate(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("source")) + m.group(4), text)


def stale_pages() -> list[Path]:
    return [
        page
        for page in sorted(DOCS.glob("*.md"))
        if regenerate(page.read_text()) != page.read_text()
    ]


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print("usage: python docs/generate.py [--check]", file=sys.stderr)
        return 2
    stale = stale_pages()
    if argv == ["--check"]:
        for page in stale:
            print(
                f"{page.relative_to(ROOT)} is stale: run python docs/generate.py", file=sys.stderr
            )
        return 1 if stale else 0
    for page in stale:
        page.write_text(regenerate(page.read_text()))
        print(f"regenerated {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
