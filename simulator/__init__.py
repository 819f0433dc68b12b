"""``learnstream simulate``: a seeded generator of realistic learner behaviour.

A hidden world (content with true difficulty, courses with IRT items, learners with
ability, learning rate and preferences) drives every event; delivery then duplicates and
reorders some of them the way real clients do. The same config gives the same bytes.

    sim = Simulation(SimulationConfig(learners=200, days=14, seed=7, start=...))
    for event in sim.events(): ...
    write_truth(sim.truth(), path)   # later: load_truth(path)
"""

from simulator.config import SimulationConfig, default_start
from simulator.delivery import DeliveryStats
from simulator.runner import Simulation, SimulationStats, simulate
from simulator.sinks import EventSink, write_jsonl
from simulator.truth import (
    ContentTruth,
    CourseTruth,
    GroundTruth,
    ItemTruth,
    LearnerTruth,
    PreferenceWeights,
    load_truth,
    write_truth,
)

__all__ = [
    "ContentTruth",
    "CourseTruth",
    "DeliveryStats",
    "EventSink",
    "GroundTruth",
    "ItemTruth",
    "LearnerTruth",
    "PreferenceWeights",
    "Simulation",
    "SimulationConfig",
    "SimulationStats",
    "default_start",
    "load_truth",
    "simulate",
    "write_jsonl",
    "write_truth",
]
