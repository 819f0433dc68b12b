"""Runs a simulation day by day: each learner's visits for the day, then release of every
event due before the next midnight in delivered order."""

from __future__ import annotations

import gc
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from learnstream.contracts import Envelope, LearnerIdentified, LearnerIdentifiedPayload
from simulator.activity import request_content, state_preferences
from simulator.behavior import CatalogIndex, listen
from simulator.catalog import catalog_events
from simulator.config import SimulationConfig
from simulator.delivery import Delivery, DeliveryStats
from simulator.ids import short_id
from simulator.learning import study
from simulator.truth import GroundTruth, ground_truth
from simulator.visit import Visit
from simulator.world import (
    STREAM_CATALOG_EVENTS,
    STREAM_DELIVERY,
    Learner,
    World,
    build_world,
    day_start,
    stream_seed,
)

_MAX_PLAYS_PER_VISIT = 8


@dataclass(slots=True)
class SimulationStats:
    """Counts of a finished (or running) simulation."""

    events_by_type: Counter[str] = field(default_factory=Counter)
    delivery: DeliveryStats = field(default_factory=DeliveryStats)
    learners: int = 0
    anonymous_learners: int = 0
    identified_during_run: int = 0
    content_items: int = 0
    failed_generations: int = 0
    courses: int = 0
    days_simulated: int = 0


class Simulation:
    """One run of ``config``. Iterate :meth:`events` once; then :meth:`truth` holds the
    hidden parameters, including each learner's ability at the end."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.world: World = build_world(config)
        self._catalog = CatalogIndex.of(self.world.catalog)
        self._delivery = Delivery(
            random.Random(stream_seed(config.seed, STREAM_DELIVERY)),
            duplicate_rate=config.duplicate_rate,
            out_of_order_rate=config.out_of_order_rate,
            late_rate=config.late_rate,
        )
        learners = self.world.learners
        self.stats = SimulationStats(
            delivery=self._delivery.stats,
            learners=len(learners),
            anonymous_learners=sum(lrn.anonymous_session_id is not None for lrn in learners),
            identified_during_run=sum(lrn.identify_day is not None for lrn in learners),
            content_items=len(self.world.catalog),
            failed_generations=len(self.world.failed_jobs),
            courses=len(self.world.courses),
        )
        self._started = False
        self._finished = False

    def events(self) -> Iterator[Envelope]:
        """Every event of the run in emitted (delivered) order. Single use: the run advances
        the learners' state."""
        if self._started:
            raise RuntimeError("a Simulation runs once; build a new one to replay the seed")
        self._started = True
        # About a day of events waits in the delivery heap. With CPython's default thresholds
        # the cyclic GC rescans those (acyclic, refcount-freed) objects over and over, which
        # halved throughput in measurements; collect rarely while the run is going.
        thresholds = gc.get_threshold()
        gc.set_threshold(50_000, 50, 100)
        try:
            yield from self._run()
        finally:
            gc.set_threshold(*thresholds)

    def _run(self) -> Iterator[Envelope]:
        config = self.config
        delivery = self._delivery
        counts = self.stats.events_by_type
        rng = random.Random(stream_seed(config.seed, STREAM_CATALOG_EVENTS))
        for occurred, event in catalog_events(self.world, rng):
            delivery.submit(occurred, event)
        for day in range(config.days):
            for event in delivery.release(day_start(config, day)):
                counts[event.event_type] += 1
                yield event
            for learner in self.world.learners:
                for occurred, event in self._learner_day(learner, day):
                    delivery.submit(occurred, event)
            self.stats.days_simulated = day + 1
        for event in delivery.drain():
            counts[event.event_type] += 1
            yield event
        self._finished = True

    def truth(self) -> GroundTruth:
        """Hidden parameters of the run; only complete once :meth:`events` is exhausted."""
        if not self._finished:
            raise RuntimeError("the ground truth needs the finished run (exhaust events())")
        return ground_truth(self.config, self.world)

    def _learner_day(self, learner: Learner, day: int) -> list[tuple[float, Envelope]]:
        rng = learner.rng
        start = day_start(self.config, day)
        end = start + 86_400.0
        identify_today = learner.identify_day == day
        visits = 0
        if learner.churn_day is None or day < learner.churn_day:
            weekend = datetime.fromtimestamp(start, UTC).weekday() >= 5
            p_active = learner.activity * (learner.weekend_factor if weekend else 1.0)
            if rng.random() < min(0.97, p_active):
                visits = 1 + (rng.random() < 0.3) + (rng.random() < 0.08)
        if identify_today:
            visits = max(visits, 1)
        events: list[tuple[float, Envelope]] = []
        if visits:
            cum_weights = self._catalog.choice_weights(learner)
            hours = sorted(
                min(23.5, max(0.0, rng.gauss(learner.preferred_hour, 2.0))) for _ in range(visits)
            )
            clock = start
            for hour in hours:
                begin = max(start + hour * 3600.0, clock + 600.0)
                # Visits start on their own day: the release watermark relies on it.
                if begin >= end - 60.0:
                    break
                visit = self._visit(learner, day, begin, cum_weights)
                events.extend(visit.events)
                clock = visit.clock
        learner.ability_by_day.append(learner.ability)
        return events

    def _visit(self, learner: Learner, day: int, begin: float, cum_weights: list[float]) -> Visit:
        rng = learner.rng
        signs_in = not learner.identified and learner.identify_day == day
        if learner.identified or signs_in:
            session_id, learner_id = short_id(rng, "sess"), learner.learner_id
        else:
            assert learner.anonymous_session_id is not None
            session_id, learner_id = learner.anonymous_session_id, None
        visit = Visit(learner, session_id, learner_id, learner.contexts[rng.random() < 0.3], begin)
        if signs_in:
            # Links the anonymous device session, and all its history, to the account.
            visit.record(
                LearnerIdentified,
                LearnerIdentifiedPayload(method=rng.choice(("signup", "signup", "login"))),
                session_id=learner.anonymous_session_id,
            )
            learner.identified = True
            visit.wait(rng.uniform(2.0, 20.0))
        if learner.states_preferences and (learner.visits == 0 or rng.random() < 0.02):
            state_preferences(visit)
        learner.visits += 1
        plays = 1
        while plays < _MAX_PLAYS_PER_VISIT and rng.random() < 0.55:
            plays += 1
        study_first = rng.random() < 0.5
        if learner.identified and study_first:
            study(visit, self.world.courses)
        listen(visit, self._catalog, cum_weights, plays, self.config.heartbeat_seconds)
        if learner.identified and not study_first:
            study(visit, self.world.courses)
        if learner.identified and rng.random() < 0.2:
            request_content(visit)
        return visit


def simulate(config: SimulationConfig) -> Iterator[Envelope]:
    """Every event of a fresh run of ``config``, in emitted order (see :class:`Simulation`
    for the ground truth and statistics)."""
    return Simulation(config).events()
