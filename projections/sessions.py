"""``sessions`` (seed 002): one row per listening session, sessionized by inactivity.

Clients' ``session_id`` values cannot be trusted to end (an anonymous device id is reused
for days), so the projection folds one row per *client* session id
(``read.client_sessions``), keeping every event's time, and ``read.sessions`` splits it by
the kernel's inactivity rule (:mod:`learnstream.log.sessions`: a silence over 30 minutes,
the ``session_gap_minutes`` setting, starts the next session). Its rows are
``<client id>:<n>``, with the client's id kept as ``client_session_id``. The split is a view
over the stored row, which depends only on the set of events, so a rebuild, any incremental
order and any batch split give the same sessions; changing the gap needs no rebuild (each
projector start recreates the view).

Per session (the view) and per client session (the table):

- ``started_at`` / ``last_activity_at``: min / max ``occurred_at`` of the session's playback
  and like events; ``event_count`` their number.
- ``content_ids``: contents played, in order of first playback; ``current_content_id``: the
  content of the latest playback event by ``(occurred_at, event_id)``.
- ``total_listening_time`` (seconds) comes from playback *intervals*, not the wall clock
  between events. Per content, take its playback events in ``(occurred_at, event_id)`` order;
  between two consecutive events the listener heard ``arrive(next) - depart(prev)`` seconds
  of audio, where ``depart`` is the position after an event and ``arrive`` the position the
  player had reached when the next event happened (a seek's ``from_position``, otherwise its
  ``playback_position``). Negative progress (replay, seek back) counts 0; progress is capped
  at the wall-clock gap times the playback rate, so a lost seek cannot count as listening.
  Paused time never counts because the position does not move while paused. Arithmetic is
  in integer centiseconds (exact in Python and SQL); the total is floored to seconds.

Late events are harmless: the row keeps the session's playback points (internal columns
``pt_*``) sorted by ``(occurred_at, event_id)``, and the derived columns are a function of
that set, so any arrival order gives the same row.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from learnstream.log import SESSION_GAP, LogEvent, sessionized_sql
from projections.fold import Col, FoldProjection, Group, GroupKind, Rule, State

_CENTI = timedelta(microseconds=10_000)
PLAYBACK_TYPES = frozenset(
    {
        "playback.started",
        "playback.paused",
        "playback.resumed",
        "playback.seeked",
        "playback.skipped",
        "playback.completed",
        "playback.replayed",
        "playback.heartbeat",
    }
)
LIKE_TYPES = frozenset({"content.liked", "content.unliked"})


def centis(value: Any) -> int:
    """Seconds (a JSON number) as whole centiseconds, floored exactly."""
    return int((Decimal(str(value)) * 100).to_integral_value(rounding="ROUND_FLOOR"))


def listened_centis(
    at: list[Any], content: list[str], arrive: list[int], depart: list[int], rate: list[int]
) -> int:
    """The listening rule (see the module docstring) over points sorted by (at, event_id)."""
    last: dict[str, int] = {}
    total = 0
    for i, c in enumerate(content):
        j = last.get(c)
        if j is not None:
            gap = (at[i] - at[j]) // _CENTI
            total += min(max(arrive[i] - depart[j], 0), gap * rate[j] // 100)
        last[c] = i
    return total


def sessions_view_sql(gap: timedelta = SESSION_GAP) -> str:
    """``read.sessions``: the client sessions split by the inactivity rule with ``gap``; per
    session the same columns as the client row, the listening rule applied within the
    session only."""
    return (
    """
