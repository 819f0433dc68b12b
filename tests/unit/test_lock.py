"""requirements.lock pins what pyproject.toml asks for, and what is installed is the lock:
a fresh clone (scripts/bootstrap.sh) and the image (Dockerfile) install from it."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, tuple[str, Marker | None]]:
    pins: dict[str, tuple[str, Marker | None]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line or line.startswith(("#", " ")):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        pins[canonicalize_name(requirement.name)] = (spec.version, requirement.marker)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(r) for r in [*project["dependencies"], *extras.get("dev", [])]]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/lock.sh"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} does not satisfy {requirement.specifier}: run scripts/lock.sh"
        )


def test_the_installed_environment_is_the_lock() -> None:
    drift = []
    for name, (version, marker) in _pins().items():
        if marker is not None and not marker.evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            drift.append(f"{name} missing")
            continue
        if installed != version:
            drift.append(f"{name} {installed} != {version}")
    assert not drift, f"run scripts/bootstrap.sh: {drift}"


def test_installers_use_the_lock() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert re.search(r"pip install .*-c requirements\.lock -e '\.\[dev\]'", bootstrap)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY pyproject.toml README.md requirements.lock" in dockerfile
    assert re.search(r"pip install .*-c requirements\.lock \.", dockerfile)
