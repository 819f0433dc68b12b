"""``warehouse.content_metrics`` holds catalog content only; assessment items get their own
view, ``warehouse.item_metrics``.

The two jobs measure different things: engagement per content (what is played and liked),
difficulty per assessment item (what is answered). The old view joined them with a FULL
OUTER JOIN on ``content_id``, so an assessment item that is no content became a content
row with no engagement, and (on the simulator's data, where quizzes belong to lessons, not
to audio content) no row had both halves. Now a content row carries difficulty figures
exactly when an assessment names it as its ``content_id`` (the item is then the content);
the rest of the calibrated items are in ``item_metrics``.

Revision ID: 0008_item_metrics
Revises: 0007_dead_letter_replays
"""

from alembic import op

revision = "0008_item_metrics"
down_revision = "0007_dead_letter_replays"
branch_labels = None
depends_on = None


def _content_metrics(content_id: str, join: str) -> str:
    """The recommender's view; only its key and its join changed in this revision."""
    return f"""
CREATE VIEW warehouse.content_metrics AS
SELECT
    {content_id} AS content_id,
    e.format, e.genre, e.topic, e.difficulty,
    e.starts, e.completion_rate, e.avg_listen_through_pct, e.skip_rate, e.replay_rate,
    e.like_rate, e.time_spent_seconds,
    e.engagement_score AS quality_score,
    d.declared_difficulty_score, d.calibrated_difficulty, d.difficulty_score,
    d.difficulty_mismatch, d.outcomes AS difficulty_outcomes
FROM warehouse.content_engagement e
{join} warehouse.content_difficulty d USING (content_id)
"""


CONTENT_METRICS = _content_metrics("e.content_id", "LEFT JOIN")
OLD_CONTENT_METRICS = _content_metrics("COALESCE(e.content_id, d.content_id)", "FULL OUTER JOIN")


ITEM_METRICS = """
CREATE VIEW warehouse.item_metrics AS
SELECT
    d.content_id AS item_id,
    (e.content_id IS NOT NULL) AS is_content,
    d.declared_difficulty, d.declared_difficulty_score, d.calibrated_difficulty,
    d.difficulty_se, d.difficulty_score, d.difficulty_mismatch, d.outcomes, d.success_rate
FROM warehouse.content_difficulty d
LEFT JOIN warehouse.content_engagement e USING (content_id)
"""

def upgrade() -> None:
    op.execute("DROP VIEW warehouse.content_metrics")
    op.execute(CONTENT_METRICS)
    op.execute(ITEM_METRICS)
    op.execute("GRANT SELECT ON warehouse.content_metrics, warehouse.item_metrics "
               "TO learnstream_reader")


def downgrade() -> None:
    op.execute("DROP VIEW warehouse.item_metrics")
    op.execute("DROP VIEW warehouse.content_metrics")
    op.execute(OLD_CONTENT_METRICS)
    op.execute("GRANT SELECT ON warehouse.content_metrics TO learnstream_reader")
