"""Exact numbers of linear and activation regions of the constructions following the
paper's claims (math.md section 3), as functions of their parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..checks import check_int, check_ints
from ..errors import InvalidInput
from .intmath import _pow, _prod, require_widths

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
    n0 = check_int(n0, "n0", 1)
    ps = check_ints(ps, "ps", 1)
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
    n0 = check_int(n0, "n0", 1)
    ps = check_ints(ps, "ps", 1)
    check_form(form)
    what = "the 3.3 count"
    cube = _pow(_prod(ps), n0, what)
    if form == "cube":
        return RegionCounts(cube, None, cube, None)
    total = _pow(_zigzag_line_total(ps), n0, what)
    return RegionCounts(cube, total, cube, _pow(_prod(ps) + 2, n0, what))


def check_form(form: str) -> str:
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
    n0 = check_int(n0, "n0", 1)
    ks = check_ints(ks, "ks", 1, allow_empty=True)
    m = check_int(m, "m", 1)
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
    n0 = check_int(n0, "n0", 1)
    ws = check_ints(widths, "widths", 1)
    require_widths(ws, n0, "montufar construction", "n0")
    return ternary_alternating_counts(n0, [w // n0 for w in ws])
