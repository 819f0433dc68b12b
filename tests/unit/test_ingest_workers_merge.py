"""The pure parts of `learnstream ingest --workers N`: member names and the merged summary."""

from __future__ import annotations

from ingest.appender import AppendResult, DeadLetter
from ingest.rows import SourceOffset
from ingest.summary import IngestSummary, merge_summaries
from ingest.workers import worker_instance_id, worker_settings
from learnstream.contracts import Topic
from learnstream.errors import RejectionReason
from learnstream.settings import Settings


def test_each_worker_has_its_own_stable_member_name() -> None:
    settings = Settings().with_part(ingest={"instance_id": "host-a"})
    names = [worker_instance_id(settings, i) for i in range(3)]
    assert names == ["host-a-0", "host-a-1", "host-a-2"]
    assert worker_settings(settings, 1).ingest.instance_id == "host-a-1"
    assert worker_settings(settings, 1).ingest.consumer_group == settings.ingest.consumer_group


def test_merged_summary_adds_every_workers_totals() -> None:
    dead = DeadLetter(RejectionReason.MALFORMED_JSON, "x", b"{", None, SourceOffset("t", 0, 1))
    one, two = IngestSummary(), IngestSummary()
    one.record(Topic.BEHAVIOR, 10, AppendResult(inserted=8, duplicates=1), [dead])
    two.record(Topic.BEHAVIOR, 5, AppendResult(inserted=5), [])
    two.record(Topic.LIKES, 3, AppendResult(inserted=2, suppressed=1), [])
    two.dead_letters_unpublished = 2
    merged = merge_summaries([one, two], started_at=1.0)
    assert merged.topics[Topic.BEHAVIOR].messages == 15
    assert merged.topics[Topic.BEHAVIOR].inserted == 13
    assert merged.topics[Topic.BEHAVIOR].batches == 2
    assert merged.inserted == 15 and merged.duplicates == 1 and merged.suppressed == 1
    assert merged.dead_lettered == 1 and dict(merged.dead_letter_reasons) == {
        str(RejectionReason.MALFORMED_JSON): 1}
    assert merged.dead_letters_unpublished == 2 and merged.started_at == 1.0
