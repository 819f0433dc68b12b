"""Listening behaviour inside a visit: choosing content, playback with heartbeats, pauses,
seeks, skips, completions, replays, and like toggles.

Every probability below depends on two hidden quantities, which is what makes the stream
worth modelling: the learner's *utility* for the item (their format/genre/topic weights) and
the *mismatch* between their ability and the item's true difficulty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from learnstream.contracts import (
    ContentLiked,
    ContentUnliked,
    LikePayload,
    PlaybackCompleted,
    PlaybackHeartbeat,
    PlaybackPaused,
    PlaybackPayload,
    PlaybackReplayed,
    PlaybackResumed,
    PlaybackSeeked,
    PlaybackSkipped,
    PlaybackStarted,
    SeekPayload,
    SkipPayload,
)
from simulator.visit import Visit
from simulator.world import (
    DECLARED_SLOPE,
    FORMATS,
    GENRES,
    TOPICS,
    ContentItem,
    Learner,
    sigmoid,
)

#: The behaviour model's coefficients; written to the ground-truth file with the run.
BEHAVIOUR_MODEL: dict[str, float] = {
    "choice_utility": 0.9,  # softmax weight of utility when choosing what to play
    "choice_fit": 0.5,  # penalty on (declared difficulty - ability - stretch)^2
    "choice_stretch": 0.3,  # learners reach for content slightly above their level
    "skip_base": -1.3,
    "skip_utility": -0.8,  # P(skip) = sigmoid(base + utility*u + mismatch*|ability - d|)
    "skip_mismatch": 0.7,
    "like_base": -2.2,  # P(like | completed) = sigmoid(base + utility*u)
    "like_utility": 1.2,
    "replay_base": -3.2,  # P(replay | completed) = sigmoid(base + u*0.6 + 0.8*max(0, d-ability))
    "pause_per_heartbeat": 0.025,
    "seek_back_base": 0.015,  # re-listening grows with difficulty above ability
    "seek_back_struggle": 0.05,
    "listening_gain_per_10min": 1.0,  # x learning_rate x comprehensibility
}
_M = BEHAVIOUR_MODEL


@dataclass(frozen=True, slots=True)
class CatalogIndex:
    """The catalog as arrays, for vectorised choice weights."""

    items: tuple[ContentItem, ...]
    format_idx: np.ndarray[Any, np.dtype[np.int64]]
    genre_idx: np.ndarray[Any, np.dtype[np.int64]]
    topic_idx: np.ndarray[Any, np.dtype[np.int64]]
    declared_logit: np.ndarray[Any, np.dtype[np.float64]]

    @classmethod
    def of(cls, items: tuple[ContentItem, ...]) -> CatalogIndex:
        score = np.clip(np.array([c.difficulty_score for c in items]), 0.01, 0.99)
        return cls(
            items=items,
            format_idx=np.array([FORMATS.index(c.format) for c in items]),
            genre_idx=np.array([GENRES.index(c.genre) for c in items]),
            topic_idx=np.array([TOPICS.index(c.topic) for c in items]),
            declared_logit=np.log(score / (1 - score)) / DECLARED_SLOPE,
        )

    def choice_weights(self, learner: Learner) -> list[float]:
        """Cumulative choice weights for ``learner`` today: liked content at a comfortable,
        slightly stretching declared difficulty is chosen most."""
        fw = np.array([learner.format_weights[f] for f in FORMATS])
        gw = np.array([learner.genre_weights[g] for g in GENRES])
        tw = np.array([learner.topic_weights[t] for t in TOPICS])
        utility = fw[self.format_idx] + gw[self.genre_idx] + tw[self.topic_idx]
        gap = self.declared_logit - learner.ability - _M["choice_stretch"]
        score = _M["choice_utility"] * utility - _M["choice_fit"] * gap * gap
        weights = np.exp(score - score.max())
        return [float(w) for w in np.cumsum(weights)]


def _payload(item: ContentItem, position: float, rate: float) -> PlaybackPayload:
    return PlaybackPayload(
        playback_position=round(position, 1),
        playback_position_percent=round(100.0 * position / item.duration, 2),
        duration=float(item.duration),
        playback_rate=rate,
        content_characteristics=item.characteristics,
    )


def choose(learner: Learner, catalog: CatalogIndex, cum_weights: list[float]) -> ContentItem:
    """Pick what to play next; already-heard content is mostly passed over."""
    rng = learner.rng
    item = catalog.items[0]
    for _ in range(3):
        item = rng.choices(catalog.items, cum_weights=cum_weights)[0]
        if item.content_id not in learner.heard or rng.random() < 0.15:
            break
    return item


def listen(
    visit: Visit,
    catalog: CatalogIndex,
    cum_weights: list[float],
    plays: int,
    heartbeat_seconds: float,
) -> None:
    """Play ``plays`` items back to back (a skip moves straight to the next one)."""
    learner = visit.learner
    rng = learner.rng
    item = choose(learner, catalog, cum_weights)
    for n in range(plays):
        following = choose(learner, catalog, cum_weights) if n + 1 < plays else None
        _play(visit, item, following, heartbeat_seconds)
        if following is None:
            break
        item = following
        visit.wait(rng.uniform(1.0, 8.0))


def _play(
    visit: Visit, item: ContentItem, following: ContentItem | None, heartbeat_seconds: float
) -> None:
    learner = visit.learner
    rng = learner.rng
    rate = learner.playback_rate
    utility = learner.utility(item)
    gap = item.true_difficulty - learner.ability
    p_skip = sigmoid(
        _M["skip_base"] + _M["skip_utility"] * utility + _M["skip_mismatch"] * abs(gap)
    )
    skips = rng.random() < p_skip
    # Skips come early: most people decide within the first minutes.
    end = item.duration * rng.betavariate(1.2, 4.0) if skips else float(item.duration)
    visit.record(PlaybackStarted, _payload(item, 0.0, rate), item.content_id)
    heard = _play_through(visit, item, 0.0, end, utility, gap, heartbeat_seconds)
    if skips:
        visit.record(
            PlaybackSkipped,
            SkipPayload(
                playback_position=round(end, 1),
                playback_position_percent=round(100.0 * end / item.duration, 2),
                duration=float(item.duration),
                playback_rate=rate,
                content_characteristics=item.characteristics,
                skipped_to_content_id=following.content_id if following else None,
            ),
            item.content_id,
        )
        if item.content_id in learner.liked and rng.random() < 0.3:
            _toggle_like(visit, item, like=False)
        elif rng.random() < sigmoid(-4.0 + utility):
            _toggle_like(visit, item, like=True)
    else:
        visit.record(PlaybackCompleted, _payload(item, end, rate), item.content_id)
        learner.heard.add(item.content_id)
        if item.content_id not in learner.liked and rng.random() < sigmoid(
            _M["like_base"] + _M["like_utility"] * utility
        ):
            _toggle_like(visit, item, like=True)
        p_replay = sigmoid(_M["replay_base"] + 0.6 * utility + 0.8 * max(0.0, gap))
        if rng.random() < p_replay:
            visit.wait(rng.uniform(1.0, 5.0))
            visit.record(PlaybackReplayed, _payload(item, 0.0, rate), item.content_id)
            again = float(item.duration) if rng.random() < 0.6 else item.duration * rng.random()
            heard += _play_through(visit, item, 0.0, again, utility, gap, heartbeat_seconds)
            if again >= item.duration:
                visit.record(PlaybackCompleted, _payload(item, again, rate), item.content_id)
    # Comprehensible input teaches most: content a little above the learner's level.
    comprehensible = math.exp(-0.5 * (gap - 0.3) ** 2)
    learner.ability += (
        learner.learning_rate * _M["listening_gain_per_10min"] * heard / 600.0 * comprehensible
    )


def _play_through(
    visit: Visit,
    item: ContentItem,
    position: float,
    end: float,
    utility: float,
    gap: float,
    heartbeat_seconds: float,
) -> float:
    """Listen from ``position`` to ``end`` with heartbeats, pauses and seeks; return the
    seconds of audio heard."""
    rng = visit.learner.rng
    rate = visit.learner.playback_rate
    step = heartbeat_seconds * rate
    p_pause = _M["pause_per_heartbeat"]
    p_back = p_pause + _M["seek_back_base"] + _M["seek_back_struggle"] * sigmoid(2 * gap - 1)
    p_forward = p_back + 0.01 + 0.03 * sigmoid(-utility - 1.0)
    heard = 0.0
    cid = item.content_id
    while position + step < end:
        position += step
        heard += step
        visit.wait(heartbeat_seconds)
        visit.record(PlaybackHeartbeat, _payload(item, position, rate), cid)
        x = rng.random()
        if x >= p_forward:
            continue
        if x < p_pause:
            visit.record(PlaybackPaused, _payload(item, position, rate), cid)
            visit.wait(rng.lognormvariate(3.0, 1.0))
            visit.record(PlaybackResumed, _payload(item, position, rate), cid)
            continue
        origin = position
        if x < p_back:
            position = max(0.0, position - rng.uniform(8.0, 40.0))
        else:
            position = min(end, position + rng.uniform(15.0, 90.0))
        visit.wait(rng.uniform(0.5, 2.0))
        visit.record(
            PlaybackSeeked,
            SeekPayload(
                playback_position=round(position, 1),
                playback_position_percent=round(100.0 * position / item.duration, 2),
                duration=float(item.duration),
                playback_rate=rate,
                content_characteristics=item.characteristics,
                from_position=round(origin, 1),
            ),
            cid,
        )
    visit.wait((end - position) / rate)
    return heard + max(0.0, end - position)


_REACTIONS = ("like", "like", "like", "like", "love", "favorite")


def _toggle_like(visit: Visit, item: ContentItem, *, like: bool) -> None:
    learner = visit.learner
    rng = learner.rng
    visit.wait(rng.uniform(0.5, 4.0))
    payload = LikePayload(
        reaction_type=rng.choice(_REACTIONS),
        content_characteristics=item.characteristics,
    )
    if like:
        visit.record(ContentLiked, payload, item.content_id)
        learner.liked.add(item.content_id)
        # Mis-taps happen: a few likes are taken back within seconds.
        if rng.random() < 0.05:
            visit.wait(rng.uniform(1.0, 10.0))
            visit.record(ContentUnliked, payload, item.content_id)
            learner.liked.discard(item.content_id)
    else:
        visit.record(ContentUnliked, payload, item.content_id)
        learner.liked.discard(item.content_id)
