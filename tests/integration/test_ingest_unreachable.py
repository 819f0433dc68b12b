"""`learnstream ingest` started against an unreachable Kafka or PostgreSQL: every retry is
logged, then one line saying what is unreachable and what to do, exit 1 (issue 11, defect 3).

The other service is the real one, so the failure is the unreachable one's alone."""

from __future__ import annotations

import subprocess

from learnstream.settings import Settings
from testing.ingest import start_ingest_process

#: Nothing listens on the discard port: connections are refused.
NOWHERE = "127.0.0.1:9"


def _run(settings: Settings) -> tuple[int, list[str]]:
    process = start_ingest_process(settings, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # A correctness bound, not a speed target: the command must end on its own.
    _, err = process.communicate(timeout=90)
    return process.returncode, err.decode().splitlines()


def _bounded(settings: Settings) -> Settings:
    return settings.with_part(connect_timeout_seconds=2,
                              ingest={"startup_timeout_seconds": 3.0})


def test_unreachable_broker_fails_with_one_line_after_logged_retries(
    kafka_settings: Settings,
) -> None:
    code, lines = _run(_bounded(kafka_settings).with_part(kafka_bootstrap=NOWHERE))

    assert code == 1
    assert any('"msg":"Kafka unreachable; retrying"' in line for line in lines), lines
    errors = [line for line in lines if not line.startswith("{")]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"error: Kafka is unreachable: Kafka at {NOWHERE} did not "
                                "answer"), errors
    assert "LEARNSTREAM_INGEST__STARTUP_TIMEOUT_SECONDS" in errors[0]
    assert "LEARNSTREAM_KAFKA_BOOTSTRAP" in errors[0]  # what to do


def test_unreachable_database_fails_with_one_line_after_logged_retries(
    kafka_settings: Settings,
) -> None:
    nowhere = f"postgresql://learnstream@{NOWHERE}/learnstream"
    code, lines = _run(_bounded(kafka_settings).with_part(database_url=nowhere))

    assert code == 1
    retries = [line for line in lines if '"msg":"PostgreSQL unreachable; retrying"' in line]
    assert len(retries) >= 2, lines
    errors = [line for line in lines if not line.startswith("{")]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"error: PostgreSQL is unreachable: PostgreSQL at {NOWHERE}"
                                "/learnstream did not answer"), errors
    assert "Connection refused" in errors[0]
    assert "LEARNSTREAM_DATABASE_URL" in errors[0]
