"""The jobs' named SQL. Each query reads a relation called ``events`` with the columns of the
exported events table (``warehouse.columns``): in DuckDB that is the view over the Parquet
tree; in PostgreSQL, ``POSTGRES_EVENTS`` builds the same relation from the log tables, so the
very same aggregation text runs in both and their results can be compared."""

from __future__ import annotations

from datetime import timedelta

from learnstream.log import SESSION_GAP, earliest_identifications_sql, sessionized_sql
from warehouse.columns import BEHAVIOR, CATALOG, LIKES

#: The kernel's identity rule (``learnstream.log.identity``): each session's earliest
#: ``learner.identified``. Every metric that counts people attributes a row to its learner,
#: else the learner its session was identified as, else the anonymous session.
_IDENTITIES = (
    "identities AS (SELECT session_id, learner_id AS identified_as FROM ("
    + earliest_identifications_sql("events")
    + ") AS first_identifications)"
)

#: Per-content engagement aggregates (before the shared score in ``engagement.py``).
#: A *play* is one (content, session) pair; its listen-through is the furthest point reached.
CONTENT_ENGAGEMENT = """
, """ + _IDENTITIES + """, plays AS (
    SELECT e.content_id, e.session_id,
           COALESCE(max(e.learner_id), max(i.identified_as), e.session_id) AS actor,
           count(*) FILTER (WHERE event_type = 'playback.started') AS starts,
           count(*) FILTER (WHERE event_type = 'playback.completed') AS completions,
           count(*) FILTER (WHERE event_type = 'playback.skipped') AS skips,
           count(*) FILTER (WHERE event_type = 'playback.replayed') AS replays,
           -- LEAST ignores NULLs, so cap with CASE: an unknown reach stays unknown.
           max(CASE WHEN COALESCE(playback_percent, 100.0 * playback_position / duration) > 100.0
                    THEN 100.0
                    ELSE COALESCE(playback_percent, 100.0 * playback_position / duration) END)
               AS listen_through,
           max(CASE WHEN duration IS NULL THEN playback_position
                    ELSE LEAST(playback_position, duration) END) AS listened_seconds
    FROM events e LEFT JOIN identities i ON i.session_id = e.session_id
    WHERE e.family = '""" + BEHAVIOR + """'
    GROUP BY e.content_id, e.session_id
), per_content AS (
    SELECT content_id,
           sum(starts) AS starts, sum(completions) AS completions,
           sum(skips) AS skips, sum(replays) AS replays,
           -- A replay can complete without a new start: count at most one completion (and
           -- one skip) per start of the play, so the rates below stay rates.
           sum(LEAST(completions, starts)) AS completed_starts,
           sum(LEAST(skips, starts)) AS skipped_starts,
           count(*) AS plays,
           count(DISTINCT actor) AS listeners,
           avg(listen_through) AS avg_listen_through_pct,
           COALESCE(sum(listened_seconds), 0.0) AS time_spent_seconds
    FROM plays
    GROUP BY content_id
), last_like AS (
    -- A learner's like status is their latest toggle (client time, log order breaking ties).
    SELECT e.content_id, e.event_type,
           row_number() OVER (
               PARTITION BY e.content_id, COALESCE(e.learner_id, i.identified_as, e.session_id)
               ORDER BY e.occurred_at DESC, e.position DESC) AS rn
    FROM events e LEFT JOIN identities i ON i.session_id = e.session_id
    WHERE e.family = '""" + LIKES + """'
), likes AS (
    SELECT content_id, count(*) FILTER (WHERE event_type = 'content.liked') AS likers
    FROM last_like WHERE rn = 1
    GROUP BY content_id
), declared AS (
    SELECT content_id, format, genre, topic, difficulty FROM (
        SELECT content_id, format, genre, topic, difficulty,
               row_number() OVER (PARTITION BY content_id ORDER BY position DESC) AS rn
        FROM events WHERE event_type = 'content.generated') AS g
    WHERE rn = 1
), observed AS (
    -- Content never announced by content.generated: take what its first event said. The
    -- anti-join comes first so the (content, position) sort only sees those contents' rows.
    SELECT content_id, format, genre, topic, difficulty FROM (
        SELECT content_id, format, genre, topic, difficulty,
               row_number() OVER (PARTITION BY content_id ORDER BY position) AS rn
        FROM events
        WHERE family IN ('""" + BEHAVIOR + """', '""" + LIKES + """')
          AND NOT EXISTS (SELECT 1 FROM declared d WHERE d.content_id = events.content_id)
    ) AS o
    WHERE rn = 1
), universe AS (
    SELECT content_id FROM per_content
    UNION SELECT content_id FROM likes
    UNION SELECT content_id FROM declared
)
SELECT u.content_id,
       COALESCE(d.format, o.format) AS format,
       COALESCE(d.genre, o.genre) AS genre,
       COALESCE(d.topic, o.topic) AS topic,
       COALESCE(d.difficulty, o.difficulty) AS difficulty,
       COALESCE(p.starts, 0) AS starts,
       COALESCE(p.completions, 0) AS completions,
       COALESCE(p.skips, 0) AS skips,
       COALESCE(p.replays, 0) AS replays,
       COALESCE(p.plays, 0) AS plays,
       COALESCE(p.completed_starts, 0) AS completed_starts,
       COALESCE(p.skipped_starts, 0) AS skipped_starts,
       COALESCE(p.listeners, 0) AS listeners,
       COALESCE(l.likers, 0) AS likers,
       CAST(p.completed_starts AS float8) / NULLIF(p.starts, 0) AS completion_rate,
       CAST(p.avg_listen_through_pct AS float8) AS avg_listen_through_pct,
       CAST(p.skipped_starts AS float8) / NULLIF(p.starts, 0) AS skip_rate,
       CAST(p.replays AS float8) / NULLIF(p.starts, 0) AS replay_rate,
       CAST(COALESCE(l.likers, 0) AS float8) / NULLIF(p.listeners, 0) AS like_rate,
       CAST(COALESCE(p.time_spent_seconds, 0.0) AS float8) AS time_spent_seconds
FROM universe u
LEFT JOIN per_content p ON p.content_id = u.content_id
LEFT JOIN likes l ON l.content_id = u.content_id
LEFT JOIN declared d ON d.content_id = u.content_id
LEFT JOIN observed o ON o.content_id = u.content_id
WHERE u.content_id IS NOT NULL
ORDER BY u.content_id
"""