WITH activity AS (
    SELECT c.session_id, a.occurred_at, a.event_id
    FROM {table} c, unnest(c.act_at, c.act_event) AS a(occurred_at, event_id)
), visits AS ("""
    + sessionized_sql("SELECT * FROM activity", gap)
    + """
), spans AS (
    SELECT session_id, visit, min(occurred_at) AS started_at,
           max(occurred_at) AS last_activity_at, count(*) AS event_count
    FROM visits GROUP BY session_id, visit
), placed AS (
    SELECT c.session_id, v.visit, p.at, p.content, p.arrive, p.depart, p.rate, p.o
    FROM {table} c
    CROSS JOIN LATERAL unnest(c.pt_at, c.pt_event, c.pt_content, c.pt_arrive, c.pt_depart,
                              c.pt_rate) WITH ORDINALITY AS p(at, ev, content, arrive, depart,
                                                             rate, o)
    JOIN visits v ON v.session_id = c.session_id AND v.occurred_at = p.at AND v.event_id = p.ev
), listened AS (
    SELECT session_id, visit,
           div(coalesce(sum(least(greatest(arrive - pd, 0),
               floor(extract(epoch FROM at - pa) * 100)::bigint * pr / 100)), 0), 100)::integer
               AS total
    FROM (SELECT session_id, visit, at, arrive, lag(depart) OVER w AS pd, lag(at) OVER w AS pa,
                 lag(rate) OVER w AS pr
          FROM placed WINDOW w AS (PARTITION BY session_id, visit, content ORDER BY o)) AS x
    WHERE pd IS NOT NULL
    GROUP BY session_id, visit
), firsts AS (
    SELECT session_id, visit, content, min(o) AS first_o FROM placed
    GROUP BY session_id, visit, content
), contents AS (
    SELECT session_id, visit, array_agg(content ORDER BY first_o) AS content_ids
    FROM firsts GROUP BY session_id, visit
), latest AS (
    SELECT DISTINCT ON (session_id, visit) session_id, visit, content FROM placed
    ORDER BY session_id, visit, o DESC
)
SELECT s.session_id || ':' || s.visit AS session_id,
       s.session_id AS client_session_id,
       s.visit::integer AS visit,
       s.started_at,
       s.last_activity_at,
       COALESCE(ct.content_ids, ARRAY[]::text[]) AS content_ids,
       lt.content AS current_content_id,
       COALESCE(l.total, 0) AS total_listening_time,
       s.event_count
