"""Why the local stack could not do what was asked.

The stack's errors sit under the project-wide ``StackError`` (see :mod:`learnstream.errors`),
split by what the caller must do about them::

    LearnstreamError
    └── StackError             catch this to handle every stack failure
        ├── PrerequisiteError  fix the machine (install a package, open a directory), then retry
        └── StartError         a server did not come up (or its port is someone else's); the
                               message carries the tail of its log
"""

from __future__ import annotations

from learnstream.errors import StackError

__all__ = ["PrerequisiteError", "StackError", "StartError"]


class PrerequisiteError(StackError):
    """Something the stack needs on this machine is missing or unusable."""


class StartError(StackError):
    """A server failed to start, did not answer in time, or its port is taken."""