#: DuckDB: ``events`` is the view over Parquet; the query starts with a dummy CTE so that
#: the shared body (which opens with ``, plays AS``) reads the same in both databases.
DUCKDB_CONTENT_ENGAGEMENT = "WITH _start AS (SELECT 1)" + CONTENT_ENGAGEMENT

#: PostgreSQL: the same ``events`` relation, built from the log tables. NOT MATERIALIZED lets
#: the planner push ``family = ...`` into the UNION ALL and skip the other tables.
POSTGRES_EVENTS = """
WITH events AS NOT MATERIALIZED (
    SELECT '""" + BEHAVIOR + """'::text AS family, position, event_id::text AS event_id,
           occurred_at, event_type, session_id, learner_id, content_id,
           playback_position::float8 AS playback_position,
           playback_position_percent::float8 AS playback_percent,
           duration::float8 AS duration,
           content_characteristics->>'format' AS format,
           content_characteristics->>'genre' AS genre,
           content_characteristics->>'topic' AS topic,
           content_characteristics->>'difficulty' AS difficulty
    FROM log.""" + BEHAVIOR + """
    UNION ALL
    SELECT '""" + LIKES + """', position, event_id::text, occurred_at, event_type, session_id,
           learner_id, content_id, NULL, NULL, NULL,
           content_characteristics->>'format', content_characteristics->>'genre',
           content_characteristics->>'topic', content_characteristics->>'difficulty'
    FROM log.""" + LIKES + """
    UNION ALL
    SELECT '""" + CATALOG + """', position, event_id::text, occurred_at, event_type, session_id,
           learner_id, content_id, NULL, NULL, NULL, format, genre, topic, difficulty
    FROM log.""" + CATALOG + """
)
"""

POSTGRES_CONTENT_ENGAGEMENT = POSTGRES_EVENTS + CONTENT_ENGAGEMENT

#: Learner activity, with each event's actor: the learner, else the learner its session was
#: identified as (the kernel's identity rule: the earliest ``learner.identified``), else the
#: anonymous session. Catalog events
#: (generation, validation) are the system's doing, not a learner's, and do not count.
_ACTORS = _IDENTITIES + """, actor_events AS (
    SELECT e.event_date AS day, COALESCE(e.learner_id, i.identified_as, e.session_id) AS actor
    FROM events e LEFT JOIN identities i ON i.session_id = e.session_id
    WHERE e.family <> '""" + CATALOG + """' OR e.event_type = 'preferences.updated'
)"""

