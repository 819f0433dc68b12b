"""The table printed at the end of ``learnstream simulate``."""

from __future__ import annotations

from rich.table import Table

from simulator.runner import SimulationStats


def summary_table(stats: SimulationStats, seconds: float) -> Table:
    """Events by type, then the run's totals and delivery imperfections."""
    table = Table(title="simulation", show_footer=False)
    table.add_column("event type / measure")
    table.add_column("count", justify="right")
    for event_type, count in sorted(stats.events_by_type.items()):
        table.add_row(event_type, f"{count:,}")
    delivery = stats.delivery
    client = max(1, delivery.client_events)
    emitted = sum(stats.events_by_type.values())
    table.add_section()
    table.add_row("[bold]events emitted", f"[bold]{emitted:,}")
    table.add_row("distinct events", f"{delivery.originals:,}")
    duplicate_share = delivery.duplicates / max(1, delivery.originals)
    table.add_row("duplicates (same event_id resent)",
                  f"{delivery.duplicates:,} ({duplicate_share:.2%})")
    table.add_row("reordered (delayed seconds..hours)",
                  f"{delivery.reordered:,} ({delivery.reordered / client:.2%} of client events)")
    table.add_row("late (days)", f"{delivery.late:,}")
    table.add_row("learners (anonymous / signed in during run)",
                  f"{stats.learners:,} ({stats.anonymous_learners:,} / "
                  f"{stats.identified_during_run:,})")
    table.add_row("content items (failed generations)",
                  f"{stats.content_items:,} ({stats.failed_generations:,})")
    table.add_row("courses", f"{stats.courses:,}")
    table.add_row("days", f"{stats.days_simulated:,}")
    table.add_row("seconds / events per second",
                  f"{seconds:.1f} / {emitted / max(seconds, 1e-9):,.0f}")
    return table
