"""Helpers for the tests and the benchmarks (not used by the pipeline itself): scratch
databases, ingest driven end to end, simulated data straight into the log, and a private
broker and database that fault tests may kill."""

from testing.databases import scratch_database, to_url, with_dbname
from testing.ingest import (
    dead_letter_rows,
    dead_letter_topic_messages,
    drop_topics,
    ingest_env,
    ingest_until_idle,
    log_rows,
    logged_event_ids,
    start_ingest_process,
)
from testing.private_stack import PrivateStack, private_stack
from testing.sample_log import SampleLoad, export_all, load_simulation, wait_for_horizon

__all__ = [
    "PrivateStack",
    "SampleLoad",
    "dead_letter_rows",
    "dead_letter_topic_messages",
    "drop_topics",
    "export_all",
    "ingest_env",
    "ingest_until_idle",
    "load_simulation",
    "log_rows",
    "logged_event_ids",
    "private_stack",
    "scratch_database",
    "start_ingest_process",
    "to_url",
    "wait_for_horizon",
    "with_dbname",
]
