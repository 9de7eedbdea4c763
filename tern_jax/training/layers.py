"""Dense NNX layers, one class per case (no mode flags): trained ternary, float, frozen codes.

- :class:`TernaryDense`: latent float kernel and bias, quantised in the forward pass by a
  :class:`~tern_jax.quantize.Quantizer` with straight-through gradients (training);
- :class:`FloatDense`: full-precision kernel and bias (the float twin, or a float output
  layer of a ternary model);
- :class:`CodeDense`: fixed int8 codes and a scale, never trained (constructions, code
  exports, imports).

Each computes ``h @ W + b`` from :meth:`DenseLayer.effective` and describes itself as numpy
arrays (:meth:`DenseLayer.arrays`): ternary layers as codes and scale, float layers as
``weight`` and ``bias``. The parameter names (``kernel``, ``bias``, ``scale``) are those
tern_jax 0.1.0 used, so its checkpoints restore into these layers unchanged.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..errors import InvalidInput, WrongType
from ..quantize import Quantizer, as_quantizer, quantize_bias, ste, ternarize


class Frozen(nnx.Variable):
    """A fixed (never trained) array: integer codes or scales of a :class:`CodeDense`."""


def check_dim(v: Any, what: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise WrongType(f"{what} must be a positive integer, got {v!r}")
    if v < 1:
        raise InvalidInput(f"{what} must be a positive integer, got {v!r}")
    return int(v)


def _float_arrays(w: jax.Array, b: jax.Array) -> dict[str, np.ndarray]:
    return {"weight": np.asarray(w, np.float64), "bias": np.asarray(b, np.float64)}


class DenseLayer(nnx.Module):
    """Base of the dense layers: ``h @ W + b`` with ``(W, b)`` from :meth:`effective`."""

    in_features: int
    out_features: int

    def effective(self) -> tuple[jax.Array, jax.Array]:  # pragma: no cover - interface
        """The weight and bias used in the forward pass."""
        raise NotImplementedError

    def arrays(self) -> dict[str, np.ndarray]:  # pragma: no cover - interface
        """The layer as numpy: ternary codes and scale, or float ``weight`` and ``bias``."""
        raise NotImplementedError

    def __call__(self, x: jax.Array) -> jax.Array:
        w, b = self.effective()
        return x @ w + b

    def _init_params(self, in_features: int, out_features: int, rngs: nnx.Rngs, init: Any):
        """Trainable float ``kernel`` (LeCun normal unless ``init``) and zero ``bias``."""
        self.in_features = check_dim(in_features, "in_features")
        self.out_features = check_dim(out_features, "out_features")
        init = init or nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(init(rngs.params(), (self.in_features, self.out_features)))
        self.bias = nnx.Param(jnp.zeros((self.out_features,), jnp.float32))


class FloatDense(DenseLayer):
    """Full-precision dense layer (trainable kernel and bias)."""

    def __init__(
        self, in_features: int, out_features: int, *, rngs: nnx.Rngs, kernel_init: Any = None
    ):
        self._init_params(in_features, out_features, rngs, kernel_init)

    def effective(self) -> tuple[jax.Array, jax.Array]:
        return self.kernel[...], self.bias[...]

    def arrays(self) -> dict[str, np.ndarray]:
        return _float_arrays(*self.effective())


class TernaryDense(DenseLayer):
    """Dense layer whose latent float kernel (and bias) are ternary-quantised when applied.

    The forward pass sees ``scale * codes`` (straight-through gradients to the latent
    weights). ``quantize_bias=True`` codes the bias at the layer's weight scale (nearest of
    {-s, 0, s}); ``False`` keeps it in float. For a full-precision layer use
    :class:`FloatDense`; for fixed codes :class:`CodeDense`.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        quantizer: Quantizer | str | dict = "absmean",
        quantize_bias: bool = True,
        rngs: nnx.Rngs,
        kernel_init: Any = None,
    ):
        q = as_quantizer(quantizer)
        if q is None:
            raise InvalidInput("TernaryDense needs a quantiser; use FloatDense for full precision")
        self._init_params(in_features, out_features, rngs, kernel_init)
        self.quantizer = q
        self.quantize_bias = bool(quantize_bias)

    @staticmethod
    def from_codes(
        codes: Any, bias: Any, scale: float = 1.0, *, bias_is_code: bool = True
    ) -> CodeDense:
        """A frozen layer ``W = scale * codes`` (same as :meth:`CodeDense.from_codes`)."""
        return CodeDense.from_codes(codes, bias, scale, bias_is_code=bias_is_code)

    def effective(self) -> tuple[jax.Array, jax.Array]:
        """STE-quantised weight and bias."""
        w, b = self.kernel[...], self.bias[...]
        codes, scale = ternarize(w, self.quantizer)
        if self.quantize_bias:
            b = ste(b, scale * quantize_bias(b, jax.lax.stop_gradient(scale)))
        return ste(w, scale * codes), b

    def codes(self) -> dict[str, np.ndarray]:
        """Integer codes and scale as numpy: ``codes`` int8, ``scale`` float64 (scalar or per
        output unit), and ``bias_codes`` int8 or ``bias`` float64."""
        c, s = ternarize(self.kernel[...], self.quantizer)
        out: dict[str, np.ndarray] = {
            "codes": np.asarray(c).astype(np.int8),
            "scale": np.asarray(s, np.float64),
        }
        if self.quantize_bias:
            bc = quantize_bias(self.bias[...], jnp.asarray(s, jnp.float32))
            out["bias_codes"] = np.asarray(bc).astype(np.int8)
        else:
            out["bias"] = np.asarray(self.bias[...], np.float64)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return self.codes()


