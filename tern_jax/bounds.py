"""Region-count bounds for general ReLU networks, and exact counts of our constructions.

Everything here is an exact Python integer (math.md sections 2-4); nothing is a float.

- General (real-weight) ReLU networks, math.md section 2: :func:`zaslavsky`,
  :func:`montufar2014`, :func:`serra2018_lower`, :func:`serra2018_upper`,
  :func:`montufar2017_upper`, :func:`exact_max_1d`. Each checks the hypotheses under which
  the formula is stated and raises ``ValueError`` naming the hypothesis otherwise.
- Constructions following the paper's claims, math.md section 3: the exact numbers of
  linear and activation regions of each network built in :mod:`tern_jax.constructions`,
  as functions of its parameters (:class:`RegionCounts`).
- Matching architectures: :func:`matching_architectures` lists, for a general
  architecture ``(n0, widths)``, the ternary architectures the paper's claim points to,
  with sizes, memory and counts next to the general network's bounds.

Conventions: ``n0`` is the input dimension, ``widths = (n_1, ..., n_L)`` the hidden widths.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import InvalidInput, TooLarge
from .records import format_int, package_version, to_jsonable

__all__ = [
    "ArchitectureRow",
    "Comparison",
    "RegionCounts",
    "exact_max_1d",
    "matching_architectures",
    "montufar2014",
    "montufar2017_upper",
    "montufar_zigzag_counts",
    "serra2018_lower",
    "serra2018_upper",
    "ternary_all_relu_counts",
    "ternary_alternating_counts",
    "ternary_real_bias_counts",
    "zaslavsky",
]

# -- argument checks ------------------------------------------------------------------------


def _check_int(value, what: str, minimum: int) -> int:
    # bool is an int subclass but True as a width is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise InvalidInput(f"{what} must be >= {minimum}, got {value}")
    return int(value)


def _check_list(values, what: str, minimum: int, allow_empty: bool = False) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        try:
            values = list(values)
        except TypeError as e:
            raise InvalidInput(f"{what} must be a list of integers, got {values!r}") from e
    if len(values) == 0 and not allow_empty:
        raise InvalidInput(f"{what} must not be empty")
    return tuple(_check_int(v, f"{what}[{i}]", minimum) for i, v in enumerate(values))


# Exact integers beyond this many bits (~18,000 decimal digits) are refused up front: past
# there big-integer arithmetic takes seconds to minutes and the digits say nothing more
# than the size, which the TooLarge message states.
MAX_BITS = 60_000
# serra2018_upper's dynamic programme is refused beyond this much big-integer work (steps
# times kilobits of the numbers involved; about a second on a laptop core).
MAX_DP_OPS = 200_000


def _too_large(bits: float, what: str) -> TooLarge:
    return TooLarge(
        f"{what} has about 10^{bits * math.log10(2):,.0f} (more than {MAX_BITS:,} bits); "
        "the exact integer is not computed"
    )


def _prod(values, what: str = "the product") -> int:
    out = 1
    for v in values:
        out *= v
        if out.bit_length() > MAX_BITS:
            raise _too_large(out.bit_length(), what)
    return out


def _pow(base: int, e: int, what: str = "the power") -> int:
    """base**e, refused up front when it would exceed MAX_BITS."""
    if base > 1 and e * math.log2(base) > MAX_BITS:
        raise _too_large(e * math.log2(base), what)
    return base**e


def _log2_comb(n: int, k: int) -> float:
    """log2 C(n, k) from log-gamma (a size estimate, never used as a value)."""
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


@functools.lru_cache(maxsize=256)
def _sum_binom(n: int, d: int) -> int:
    """sum_{j=0}^{d} C(n, j), by the recurrence C(n, j) = C(n, j-1) (n - j + 1) / j (one
    big-integer multiply-divide by small numbers per term; ``math.comb`` per term costs
    far more when n and d are large)."""
    if d >= n:
        if n > MAX_BITS:
            raise _too_large(n, f"sum_(j<={d}) C({n}, j)")
        return 1 << n
    # the largest term is C(n, k); the sum is at most (d + 1) C(n, k)
    log2_term = _log2_comb(n, min(d, n // 2))
    if log2_term + math.log2(d + 1) > MAX_BITS:
        raise _too_large(log2_term, f"sum_(j<={d}) C({n}, j)")
    total = term = 1
    for j in range(1, d + 1):
        term = term * (n - j + 1) // j
        total += term
    return total


# -- math.md section 2: general ReLU networks -----------------------------------------------


def zaslavsky(n0: int, n1: int) -> int:
    """Regions of ``n1`` hyperplanes in general position in R^n0: sum_{j<=n0} C(n1, j).

    This is the exact number of (activation = linear, generically) regions of one hidden ReLU
    layer of width ``n1`` with random weights, over all of R^n0.
    """
    n0 = _check_int(n0, "n0", 1)
    n1 = _check_int(n1, "n1", 1)
    return _sum_binom(n1, n0)


def montufar2014(n0: int, widths: Sequence[int]) -> int:
    """Montufar, Pascanu, Cho, Bengio (2014) lower bound on the maximal number of regions.

    prod_{l<L} floor(n_l / n0)^n0 * sum_{j<=n0} C(n_L, j). Hypothesis: every n_l >= n0.
    """
    n0 = _check_int(n0, "n0", 1)
    ws = _check_list(widths, "widths", 1)
    for i, w in enumerate(ws):
        if w < n0:
            raise InvalidInput(
                f"montufar2014 hypothesis 'every n_l >= n0' fails: widths[{i}] = {w} < n0 = {n0}"
            )
    what = "montufar2014"
    return _prod([*(_pow(w // n0, n0, what) for w in ws[:-1]), _sum_binom(ws[-1], n0)], what)


def serra2018_lower(n0: int, widths: Sequence[int]) -> int:
    """Serra, Tjandraatmadja, Ramalingam (2018) lower bound on the maximal number of regions.

    prod_{l<L} (floor(n_l / n0) + 1)^n0 * sum_{j<=n0} C(n_L, j). Hypothesis (as recalled in
    math.md section 2): every n_l >= 3 n0.
    """
    n0 = _check_int(n0, "n0", 1)
    ws = _check_list(widths, "widths", 1)
    for i, w in enumerate(ws):
        if w < 3 * n0:
            raise InvalidInput(
                f"serra2018_lower hypothesis 'every n_l >= 3 n0' fails: widths[{i}] = {w} "
                f"< 3 n0 = {3 * n0}"
            )
    what = "serra2018_lower"
    return _prod([*(_pow(w // n0 + 1, n0, what) for w in ws[:-1]), _sum_binom(ws[-1], n0)], what)


def serra2018_upper(n0: int, widths: Sequence[int]) -> int:
    """Serra et al. (2018) upper bound: sum over (j_1..j_L) in J of prod_l C(n_l, j_l).

    J = {0 <= j_l <= min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}. Holds for every
    architecture (no hypothesis beyond n0, n_l >= 1). Computed exactly by dynamic
    programming over the running minimum ("cap"), O(n0) big-integer steps per layer.
    """
    n0 = _check_int(n0, "n0", 1)
    ws = _check_list(widths, "widths", 1)
    states = {n0: 1}  # cap = min(n0, n_1 - j_1, ..., n_{l-1} - j_{l-1}) -> summed weight
    ops = 0
    for n in ws:
        cap = max(states)
        bits = _log2_comb(n, min(cap, n, n // 2)) + states[cap].bit_length()
        if bits > MAX_BITS:  # one term of the sum is already too large
            raise _too_large(bits, "serra2018_upper")
        # big-integer work of this layer: (caps + terms) steps on numbers of `bits` bits
        widest = max(v.bit_length() for v in states.values()) + _log2_comb(n, min(cap, n // 2))
        ops += (len(states) + min(cap, n) + 1) * (1 + int(widest) // 1024)
        if ops > MAX_DP_OPS:
            raise TooLarge(
                f"serra2018_upper for n0 = {n0} and {len(ws)} layers needs more than "
                f"{MAX_DP_OPS:,} big-integer steps; it is not computed"
            )
        states = _serra_layer(states, n)
        top = max(v.bit_length() for v in states.values())
        if top > MAX_BITS:
            raise _too_large(top, "serra2018_upper")
    return sum(states.values())


def _serra_layer(states: dict[int, int], n: int) -> dict[int, int]:
    """One layer of width n: every (cap, weight) spreads weight * C(n, j), j <= min(cap, n),
    to the new cap min(cap, n - j).

    Terms with j <= n - cap keep the cap: one prefix sum of binomials. The others
    (j > n - cap) go to the new cap n - j, from every state with cap >= max(n - j + 1, j):
    a suffix sum of weights over caps. So a layer costs O(#caps + n0) big-integer steps.
    """
    top = min(max(states), n)
    binom = [1]
    for j in range(1, top + 1):
        binom.append(binom[-1] * (n - j + 1) // j)
    prefix = list(itertools.accumulate(binom))
    nxt: dict[int, int] = {}
    for cap, weight in states.items():
        keep = min(cap, n - cap)
        if keep >= 0:
            nxt[cap] = nxt.get(cap, 0) + weight * prefix[keep]
    caps = sorted(states)
    suffix = list(itertools.accumulate(states[c] for c in reversed(caps)))[::-1]
    for j in range(top + 1):
        i = bisect.bisect_left(caps, max(n - j + 1, j))
        if i < len(caps):
            nxt[n - j] = nxt.get(n - j, 0) + suffix[i] * binom[j]
    return nxt


def montufar2017_upper(n0: int, widths: Sequence[int]) -> int:
    """Montufar (2017) upper bound: prod_l sum_{j<=d_l} C(n_l, j), d_l = min(n0, n_1..n_l).

    Holds for every architecture (no hypothesis beyond n0, n_l >= 1).
    """
    n0 = _check_int(n0, "n0", 1)
    ws = _check_list(widths, "widths", 1)
    caps = itertools.accumulate(ws, min, initial=n0)
    next(caps)
    return _prod((_sum_binom(n, d) for n, d in zip(ws, caps)), "montufar2017_upper")


def exact_max_1d(widths: Sequence[int]) -> int:
    """Exact maximal number of linear regions of a ReLU network on the real line.

    prod_l (n_l + 1), where Serra's lower and upper bounds coincide for n0 = 1; hypothesis:
    every n_l >= 3 (the lower bound's hypothesis with n0 = 1).
    """
    ws = _check_list(widths, "widths", 1)
    for i, w in enumerate(ws):
        if w < 3:
            raise InvalidInput(
                f"exact_max_1d hypothesis 'every n_l >= 3' (Serra's lower bound with n0 = 1) "
                f"fails: widths[{i}] = {w}"
            )
    return _prod(w + 1 for w in ws)


# -- math.md section 3: exact counts of the constructions -----------------------------------


@dataclass(frozen=True)
class RegionCounts:
    """Exact region counts of a construction.

    ``linear_*`` count linear regions, ``activation_*`` activation regions (full-dimensional
    ones: sets of positive volume sharing one pattern). ``*_unit_cube`` is over the open
    unit cube (0, 1)^n0, ``*_total`` over all of R^n0 (None where not known).
    """

    linear_unit_cube: int
    linear_total: int | None
    activation_unit_cube: int
    activation_total: int | None


def _zigzag_line_total(ps: Sequence[int]) -> int:
    """Linear (= activation) regions on R of Z_{p_K} o ... o Z_{p_1} (n0 = 1).

    On x < 0 everything is 0 (one region). On (0, 1) there are prod p pieces. Beyond 1,
    Z_p continues the last piece affinely (slope +p to values > 1 for odd p, slope -p to
    values < 0 for even p). So while the p_k are odd the tail continues the last piece;
    at the first even p_k the tail goes negative and the next block maps it to the constant
    0: one extra region, unless that even block is the last one (then the tail is affine
    and continues the last piece).
    """
    big_p = _prod(ps)
    first_even = next((k for k, p in enumerate(ps) if p % 2 == 0), None)
    extra = 1 if first_even is not None and first_even < len(ps) - 1 else 0
    return 1 + big_p + extra


def ternary_alternating_counts(n0: int, ps: Sequence[int]) -> RegionCounts:
    """Counts of math.md 3.2 (alternating identity/ReLU, ternary) with blocks ``ps``.

    Unit cube: prod_k p_k^n0 linear and activation regions. All of R^n0: r^n0 with r the
    count on the line (:func:`_zigzag_line_total`): the network is a sum of one function
    per coordinate, whose pieces form a product grid in which neighbouring cells always
    differ in one coordinate's slope. Activation counts equal linear counts here (the
    duplicated units switch together, and the tail beyond 1 keeps the pattern exactly when
    it keeps the affine piece).
    """
    n0 = _check_int(n0, "n0", 1)
    ps = _check_list(ps, "ps", 1)
    cube = _pow(_prod(ps), n0, "the 3.2 count")
    total = _pow(_zigzag_line_total(ps), n0, "the 3.2 count")
    return RegionCounts(cube, total, cube, total)


def ternary_all_relu_counts(n0: int, ps: Sequence[int], form: str = "generic") -> RegionCounts:
    """Counts of math.md 3.3 (all layers ReLU, ternary).

    ``form="generic"`` computes the same function as 3.2 everywhere, so its linear counts
    are those of 3.2; its split units sigma(v), sigma(-v) add switches at x_i = 0 and
    x_i = 1, so over R^n0 it has (prod p + 2)^n0 activation regions. ``form="cube"``
    agrees with 3.2 on the unit cube only; its counts over R^n0 are not stated (None).
    """
    n0 = _check_int(n0, "n0", 1)
    ps = _check_list(ps, "ps", 1)
    _check_form(form)
    what = "the 3.3 count"
    cube = _pow(_prod(ps), n0, what)
    if form == "cube":
        return RegionCounts(cube, None, cube, None)
    total = _pow(_zigzag_line_total(ps), n0, what)
    return RegionCounts(cube, total, cube, _pow(_prod(ps) + 2, n0, what))


def _check_form(form: str) -> str:
    if form not in ("generic", "cube"):
        raise InvalidInput(f"form must be 'generic' or 'cube', got {form!r}")
    return form


def ternary_real_bias_counts(n0: int, ks: Sequence[int], m: int) -> RegionCounts:
    """Counts of math.md 3.4 (ternary weights, real biases, all ReLU).

    Per coordinate, P = prod (k_l + 1) fold pieces, each cut into m + 1 activation
    intervals by the last layer: P (m + 1) activation regions on (0, 1). For m >= 2 each
    is its own linear region; for m = 1 the last layer's flat piece sits at the top of
    every fold, so the floor(P / 2) top folds merge two pieces: 2P - floor(P/2). Beyond
    (0, 1) every layer continues its outer piece affinely with the same pattern, so the
    counts over R^n0 equal those on the unit cube.
    """
    n0 = _check_int(n0, "n0", 1)
    ks = _check_list(ks, "ks", 1, allow_empty=True)
    m = _check_int(m, "m", 1)
    big_p = _prod(k + 1 for k in ks)
    act = big_p * (m + 1)
    lin = act if m >= 2 else 2 * big_p - big_p // 2
    what = "the 3.4 count"
    lin, act = _pow(lin, n0, what), _pow(act, n0, what)
    return RegionCounts(lin, lin, act, act)


def montufar_zigzag_counts(n0: int, widths: Sequence[int]) -> RegionCounts:
    """Counts of math.md 3.1 (Montufar's zigzag, general weights), p_l = floor(n_l / n0).

    The same function class as 3.2 with ps = p_l (leftover units are dead), hence the same
    counts: prod p_l^n0 on the unit cube, r^n0 over R^n0. Hypothesis: every n_l >= n0.
    """
    n0 = _check_int(n0, "n0", 1)
    ws = _check_list(widths, "widths", 1)
    for i, w in enumerate(ws):
        if w < n0:
            raise InvalidInput(
                f"montufar construction needs every n_l >= n0: widths[{i}] = {w} < n0 = {n0}"
            )
    return ternary_alternating_counts(n0, [w // n0 for w in ws])


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


def _alternating_widths(n0: int, ps: Sequence[int], all_relu: bool) -> tuple[int, ...]:
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
    n0 = _check_int(n0, "n0", 1)
    ws = _check_list(widths, "widths", 1)
    bounds: dict = {}
    notes: dict = {}
    for name, fn, hyp in (
        ("montufar2014", montufar2014, "lower bound; needs every n_l >= n0"),
        ("serra2018_lower", serra2018_lower, "lower bound; needs every n_l >= 3 n0"),
        ("serra2018_upper", serra2018_upper, "upper bound; any architecture"),
        ("montufar2017_upper", montufar2017_upper, "upper bound; any architecture"),
    ):
        try:
            bounds[name] = fn(n0, ws)
            notes[name] = hyp
        except ValueError as e:
            bounds[name] = None
            notes[name] = f"not applicable: {e}"
    if n0 == 1:
        try:
            bounds["exact_max_1d"] = exact_max_1d(ws)
            notes["exact_max_1d"] = "exact maximum on R; needs every n_l >= 3"
        except ValueError as e:
            bounds["exact_max_1d"] = None
            notes["exact_max_1d"] = f"not applicable: {e}"

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
                _alternating_widths(n0, blocks, all_relu=False),
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
                _alternating_widths(n0, blocks, all_relu=True),
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
