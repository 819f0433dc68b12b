"""The JavaScript client's own unit tests (clients/js/test/unit, node's test runner with a
fake fetch and a fake clock) and its generated-types drift check, run from the Python suite.
Needs node and npm: a missing one fails here (scripts/test.sh installs them)."""

from __future__ import annotations

import subprocess

import pytest

from testing.js import built_client, node

pytestmark = pytest.mark.js


def test_the_generated_types_match_the_committed_json_schemas() -> None:
    js = built_client()
    check = subprocess.run([node(), "scripts/generate-types.mjs", "--check"], cwd=js,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_node_unit_tests_pass() -> None:
    js = built_client()
    run = subprocess.run([node(), "--test", "--test-reporter=tap", "test/unit/"], cwd=js,
                         capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "\n# fail 0\n" in run.stdout, run.stdout[-3000:]
    passed = int(run.stdout.split("\n# pass ", 1)[1].split("\n", 1)[0])
    assert passed >= 40, run.stdout[-3000:]  # the runner found the tests


def test_a_missing_node_fails_with_the_way_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError, match=r"node and npm are needed .*scripts/js-setup.sh"):
        node()
