"""Up-front size checks: refuse work that cannot fit before any of it is done.

:func:`check_dense_network` estimates the memory of a network's float64 parameter arrays
from its layer sizes alone and raises :class:`~tern_jax.errors.TooLarge` with the estimate
when it exceeds the budget (by default half the machine's physical memory), so a typo such
as ``--ps 1000000`` fails in microseconds with a message instead of an out-of-memory crash.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence

from .errors import TooLarge

BYTES_PER_PARAMETER = 8  # ReLUNet stores float64


def physical_memory() -> int:
    """Bytes of physical memory of this machine (a conservative 8 GiB when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 8 * 2**30


def peak_rss() -> int:
    """Bytes of this process's peak resident memory so far (0 where unknown)."""
    try:
        import resource  # Unix only
    except ImportError:  # pragma: no cover
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes


def human_bytes(n: float) -> str:
    """``1.5 GiB`` style (binary units), for messages."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def dense_parameters(dims: Sequence[int]) -> int:
    """Weights and biases of a dense network with layer sizes ``dims`` (input first)."""
    return sum(a * b + b for a, b in itertools.pairwise(dims))


def check_dense_network(dims: Sequence[int], what: str, budget: int | None = None) -> int:
    """Raise TooLarge when the float64 parameters of layer sizes ``dims`` exceed ``budget``
    bytes (default: half of physical memory); returns the estimated bytes."""
    budget = physical_memory() // 2 if budget is None else budget
    nbytes = dense_parameters(dims) * BYTES_PER_PARAMETER
    if nbytes > budget:
        widest = max(dims)
        raise TooLarge(
            f"{what} would need {human_bytes(nbytes)} for its parameters (layers up to "
            f"{widest:,} units wide, {dense_parameters(dims):,} parameters in float64), more "
            f"than the {human_bytes(budget)} allowed on this machine"
        )
    return nbytes
