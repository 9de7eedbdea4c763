"""How a run computes: the sample lattice, the folded network, the float type and why.

The device evaluates the network as a function of the sample coordinates ``c`` (see
:mod:`tern_jax.sampling.samplers`): the domain's affine map ``x = offset + c @ scale`` is folded
into the first layer on the host, in exact arithmetic (``W1' = scale @ W1``, ``b1' = offset @ W1
+ b1``), so a domain far from the origin loses nothing: the cancellation of ``offset @ W1``
against the biases happens exactly, before any rounding.

**Exact lattice arithmetic** (math.md section 1 and 5). On the lattice law the device draws
odd integers ``t`` in ``[1, T]``, ``T = 2**(m+1) - 1``, and ``c = t / 2**(m+1)``. For a
network whose parameters are integers or dyadic fractions (every construction, every
ternary network, ternary x 2^-k scales) and a domain with dyadic corners, each layer ``l`` can
be multiplied by a power of two ``2**s_l`` so that, with ``S_l = s_1 + ... + s_l``,

    Z_1 = t @ (2**s_1 W1') + 2**s_1 b1',     Z_l = H_{l-1} @ (2**s_l W_l) + 2**S_l b_l,

has integer weights and biases, where ``Z_l = 2**S_l z_l`` and ``H_l = act(Z_l) = 2**S_l h_l``
(ReLU is positively homogeneous). So ``Z_l`` is an *integer* at every lattice point and has
the sign of ``z_l``: the activation pattern. A float type with ``p`` mantissa bits adds,
multiplies and accumulates integers exactly while every partial sum stays below ``2**p`` in
magnitude, whatever the order of summation. Interval arithmetic over ``t in [1, T]^k``
bounds ``|H_{l-1}|`` per unit, and ``|b| + |W|^T max|H_{l-1}|`` bounds every partial sum of
``Z_l`` (:func:`magnitude_bound`). When that bound is at most 2^24 the float32 forward pass is
exact, hence identical to float64 (and to rational arithmetic): it cannot invent or lose a
pattern. :func:`plan` picks the finest lattice ``m`` (at most ``M_MAX``) for which the bound
holds; below ``M_MIN`` bits the lattice would be too coarse and the run takes float64 on the
``M_MAX`` lattice instead, exact when the same bound is below 2^53.

Any other network (real weights) is evaluated in float64 with rounding of about 2^-53
relative, or in float32 on request (then the record carries a warning with a measured check).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from .. import arith
from ..network import ReLUNet
from .dyadic import Dyadic, add_exact, two_adic
from .samplers import LATTICE, Sampling

M_MAX = 23  # finest lattice: t < 2^24, exact in float32; the earlier sampler's grid
M_MIN = 14  # coarsest lattice accepted for float32 (16,384 cells per coordinate)
LIMITS = {"float32": 2**24, "float64": 2**53}  # integers every partial sum must stay below
# Parameters beyond this dyadic exponent or magnitude are treated as real numbers: their
# integer form could not meet any limit above (it saves exact arithmetic on large numbers).
_MAX_EXPONENT = 40


@dataclasses.dataclass(frozen=True)
class IntegerNet:
    """The network as a function of lattice coordinates t, scaled to integer parameters.

    ``layers[l] = (W, b)`` int64 or Python-int arrays for every layer including the output
    layer; ``scales[l] = S_l`` (``Z_l = 2**S_l z_l``); ``m`` the lattice bits it was built for.
    """

    layers: tuple
    scales: tuple[int, ...]
    m: int


@dataclasses.dataclass(frozen=True)
class Arithmetic:
    """What the forward pass computes, in which float type, and why (see module docstring).

    ``layers``/``activations``: the network the device evaluates, every layer's ``(W, b)``
    (output layer included) as float64 arrays: the integer form on exact paths, else the real
    network with its first layer folded (a function of the drawn coordinates), identity
    layers folded into the next (:func:`merge_identity`). ``integer``: the integer form
    layer by layer (unmerged), for the exact checks and maps of :mod:`.affine`.
    """

    precision: str
    exact: bool
    lattice_bits: int | None
    bound_log2: float | None
    reason: str
    layers: tuple = dataclasses.field(repr=False)
    activations: tuple[str, ...] = ()
    integer: IntegerNet | None = dataclasses.field(default=None, repr=False)

    def describe(self) -> dict:
        """The record's ``arithmetic`` entry."""
        out = {"precision": self.precision, "exact": self.exact, "reason": self.reason}
        if self.lattice_bits is not None:
            out["lattice_bits"] = self.lattice_bits
        if self.bound_log2 is not None:
            out["bound_log2"] = round(self.bound_log2, 3)
        return out


