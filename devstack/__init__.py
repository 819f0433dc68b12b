"""The local Kafka + PostgreSQL stack, run without Docker.

``ensure_stack(settings)`` starts whatever is needed and returns a ``StackStatus``;
``devstack.cli.app`` is the ``learnstream stack up|down|status|reset`` command.
"""

from devstack.errors import PrerequisiteError, StackError, StartError
from devstack.stack import ensure_stack, stack_down, stack_reset, stack_status
from devstack.status import ComponentState, ComponentStatus, StackStatus

__all__ = [
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
]
