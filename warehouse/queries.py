"""The named SQL the warehouse runs against PostgreSQL. Identifiers come from constants in
this package; values are always bound parameters (``%(name)s``)."""

from __future__ import annotations

from learnstream.log import HORIZON_SQL, READABLE_SQL, after_below_horizon_sql
from warehouse.columns import EXPORT_COLUMNS, LOG_FAMILIES

#: The gap-safe horizon: every transaction with an id below it has finished (committed or
#: rolled back), so no row with a smaller ``tx_id`` can appear later. Captured once per export
#: run, which also bounds the run when writers never stop.
EXPORT_HORIZON = HORIZON_SQL


def _family_select(family: str) -> str:
    columns = ",\n        ".join(f"{c.expression(family)} AS {c.name}" for c in EXPORT_COLUMNS)
    # The row comparison on (tx_id, position) walks the (tx_id, position) index of each table.
    return f"""(
    SELECT
        {columns}
    FROM log.{family}
    WHERE {after_below_horizon_sql(f"log.{family}.")}
    -- Qualified: the bare names would mean the output columns (tx_id cast to bigint),
    -- which no index covers; the table's columns walk the (tx_id, position) index.
    ORDER BY log.{family}.tx_id, log.{family}.position
    LIMIT %(limit)s
)"""


#: The next batch of log rows after the checkpoint, in (tx_id, position) order, across all
#: five log tables. This is the projections' reading rule: rows of transactions that are
#: still running may hold smaller positions than rows already visible, so reading by
#: ``position`` alone would skip them for ever; reading below the xmin horizon in
#: (tx_id, position) order cannot.
EXPORT_BATCH = (
    "SELECT * FROM (\n"
    + "\nUNION ALL\n".join(_family_select(f) for f in LOG_FAMILIES)
    + "\n) AS batch ORDER BY tx_id, position LIMIT %(limit)s"
)

#: Session setting for export connections: the final merge of the five families sorts up
#: to five batches; with the default 4 MB it spills to disk and takes longer than the scans.
EXPORT_SESSION_SETUP = "SET work_mem = '256MB'"

#: Rows still to export below the horizon (for the progress bar).
EXPORT_BACKLOG = "SELECT " + " + ".join(
    f"(SELECT count(*) FROM log.{f} WHERE {after_below_horizon_sql()})"
    for f in LOG_FAMILIES
)

#: Is every log row below the gap-safe horizon (so an export now would include it)?
HORIZON_PASSED_LOG = "SELECT NOT EXISTS (" + " UNION ALL ".join(
    f"(SELECT 1 FROM log.{f} WHERE NOT ({READABLE_SQL}) LIMIT 1)" for f in LOG_FAMILIES
) + ")"

#: Does a relation exist? (``to_regclass`` is NULL when it does not.)
RELATION_EXISTS = "SELECT to_regclass(%(name)s) IS NOT NULL"

#: Learners' abilities (logit scale, like the Rasch fit) from the learner model's read model,
#: which has one owner (learner_model/projection.py); NULL before it exists.
LEARNER_ABILITIES = """
SELECT learner_id, ability_logit FROM read.learner_model_state WHERE ability_logit IS NOT NULL
"""

#: Book-keeping of one job run.
RECORD_JOB_RUN = """
INSERT INTO warehouse.job_runs
    (job, engine, started_at, through_tx_id, through_position, rows_written)
VALUES (%(job)s, %(engine)s, %(started_at)s, %(through_tx_id)s, %(through_position)s, %(rows)s)
"""
