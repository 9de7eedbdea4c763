"""ReLUNet: the one network representation every engine consumes.

A ReLUNet is an immutable JAX pytree holding, per layer, a weight matrix of shape
``(n_in, n_out)`` (Flax's kernel convention, ``h @ W + b``), a bias vector and an activation
tag (``"identity"`` or ``"relu"``). The last layer is the affine output layer and is always
``"identity"``. Parameters are stored as read-only float64 numpy arrays so that exact engines
can read them as exact rationals; under ``jax.jit`` they become ordinary traced arrays.

Sign convention (math.md section 1): a ReLU unit is *active* iff its pre-activation is > 0.

Files: :mod:`tern_jax.netfile` (``.npz``); loading anything by path: :mod:`tern_jax.io`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .errors import InvalidInput
from .forward import outputs, pattern_bits, walk

ACTIVATIONS = ("identity", "relu")
# Part of the fingerprint: changing it changes every network's identity.
FINGERPRINT_TAG = "tern_jax.relunet/1"


def _frozen_float64(a: Any, what: str) -> np.ndarray:
    try:
        arr = np.array(a, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what}: cannot be read as a real array ({e})") from e
    arr.setflags(write=False)
    return arr


@jax.tree_util.register_pytree_node_class
class ReLUNet:
    """A feed-forward network of affine layers with identity or ReLU activations.

    Build with :meth:`from_arrays` (validated); the plain constructor is for JAX's pytree
    machinery only.
    """

    __slots__ = ("_activations", "_biases", "_weights")

    def __init__(self, weights: tuple, biases: tuple, activations: tuple[str, ...]):
        object.__setattr__(self, "_weights", tuple(weights))
        object.__setattr__(self, "_biases", tuple(biases))
        object.__setattr__(self, "_activations", tuple(activations))

    def __setattr__(self, name, value):
        raise AttributeError("ReLUNet is immutable")

    # -- pytree -------------------------------------------------------------------------
    def tree_flatten(self):
        return (self._weights, self._biases), self._activations

    @classmethod
    def tree_unflatten(cls, activations, children):
        weights, biases = children
        return cls(weights, biases, activations)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any],
        activations: Sequence[str],
    ) -> ReLUNet:
        """Validate and build a network.

        ``weights[i]`` has shape ``(n_in, n_out)``, ``biases[i]`` shape ``(n_out,)``,
        ``activations[i]`` is ``"identity"`` or ``"relu"``; the last layer is the output
        layer and must be ``"identity"``. Raises ``ValueError`` naming the layer and problem.
        """
        weights, biases, activations = list(weights), list(biases), list(activations)
        if not (len(weights) == len(biases) == len(activations)):
            raise InvalidInput(
                f"weights, biases and activations must have one entry per layer; got "
                f"{len(weights)}, {len(biases)} and {len(activations)}"
            )
        if len(weights) == 0:
            raise InvalidInput("a network needs at least one layer (the output layer)")
        ws, bs = [], []
        prev_out = None
        for i, (w, b, act) in enumerate(zip(weights, biases, activations)):
            if not isinstance(act, str) or act not in ACTIVATIONS:
                raise InvalidInput(
                    f"layer {i}: unknown activation {act!r}; expected one of {ACTIVATIONS}"
                )
            w = _frozen_float64(w, f"layer {i} weights")
            b = _frozen_float64(b, f"layer {i} biases")
            if w.ndim != 2:
                raise InvalidInput(
                    f"layer {i}: weights must be 2-D (n_in, n_out), got shape {w.shape}"
                )
            if b.ndim != 1:
                raise InvalidInput(f"layer {i}: biases must be 1-D (n_out,), got shape {b.shape}")
            if w.shape[0] == 0 or w.shape[1] == 0:
                raise InvalidInput(f"layer {i}: zero-width layer, weights shape {w.shape}")
            if b.shape[0] != w.shape[1]:
                raise InvalidInput(
                    f"layer {i}: bias length {b.shape[0]} does not match the layer's "
                    f"{w.shape[1]} units (weights shape {w.shape})"
                )
            if prev_out is not None and w.shape[0] != prev_out:
                raise InvalidInput(
                    f"layer {i}: weights take {w.shape[0]} inputs but layer {i - 1} has "
                    f"{prev_out} units (shapes do not chain)"
                )
            if not np.all(np.isfinite(w)):
                raise InvalidInput(f"layer {i}: weights contain NaN or infinite values")
            if not np.all(np.isfinite(b)):
                raise InvalidInput(f"layer {i}: biases contain NaN or infinite values")
            prev_out = w.shape[1]
            ws.append(w)
            bs.append(b)
        if activations[-1] != "identity":
            raise InvalidInput(
                f"layer {len(weights) - 1} is the output layer and must be 'identity', "
                f"got {activations[-1]!r}"
            )
        return cls(tuple(ws), tuple(bs), tuple(activations))

    # -- structure ----------------------------------------------------------------------
    @property
    def weights(self) -> tuple:
        return self._weights

    @property
    def biases(self) -> tuple:
        return self._biases

    @property
    def activations(self) -> tuple[str, ...]:
        return self._activations

    @property
    def num_layers(self) -> int:
        """Number of layers including the output layer."""
        return len(self._weights)

    @property
    def input_dim(self) -> int:
        return int(self._weights[0].shape[0])

    @property
    def output_dim(self) -> int:
        return int(self._weights[-1].shape[1])

    @property
    def widths(self) -> tuple[int, ...]:
        """Widths of the hidden layers (the output layer excluded)."""
        return tuple(int(w.shape[1]) for w in self._weights[:-1])

    @property
    def hidden_activations(self) -> tuple[str, ...]:
        return self._activations[:-1]

    @property
    def relu_layers(self) -> tuple[int, ...]:
        """Indices of the ReLU layers."""
        return tuple(i for i, a in enumerate(self._activations) if a == "relu")

    @property
    def num_relu_units(self) -> int:
        """Number of ReLU units, i.e. the length of an activation pattern."""
        return sum(int(self._weights[i].shape[1]) for i in self.relu_layers)

    @property
    def num_parameters(self) -> int:
        return sum(int(w.size + b.size) for w, b in zip(self._weights, self._biases))

    def is_ternary(self) -> bool:
        """True iff every weight and every bias is in {-1, 0, +1}."""
        return all(
            bool(np.all(np.isin(np.asarray(a), (-1.0, 0.0, 1.0))))
            for a in (*self._weights, *self._biases)
        )

    def is_integer(self) -> bool:
        """True iff every parameter is an integer (exact engines then use integer arithmetic)."""
        return all(
            bool(np.all(np.asarray(a) == np.round(np.asarray(a))))
            for a in (*self._weights, *self._biases)
        )

    @property
    def fingerprint(self) -> str:
        """Stable 16-hex-digit identity of the architecture and the parameters."""
        h = hashlib.sha256()
        h.update(FINGERPRINT_TAG.encode())
        for w, b, act in zip(self._weights, self._biases, self._activations):
            h.update(act.encode())
            h.update(np.asarray(w.shape, dtype="<i8").tobytes())
            # +0.0 so that -0.0 and 0.0 hash alike: they are the same network.
            h.update((np.asarray(w, dtype="<f8") + 0.0).tobytes())
            h.update((np.asarray(b, dtype="<f8") + 0.0).tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> dict:
        """The architecture as result records cite it (beside the fingerprint)."""
        return {
            "input_dim": self.input_dim,
            "widths": list(self.widths),
            "activations": list(self.activations),
            "num_relu_units": self.num_relu_units,
            "ternary": self.is_ternary(),
        }

    def summary(self) -> str:
        kind = "ternary" if self.is_ternary() else ("integer" if self.is_integer() else "real")
        acts = "".join("R" if a == "relu" else "I" for a in self.hidden_activations)
        return (
            f"ReLUNet(input_dim={self.input_dim}, widths={list(self.widths)}, "
            f"hidden activations={acts or '-'}, output_dim={self.output_dim}, "
            f"relu_units={self.num_relu_units}, params={self.num_parameters} {kind}, "
            f"fingerprint={self.fingerprint})"
        )

    __repr__ = summary

    # -- evaluation ---------------------------------------------------------------------
    def _prepared(self, x) -> tuple[Any, list, Any]:
        """(array module, parameters, input) in one arithmetic.

        JAX arrays (and tracers under ``jit``) are evaluated in JAX, in their float dtype
        (integer inputs become float32). Anything else (numpy arrays, lists) is evaluated in
        numpy float64, the most accurate: float32 can invent patterns of ternary networks
        whose sums cancel, and the weights are never cast to the input's dtype.
        """
        if isinstance(x, jax.Array):
            dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
            x = x.astype(dtype)
            params = [
                (jnp.asarray(w, dtype=dtype), jnp.asarray(b, dtype=dtype))
                for w, b in zip(self._weights, self._biases)
            ]
            xp = jnp
        else:
            try:
                x = np.asarray(x, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"input cannot be read as a real array ({e})") from e
            params = [(np.asarray(w), np.asarray(b)) for w, b in zip(self._weights, self._biases)]
            xp = np
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) != 2 or shape[1] != self.input_dim:
            raise InvalidInput(
                f"input must have shape (N, {self.input_dim}) for this network, got "
                f"{tuple(shape) if shape is not None else type(x).__name__}"
            )
        return xp, params, x

    def preactivations(self, x) -> list:
        """Pre-activations z_l = W_l h_{l-1} + b_l of every hidden layer, each (N, n_l)."""
        xp, params, x = self._prepared(x)
        return walk(params, self._activations, x, xp=xp, output=False)[0]

    def patterns(self, x):
        """Activation patterns, bool (N, num_relu_units): unit active iff pre-activation > 0.

        Identity layers contribute no bits. A network without ReLU units gives (N, 0).
        numpy input is evaluated in float64, JAX input in its own float dtype.
        """
        xp, params, x = self._prepared(x)
        return pattern_bits(params, self._activations, x, xp=xp)

    def __call__(self, x):
        """Outputs f(x), shape (N, output_dim), for inputs x of shape (N, input_dim).

        numpy input gives numpy float64 output; JAX input gives JAX output in its dtype.
        """
        xp, params, x = self._prepared(x)
        return outputs(params, self._activations, x, xp=xp)

    def __eq__(self, other) -> bool:
        if not isinstance(other, ReLUNet):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)
