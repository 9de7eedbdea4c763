"""Ternary quantisers with a straight-through estimator.

Each rule maps a float weight tensor ``W`` to ``(codes, scale)`` with ``codes`` in {-1, 0, 1}
(same shape and float dtype as ``W``) and a positive ``scale``, so that ``W ~ scale * codes``.
``scale`` is a scalar (per-tensor) or, with ``per_channel=True``, one value per output unit
(the last axis of a ``(n_in, n_out)`` kernel). Conventions differ between papers, so the rule
and its threshold are recorded in every checkpoint and code export (:meth:`Quantizer.to_json`).

Rules (``m = mean|W|`` over the tensor, or over each output column when per-channel):

``absmean`` (BitNet b1.58, Ma et al. 2024)
    ``scale = max(m, eps)``, ``codes = clip(round(W / scale), -1, 1)``. Equivalently a weight
    is non-zero iff ``|W| > 0.5 * scale``; ``round`` is round-half-to-even, so ``|W|`` exactly
    at ``0.5 * scale`` maps to 0.
``twn`` (Ternary Weight Networks, Li et al. 2016)
    threshold ``delta = 0.7 * m`` (the factor is ``threshold``, default 0.7),
    ``codes = sign(W) * [|W| > delta]``, ``scale = mean(|W| over |W| > delta)`` (the
    least-squares scale for those codes).
``threshold`` (fixed threshold)
    an absolute threshold ``delta = threshold`` fixed in advance, not relative to the weights
    (default 0.05); ``codes = sign(W) * [|W| > delta]``, ``scale = mean(|W| over |W| > delta)``.

When no weight passes the threshold the codes are all 0 and the scale falls back to
``max(m, eps)``; the scale is therefore always positive, which folding (math.md section 1)
requires.

Biases, when quantised, use the layer's weight scale: ``code = clip(round(b / scale), -1, 1)``,
the nearest of ``{-scale, 0, +scale}`` (:func:`quantize_bias`).

Training uses the straight-through estimator (:func:`ste`): the forward pass sees
``scale * codes``, the backward pass treats quantisation as the identity.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jax
import jax.numpy as jnp

from .errors import InvalidInput, WrongType

RULES = ("absmean", "twn", "threshold")
DEFAULT_THRESHOLD = {"absmean": 0.5, "twn": 0.7, "threshold": 0.05}
EPS = 1e-5


@dataclasses.dataclass(frozen=True)
class Quantizer:
    """A ternary quantisation rule (see the module docstring for the conventions).

    ``threshold`` means: for ``absmean`` the implied cut ``0.5 x scale`` (fixed, recorded for
    reference only); for ``twn`` the factor of ``mean|W|``; for ``threshold`` the absolute cut.
    """

    rule: str = "absmean"
    threshold: float | None = None
    per_channel: bool = False

    def __post_init__(self):
        if self.rule not in RULES:
            raise InvalidInput(f"unknown quantiser rule {self.rule!r}; expected one of {RULES}")
        thr = DEFAULT_THRESHOLD[self.rule] if self.threshold is None else self.threshold
        if isinstance(thr, bool) or not isinstance(thr, (int, float)):
            raise WrongType(f"quantiser threshold must be a number, got {thr!r}")
        thr = float(thr)
        if not (thr == thr and 0.0 <= thr < float("inf")):
            raise InvalidInput(f"quantiser threshold must be finite and >= 0, got {thr!r}")
        if self.rule == "absmean" and thr != 0.5:
            raise InvalidInput(
                "absmean has the fixed threshold 0.5 x scale; use rule 'twn' instead"
            )
        # The one normalisation: a missing threshold becomes the rule's default, so that
        # Quantizer("twn") == Quantizer("twn", 0.7) and every record names the number.
        object.__setattr__(self, "threshold", thr)
        if not isinstance(self.per_channel, bool):
            raise WrongType(f"per_channel must be a bool, got {self.per_channel!r}")

    def __call__(self, w: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(codes, scale)`` of ``w`` under this rule."""
        return ternarize(w, self)

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "threshold": self.threshold, "per_channel": self.per_channel}

    @classmethod
    def from_json(cls, d: Any) -> Quantizer:
        if isinstance(d, str):
            try:
                d = json.loads(d) if d.strip().startswith("{") else {"rule": d}
            except json.JSONDecodeError as e:
                raise InvalidInput(f"quantiser description {d!r} is not valid JSON ({e})") from e
        if not isinstance(d, dict):
            raise WrongType(f"quantiser description must be a dict or rule name, got {d!r}")
        unknown = set(d) - {"rule", "threshold", "per_channel"}
        if unknown:
            raise InvalidInput(f"unknown quantiser fields {sorted(unknown)}")
        return cls(**d)