def _integerize(w: Dyadic, b: Dyadic) -> tuple[np.ndarray, np.ndarray, int]:
    """(2**s w, 2**s b, s) with integer entries and the smallest such s (may be < 0)."""
    e = max(w.exp, b.exp)
    wn, bn = w.at_exp(e), b.at_exp(e)  # numerators over 2**e
    v = two_adic(np.concatenate([arith.to_object(wn).ravel(), arith.to_object(bn).ravel()]))
    return Dyadic(wn, v).as_integers(), Dyadic(bn, v).as_integers(), e - v


def _small_dyadic(a: np.ndarray) -> bool:
    if a.size == 0:
        return True
    big = float(np.max(np.abs(a)))
    return big < 2.0**_MAX_EXPONENT and arith.dyadic_exponent(a) <= _MAX_EXPONENT


def folded_first_layer(net: ReLUNet, sampling: Sampling) -> tuple[Dyadic, Dyadic]:
    """Exact ``(scale @ W1, offset @ W1 + b1)``: the first layer as a function of c."""
    w1, b1 = Dyadic.of(net.weights[0]), Dyadic.of(net.biases[0])
    s = sampling.scale
    if sampling.diagonal:
        aw = Dyadic(s.num.reshape(-1, 1), s.exp) * w1
    else:
        aw = s @ w1
    o = sampling.offset
    ow = Dyadic(o.num.reshape(1, -1), o.exp) @ w1
    return aw, Dyadic(ow.num.reshape(-1), ow.exp) + b1


def integer_network(net: ReLUNet, folded: tuple[Dyadic, Dyadic], m: int) -> IntegerNet:
    """The integer form of the network on the lattice with ``m`` bits (module docstring)."""
    aw, b1 = folded
    w, b, s = _integerize(aw.times_pow2(-(m + 1)), b1)
    layers, scales = [(w, b)], [s]
    for wl, bl in zip(net.weights[1:], net.biases[1:]):
        w, b, s = _integerize(Dyadic.of(wl), Dyadic.of(bl).times_pow2(scales[-1]))
        layers.append((w, b))
        scales.append(scales[-1] + s)
    return IntegerNet(tuple(layers), tuple(scales), m)


def as_float(a: np.ndarray) -> np.ndarray:
    if a.dtype == object:
        return np.array([float(v) if abs(v) < 2**1000 else math.copysign(math.inf, v)
                         for v in a.ravel()]).reshape(a.shape)  # fmt: skip
    return a.astype(np.float64)


def merge_identity(layers, activations) -> tuple[tuple, tuple[str, ...]]:
    """The network the device evaluates: each identity layer folded into the next layer
    (``W_a W_b``, ``b_a W_b + b_b``) where that needs fewer multiplications. Patterns depend on
    the ReLU layers only, so they are unchanged; integer layers are multiplied exactly."""
    layers, acts = list(layers), list(activations)
    i = 0
    while i < len(layers) - 1:
        (wa, ba), (wb, bb) = layers[i], layers[i + 1]
        a, b, c = wa.shape[0], wa.shape[1], wb.shape[1]
        if acts[i] == "identity" and a * c <= a * b + b * c:
            if wa.dtype.kind in "iO" or wb.dtype.kind in "iO":
                bias = arith.matmul(ba.reshape(1, -1), wb).reshape(-1)
                layers[i] = (arith.matmul(wa, wb), add_exact(bias, bb))
            else:
                layers[i] = (wa @ wb, ba @ wb + bb)
            acts[i] = acts[i + 1]
            del layers[i + 1], acts[i + 1]
        else:
            i += 1
    return tuple(layers), tuple(acts)


