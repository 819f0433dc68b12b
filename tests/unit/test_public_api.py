"""The public surface is deliberate (httpx's exported-members test, both directions): each
package's ``__all__`` is exactly its public names, and both are pinned here, so a rename, a
removal or an accidental new export shows up in this file's diff, not in a user's import."""

from __future__ import annotations

import importlib
import types

import pytest

PINNED: dict[str, list[str]] = {
    "learnstream": [
        "BrokerUnavailable",
        "ConfigurationError",
        "DatabaseUnavailable",
        "EventRejected",
        "LearnstreamError",
        "RejectionReason",
        "Settings",
        "TransientError",
        "load_settings",
    ],
    "learnstream.contracts": [
        "AssessmentSubmitted",
        "AssessmentSubmittedPayload",
        "ContentCharacteristics",
        "ContentFormat",
        "ContentGenerated",
        "ContentGeneratedPayload",
        "ContentLiked",
        "ContentRequested",
        "ContentRequestedPayload",
        "ContentSaved",
        "ContentSavedPayload",
        "ContentType",
        "ContentUnliked",
        "ContentValidated",
        "ContentValidatedPayload",
        "CourseEnrolled",
        "CourseEnrolledPayload",
        "DEFAULT_MAX_EVENT_BYTES",
        "DEFAULT_MAX_FUTURE_SKEW",
        "DifficultyKind",
        "EVENT_ADAPTER",
        "EVENT_TOPICS",
        "EVENT_TYPES",
        "Envelope",
        "Event",
        "EventContext",
        "FeedbackPayload",
        "FeedbackSubmitted",
        "GenerationState",
        "GenerationStatusChanged",
        "GenerationStatusPayload",
        "IDENTIFIER_PATTERN",
        "LearnerIdentified",
        "LearnerIdentifiedPayload",
        "LessonCompleted",
        "LessonCompletedPayload",
        "LessonPosition",
        "LessonPositionPayload",
        "LessonStarted",
        "LessonStartedPayload",
        "LikePayload",
        "MAX_IDENTIFIER_LENGTH",
        "Payload",
        "PlaybackCompleted",
        "PlaybackHeartbeat",
        "PlaybackPaused",
        "PlaybackPayload",
        "PlaybackReplayed",
        "PlaybackResumed",
        "PlaybackSeeked",
        "PlaybackSkipped",
        "PlaybackStarted",
        "PreferencesPayload",
        "PreferencesUpdated",
        "ReactionType",
        "SeekPayload",
        "SkipPayload",
        "Topic",
        "decode_event",
        "decode_parsed",
        "encode_event",
        "event_types_on",
        "topic_for",
    ],
    "learnstream.log": [
        "AT_OR_BELOW_SQL",
        "Batch",
        "Checkpoint",
        "Connection",
        "DEAD_LETTERS",
        "DEAD_LETTER_REPLAYS",
        "ERASER_ROLE",
        "ErasurePlan",
        "HORIZON_SQL",
        "IDENTIFIED",
        "LOG_TABLES",
        "LogEvent",
        "READABLE_SQL",
        "SESSION_GAP",
        "after_below_horizon_sql",
        "count_through",
        "count_through_sql",
        "earliest_identifications_sql",
        "envelope_of",
        "erase_from_log",
        "frontier",
        "frontier_sql",
        "identity_order",
        "is_earlier",
        "newest_append_sql",
        "pending",
        "pending_sql",
        "plan_erasure",
        "read_after_sql",
        "read_batch",
        "read_through",
        "record_files",
        "sessionized_sql",
        "subject_hash",
        "subject_of",
    ],
    "devstack": [
        "ComponentState",
        "ComponentStatus",
        "PrerequisiteError",
        "StackError",
        "StackStatus",
        "StartError",
        "ensure_stack",
        "stack_down",
        "stack_reset",
        "stack_status",
    ],
    "collector": [
        "Client",
        "Collector",
        "CollectorError",
        "CollectorOverloaded",
        "Examined",
        "ParsedBody",
        "Producer",
        "Record",
        "RequestRejected",
        "Store",
        "UnknownWriteKey",
        "WriteKey",
        "create_app",
        "create_key",
        "examine",
        "list_keys",
        "parse_body",
        "read_body",
        "revoke_keys",
    ],
    "ingest": [
        "AppendResult",
        "ConsumerFailed",
        "DeadLetter",
        "DeadLetterFilter",
        "Emitter",
        "IngestInterrupted",
        "ReplaySummary",
        "SourceOffset",
        "append_batch",
        "ensure_topics",
        "produce",
        "replay_dead_letters",
        "run_ingest",
    ],
    "simulator": [
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
    ],
    "projections": [
        "Col",
        "FoldProjection",
        "Group",
        "GroupKind",
        "Projection",
        "ReadTable",
        "RebuildResult",
        "Rule",
        "RunSummary",
        "Store",
        "default_projections",
        "project_until_caught_up",
        "rebuild",
        "run_batch",
        "run_projections",
    ],
    "learner_model": [
        "AbilityParams",
        "AbilityState",
        "AsyncLearnerStateClient",
        "DatasetFormatError",
        "LearnerModelError",
        "LearnerModelProjection",
        "LearnerState",
        "LearnerStateClient",
        "LearnerStateResponse",
        "ModelParams",
        "StateUnavailable",
        "StateView",
        "UnknownLearner",
        "fold",
        "view",
    ],
    "warehouse": [
        "Checkpoint",
        "ExportCorrupt",
        "ExportResult",
        "FileErasure",
        "JOBS",
        "JobResult",
        "Manifest",
        "TransportUnavailable",
        "UnknownJob",
        "WarehouseEmpty",
        "WarehouseError",
        "apply_retention_to_warehouse",
        "erase_from_warehouse",
        "export_log",
        "export_readmodels",
        "open",
        "run_job",
    ],
    "app": [
        "running_projections",
    ],
    "testing": [
        "PrivateStack",
        "SampleLoad",
        "dead_letter_rows",
        "dead_letter_topic_messages",
        "drop_topics",
        "export_all",
        "ingest_env",
        "ingest_until_idle",
        "load_simulation",
        "log_rows",
        "logged_event_ids",
        "private_stack",
        "scratch_database",
        "start_ingest_process",
        "to_url",
        "wait_for_horizon",
        "with_dbname",
    ],
}


def _public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # from __future__ import annotations
    }


@pytest.mark.parametrize("name", sorted(PINNED))
def test_all_is_exactly_the_public_names_and_is_pinned(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(getattr(module, "__all__", []))
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    assert set(exported) == _public_names(module), f"{name}: __all__ != public names"
    assert sorted(exported) == PINNED[name]


def test_contracts_export_every_event_class() -> None:
    import learnstream.contracts as contracts

    for cls in contracts.EVENT_TYPES.values():
        assert cls.__name__ in contracts.__all__, cls.__name__


@pytest.mark.parametrize("name", sorted(PINNED))
def test_every_export_is_defined_and_unknown_names_raise(name: str) -> None:
    # Moved from the ingest-only test: each exported name resolves, and a typo is an
    # AttributeError naming the missing attribute (not a silent None from a lazy loader).
    module = importlib.import_module(name)
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.{exported}"
    with pytest.raises(AttributeError, match="NotAThing"):
        getattr(module, "NotAThing")  # noqa: B009 - the name is looked up on purpose
