"""Matching architectures: for a general architecture (n0, widths), the ternary
architectures the paper's claim points to, with sizes, memory and exact counts next to the
general network's bounds."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..checks import check_int, check_ints
from ..errors import TooLarge
from ..records import format_int, package_version, to_jsonable
from .counts import ternary_real_bias_counts
from .general import (
    exact_max_1d,
    montufar2014,
    montufar2017_upper,
    serra2018_lower,
    serra2018_upper,
)
from .intmath import _pow, _prod

# -- matching architectures -----------------------------------------------------------------

TABLE_DIGITS = 22  # wider integers are shown in scientific form in the text table
FLOAT_BITS = 32  # a general network's parameter stored as float32
TERNARY_BITS = 2  # a ternary code {-1, 0, +1} in 2 bits


def _num_params(n0: int, widths: Sequence[int], out_dim: int = 1) -> tuple[int, int]:
    """(weights, biases) of an MLP n0 -> widths -> out_dim."""
    dims = [n0, *widths, out_dim]
    weights = sum(a * b for a, b in itertools.pairwise(dims))
    biases = sum(dims[1:])
    return weights, biases


@dataclass(frozen=True)
class ArchitectureRow:
    """One architecture in a comparison table.

    ``regions`` is an exact integer whose meaning is in ``regions_kind``: a bound on the
    maximal number of linear regions over R^n0 for the general network, the exact number of
    linear regions of our construction on the open unit cube for the others.
    """

    name: str
    description: str
    activations: str  # "relu" | "alternating" | "all-relu"
    ternary: str  # "no" | "weights+biases" | "weights only"
    widths: tuple[int, ...]
    depth: int  # number of hidden layers
    num_parameters: int
    memory_bits: int
    regions: int | None  # None: more than MAX_BITS bits, not computed
    regions_kind: str
    construction: str | None  # how to build it with tern_jax.constructions


@dataclass(frozen=True)
class Comparison:
    """A general architecture's bounds next to the ternary architectures the claim points to."""

    n0: int
    widths: tuple[int, ...]
    bounds: dict = field(hash=False)  # name -> int or None (hypothesis not met: reason)
    bound_notes: dict = field(hash=False)  # name -> hypothesis / reason text
    rows: tuple[ArchitectureRow, ...] = ()
    note: str = ""  # why there are no rows, when there are none

    def to_dict(self) -> dict:
        """JSON-ready record: every figure, what kind of number it is and on which domain."""
        record = to_jsonable(self)
        record["how"] = "exact integers (closed forms, math.md sections 2-4)"
        record["bounds_domain"] = "maximal number of linear regions over all of R^n0"
        record["rows_domain"] = (
            "constructions: exact linear regions on the open unit cube (0,1)^n0; general "
            "row: Montufar 2014 lower bound over R^n0"
        )
        record["package_version"] = package_version()
        return record

    def table(self) -> str:
        """The comparison as a plain-text table."""
        lines = [
            f"General ReLU network: n0 = {self.n0}, widths = {list(self.widths)} "
            f"(depth {len(self.widths)})",
            "Bounds on the maximal number of linear regions over R^n0 (exact integers):",
        ]
        for name, value in self.bounds.items():
            shown = format_int(value, TABLE_DIGITS) if value is not None else "n/a"
            lines.append(f"  {name:<20} {shown:>22}   {self.bound_notes.get(name, '')}")
        lines.append("")
        if not self.rows:
            lines.append(self.note)
            return "\n".join(lines)
        lines.append(
            "Architectures (constructions following the paper's claims; 'regions' = exact "
            "linear regions"
        )
        lines.append(
            "on the open unit cube (0,1)^n0 for constructions, Montufar 2014 bound for general):"
        )
        unit, size = _bits_unit(max(r.memory_bits for r in self.rows))
        header = (
            f"  {'architecture':<42} {'act':<12} {'ternary':<15} {'depth':>5} "
            f"{'params':>10} {f'memory ({unit})':>14} {'regions':>22}  widths"
        )
        lines.append(header)
        for r in self.rows:
            widths = _short_widths(r.widths)
            regions = "too large" if r.regions is None else format_int(r.regions, TABLE_DIGITS)
            lines.append(
                f"  {r.name:<42} {r.activations:<12} {r.ternary:<15} {r.depth:>5} "
                f"{r.num_parameters:>10} {_fmt_bits(r.memory_bits, size):>14} {regions:>22}  "
                f"{widths}"
            )
        return "\n".join(lines)


