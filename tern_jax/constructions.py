"""Networks built to follow the paper's claims (math.md section 3), with their exact counts.

The paper's own weight matrices were not available: these are *constructions following the
paper's claims*, derived in math.md, not the paper's theorems. Each function returns a
:class:`Construction` holding the :class:`~tern_jax.network.ReLUNet`, its exact numbers of
linear and activation regions (from :mod:`tern_jax.bounds`), and the claim it demonstrates.

All constructions fold each input coordinate separately with the zigzag
Z_p(u) = sigma(p u) + 2 sum_{j=1}^{p-1} (-1)^j sigma(p u - j) (or, in 3.4, a fold with
real thresholds), so every hidden layer is block-diagonal: units are ordered coordinate by
coordinate, and the output is the sum over coordinates.

- :func:`ternary_alternating` (3.2): identity/ReLU blocks, weights and biases in {-1,0,1}.
- :func:`ternary_all_relu` (3.3): the same with ReLU in every layer ("generic": identity
  units split into sigma(v), sigma(-v); "cube": valid on the unit cube without doubling).
- :func:`ternary_real_bias` (3.4): ternary weights, real biases, all ReLU.
- :func:`montufar` (3.1): the general-network zigzag (real weights) used as reference.

Long module: the four constructions share the zigzag helpers and the claim texts; each
function reads as its math.md subsection.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from . import bounds as _b
from .checks import check_int, check_ints
from .errors import InvalidInput
from .limits import check_dense_network
from .network import ReLUNet

__all__ = [
    "CONSTRUCTIONS",
    "Construction",
    "build",
    "montufar",
    "ternary_all_relu",
    "ternary_alternating",
    "ternary_real_bias",
]

_CLAIM_32 = (
    "construction following the paper's v2 claim (alternating identity/ReLU): after first "
    "doubling the width, a ternary network (weights and biases in {-1,0,1}) reaches prod_k "
    "p_k^n0 linear regions; with p_k = p over 2L layers (double depth) or p_k = p^2 over L "
    "layers (square width) this matches the order of Montufar's bound for a general network "
    "of width n0 p and depth L"
)
_CLAIM_33_GENERIC = (
    "construction following the paper's v2 claim (ReLU in every layer): a similar bound holds"
    " after one more doubling of the width; identity units become sigma(v), sigma(-v), same "
    "function and counts as 3.2"
)
_CLAIM_33_CUBE = (
    "construction following the paper's all-ReLU claim without the extra doubling, valid on "
    "the unit cube only: same function and counts as 3.2 on (0,1)^n0, not on all of R^n0"
)
_CLAIM_34 = (
    "construction following the paper's setting (why biases matter): with real biases, "
    "ternary weights need only twice the units per fold and no extra depth (for n0 = 1, "
    "doubled widths reach Serra's exact maximum); evidence that the paper restricts biases to"
    " {-1,0,1} too"
)
_CLAIM_31 = (
    "reference construction (not a claim of the paper): Montufar et al.'s zigzag for a "
    "general (real-weight) ReLU network, which the ternary constructions are compared against"
)


@dataclass(frozen=True)
class Construction:
    """A network following one of the paper's claims, with its exact region counts.

    Counts (exact integers; ``None`` where not known):

    - ``regions_unit_cube``: linear regions in the open unit cube (0, 1)^n0;
    - ``regions_total``: linear regions over all of R^n0;
    - ``activation_regions_unit_cube`` / ``activation_regions_total``: activation regions
      (full-dimensional sets sharing one activation pattern) on the same domains.
    """

    name: str
    net: ReLUNet
    params: dict = field(hash=False)
    regions_unit_cube: int = 0
    regions_total: int | None = None
    activation_regions_unit_cube: int | None = None
    activation_regions_total: int | None = None
    claim: str = ""
    section: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the network itself is cited by fingerprint)."""
        net = self.net
        return {
            "construction": self.name,
            "math_section": self.section,
            "params": dict(self.params),
            "claim": self.claim,
            "input_dim": net.input_dim,
            "widths": list(net.widths),
            "activations": list(net.activations),
            "num_parameters": net.num_parameters,
            "num_relu_units": net.num_relu_units,
            "is_ternary": net.is_ternary(),
            "fingerprint": net.fingerprint,
            "counts": {
                "linear_regions_unit_cube": self.regions_unit_cube,
                "linear_regions_total": self.regions_total,
                "activation_regions_unit_cube": self.activation_regions_unit_cube,
                "activation_regions_total": self.activation_regions_total,
                "how": "exact (closed form, math.md section 3; checked by the exact engines)",
                "domains": {
                    "unit_cube": "open unit cube (0,1)^n0",
                    "total": "all of R^n0 (null: not known)",
                },
            },
        }

    def summary(self) -> str:
        """A few lines saying what was built and its exact counts (kind and domain stated)."""

        def show(v):
            return "not known" if v is None else str(v)

        n0 = self.net.input_dim
        return "\n".join(
            [
                f"{self.name} (math.md {self.section}) {self.params}",
                f"  {self.net.summary()}",
                f"  claim followed: {self.claim}",
                f"  linear regions, open unit cube (0,1)^{n0}, exact: {self.regions_unit_cube}",
                f"  linear regions, all of R^{n0}, exact: {show(self.regions_total)}",
                f"  activation regions, open unit cube (0,1)^{n0}, exact: "
                f"{show(self.activation_regions_unit_cube)}",
                f"  activation regions, all of R^{n0}, exact: "
                f"{show(self.activation_regions_total)}",
            ]
        )