def magnitude_bound(layers, activations: tuple[str, ...], m: int, output: bool = False) -> float:
    """Largest magnitude of any parameter, input or partial sum of the hidden layers'
    pre-activations (and the output's, with ``output``) of the integer network ``layers``
    over all points of the grid with ``m`` bits (interval arithmetic; float64 upper
    estimate)."""
    top = float(2 ** (m + 1) - 1)
    hidden = layers if output else layers[:-1]
    worst = top
    lo = hi = None
    for i, (w, b) in enumerate(hidden):
        wf, bf = as_float(w), as_float(b)
        worst = max(worst, float(np.max(np.abs(wf), initial=0)), float(np.max(np.abs(bf))))
        if i == 0:  # inputs t in [1, top]
            lo = bf + np.minimum(wf, wf * top).sum(axis=0)
            hi = bf + np.maximum(wf, wf * top).sum(axis=0)
            partial = np.abs(bf) + np.abs(wf).sum(axis=0) * top
        else:
            if activations[i - 1] == "relu":
                lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
            mag = np.maximum(np.abs(lo), np.abs(hi))
            partial = np.abs(bf) + np.abs(wf).T @ mag
            wp, wn = np.maximum(wf, 0), np.minimum(wf, 0)
            lo, hi = bf + wp.T @ lo + wn.T @ hi, bf + wp.T @ hi + wn.T @ lo
        worst = max(worst, float(np.max(partial, initial=0)))
    return worst


def _exact_candidate(net: ReLUNet, sampling: Sampling):
    """(m, IntegerNet, bound) for the finest lattice meeting the float32 limit, else for
    ``M_MAX`` (meeting the float64 limit or not); None when the network or domain is not
    dyadic with small enough denominators."""
    params = [*net.weights, *net.biases]
    if sampling.law != LATTICE or not all(_small_dyadic(np.asarray(a)) for a in params):
        return None
    folded = folded_first_layer(net, sampling)
    if max(abs(folded[0].exp), abs(folded[1].exp)) > 4 * _MAX_EXPONENT:
        return None
    acts = net.activations

    def at(m):
        inet = integer_network(net, folded, m)
        return inet, magnitude_bound(inet.layers, acts, m)

    top, top_bound = at(M_MAX)
    for m in range(M_MAX, M_MIN - 1, -1):
        inet, bound = (top, top_bound) if m == M_MAX else at(m)
        if bound <= LIMITS["float32"]:
            return m, inet, bound
        if bound > LIMITS["float32"] * 2.0 ** (m - M_MIN + 5):
            break  # a bit less roughly halves the bound: no m >= M_MIN will meet it
    return M_MAX, top, top_bound


def _float_layers(net: ReLUNet, sampling: Sampling, m: int | None) -> tuple:
    """The real-valued network as a function of the coordinates the device draws (lattice:
    odd integers t), first layer folded (exactly, then rounded to float64)."""
    aw, b1 = folded_first_layer(net, sampling) if _foldable(net, sampling) else (None, None)
    if aw is None:
        scale = sampling.scale.to_float()
        w0 = np.asarray(net.weights[0])
        aw_f = scale[:, None] * w0 if sampling.diagonal else scale @ w0
        b1_f = sampling.offset.to_float() @ w0 + np.asarray(net.biases[0])
    else:
        aw_f, b1_f = aw.to_float(), b1.to_float()
    if m is not None:
        aw_f = aw_f * 2.0 ** -(m + 1)
    layers = [(aw_f, b1_f)]
    layers += [(np.asarray(w), np.asarray(b)) for w, b in zip(net.weights[1:], net.biases[1:])]
    return tuple(layers)


