"""The package's errors: one base class, a few kinds a caller can act on.

Every error tern_jax raises on purpose derives from :class:`TernJaxError`, so a program (the
``tern-jax`` command among them) can catch exactly the package's own errors and let real bugs
keep their tracebacks. Each kind also derives from the matching built-in exception, so code
written against the built-ins (``except ValueError``) keeps working:

- :class:`InvalidInput` (a ``ValueError``): an argument, config field, domain or file content
  that is well-typed but wrong (shape, range, non-finite value, unknown name);
- :class:`WrongType` (a ``TypeError``): an argument of the wrong type;
- :class:`MissingFile` (a ``FileNotFoundError``): a path that does not exist;
- :class:`DamagedFile` (a ``ValueError``): a file that exists but is truncated, corrupt,
  edited or of another format;
- :class:`TooLarge` (an :class:`InvalidInput`): work or memory beyond what the machine or the
  arithmetic can hold, refused before it starts;
- :class:`PeerLost` (a ``RuntimeError``): another process of a multi-process run stopped
  (killed, crashed, unreachable) before its share was done; this process's state is saved.

Each class carries the ``tern-jax`` command's ``exit_code`` for it: 2, and 75 for
:class:`PeerLost` (``EX_TEMPFAIL``: rerun the same command on every process to resume).

Raise with the cause chained (``raise DamagedFile(...) from e``) so the original error stays
visible with ``--traceback`` or in a debugger.
"""

from __future__ import annotations

__all__ = [
    "DamagedFile",
    "InvalidInput",
    "MissingFile",
    "PeerLost",
    "TernJaxError",
    "TooLarge",
    "WrongType",
]


class TernJaxError(Exception):
    """Base class of every error tern_jax raises on purpose."""

    exit_code = 2


class InvalidInput(TernJaxError, ValueError):
    """A value that is well-typed but wrong: shape, range, name, content."""


class WrongType(TernJaxError, TypeError):
    """An argument of the wrong type."""


class MissingFile(TernJaxError, FileNotFoundError):
    """A path that does not exist."""


class DamagedFile(TernJaxError, ValueError):
    """A file that exists but cannot be trusted: truncated, corrupt, edited, wrong format."""


class TooLarge(InvalidInput):
    """Work or memory beyond what can be done, refused before it starts."""


class PeerLost(TernJaxError, RuntimeError):
    """Another process of a multi-process run stopped before its share was done."""

    exit_code = 75