# -- assembly helpers -----------------------------------------------------------------------

# A per-coordinate layer: (W of shape (n_in, n_out), b of shape (n_out,), activation).
_Layer = tuple[np.ndarray, np.ndarray, str]


def _replicate(layers: list[_Layer], n0: int) -> ReLUNet:
    """Block-diagonal network applying the one-input network ``layers`` to each coordinate
    and summing the outputs. The last entry of ``layers`` is the output layer (n_out = 1)."""
    eye = np.eye(n0)
    weights, biases, acts = [], [], []
    for w, b, act in layers[:-1]:
        weights.append(np.kron(eye, w))
        biases.append(np.tile(b, n0))
        acts.append(act)
    w_out, b_out, _ = layers[-1]
    weights.append(np.kron(np.ones((n0, 1)), w_out))
    biases.append(n0 * np.asarray(b_out, dtype=np.float64))
    acts.append("identity")
    return ReLUNet.from_arrays(weights, biases, acts)


def _zigzag_readout(p: int) -> np.ndarray:
    """Read-out c over the 2p - 1 ReLU units of a 3.2 block: +1 on a_0, (-1)^j on each of the
    two copies at level j, so c . a = Z_p(u) with coefficients in {-1, +1}."""
    c = [1.0]
    for j in range(1, p):
        c += [(-1.0) ** j] * 2
    return np.asarray(c)


def _alternating_layers(ps: Sequence[int]) -> tuple[list[_Layer], list[np.ndarray]]:
    """Per-coordinate layers of 3.2, and for each identity layer a sign per unit: +1 for the
    copies of u, -1 for the copies of u - 1 (used by the all-ReLU forms)."""
    layers: list[_Layer] = []
    signs: list[np.ndarray] = []
    src = np.ones((1, 1))  # block 1 reads x_i
    for p in ps:
        # Identity layer: p copies of u (bias 0), p copies of u - 1 (bias -1).
        w_id = np.tile(src, (1, 2 * p))
        b_id = np.array([0.0] * p + [-1.0] * p)
        # ReLU layer: a_0 = sigma(sum of p copies of u); level j = 1..p-1, two identical
        # units sigma(sum of p - j copies of u + sum of j copies of u - 1) = sigma(p u - j).
        w_r = np.zeros((2 * p, 2 * p - 1))
        w_r[:p, 0] = 1.0
        for j in range(1, p):
            for col in (2 * j - 1, 2 * j):
                w_r[: p - j, col] = 1.0
                w_r[p : p + j, col] = 1.0
        layers += [(w_id, b_id, "identity"), (w_r, np.zeros(2 * p - 1), "relu")]
        signs.append(np.array([1.0] * p + [-1.0] * p))
        src = _zigzag_readout(p)[:, None]
    layers.append((src, np.zeros(1), "identity"))
    return layers, signs


def _check_size(name: str, n0: int, widths: Sequence[int]) -> None:
    """Refuse, before building anything, a construction whose arrays cannot fit in memory."""
    check_dense_network([n0, *widths, 1], f"{name} (n0 = {n0}, widths up to {max(widths):,})")


def _check_n0(n0) -> int:
    return check_int(n0, "n0", 1)


# -- math.md 3.2 ----------------------------------------------------------------------------


def ternary_alternating(n0: int, ps: Sequence[int]) -> Construction:
    """math.md 3.2: alternating identity/ReLU, every weight and bias in {-1, 0, +1}.

    Block k has an identity layer of 2 n0 p_k units and a ReLU layer of n0 (2 p_k - 1) units
    and folds every coordinate with Z_{p_k}. Exact count: prod_k p_k^n0 linear regions in the
    open unit cube.
    """
    n0 = _check_n0(n0)
    ps = check_ints(ps, "ps", 1)
    _check_size("ternary_alternating", n0, _b.alternating_widths(n0, ps, all_relu=False))
    layers, _ = _alternating_layers(ps)
    counts = _b.ternary_alternating_counts(n0, ps)
    return _make(
        "ternary_alternating",
        _replicate(layers, n0),
        {"n0": n0, "ps": list(ps)},
        counts,
        _CLAIM_32,
        "3.2",
    )