#: DAU / WAU / MAU for every day between the first and last active day, in one pass over the
#: distinct (actor, day) pairs instead of a 30-day range join: a pair counts towards the
#: window of day d while it is the actor's latest activity and is less than W days old,
#: i.e. on [day, min(day + W, next active day)). Those intervals never overlap for one
#: actor, so summing +1/-1 at their ends over the calendar gives distinct actors per window.
DAILY_ACTIVITY = "WITH " + _ACTORS + """, active AS (
    SELECT DISTINCT day, actor FROM actor_events
), spans AS (
    SELECT day, lead(day) OVER (PARTITION BY actor ORDER BY day) AS next_day FROM active
), deltas AS (
    SELECT day, 1 AS dau, 1 AS wau, 1 AS mau FROM spans
    UNION ALL
    SELECT CAST(day + 1 AS DATE), -1, 0, 0 FROM spans
    UNION ALL
    SELECT CAST(LEAST(day + 7, COALESCE(next_day, day + 7)) AS DATE), 0, -1, 0 FROM spans
    UNION ALL
    SELECT CAST(LEAST(day + 30, COALESCE(next_day, day + 30)) AS DATE), 0, 0, -1 FROM spans
), per_day AS (
    SELECT day, sum(dau) AS dau, sum(wau) AS wau, sum(mau) AS mau FROM deltas GROUP BY day
), days AS (
    SELECT CAST(unnest(generate_series(min(day), max(day), INTERVAL 1 DAY)) AS DATE) AS day
    FROM active
)
SELECT d.day,
       CAST(sum(COALESCE(p.dau, 0)) OVER w AS BIGINT) AS dau,
       CAST(sum(COALESCE(p.wau, 0)) OVER w AS BIGINT) AS wau,
       CAST(sum(COALESCE(p.mau, 0)) OVER w AS BIGINT) AS mau,
       -- The trailing 7/30-day window reaches back before the first exported day, so the
       -- figure counts only part of its window (activity before the data is not seen).
       d.day < CAST(b.first_day + 6 AS DATE) AS wau_partial,
       d.day < CAST(b.first_day + 29 AS DATE) AS mau_partial
FROM days d
CROSS JOIN (SELECT min(day) AS first_day FROM active) AS b
LEFT JOIN per_day p ON p.day = d.day
WINDOW w AS (ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY d.day
"""

#: Weekly retention: share of each first-activity-week cohort active N weeks later.
#: ``partial``: the data covers only part of the cohort's week (it starts mid-week: learners
#: active earlier that week are missing or fall in no cohort) or of the activity week (it
#: ends mid-week: the count is still growing). Such cells are not comparable with full ones.
RETENTION_COHORTS = "WITH " + _ACTORS + """, weeks AS (
    SELECT DISTINCT actor, CAST(date_trunc('week', day) AS DATE) AS week FROM actor_events
), bounds AS (
    SELECT min(day) AS first_day, max(day) AS last_day FROM actor_events
), firsts AS (
    SELECT actor, min(week) AS cohort_week FROM weeks GROUP BY actor
), sizes AS (
    SELECT cohort_week, count(*) AS cohort_size FROM firsts GROUP BY cohort_week
)
SELECT f.cohort_week,
       CAST(datediff('day', f.cohort_week, w.week) // 7 AS INTEGER) AS week_offset,
       s.cohort_size,
       count(*) AS active,
       CAST(count(*) AS DOUBLE) / s.cohort_size AS retention,
       f.cohort_week < b.first_day OR CAST(w.week + 6 AS DATE) > b.last_day AS partial
FROM weeks w
JOIN firsts f USING (actor)
JOIN sizes s USING (cohort_week)
CROSS JOIN bounds b
GROUP BY f.cohort_week, week_offset, s.cohort_size, partial
ORDER BY f.cohort_week, week_offset
"""

def session_lengths_sql(gap: timedelta = SESSION_GAP) -> str:
    """One row per session (the kernel's inactivity rule, ``learnstream.log.sessions``: a
    client session id is split where its events fall silent for over ``gap``, the
    ``session_gap_minutes`` setting): when it started and ended, how many learner-facing
    events."""
    return """
SELECT v.session_id || ':' || CAST(v.visit AS VARCHAR) AS session_id,
       v.session_id AS client_session_id,
       max(v.learner_id) AS learner_id,
       min(v.occurred_at) AS started_at,
       max(v.occurred_at) AS ended_at,
       epoch(max(v.occurred_at)) - epoch(min(v.occurred_at)) AS length_seconds,
       count(*) AS events
FROM (""" + sessionized_sql(
        "SELECT * FROM events WHERE family <> '" + CATALOG
        + "' OR event_type = 'preferences.updated'",
        gap,
    ) + """) AS v
GROUP BY v.session_id, v.visit
ORDER BY v.session_id, v.visit
"""