FROM spans s
LEFT JOIN listened l USING (session_id, visit)
LEFT JOIN contents ct USING (session_id, visit)
LEFT JOIN latest lt USING (session_id, visit)
"""
)


class SessionProjection(FoldProjection):
    name = "sessions"
    # 2: one row per client session id in `client_sessions`, with every event's time;
    # `read.sessions` is the sessionized view.
    version = 2
    event_types = PLAYBACK_TYPES | LIKE_TYPES
    table_name = "client_sessions"
    indexes = ("(started_at)", "(last_activity_at)")
    columns: ClassVar[tuple[Col, ...]] = (
        Col("session_id", "text", Rule.KEY),
        Col("started_at", "timestamptz", Rule.MIN, required=True),
        Col("last_activity_at", "timestamptz", Rule.MAX, required=True),
        Col("content_ids", "text[]", Rule.DERIVED, required=True),
        Col("current_content_id", "text", Rule.DERIVED),
        Col("total_listening_time", "integer", Rule.DERIVED, required=True),
        Col("event_count", "bigint", Rule.SUM, required=True),
        Col("pt_at", "timestamptz[]", Rule.GROUP, "points", required=True, public=False),
        Col("pt_event", "uuid[]", Rule.GROUP, "points", required=True, public=False),
        Col("pt_content", "text[]", Rule.GROUP, "points", required=True, public=False),
        Col("pt_arrive", "bigint[]", Rule.GROUP, "points", required=True, public=False),
        Col("pt_depart", "bigint[]", Rule.GROUP, "points", required=True, public=False),
        Col("pt_rate", "integer[]", Rule.GROUP, "points", required=True, public=False),
        Col("act_at", "timestamptz[]", Rule.GROUP, "activity", required=True, public=False),
        Col("act_event", "uuid[]", Rule.GROUP, "activity", required=True, public=False),
    )
    groups = (
        Group(
            "points",
            GroupKind.SEQ,
            ("pt_at", "pt_event", "pt_content", "pt_arrive", "pt_depart", "pt_rate"),
        ),
        Group("activity", GroupKind.SEQ, ("act_at", "act_event")),
    )
    def __init__(self, session_gap: timedelta = SESSION_GAP) -> None:
        # The gap shapes only the view: the stored rows keep every event's time, so a new
        # gap needs the view recreated (each projector start does), not a rebuild.
        self.session_gap = session_gap
        self.derived_views = (("sessions", sessions_view_sql(session_gap)),)

    lift_sql = """
        SELECT session_id, occurred_at AS started_at, occurred_at AS last_activity_at,
               1 AS event_count, occurred_at AS pt_at, event_id AS pt_event,
               content_id AS pt_content,
               floor(coalesce(CASE WHEN event_type = 'playback.seeked'  -- skip JSON otherwise
                                   THEN (payload->>'from_position')::numeric END,
                              (payload->>'playback_position')::numeric) * 100)::bigint AS pt_arrive,
               floor((payload->>'playback_position')::numeric * 100)::bigint AS pt_depart,
               floor(coalesce((payload->>'playback_rate')::numeric, 1) * 100)::integer AS pt_rate,
               occurred_at AS act_at, event_id AS act_event
        FROM log.behavioral_events WHERE {upto}
        UNION ALL
        SELECT session_id, occurred_at, occurred_at, 1, NULL::timestamptz, NULL::uuid, NULL,
               NULL::bigint, NULL::bigint, NULL::integer, occurred_at, event_id
        FROM log.like_events WHERE {upto}
    """
    derive_sql: ClassVar[dict[str, str]] = {
        "content_ids": """ARRAY(SELECT c FROM unnest(s.pt_content) WITH ORDINALITY AS p(c, o)
                              GROUP BY c ORDER BY min(o))""",
        "current_content_id": "s.pt_content[cardinality(s.pt_content)]",
        "total_listening_time": """(SELECT div(coalesce(sum(least(greatest(arrive - pd, 0),
                  floor(extract(epoch FROM at - pa) * 100)::bigint * pr / 100)), 0), 100)::integer
              FROM (SELECT at, arrive, lag(depart) OVER w AS pd, lag(at) OVER w AS pa,
                           lag(rate) OVER w AS pr
                    FROM unnest(s.pt_at, s.pt_content, s.pt_arrive, s.pt_depart, s.pt_rate)
                         WITH ORDINALITY AS p(at, c, arrive, depart, rate, o)
                    WINDOW w AS (PARTITION BY c ORDER BY o)) AS x
              WHERE pd IS NOT NULL)""",
    }

    def lift(self, event: LogEvent, subject: str) -> list[State]:
        at = event.occurred_at
        common: dict[str, Any] = {
            "session_id": event.session_id,
            "started_at": at,
            "last_activity_at": at,
            "event_count": 1,
            "act_at": [at],
            "act_event": [event.event_id],
        }
        if event.event_type not in PLAYBACK_TYPES:
            return [self.empty_lift(**common)]
        p = event.payload
        depart = centis(p["playback_position"])
        return [
            self.empty_lift(
                **common,
                pt_at=[at],
                pt_event=[event.event_id],
                pt_content=[event.content_id],
                pt_arrive=[
                    centis(p["from_position"])
                    if event.event_type == "playback.seeked" and "from_position" in p
                    else depart
                ],
                pt_depart=[depart],
                pt_rate=[centis(p.get("playback_rate", 1))],
            )
        ]

    def derive(self, state: State) -> State:
        content: list[str] = state["pt_content"] or []
        first: dict[str, int] = {}
        for i, c in enumerate(content):
            first.setdefault(c, i)
        total = (
            listened_centis(
                state["pt_at"], content, state["pt_arrive"], state["pt_depart"], state["pt_rate"]
            )
            if content
            else 0
        )
        return {
            "content_ids": sorted(first, key=first.__getitem__),
            "current_content_id": content[-1] if content else None,
            "total_listening_time": total // 100,
        }