def _make(name, net, params, counts: _b.RegionCounts, claim, section) -> Construction:
    return Construction(
        name=name,
        net=net,
        params=params,
        regions_unit_cube=counts.linear_unit_cube,
        regions_total=counts.linear_total,
        activation_regions_unit_cube=counts.activation_unit_cube,
        activation_regions_total=counts.activation_total,
        claim=claim,
        section=section,
    )


# -- math.md 3.3 ----------------------------------------------------------------------------


def ternary_all_relu(n0: int, ps: Sequence[int], form: str = "generic") -> Construction:
    """math.md 3.3: the 3.2 network with ReLU in every layer, all parameters ternary.

    ``form="generic"``: each identity unit v becomes sigma(v), sigma(-v) and the next layer
    reads v = sigma(v) - sigma(-v); the same function as 3.2 on all of R^n0, former
    identity layers 4 n0 p_k wide. ``form="cube"``: copies of u stored as sigma(u), copies
    of u - 1 as sigma(1 - u) (read back as -sigma(1 - u)); same widths as 3.2 and the same
    function on the unit cube only.
    """
    n0 = _check_n0(n0)
    ps = check_ints(ps, "ps", 1)
    _b.check_form(form)
    _check_size("ternary_all_relu", n0, _b.alternating_widths(n0, ps, form == "generic"))
    layers, signs = _alternating_layers(ps)
    out: list[_Layer] = []
    flip_next = None  # how the next layer re-reads a converted identity layer
    for w, b, act in layers:
        if flip_next is not None:
            w = flip_next(w)
            flip_next = None
        if act == "identity" and len(out) < len(layers) - 1:
            s = signs[len(out) // 2]
            if form == "generic":
                w, b = np.concatenate([w, -w], axis=1), np.concatenate([b, -b])

                def flip_next(w_next):
                    return np.concatenate([w_next, -w_next], axis=0)

            else:
                w, b = w * s[None, :], b * s

                def flip_next(w_next, s=s):
                    return w_next * s[:, None]

            act = "relu"
        out.append((w, b, act))
    counts = _b.ternary_all_relu_counts(n0, ps, form)
    claim = _CLAIM_33_GENERIC if form == "generic" else _CLAIM_33_CUBE
    return _make(
        "ternary_all_relu",
        _replicate(out, n0),
        {"n0": n0, "ps": list(ps), "form": form},
        counts,
        claim,
        "3.3",
    )


# -- math.md 3.4 ----------------------------------------------------------------------------


def ternary_real_bias(n0: int, ks: Sequence[int], m: int) -> Construction:
    """math.md 3.4: ternary weights, real biases, ReLU in every layer.

    Folding layer l splits the coordinate's range [0, D] into k_l + 1 pieces with
    2 k_l units (A = sigma(t_1 - u), B = sigma(u - t_1), two copies of sigma(u - t_j),
    j = 2..k_l, t_j = j D / (k_l + 1)); the last hidden layer cuts each piece into m + 1 with
    sigma(s_1 - u) and sigma(u - s_q), q = 2..m. Widths 2 n0 k_1, ..., 2 n0 k_{L-1}, n0 m.
    Exact count: prod (k_l + 1)^n0 (m + 1)^n0 linear regions on the unit cube for m >= 2.
    """
    n0 = _check_n0(n0)
    ks = check_ints(ks, "ks", 1, allow_empty=True)
    m = check_int(m, "m", 1)
    _check_size("ternary_real_bias", n0, [*(2 * n0 * k for k in ks), n0 * m])
    layers: list[_Layer] = []
    # The current coordinate value is u = src . h + const (h: previous layer's units).
    src = np.ones((1, 1))
    const = Fraction(0)
    span = Fraction(1)  # u ranges over [0, span] on the unit cube
    for k in ks:
        delta = span / (k + 1)
        t = [j * delta for j in range(k + 1)]  # t[j] = j delta
        cols, bias = [], []
        # A = sigma(t_1 - u), B = sigma(u - t_1), then copies of sigma(u - t_j).
        cols.append(-src[:, 0])
        bias.append(t[1] - const)
        cols.append(src[:, 0])
        bias.append(const - t[1])
        readout = [-1.0, -1.0]
        for j in range(2, k + 1):
            for _ in range(2):
                cols.append(src[:, 0])
                bias.append(const - t[j])
                readout.append((-1.0) ** j)
        layers.append((np.stack(cols, axis=1), np.array([float(x) for x in bias]), "relu"))
        src = np.asarray(readout)[:, None]
        const = t[1]  # u' = t_1 - A - B + sum_j 2 (-1)^j sigma(u - t_j)
        span = delta
    s = [q * span / (m + 1) for q in range(m + 1)]
    cols, bias = [-src[:, 0]], [s[1] - const]
    for q in range(2, m + 1):
        cols.append(src[:, 0])
        bias.append(const - s[q])
    layers.append((np.stack(cols, axis=1), np.array([float(x) for x in bias]), "relu"))
    layers.append((np.array([[-1.0]] + [[1.0]] * (m - 1)), np.zeros(1), "identity"))
    counts = _b.ternary_real_bias_counts(n0, ks, m)
    return _make(
        "ternary_real_bias",
        _replicate(layers, n0),
        {"n0": n0, "ks": list(ks), "m": m},
        counts,
        _CLAIM_34,
        "3.4",
    )


# -- math.md 3.1 ----------------------------------------------------------------------------


def montufar(n0: int, widths: Sequence[int]) -> Construction:
    """math.md 3.1: Montufar's zigzag for a general ReLU network of the given widths.

    Layer l holds n0 groups of p_l = floor(n_l / n0) units sigma(p_l u - j), j < p_l (weights
    p_l, biases -j), read by the next layer with +1, -2, +2, ...; the n_l - n0 p_l leftover
    units are dead (weight 0, bias -1). Exact count: prod_l p_l^n0 linear regions in the open
    unit cube. Hypothesis: every n_l >= n0.
    """
    n0 = _check_n0(n0)
    ws = check_ints(widths, "widths", 1)
    _check_size("montufar", n0, ws)
    counts = _b.montufar_zigzag_counts(n0, ws)  # checks n_l >= n0
    ps = [w // n0 for w in ws]
    per: list[_Layer] = []
    src = np.ones((1, 1))
    for p in ps:
        w = p * np.tile(src, (1, p))
        b = -np.arange(p, dtype=np.float64)
        per.append((w, b, "relu"))
        c = np.array([1.0] + [2.0 * (-1.0) ** j for j in range(1, p)])
        src = c[:, None]
    per.append((src, np.zeros(1), "identity"))
    net = _replicate(per, n0)
    # Pad each hidden layer with dead units up to the requested width.
    weights, biases = list(net.weights), list(net.biases)
    for i, width in enumerate(ws):
        extra = width - weights[i].shape[1]
        if extra:
            weights[i] = np.concatenate([weights[i], np.zeros((weights[i].shape[0], extra))], 1)
            biases[i] = np.concatenate([biases[i], -np.ones(extra)])
            weights[i + 1] = np.concatenate(
                [weights[i + 1], np.zeros((extra, weights[i + 1].shape[1]))], 0
            )
    net = ReLUNet.from_arrays(weights, biases, net.activations)
    return _make("montufar", net, {"n0": n0, "widths": list(ws)}, counts, _CLAIM_31, "3.1")


CONSTRUCTIONS = {
    "ternary-alternating": ternary_alternating,
    "ternary-all-relu": ternary_all_relu,
    "ternary-real-bias": ternary_real_bias,
    "montufar": montufar,
}
# Parameters a caller (the CLI) may leave out, and the value used then.
DEFAULTS = {
    "ternary-alternating": {"n0": 1},
    "ternary-all-relu": {"n0": 1, "form": "generic"},
    "ternary-real-bias": {"n0": 1, "ks": []},
    "montufar": {"n0": 1},
}


def parameters(name: str) -> tuple[str, ...]:
    """The parameter names of a construction (by its CLI name)."""
    return tuple(inspect.signature(CONSTRUCTIONS[_key(name)]).parameters)


def _key(name: str) -> str:
    key = name.replace("_", "-")
    if key not in CONSTRUCTIONS:
        raise InvalidInput(
            f"unknown construction {name!r}; expected one of {sorted(CONSTRUCTIONS)}"
        )
    return key


def build(name: str, **kwargs: Any) -> Construction:
    """Build a construction by its CLI name (``ternary-alternating``, ``montufar``, ...).

    Parameters left out take :data:`DEFAULTS`; a parameter the construction does not take,
    or a required one that is missing, is an :class:`~tern_jax.errors.InvalidInput` naming it.
    """
    key = _key(name)
    params = parameters(key)
    for k in kwargs:
        if k not in params:
            raise InvalidInput(
                f"option {k!r} does not apply to {key} (it takes {', '.join(params)})"
            )
    given = {**DEFAULTS[key], **kwargs}
    missing = [k for k in params if k not in given]
    if missing:
        raise InvalidInput(f"{key} needs {', '.join(repr(k) for k in missing)}")
    return CONSTRUCTIONS[key](**given)
