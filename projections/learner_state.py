"""Baseline ``learner_model_state`` (seed 002), keyed by learner (or anonymous session).

A deliberately simple, documented estimator; the learner-model stage may replace it with its
own projection on the same machinery.

- ``comprehension_level`` (0..1, 2 decimals): the mean of assessment score ratios, shrunk
  toward 0.5 with a prior worth 2 attempts: ``(sum(ratio) + 2 * 0.5) / (n + 2)``. Ratios are
  kept in whole basis points so the sum is exact in any order.
- ``preference_weights`` (by genre) and ``content_type_preferences`` (by format): net signal
  per value (like +1, unlike -1, playback completed +1, skipped -1) divided by the sum of
  absolute signals of that dimension, rounded to 4 decimals (-1..1).
- ``difficulty_adjustment`` = ``comprehension_level - 0.60``: positive means the learner can
  take harder content.
- ``data_points`` counts contributing events; ``last_updated`` is the latest one's time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from projections.fold import IDENTIFIED, Col, FoldProjection, Group, GroupKind, Rule, State
from projections.projection import LogEvent, ReadTable

PRIOR_WEIGHT = 2
SIGNALS = {
    "content.liked": 1,
    "content.unliked": -1,
    "playback.completed": 1,
    "playback.skipped": -1,
}


def comprehension_hundredths(ratio_sum_bp: int, n: int) -> int:
    """Shrunk mean in hundredths, rounded half up (integer arithmetic)."""
    numerator = (ratio_sum_bp + PRIOR_WEIGHT * 5000) * 100
    denominator = (n + PRIOR_WEIGHT) * 10_000
    return (2 * numerator + denominator) // (2 * denominator)


def weights(keys: list[str], values: list[int], prefix: str) -> dict[str, float]:
    """Net signal / total absolute signal per value of one dimension, 4 decimals half up."""
    chosen = [
        (k[len(prefix) :], v) for k, v in zip(keys, values, strict=True) if k.startswith(prefix)
    ]
    total = sum(abs(v) for _, v in chosen)
    if total == 0:
        return {k: 0.0 for k, _ in chosen}
    return {k: ((20_000 * v + total) // (2 * total)) / 10_000 for k, v in chosen}


_WEIGHTS_SQL = """(SELECT coalesce(jsonb_object_agg(substr(k, {n}),
        floor((20000 * v + t)::numeric / (2 * t)) / 10000), '{{}}')
     FROM (SELECT k, v, greatest(sum(abs(v)) OVER (), 1) AS t
           FROM unnest(s.pref_keys, s.pref_values) AS p(k, v) WHERE k LIKE '{prefix}%%') AS x)"""
_COMPREHENSION_SQL = """(((2 * (s.ratio_sum_bp + 10000) * 100 + (s.ratio_n + 2) * 10000)
        / (2 * (s.ratio_n + 2) * 10000)) / 100.0)::numeric(3,2)"""


class LearnerStateProjection(FoldProjection):
    name = "learner_model_state"
    version = 1
    event_types = frozenset({"assessment.submitted", *SIGNALS, IDENTIFIED})
    subject = "subject_id"
    tables = (
        ReadTable(
            "learner_model_state",
            """subject_id TEXT PRIMARY KEY, preference_weights JSONB NOT NULL,
            comprehension_level NUMERIC(3,2) NOT NULL, content_type_preferences JSONB NOT NULL,
            difficulty_adjustment NUMERIC(5,2) NOT NULL, last_updated TIMESTAMPTZ NOT NULL,
            data_points INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            ratio_sum_bp BIGINT NOT NULL, ratio_n INTEGER NOT NULL,
            pref_keys TEXT[] NOT NULL, pref_values BIGINT[] NOT NULL""",
            (
                "subject_id",
                "preference_weights",
                "comprehension_level",
                "content_type_preferences",
                "difficulty_adjustment",
                "last_updated",
                "data_points",
                "created_at",
            ),
            ("(last_updated)",),
        ),
    )
    columns: ClassVar[tuple[Col, ...]] = (
        Col("subject_id", "text", Rule.KEY),
        Col("ratio_sum_bp", "bigint", Rule.SUM),
        Col("ratio_n", "integer", Rule.SUM),
        Col("pref_keys", "text[]", Rule.GROUP, "prefs"),
        Col("pref_values", "bigint[]", Rule.GROUP, "prefs"),
        Col("preference_weights", "jsonb", Rule.DERIVED),
        Col("content_type_preferences", "jsonb", Rule.DERIVED),
        Col("comprehension_level", "numeric", Rule.DERIVED),
        Col("difficulty_adjustment", "numeric", Rule.DERIVED),
        Col("data_points", "integer", Rule.SUM),
        Col("last_updated", "timestamptz", Rule.MAX),
        Col("created_at", "timestamptz", Rule.MIN),
    )
    groups = (Group("prefs", GroupKind.SUMMAP, ("pref_keys", "pref_values")),)
    lift_sql = """
        SELECT {subject} AS subject_id, l.ratio_sum_bp, l.ratio_n, l.pref_keys, l.pref_values,
               l.data_points, l.occurred_at AS last_updated, l.occurred_at AS created_at
        FROM (
            SELECT session_id, learner_id, occurred_at,
                   floor((payload->>'score')::float8 * 10000
                         / (payload->>'max_score')::float8)::bigint AS ratio_sum_bp,
                   1 AS ratio_n, NULL::text AS pref_keys, NULL::bigint AS pref_values,
                   1 AS data_points
            FROM log.learning_events WHERE {upto} AND event_type = 'assessment.submitted'
            UNION ALL
            SELECT session_id, learner_id, occurred_at, 0, 0, d.key || ':' || d.value, s.signal,
                   (d.key = 'format')::integer
            FROM (SELECT session_id, learner_id, occurred_at, content_characteristics AS cc,
                         CASE event_type WHEN 'content.liked' THEN 1 ELSE -1 END AS signal
                  FROM log.like_events WHERE {upto}
                  UNION ALL
                  SELECT session_id, learner_id, occurred_at, content_characteristics,
                         CASE event_type WHEN 'playback.completed' THEN 1 ELSE -1 END
                  FROM log.behavioral_events
                  WHERE {upto} AND event_type IN ('playback.completed', 'playback.skipped')
                 ) AS s
            CROSS JOIN LATERAL (VALUES ('format', s.cc->>'format'), ('genre', s.cc->>'genre'))
                AS d(key, value)
            WHERE d.value IS NOT NULL
        ) AS l
        LEFT JOIN identities i USING (session_id)
    """
    derive_sql: ClassVar[dict[str, str]] = {
        "preference_weights": _WEIGHTS_SQL.format(n=7, prefix="genre:"),
        "content_type_preferences": _WEIGHTS_SQL.format(n=8, prefix="format:"),
        "comprehension_level": _COMPREHENSION_SQL,
        "difficulty_adjustment": f"({_COMPREHENSION_SQL} - 0.60)::numeric(5,2)",
    }

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        p = event.payload
        at = event.occurred_at
        base: dict[str, Any] = {"subject_id": subject, "last_updated": at, "created_at": at}
        if event.event_type == "assessment.submitted":
            ratio = int(float(p["score"]) * 10000 / float(p["max_score"]) // 1)
            return [self.empty_lift(**base, ratio_sum_bp=ratio, ratio_n=1, data_points=1)]
        signal = SIGNALS[event.event_type]
        cc = p.get("content_characteristics") or {}
        keys = sorted(f"{k}:{cc[k]}" for k in ("format", "genre") if cc.get(k) is not None)
        counted = 1 if cc.get("format") is not None else 0
        return [
            self.empty_lift(
                **base, pref_keys=keys, pref_values=[signal] * len(keys), data_points=counted
            )
        ]

    def derive(self, state: State) -> State:
        keys = state["pref_keys"] or []
        values = state["pref_values"] or []
        level = (
            Decimal(comprehension_hundredths(state["ratio_sum_bp"] or 0, state["ratio_n"] or 0))
            / 100
        )
        return {
            "preference_weights": weights(keys, values, "genre:"),
            "content_type_preferences": weights(keys, values, "format:"),
            "comprehension_level": level,
            "difficulty_adjustment": level - Decimal("0.60"),
        }