def _short_widths(widths: Sequence[int]) -> str:
    text = ",".join(str(w) for w in widths)
    return text if len(text) <= 60 else text[:57] + "..."


_BIT_UNITS = (("bit", 1), ("KiB", 8 * 2**10), ("MiB", 8 * 2**20), ("GiB", 8 * 2**30))


def _bits_unit(largest: int) -> tuple[str, int]:
    """One unit for a whole column of bit counts: (name, bits per unit), the largest unit in
    which the column's largest entry is at least 8 (so no entry reads as "0.0")."""
    chosen = _BIT_UNITS[0]
    for name, size in _BIT_UNITS:
        if largest >= 8 * size:
            chosen = (name, size)
    return chosen


def _fmt_bits(bits: int, size: int) -> str:
    """A bit count in the column's unit (``size`` bits): exact integers for bits, one
    decimal for the binary multiples."""
    return str(bits) if size == 1 else f"{bits / size:.1f}"


def alternating_widths(n0: int, ps: Sequence[int], all_relu: bool) -> tuple[int, ...]:
    out: list[int] = []
    for p in ps:
        out += [(4 if all_relu else 2) * n0 * p, n0 * (2 * p - 1)]
    return tuple(out)


def _row(name, description, activations, ternary, n0, widths, regions, kind, construction):
    n_w, n_b = _num_params(n0, widths)
    if ternary == "no":
        bits = FLOAT_BITS * (n_w + n_b)
    elif ternary == "weights+biases":
        bits = TERNARY_BITS * (n_w + n_b)
    else:  # ternary weights, float biases
        bits = TERNARY_BITS * n_w + FLOAT_BITS * n_b
    return ArchitectureRow(
        name=name,
        description=description,
        activations=activations,
        ternary=ternary,
        widths=tuple(widths),
        depth=len(widths),
        num_parameters=n_w + n_b,
        memory_bits=bits,
        regions=regions,
        regions_kind=kind,
        construction=construction,
    )


def _or_none(compute):
    """The exact integer, or None when it is refused as too large (:data:`MAX_BITS`)."""
    try:
        return compute()
    except TooLarge:
        return None


def _general_bounds(n0: int, ws: tuple[int, ...]) -> tuple[dict, dict]:
    """Every general bound that applies (None, with the reason, where its hypothesis fails
    or the integer is refused as too large) and a note on each."""
    named = [
        ("montufar2014", lambda: montufar2014(n0, ws), "lower bound; needs every n_l >= n0"),
        (
            "serra2018_lower",
            lambda: serra2018_lower(n0, ws),
            "lower bound; needs every n_l >= 3 n0",
        ),
        ("serra2018_upper", lambda: serra2018_upper(n0, ws), "upper bound; any architecture"),
        ("montufar2017_upper", lambda: montufar2017_upper(n0, ws), "upper bound; any architecture"),
    ]
    if n0 == 1:
        named.append(
            ("exact_max_1d", lambda: exact_max_1d(ws), "exact maximum on R; needs every n_l >= 3")
        )
    bounds: dict = {}
    notes: dict = {}
    for name, compute, hypothesis in named:
        try:
            bounds[name], notes[name] = compute(), hypothesis
        except ValueError as e:  # InvalidInput (hypothesis) or TooLarge (size)
            bounds[name], notes[name] = None, f"not applicable: {e}"
    return bounds, notes