def as_quantizer(q: Quantizer | str | dict | None) -> Quantizer | None:
    """Accept a :class:`Quantizer`, a rule name, a JSON dict, or None (full precision)."""
    if q is None or isinstance(q, Quantizer):
        return q
    return Quantizer.from_json(q)


def _reduce_axes(w: jax.Array, per_channel: bool) -> tuple[int, ...] | None:
    if not per_channel:
        return None
    if w.ndim < 2:
        raise InvalidInput(f"per-channel quantisation needs a 2-D kernel, got shape {w.shape}")
    return tuple(range(w.ndim - 1))  # one scale per output unit (last axis)


def ternarize(w: jax.Array, q: Quantizer) -> tuple[jax.Array, jax.Array]:
    """Codes in {-1, 0, 1} and a positive scale for ``w`` (no gradient handling)."""
    w = jnp.asarray(w)
    if not jnp.issubdtype(w.dtype, jnp.floating):
        w = w.astype(jnp.float32)
    axes = _reduce_axes(w, q.per_channel)
    a = jnp.abs(w)
    mean_abs = jnp.maximum(jnp.mean(a, axis=axes), EPS)
    if q.rule == "absmean":
        scale = mean_abs
        codes = jnp.clip(jnp.round(w / scale), -1, 1)
        return codes, scale
    delta = q.threshold * mean_abs if q.rule == "twn" else jnp.asarray(q.threshold, w.dtype)
    keep = a > delta
    codes = jnp.sign(w) * keep
    n_keep = jnp.sum(keep, axis=axes)
    kept_mean = jnp.sum(a * keep, axis=axes) / jnp.maximum(n_keep, 1)
    scale = jnp.where(n_keep > 0, kept_mean, mean_abs)
    return codes.astype(w.dtype), scale.astype(w.dtype)


def quantize_bias(b: jax.Array, scale: jax.Array) -> jax.Array:
    """Bias codes at the layer's scale: the nearest of {-scale, 0, +scale}."""
    return jnp.clip(jnp.round(b / scale), -1, 1)


def ste(x: jax.Array, x_q: jax.Array) -> jax.Array:
    """Straight-through estimator: value ``x_q``, gradient as if it were ``x``."""
    return x + jax.lax.stop_gradient(x_q - x)


def fake_quantize(w: jax.Array, q: Quantizer) -> jax.Array:
    """``scale * codes`` in the forward pass, identity gradient in the backward pass."""
    codes, scale = ternarize(w, q)
    return ste(w, scale * codes)


def absmean(w: jax.Array, per_channel: bool = False) -> tuple[jax.Array, jax.Array]:
    """BitNet b1.58: ``scale = mean|W|``, ``codes = clip(round(W / scale), -1, 1)``."""
    return ternarize(w, Quantizer("absmean", per_channel=per_channel))


def twn(
    w: jax.Array, factor: float = 0.7, per_channel: bool = False
) -> tuple[jax.Array, jax.Array]:
    """TWN: cut ``factor * mean|W|``, scale = mean of the ``|W|`` above the cut."""
    return ternarize(w, Quantizer("twn", factor, per_channel))


def threshold(
    w: jax.Array, delta: float = 0.05, per_channel: bool = False
) -> tuple[jax.Array, jax.Array]:
    """Fixed absolute cut ``delta``; scale = mean of the ``|W|`` above the cut."""
    return ternarize(w, Quantizer("threshold", delta, per_channel))
