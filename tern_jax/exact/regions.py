"""``exact_regions``: one entry point for every exact count, choosing the engine.

========================  =============================================================
domain                    engine chosen by ``engine="auto"``
========================  =============================================================
``Segment``, ``Line``     line engine (:mod:`.line`)
``Plane``                 plane engine (:mod:`.plane`)
``Box``                   line engine for 1 input, plane engine for 2, n-D otherwise
``None`` (all of R^n0)    line engine for 1 input, n-D engine (:mod:`.nd`) otherwise
========================  =============================================================
"""

from __future__ import annotations

from typing import Any

from ..domains import Box, Domain, Line, Plane, Segment
from ..errors import InvalidInput, WrongType
from ..network import ReLUNet
from ._common import check_net
from .line import line_regions
from .nd import nd_regions
from .plane import plane_regions
from .result import ExactCount

ENGINES = ("auto", "line", "plane", "nd")


def choose_engine(net: ReLUNet, domain: Domain | None) -> str:
    """The engine ``engine="auto"`` uses for this network and domain (table above)."""
    if isinstance(domain, (Segment, Line)):
        return "line"
    if isinstance(domain, Plane):
        return "plane"
    if domain is None or isinstance(domain, Box):
        n0 = net.input_dim
        if n0 == 1:
            return "line"
        if n0 == 2 and domain is not None:
            return "plane"
        return "nd"
    raise InvalidInput(
        f"exact counts need a Segment, Line, Plane, Box or None (all of R^n0), not a "
        f"{type(domain).__name__}"
    )


def exact_regions(
    net: ReLUNet,
    domain: Domain | None = None,
    *,
    engine: str = "auto",
    mode: str = "auto",
    progress: bool = False,
    **options: Any,
) -> ExactCount:
    """Exact activation and linear regions of ``net`` on ``domain``.

    ``domain``: a :class:`~tern_jax.Segment`, :class:`~tern_jax.Line`,
    :class:`~tern_jax.Plane`, :class:`~tern_jax.Box` (full-dimensional in R^n0) or ``None``
    (all of R^n0). ``engine``: "auto" (see the module table), "line", "plane" or "nd".
    ``mode``: the arithmetic ("auto", "exact", "float64"; every mode counts exactly, see
    :mod:`tern_jax.exact.line`; the n-D engine is always exact). ``progress``: a progress
    bar for long enumerations (n-D engine). Further ``options`` go to the engine
    (``keep_breakpoints``, ``keep_patterns`` for the line engine; ``keep_cells`` for the plane
    engine; ``keep_patterns``, ``max_cells`` for the n-D engine, which runs on a Box or None
    of any input dimension, 1 and 2 included; ``tol`` is accepted and ignored).
    """
    net = check_net(net)
    if domain is not None and not isinstance(domain, Domain):
        raise WrongType(f"domain must be a tern_jax domain or None, got {type(domain).__name__}")
    if engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "auto":
        engine = choose_engine(net, domain)
    if engine == "line":
        return line_regions(net, domain, mode=mode, **options)
    if engine == "plane":
        return plane_regions(net, domain, mode=mode, **options)
    return nd_regions(net, domain, mode=mode, progress=progress, **options)