def _foldable(net: ReLUNet, sampling: Sampling) -> bool:
    """Small enough to fold exactly (cost ~ input dim x first width big-integer products)."""
    w0 = np.asarray(net.weights[0])
    return w0.size * sampling.coords <= 1 << 16 and _small_dyadic(w0)


def _integer_forms(net: ReLUNet, inet: IntegerNet) -> list[tuple[float, tuple, tuple]]:
    """(bound, layers, activations) of the integer network as the device could evaluate it:
    identity layers folded into the next (fewer multiplications) first, then as given."""
    merged, acts = merge_identity(inet.layers, net.activations)
    plain = (magnitude_bound(inet.layers, net.activations, inet.m), inet.layers, net.activations)
    return [(magnitude_bound(merged, acts, inet.m), merged, acts), plain]


def _reason(cand, sampling: Sampling, precision: str, bound: float | None) -> str:
    limit = int(math.log2(LIMITS[precision]))
    if bound is not None and bound <= LIMITS[precision]:
        return (
            f"integer arithmetic: on the lattice of 2^{cand[0]} cells per coordinate the "
            f"network, scaled by powers of two, has integer parameters and every partial sum of "
            f"every pre-activation stays below 2^{math.log2(max(bound, 1)):.1f} <= 2^{limit}, "
            f"so {precision} is exact"
        )
    if cand:
        return (
            f"integer/dyadic network and domain, but in integer form the pre-activations may "
            f"reach 2^{math.log2(bound):.1f} lattice units (> 2^{limit}): {precision} may round"
        )
    what = (
        "real-valued parameters or domain (not dyadic with small denominators)"
        if sampling.law == LATTICE
        else f"{sampling.law} law (not a lattice)"
    )
    return f"{what}: {precision} rounding, about 2^-{24 if precision == 'float32' else 53} relative"


_PLANS: dict = {}
_PLANS_SIZE = 32


def plan(net: ReLUNet, sampling: Sampling, requested: str) -> Arithmetic:
    """Choose the lattice, the float type and the parameters the device uses (memoised per
    network, domain and request: the exact analysis costs milliseconds per run otherwise)."""
    key = (net.fingerprint, json.dumps(sampling.description, sort_keys=True), requested)
    if key not in _PLANS:
        if len(_PLANS) >= _PLANS_SIZE:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = _plan(net, sampling, requested)
    return _PLANS[key]


def _plan(net: ReLUNet, sampling: Sampling, requested: str) -> Arithmetic:
    cand = _exact_candidate(net, sampling)
    m = cand[0] if cand else (M_MAX if sampling.law == LATTICE else None)
    forms = _integer_forms(net, cand[1]) if cand else []
    best = min((f[0] for f in forms), default=math.inf)
    precision = requested
    if requested == "auto":
        precision = "float32" if best <= LIMITS["float32"] else "float64"
    exact = [f for f in forms if f[0] <= LIMITS[precision]]
    if exact:  # the first form that is exact: folded identity layers where that stays exact
        bound, layers, acts = exact[0]
        layers = tuple((as_float(w), as_float(b)) for w, b in layers)
        why = _reason(cand, sampling, precision, bound)
        return Arithmetic(precision, True, m, math.log2(max(bound, 1)), why, layers, acts, cand[1])
    bound = best if cand else None
    why = _reason(cand, sampling, precision, bound)
    layers, acts = merge_identity(_float_layers(net, sampling, m), net.activations)
    bound_log2 = math.log2(bound) if bound else None
    return Arithmetic(precision, False, m, bound_log2, why, layers, acts, cand[1] if cand else None)