def matching_architectures(n0: int, widths: Sequence[int]) -> Comparison:
    """The general network's bounds and the ternary architectures the paper's claim points to.

    With p_l = floor(n_l / n0) (hypothesis: every n_l >= n0):

    - "double width, double depth" (alternating, math.md 3.2): one identity+ReLU block per
      general layer, ps = (p_1..p_L): depth 2L, widths 2 n0 p_l and n0 (2 p_l - 1).
    - "double width, square width" (alternating, 3.2): consecutive general layers paired
      into one block with p = p_l p_{l+1}: depth L (L + 1 when L is odd), widths
      2 n0 p_l p_{l+1}.
    - the same two in all-ReLU generic form (3.3): the identity layers doubled once more.
    - ternary weights with real biases (3.4) at the general depth: widths 2 n0 p_l, last
      n0 p_L, to show what real biases buy.

    Each construction's count is its exact number of linear regions on the open unit cube;
    the general network's figures are bounds over R^n0.
    """
    n0 = check_int(n0, "n0", 1)
    ws = check_ints(widths, "widths", 1)
    bounds, notes = _general_bounds(n0, ws)
    narrow = [i for i, w in enumerate(ws) if w < n0]
    if narrow:
        # p_l = floor(n_l / n0) = 0: no zigzag layer exists, so no matching construction.
        note = (
            f"no matching ternary architectures: they need every n_l >= n0 (p_l = floor(n_l / "
            f"n0) >= 1), but widths[{narrow[0]}] = {ws[narrow[0]]} < n0 = {n0}"
        )
        return Comparison(n0=n0, widths=ws, bounds=bounds, bound_notes=notes, note=note)
    ps = [w // n0 for w in ws]
    paired = [ps[i] * ps[i + 1] for i in range(0, len(ps) - 1, 2)]
    if len(ps) % 2:
        paired.append(ps[-1])
    # the same for the deep and the wide forms; None: more digits than are computed
    cube_count = _or_none(lambda: _pow(_prod(ps), n0, "the constructions' count"))

    rows = [
        _row(
            "general (real weights)",
            "the general ReLU network; regions = Montufar 2014 lower bound over R^n0",
            "relu",
            "no",
            n0,
            ws,
            bounds["montufar2014"],
            "lower bound on the maximum, linear regions, R^n0",
            f"montufar(n0={n0}, widths={list(ws)}) realises "
            f"{'a count too large to compute' if cube_count is None else format_int(cube_count)}"
            " on the unit cube",
        )
    ]
    kind = "exact linear regions, open unit cube"
    for label, blocks in (
        ("double width + double depth", ps),
        ("double width + square width", paired),
    ):
        rows.append(
            _row(
                f"{label} (alternating)",
                "math.md 3.2: identity/ReLU blocks, every weight and bias in {-1,0,1}",
                "alternating",
                "weights+biases",
                n0,
                alternating_widths(n0, blocks, all_relu=False),
                cube_count,
                kind,
                f"ternary_alternating(n0={n0}, ps={list(blocks)})",
            )
        )
        rows.append(
            _row(
                f"{label} (all-ReLU)",
                "math.md 3.3 generic: identity units split into sigma(v), sigma(-v)",
                "all-relu",
                "weights+biases",
                n0,
                alternating_widths(n0, blocks, all_relu=True),
                cube_count,
                kind,
                f"ternary_all_relu(n0={n0}, ps={list(blocks)}, form='generic')",
            )
        )
    ks = ps[:-1]
    rb_widths = (*(2 * n0 * k for k in ks), n0 * ps[-1])
    rows.append(
        _row(
            "ternary weights, real biases",
            "math.md 3.4: folding layers with real biases, same depth as the general network",
            "all-relu",
            "weights only",
            n0,
            rb_widths,
            _or_none(lambda: ternary_real_bias_counts(n0, ks, ps[-1]).linear_unit_cube),
            kind,
            f"ternary_real_bias(n0={n0}, ks={list(ks)}, m={ps[-1]})",
        )
    )
    return Comparison(n0=n0, widths=ws, bounds=bounds, bound_notes=notes, rows=tuple(rows))
