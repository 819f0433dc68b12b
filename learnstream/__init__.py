"""Learnstream: event-sourced analytics and learner modeling for learning apps.

This package holds what every stage shares: settings, event contracts, the exception tree,
the local stack and the command line. The stages are the top-level packages ``ingest``,
``projections``, ``learner_model`` and ``warehouse``.
"""

from learnstream.errors import (
    BrokerUnavailable,
    ConfigurationError,
    DatabaseUnavailable,
    EventRejected,
    LearnstreamError,
    RejectionReason,
    StackError,
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
    "StackError",
    "TransientError",
    "load_settings",
]
