"""Exact partition of a segment, ray or whole line by a ReLU network (math.md section 1).

Along x(t) = p + t d every hidden unit's pre-activation is piecewise affine in t. The engine
keeps, for every piece of the current partition, the affine maps h(t) = (S t + O) / D of the
current layer's outputs, and splits a piece wherever a ReLU pre-activation changes sign
strictly inside it. Pieces are processed all at once with numpy (no per-piece Python loop).

Arithmetic modes
----------------
``exact``: S, O are integer numerators over a common denominator D (float64 parameters are
dyadic rationals, so this is the network exactly as stored). Crossing points t = -O/S are
rationals (num, den). They are ordered with correctly rounded float64 keys (a monotone map, so
distinct floats are already in the right order) and every float tie is decided by exact
integer cross-multiplication. Integers are int64 while a magnitude bound proves safety, else
Python ints. No tolerance: ternary constructions give exact answers however deep.

``float64``: the same algorithm in floating point. A slope s is treated as 0 when
``|s| <= tol * m`` with m the sum of absolute values of the terms that produced it (the
rounding-error scale); likewise for the offset. Two crossing points closer than
``tol * max(1, |t|)``, or a crossing that close to a piece end, are identified. Output slopes
whose difference is at most ``tol`` times their term magnitudes are equal.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .. import arith as nb
from ..domains import Box, Domain, Line, Segment
from ..errors import InvalidInput
from ..network import ReLUNet
from ._common import DEFAULT_TOL, check_mode, check_net, integer_layers, resolve_mode
from .result import ExactCount

# Breakpoints are stored in the result when there are at most this many (keep_breakpoints=None).
MAX_STORED_BREAKPOINTS = 10_000
# Pieces x units processed at once in a ReLU layer (bounds temporary memory).
CHUNK_ENTRIES = 1 << 22


@dataclass
class _Ends:
    """Piece end points: exact (num/den) or float, with -1/0/+1 infinity flags."""

    num: np.ndarray | None
    den: np.ndarray | None
    inf: np.ndarray
    flt: np.ndarray

    def take(self, idx: np.ndarray) -> _Ends:
        return _Ends(
            None if self.num is None else self.num[idx],
            None if self.den is None else self.den[idx],
            self.inf[idx],
            self.flt[idx],
        )

    @staticmethod
    def interleave(first: _Ends, mask_first: np.ndarray, rest: _Ends) -> _Ends:
        """Place ``first`` at positions where mask_first, ``rest`` (in order) elsewhere."""
        n = mask_first.size

        def put(a, b, dtype):
            out = np.empty(n, dtype=dtype)
            out[mask_first] = a
            out[~mask_first] = b
            return out

        exact = first.num is not None
        if exact:
            dt = object if (first.num.dtype == object or rest.num.dtype == object) else np.int64
            num = put(first.num, rest.num, dt)
            dt = object if (first.den.dtype == object or rest.den.dtype == object) else np.int64
            den = put(first.den, rest.den, dt)
        else:
            num = den = None
        return _Ends(num, den, put(first.inf, rest.inf, np.int8), put(first.flt, rest.flt, float))


def _ends_scalar(value: Fraction | float, exact: bool) -> _Ends:
    if isinstance(value, float) and np.isinf(value):
        inf = np.array([1 if value > 0 else -1], dtype=np.int8)
        z = np.zeros(1, dtype=np.int64)
        return _Ends(z if exact else None, z + 1 if exact else None, inf, np.array([value]))
    f = Fraction(value)
    flt = np.array([float(f)])
    if exact:
        num = nb.shrink(np.array([f.numerator], dtype=object))
        den = nb.shrink(np.array([f.denominator], dtype=object))
        return _Ends(num, den, np.zeros(1, np.int8), flt)
    return _Ends(None, None, np.zeros(1, np.int8), flt)


# -- comparisons --------------------------------------------------------------------------


def _cmp_exact(cn, cd, cf, e: _Ends, idx) -> np.ndarray:
    """sign(c - e[idx]) for finite crossings c = cn/cd against end points (maybe infinite)."""
    einf = e.inf[idx]
    res = np.sign(cf - np.where(einf == 0, e.flt[idx], 0.0)).astype(np.int8)
    res = np.where(einf != 0, -einf, res).astype(np.int8)
    tie = np.nonzero((res == 0) & (einf == 0))[0]
    if tie.size:
        lhs = nb.mul(cn[tie], e.den[idx][tie])
        rhs = nb.mul(e.num[idx][tie], cd[tie])
        res[tie] = nb.sign(lhs - rhs)
    return res


def _exact_equal_pairs(cn, cd, a, b) -> np.ndarray:
    return nb.mul(cn[a], cd[b]) == nb.mul(cn[b], cd[a])


# -- one ReLU layer -----------------------------------------------------------------------


def _refine(
    P: int,
    n: int,
    slope_sign: np.ndarray,
    zero_active: np.ndarray,
    pi: np.ndarray,
    ui: np.ndarray,
    gt_left: np.ndarray,
    order: np.ndarray,
    eq: np.ndarray,
):
    """Split every piece at its distinct interior crossings and decide each unit's state.

    ``pi, ui``: piece and unit of every candidate crossing (units with nonzero slope);
    ``gt_left``: crossing lies strictly right of the piece's left end; ``order``: candidate
    indices of the interior crossings sorted by (piece, value); ``eq[k]``: crossing
    order[k+1] equals crossing order[k] (same piece, same value).
    Returns (parent, j, m, cut_idx, active): new piece -> old piece, its index j inside the old
    piece, number of cuts per old piece, candidate index of every distinct cut (in order),
    and the active bits (new pieces x units).
    """
    newval = np.ones(order.size, dtype=bool)
    newval[1:] = ~eq
    cut_idx = order[newval]
    m = np.bincount(pi[cut_idx], minlength=P)
    first = np.concatenate([[0], np.cumsum(m)[:-1]])
    rank = np.cumsum(newval) - 1 - first[pi[order]] + 1
    # A crossing at or left of the piece's left end has rank 0, at or right of its right end
    # rank m + 1; interior crossings their position 1..m among the distinct cuts.
    r = np.where(gt_left, m[pi] + 1, 0)
    r[order] = rank
    R = np.zeros((P, n), dtype=np.int64)
    R[pi, ui] = r
    counts = m + 1
    parent = np.repeat(np.arange(P), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    j = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    sg = slope_sign[parent]
    rp = R[parent]
    jj = j[:, None]
    # Increasing unit: active right of its crossing; decreasing: left of it; flat: by value.
    active = np.where(sg > 0, jj >= rp, np.where(sg < 0, jj < rp, zero_active[parent]))
    return parent, j, m, cut_idx, active


def _new_ends(left: _Ends, right: _Ends, cuts: _Ends, parent, j, m) -> tuple[_Ends, _Ends]:
    is_first = j == 0
    is_last = j == m[parent]
    new_left = _Ends.interleave(left.take(parent[is_first]), is_first, cuts)
    new_right = _Ends.interleave(right.take(parent[is_last]), is_last, cuts)
    return new_left, new_right


def _split_exact(S, O, left: _Ends, right: _Ends):
    P, n = S.shape
    pi, ui = np.nonzero(S != 0)
    s, o = S[pi, ui], O[pi, ui]
    pos = s > 0
    cn = np.where(pos, -o, o)
    cd = np.where(pos, s, -s)
    if cn.dtype == object:
        cn, cd = nb.shrink(cn), nb.shrink(cd)
    cn, cd = nb.reduce_fractions(cn, cd)
    cf = nb.to_float(cn, cd)
    gt_left = _cmp_exact(cn, cd, cf, left, pi) > 0
    lt_right = _cmp_exact(cn, cd, cf, right, pi) < 0
    inter = np.nonzero(gt_left & lt_right)[0]
    order = inter[np.lexsort((cf[inter], pi[inter]))]
    same = (pi[order][1:] == pi[order][:-1]) & (cf[order][1:] == cf[order][:-1])
    eq = np.zeros(same.size, dtype=bool)
    k = np.nonzero(same)[0]
    if k.size:
        eq[k] = _exact_equal_pairs(cn, cd, order[k], order[k + 1])
        if np.any(same & ~eq):
            order, eq = _fix_float_ties(order, same, cn, cd)
    zero_active = (S == 0) & (O > 0)
    parent, j, m, cut_idx, active = _refine(
        P, n, nb.sign(S), zero_active, pi, ui, gt_left, order, eq
    )
    cuts = _Ends(cn[cut_idx], cd[cut_idx], np.zeros(cut_idx.size, np.int8), cf[cut_idx])
    new_left, new_right = _new_ends(left, right, cuts, parent, j, m)
    return parent, active, new_left, new_right


def _fix_float_ties(order, same, cn, cd):
    """Distinct rationals with equal float keys (huge denominators): sort those runs exactly."""
    order = order.copy()
    k = 0
    while k < same.size:
        if not same[k]:
            k += 1
            continue
        e = k
        while e < same.size and same[e]:
            e += 1
        run = order[k : e + 1]
        order[k : e + 1] = sorted(run, key=lambda i: Fraction(int(cn[i]), int(cd[i])))
        k = e + 1
    eq = np.zeros(same.size, dtype=bool)
    idx = np.nonzero(same)[0]
    eq[idx] = _exact_equal_pairs(cn, cd, order[idx], order[idx + 1])
    return order, eq


def _split_float(S, O, AS, AO, left: _Ends, right: _Ends, tol: float):
    P, n = S.shape
    flat = np.abs(S) <= tol * AS
    pi, ui = np.nonzero(~flat)
    s, o = S[pi, ui], O[pi, ui]
    c = -o / s
    lf, rf = left.flt[pi], right.flt[pi]
    linf, rinf = left.inf[pi], right.inf[pi]
    with np.errstate(invalid="ignore"):
        gt_left = (linf == -1) | ((linf == 0) & (c > lf + tol * np.maximum(1.0, np.abs(lf))))
        lt_right = (rinf == 1) | ((rinf == 0) & (c < rf - tol * np.maximum(1.0, np.abs(rf))))
    inter = np.nonzero(gt_left & lt_right)[0]
    order = inter[np.lexsort((c[inter], pi[inter]))]
    co = c[order]
    eq = (pi[order][1:] == pi[order][:-1]) & (
        co[1:] - co[:-1] <= tol * np.maximum(1.0, np.abs(co[:-1]))
    )
    zero_active = flat & (O > tol * AO)
    sgn = np.where(flat, 0, np.sign(S)).astype(np.int8)
    parent, j, m, cut_idx, active = _refine(P, n, sgn, zero_active, pi, ui, gt_left, order, eq)
    cuts = _Ends(None, None, np.zeros(cut_idx.size, np.int8), c[cut_idx])
    new_left, new_right = _new_ends(left, right, cuts, parent, j, m)
    return parent, active, new_left, new_right


def _concat_ends(parts: list[_Ends]) -> _Ends:
    if len(parts) == 1:
        return parts[0]
    exact = parts[0].num is not None

    def cat(arrs):
        if any(a.dtype == object for a in arrs):
            return np.concatenate([nb.to_object(a) for a in arrs])
        return np.concatenate(arrs)

    return _Ends(
        cat([q.num for q in parts]) if exact else None,
        cat([q.den for q in parts]) if exact else None,
        np.concatenate([q.inf for q in parts]),
        np.concatenate([q.flt for q in parts]),
    )


def _relu_step(split, arrays: list, pats, left: _Ends, right: _Ends):
    """Split every piece and apply the ReLU to the per-piece maps, a chunk of pieces at a
    time (bounds the temporaries at about CHUNK_ENTRIES pieces x units)."""
    P, n = arrays[0].shape
    step = max(1, CHUNK_ENTRIES // max(n, 1))
    outs, pat_parts, lefts, rights = [], [], [], []
    for s0 in range(0, P, step):
        idx = np.arange(s0, min(P, s0 + step))
        chunk = [a[idx] for a in arrays]
        parent, active, lft, rgt = split(chunk, left.take(idx), right.take(idx))
        outs.append([np.where(active, a[parent], 0) for a in chunk])
        if pats is not None:
            pat_parts.append(np.concatenate([pats[idx][parent], active], axis=1))
        lefts.append(lft)
        rights.append(rgt)
    new = []
    for k in range(len(arrays)):
        col = [o[k] for o in outs]
        if any(c.dtype == object for c in col):
            col = [nb.to_object(c) for c in col]
        new.append(col[0] if len(col) == 1 else np.concatenate(col))
    pats = None if pats is None else np.concatenate(pat_parts)
    return new, pats, _concat_ends(lefts), _concat_ends(rights)


# -- domain -------------------------------------------------------------------------------


def _domain_1d(kind: str, lo: Any, hi: Any):
    text = {
        "segment": f"segment x in [{_fmt(lo)}, {_fmt(hi)}] of R",
        "ray": f"ray x in [{_fmt(lo)}, {_fmt(hi)}] of R",
        "line": "the whole real line R",
    }[kind]
    dom = {
        "kind": kind,
        "input_dim": 1,
        "start": _jsonable_end(lo),
        "end": _jsonable_end(hi),
        "parameter": "t = x",
        "t_range": [_jsonable_end(lo), _jsonable_end(hi)],
        "description": text,
    }
    return [Fraction(0)], [Fraction(1)], lo, hi, dom


def _end(value: Any) -> Any:
    """A 1-D end point: a Fraction, or +-inf as a float."""
    return value if isinstance(value, float) else value[0]


def _domain(net: ReLUNet, domain: Domain | None):
    """(p, d, t_lo, t_hi, domain dict) with x(t) = p + t d, for a Segment, Line, a Box of a
    1-input network, or None (all of R, 1 input only)."""
    n0 = net.input_dim
    if domain is None or isinstance(domain, Line):
        if isinstance(domain, Line):
            ex = domain.exact(n0)
            pa, pb = ex["a"], ex["b"]
        elif n0 != 1:
            raise InvalidInput(
                f"the line engine counts over all of R only for 1 input; this network has {n0}"
            )
        if n0 == 1:
            return _domain_1d("line", -math.inf, math.inf)
        lo, hi, kind = -math.inf, math.inf, "line"
    elif isinstance(domain, Box):
        if n0 != 1:
            raise InvalidInput(
                f"the line engine takes a Box only for 1 input (a segment); this network has "
                f"{n0}: use the plane or n-dimensional engine"
            )
        ex = domain.exact(1)
        return _domain_1d("segment", ex["lo"][0], ex["hi"][0])
    elif isinstance(domain, Segment):
        ex = domain.exact(n0)
        if n0 == 1:
            lo, hi = _end(ex["start"]), _end(ex["end"])
            if lo == hi:
                if isinstance(lo, float):
                    raise InvalidInput("both ends are the same infinity: empty domain")
                raise InvalidInput(f"empty segment: start and end are both {lo}")
            lo, hi = min(lo, hi), max(lo, hi)
            kind = ("segment", "ray", "line")[(lo == -math.inf) + (hi == math.inf)]
            return _domain_1d(kind, lo, hi)
        pa, pb = ex["start"], ex["end"]
        lo, hi, kind = Fraction(0), Fraction(1), "segment"
    else:
        raise InvalidInput(
            f"the line engine partitions a Segment, a Line, a Box of a 1-input network or all "
            f"of R (None), not a {type(domain).__name__}"
        )
    d = [y - x for x, y in zip(pa, pb)]
    if all(v == 0 for v in d):
        raise InvalidInput("start and end coincide: empty segment / no direction")
    sa, sb = _fmt_point(pa), _fmt_point(pb)
    text = (
        f"whole line through {sa} and {sb} in R^{n0}"
        if kind == "line"
        else f"segment from {sa} to {sb} in R^{n0}"
    )
    dom = {
        "kind": kind,
        "input_dim": n0,
        "start": [str(v) for v in pa],
        "end": [str(v) for v in pb],
        "parameter": "x(t) = start + t (end - start)",
        "t_range": [_jsonable_end(lo), _jsonable_end(hi)],
        "description": text + (" (t over all of R)" if kind == "line" else " (t in [0, 1])"),
    }
    return pa, d, lo, hi, dom


def _fmt(v) -> str:
    if isinstance(v, float) and np.isinf(v):
        return "-inf" if v < 0 else "+inf"
    return str(v)


def _fmt_point(p) -> str:
    return "(" + ", ".join(str(v) for v in p) + ")"


def _jsonable_end(v):
    if isinstance(v, float) and np.isinf(v):
        return "-inf" if v < 0 else "inf"
    return str(v)


# -- engine -------------------------------------------------------------------------------


def exact_regions_1d(
    net: ReLUNet,
    start: Any = None,
    end: Any = None,
    *,
    line: bool = False,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_breakpoints: bool | None = None,
    keep_patterns: bool = False,
) -> ExactCount:
    """Exact activation and linear regions of ``net`` along a segment, ray or line.

    ``start``/``end``: points of the input space. With one input, scalars are accepted and
    ``None`` or +-inf ends give a ray or the whole real line (``exact_regions_1d(net, None,
    None)`` counts over all of R); the line parameter is then x itself. With several inputs,
    x(t) = start + t (end - start) with t in [0, 1], or t over all of R with ``line=True``.
    A thin wrapper of :func:`line_regions` with a :class:`~tern_jax.Segment` or
    :class:`~tern_jax.Line` domain (see there for ``mode``, ``tol`` and the rest).
    """
    check_net(net)
    if line:
        both = start is not None and end is not None
        domain = Line(start, end) if (both or net.input_dim != 1) else None
    else:
        domain = Segment(start, end)
    return line_regions(
        net,
        domain,
        mode=mode,
        tol=tol,
        keep_breakpoints=keep_breakpoints,
        keep_patterns=keep_patterns,
    )


def line_regions(
    net: ReLUNet,
    domain: Domain | None,
    *,
    mode: str = "auto",
    tol: float = DEFAULT_TOL,
    keep_breakpoints: bool | None = None,
    keep_patterns: bool = False,
) -> ExactCount:
    """The line engine: exact activation and linear regions along a one-dimensional domain.

    ``domain``: a :class:`~tern_jax.Segment` (with one input, +-inf ends make a ray or the
    whole line), a :class:`~tern_jax.Line`, a :class:`~tern_jax.Box` of a 1-input network,
    or ``None`` (all of R, 1 input). ``mode``: "auto" (exact when parameters and points are
    rationals with small denominators), "exact" or "float64" (with ``tol``).
    ``keep_breakpoints``: store the breakpoints (t values where the activation pattern
    changes) in the result; ``None`` keeps them when there are at most 10000.
    ``keep_patterns``: keep the activation pattern of every piece (bool array, in memory).
    """
    t0 = time.perf_counter()
    net = check_net(net)
    check_mode(mode, tol)
    p, d, lo, hi, dom = _domain(net, domain)
    mode = resolve_mode(mode, net, [*p, *d, *(v for v in (lo, hi) if isinstance(v, Fraction))])
    exact = mode == "exact"
    left, right = _ends_scalar(lo, exact), _ends_scalar(hi, exact)
    pats = np.zeros((1, 0), dtype=bool) if keep_patterns else None
    run = _run_exact if exact else _run_float
    left, pats, FS, differs = run(net, p, d, left, right, pats, tol)
    n_pieces = int(left.flt.size)
    if keep_breakpoints is None:
        keep_breakpoints = n_pieces - 1 <= MAX_STORED_BREAKPOINTS
    bps = lin_bps = None
    if keep_breakpoints:
        bps = _values(left, exact)[1:]
        lin_bps = [v for v, dif in zip(bps, differs) if dif]
    return ExactCount(
        activation_regions=n_pieces,
        linear_regions=1 + int(np.count_nonzero(differs)),
        engine="line",
        domain=dom,
        mode=mode,
        tolerance=None if exact else float(tol),
        fingerprint=net.fingerprint,
        seconds=time.perf_counter() - t0,
        num_breakpoints=n_pieces - 1,
        breakpoints=bps,
        linear_breakpoints=lin_bps,
        patterns=pats,
        piece_slopes=None if FS.shape[0] > 100_000 else FS,
    )


def _run_exact(net: ReLUNet, p, d, left: _Ends, right: _Ends, pats, tol):
    """Exact refinement: returns (left ends, patterns, output slopes, slope changes)."""
    layers = integer_layers(net)
    nums, D = nb.fractions_common(p + d)
    S = nums[len(p) :].reshape(1, -1)
    O = nums[: len(p)].reshape(1, -1)
    for (wn, bn, k), act in zip(layers[:-1], net.activations[:-1]):
        S = nb.matmul(S, wn)
        O = _add_bias(nb.matmul(O, wn), bn, D)
        D = D << k
        S, O, D = _reduce_global(S, O, D)
        if act == "relu":
            (S, O), pats, left, right = _relu_step(
                lambda a, lft, rgt: _split_exact(a[0], a[1], lft, rgt), [S, O], pats, left, right
            )
            if S.dtype == object:
                S, O = nb.shrink(S), nb.shrink(O)
    FS = nb.matmul(S, layers[-1][0])
    differs = np.any(FS[1:] != FS[:-1], axis=1) if FS.shape[0] > 1 else np.zeros(0, bool)
    return left, pats, FS, differs


def _run_float(net: ReLUNet, p, d, left: _Ends, right: _Ends, pats, tol):
    """float64 refinement with tolerance ``tol`` (see the module docstring)."""
    pf = np.array([float(v) for v in p])[None, :]
    df = np.array([float(v) for v in d])[None, :]
    S, O, AS, AO = df, pf, np.abs(df), np.abs(pf)
    for w, b, act in zip(net.weights[:-1], net.biases[:-1], net.activations[:-1]):
        w, b = np.asarray(w), np.asarray(b)
        aw = np.abs(w)
        S, O = S @ w, O @ w + b
        AS, AO = AS @ aw, AO @ aw + np.abs(b)
        if act == "relu":
            (S, O, AS, AO), pats, left, right = _relu_step(
                lambda a, lft, rgt: _split_float(*a, lft, rgt, tol),
                [S, O, AS, AO],
                pats,
                left,
                right,
            )
    w = np.asarray(net.weights[-1])
    FS, AFS = S @ w, AS @ np.abs(w)
    if FS.shape[0] > 1:
        scale = tol * (AFS[1:] + AFS[:-1])
        differs = np.any(np.abs(FS[1:] - FS[:-1]) > scale, axis=1)
    else:
        differs = np.zeros(0, bool)
    return left, pats, FS, differs


def _values(e: _Ends, exact: bool) -> list:
    if exact:
        return [
            Fraction(int(n), int(dd)) if i == 0 else float(f)
            for n, dd, i, f in zip(e.num, e.den, e.inf, e.flt)
        ]
    return [float(f) for f in e.flt]


def _add_bias(O: np.ndarray, bn: np.ndarray, D: int) -> np.ndarray:
    """O + bn * D exactly (bn is the bias numerator, D the current common denominator)."""
    if O.dtype != object and bn.dtype != object:
        if nb.maxabs(O) + nb.maxabs(bn) * D < nb.INT64_LIMIT:
            return O + bn * D
    return nb.to_object(O) + nb.to_object(bn) * D


def _reduce_global(S: np.ndarray, O: np.ndarray, D: int):
    """Divide numerators and the common denominator by their gcd (keeps dyadic nets small)."""
    if D == 1:
        return S, O, D
    g = D
    for a in (S, O):
        if a.size:
            g = math.gcd(g, int(np.gcd.reduce(a.ravel())))
            if g == 1:
                return S, O, D
    return S // g, O // g, D // g


def line_values(net: ReLUNet, result: ExactCount, ts: np.ndarray) -> np.ndarray:
    """f (float64, shape (len(ts), outputs)) at line parameters ``ts`` of a line result."""
    dom = result.domain
    ts = np.asarray(ts, dtype=np.float64)
    if dom["input_dim"] == 1:
        return np.asarray(net(ts[:, None]))
    a = np.array([float(Fraction(v)) for v in dom["start"]])
    b = np.array([float(Fraction(v)) for v in dom["end"]])
    return np.asarray(net(a + ts[:, None] * (b - a)))
