"""Learnstream: event-sourced analytics and learner modeling for learning apps.

This package is the kernel: what every stage shares and nothing else: settings (a typed part
per stage), the exception tree, database connections and migrations, the event contracts and
the log (its tables, the gap-safe reader, the row -> event converter, the identity rule). It
imports no stage. The stages are the top-level packages ``ingest``, ``projections``,
``learner_model`` and ``warehouse``; ``app`` composes them.
"""

from learnstream.errors import (
    BrokerUnavailable,
    ConfigurationError,
    DatabaseUnavailable,
    EventRejected,
    LearnstreamError,
    RejectionReason,
    TransientError,
)
from learnstream.settings import Settings, load_settings

__all__ = [
    "BrokerUnavailable",
    "ConfigurationError",
    "DatabaseUnavailable",
    "EventRejected",
    "LearnstreamError",
    "RejectionReason",
    "Settings",
    "TransientError",
    "load_settings",
]