class CodeDense(DenseLayer):
    """A frozen ternary layer: int8 ``codes``, a positive ``scale`` (scalar or per output
    unit) and a bias that is either int8 codes at the scale (``bias_is_code``) or float."""

    def __init__(self, codes: Any, bias: Any, scale: Any = 1.0, *, bias_is_code: bool = True):
        c = np.asarray(codes)
        if c.ndim != 2 or not np.all(np.isin(c, (-1, 0, 1))):
            raise InvalidInput("codes must be a 2-D array with entries in {-1, 0, 1}")
        b = np.asarray(bias, dtype=np.float64)
        if b.shape != (c.shape[1],):
            raise InvalidInput(f"bias must have shape ({c.shape[1]},), got {b.shape}")
        if bias_is_code and not np.all(np.isin(b, (-1, 0, 1))):
            raise InvalidInput("bias codes must lie in {-1, 0, 1}")
        s = np.asarray(scale, np.float64)
        if s.shape not in ((), (c.shape[1],)):
            raise InvalidInput(f"scale must be a scalar or shape ({c.shape[1]},), got {s.shape}")
        if not np.all(np.isfinite(s) & (s > 0)):
            raise InvalidInput(f"scale must be positive and finite, got {scale!r}")
        self.in_features, self.out_features = int(c.shape[0]), int(c.shape[1])
        self.bias_is_code = bool(bias_is_code)
        self.kernel = Frozen(jnp.asarray(c, jnp.int8))
        self.bias = Frozen(jnp.asarray(b, jnp.int8 if bias_is_code else jnp.float32))
        self.scale = Frozen(jnp.asarray(s, jnp.float32))

    @classmethod
    def from_codes(
        cls, codes: Any, bias: Any, scale: float = 1.0, *, bias_is_code: bool = True
    ) -> CodeDense:
        """A frozen layer ``W = scale * codes``; ``bias`` is codes (times scale) or floats."""
        return cls(codes, bias, scale, bias_is_code=bias_is_code)

    @property
    def per_channel(self) -> bool:
        return np.ndim(self.scale[...]) > 0

    def effective(self) -> tuple[jax.Array, jax.Array]:
        s = self.scale[...]
        b = self.bias[...].astype(jnp.float32)
        return s * self.kernel[...].astype(jnp.float32), s * b if self.bias_is_code else b

    def codes(self) -> dict[str, np.ndarray]:
        """Codes, scale and bias (codes or floats) as numpy, as :meth:`TernaryDense.codes`."""
        out: dict[str, np.ndarray] = {
            "codes": np.asarray(self.kernel[...], np.int8),
            "scale": np.asarray(self.scale[...], np.float64),
        }
        if self.bias_is_code:
            out["bias_codes"] = np.asarray(self.bias[...]).astype(np.int8)
        else:
            out["bias"] = np.asarray(self.bias[...], np.float64)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return self.codes()