#: Session length histogram over fixed buckets (seconds); the last bucket is open.
SESSION_LENGTH_DISTRIBUTION = """
WITH edges AS (
    SELECT unnest([0, 60, 300, 600, 1200, 1800, 3600, 7200]::DOUBLE[]) AS bucket_start_seconds
), bounded AS (
    SELECT bucket_start_seconds,
           lead(bucket_start_seconds) OVER (ORDER BY bucket_start_seconds) AS bucket_end_seconds
    FROM edges
)
SELECT b.bucket_start_seconds, b.bucket_end_seconds, count(s.session_id) AS sessions
FROM bounded b
LEFT JOIN session_lengths s
  ON s.length_seconds >= b.bucket_start_seconds
 AND (b.bucket_end_seconds IS NULL OR s.length_seconds < b.bucket_end_seconds)
GROUP BY b.bucket_start_seconds, b.bucket_end_seconds
ORDER BY b.bucket_start_seconds
"""

#: requested -> generated -> validated -> consumed -> liked. ``requested`` counts generation
#: jobs (distinct ``generation_id`` of ``generation.status_changed`` and ``content.generated``;
#: content generated without a job id is its own job), not ``content.requested``: that is a
#: learner asking for practice material, and most such asks start no generation. Each stage
#: after ``generated`` counts contents that also reached the previous stage, so the funnel
#: only narrows. The first stage has no previous one: its ``conversion`` is NULL.
GENERATION_FUNNEL = """
WITH jobs AS (
    SELECT DISTINCT COALESCE(generation_id, 'content:' || content_id) AS job FROM events
    WHERE (event_type = 'generation.status_changed' AND generation_id IS NOT NULL)
       OR (event_type = 'content.generated' AND content_id IS NOT NULL)
), generated AS (
    SELECT DISTINCT content_id FROM events
    WHERE event_type = 'content.generated' AND content_id IS NOT NULL
), validated AS (
    SELECT DISTINCT e.content_id FROM events e JOIN generated g USING (content_id)
    WHERE e.event_type = 'content.validated' AND e.passed
), consumed AS (
    SELECT DISTINCT e.content_id FROM events e JOIN validated v USING (content_id)
    WHERE e.event_type = 'playback.started'
), liked AS (
    SELECT DISTINCT c.content_id FROM content_engagement c JOIN consumed USING (content_id)
    WHERE c.likers > 0
), stages AS (
    SELECT 'requested' AS stage, 1 AS ordinal,
           (SELECT count(*) FROM jobs) AS count
    UNION ALL SELECT 'generated', 2, (SELECT count(*) FROM generated)
    UNION ALL SELECT 'validated', 3, (SELECT count(*) FROM validated)
    UNION ALL SELECT 'consumed', 4, (SELECT count(*) FROM consumed)
    UNION ALL SELECT 'liked', 5, (SELECT count(*) FROM liked)
)
SELECT stage, ordinal, count,
       CAST(count AS DOUBLE) / NULLIF(lag(count) OVER (ORDER BY ordinal), 0) AS conversion
FROM stages
ORDER BY ordinal
"""

#: Assessment outcomes for the difficulty job: one row per submitted attempt.
#: The item is the content the assessment is about, or the assessment itself.
OUTCOMES = "WITH " + _IDENTITIES + """
SELECT COALESCE(e.learner_id, i.identified_as, e.session_id) AS learner_id,
       COALESCE(e.content_id, e.assessment_id) AS item_id,
       LEAST(GREATEST(e.score / e.max_score, 0.0), 1.0) AS outcome
FROM events e LEFT JOIN identities i ON i.session_id = e.session_id
WHERE e.event_type = 'assessment.submitted' AND e.max_score > 0
ORDER BY e.position
"""

#: What each item declared about its difficulty: a content's latest ``content.generated``
#: (its kind and 0..1 score), else the latest ``declared_difficulty`` that the item's
#: ``assessment.submitted`` events carry (a score; assessments have no catalog entry).
DECLARED_DIFFICULTY = """
WITH generated AS (
    SELECT content_id, difficulty, difficulty_score FROM (
        SELECT content_id, difficulty, difficulty_score,
               row_number() OVER (PARTITION BY content_id ORDER BY position DESC) AS rn
        FROM events WHERE event_type = 'content.generated'
    ) AS g
    WHERE rn = 1
), asserted AS (
    SELECT item_id, declared FROM (
        SELECT COALESCE(content_id, assessment_id) AS item_id,
               CAST(json_extract_string(payload, '$.declared_difficulty') AS DOUBLE) AS declared,
               row_number() OVER (
                   PARTITION BY COALESCE(content_id, assessment_id) ORDER BY position DESC
               ) AS rn
        FROM events
        WHERE event_type = 'assessment.submitted'
          AND json_extract_string(payload, '$.declared_difficulty') IS NOT NULL
    ) AS a
    WHERE rn = 1
)
SELECT COALESCE(g.content_id, a.item_id) AS content_id,
       g.difficulty AS declared_difficulty,
       COALESCE(g.difficulty_score, a.declared) AS declared_difficulty_score
FROM generated g FULL OUTER JOIN asserted a ON a.item_id = g.content_id
"""
