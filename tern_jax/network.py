"""ReLUNet: the one network representation every engine consumes.

A ReLUNet is an immutable JAX pytree holding, per layer, a weight matrix of shape
``(n_in, n_out)`` (Flax's kernel convention, ``h @ W + b``), a bias vector and an activation
tag (``"identity"`` or ``"relu"``). The last layer is the affine output layer and is always
``"identity"``. Parameters are stored as read-only float64 numpy arrays so that exact engines
can read them as exact rationals; under ``jax.jit`` they become ordinary traced arrays.

Sign convention (math.md section 1): a ReLU unit is *active* iff its pre-activation is > 0.

File layout (``save_network`` / ``load_network``), a plain ``.npz`` readable by any tool::

    format          str   "tern_jax.relunet"
    format_version  int   1
    num_layers      int   L (hidden layers + output layer)
    activations     str[L]  "identity" | "relu"
    ternary         bool  True: W{i}, b{i} are int8 codes in {-1, 0, 1}
    W0 .. W{L-1}    (n_in, n_out)  float64 (or int8 codes when ternary)
    b0 .. b{L-1}    (n_out,)       float64 (or int8 codes when ternary)
    fingerprint     str   ReLUNet.fingerprint of the stored parameters (checked on load)
    metadata        str   JSON object, free-form provenance (optional)
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

ACTIVATIONS = ("identity", "relu")
FILE_FORMAT = "tern_jax.relunet"
FILE_FORMAT_VERSION = 1


def _frozen_float64(a: Any, what: str) -> np.ndarray:
    try:
        arr = np.array(a, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: cannot be read as a real array ({e})") from None
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
            raise ValueError(
                f"weights, biases and activations must have one entry per layer; got "
                f"{len(weights)}, {len(biases)} and {len(activations)}"
            )
        if len(weights) == 0:
            raise ValueError("a network needs at least one layer (the output layer)")
        ws, bs = [], []
        prev_out = None
        for i, (w, b, act) in enumerate(zip(weights, biases, activations)):
            if not isinstance(act, str) or act not in ACTIVATIONS:
                raise ValueError(
                    f"layer {i}: unknown activation {act!r}; expected one of {ACTIVATIONS}"
                )
            w = _frozen_float64(w, f"layer {i} weights")
            b = _frozen_float64(b, f"layer {i} biases")
            if w.ndim != 2:
                raise ValueError(
                    f"layer {i}: weights must be 2-D (n_in, n_out), got shape {w.shape}"
                )
            if b.ndim != 1:
                raise ValueError(f"layer {i}: biases must be 1-D (n_out,), got shape {b.shape}")
            if w.shape[0] == 0 or w.shape[1] == 0:
                raise ValueError(f"layer {i}: zero-width layer, weights shape {w.shape}")
            if b.shape[0] != w.shape[1]:
                raise ValueError(
                    f"layer {i}: bias length {b.shape[0]} does not match the layer's "
                    f"{w.shape[1]} units (weights shape {w.shape})"
                )
            if prev_out is not None and w.shape[0] != prev_out:
                raise ValueError(
                    f"layer {i}: weights take {w.shape[0]} inputs but layer {i - 1} has "
                    f"{prev_out} units (shapes do not chain)"
                )
            if not np.all(np.isfinite(w)):
                raise ValueError(f"layer {i}: weights contain NaN or infinite values")
            if not np.all(np.isfinite(b)):
                raise ValueError(f"layer {i}: biases contain NaN or infinite values")
            prev_out = w.shape[1]
            ws.append(w)
            bs.append(b)
        if activations[-1] != "identity":
            raise ValueError(
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
        h.update(f"{FILE_FORMAT}/{FILE_FORMAT_VERSION}".encode())
        for w, b, act in zip(self._weights, self._biases, self._activations):
            h.update(act.encode())
            h.update(np.asarray(w.shape, dtype="<i8").tobytes())
            # +0.0 so that -0.0 and 0.0 hash alike: they are the same network.
            h.update((np.asarray(w, dtype="<f8") + 0.0).tobytes())
            h.update((np.asarray(b, dtype="<f8") + 0.0).tobytes())
        return h.hexdigest()[:16]

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
    def _check_input(self, x) -> None:
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) != 2 or shape[1] != self.input_dim:
            raise ValueError(
                f"input must have shape (N, {self.input_dim}) for this network, got "
                f"{tuple(shape) if shape is not None else type(x).__name__}"
            )

    def preactivations(self, x) -> list:
        """Pre-activations z_l = W_l h_{l-1} + b_l of every hidden layer, each (N, n_l)."""
        self._check_input(x)
        h = x
        zs = []
        for w, b, act in zip(self._weights[:-1], self._biases[:-1], self._activations[:-1]):
            z = h @ jnp.asarray(w, dtype=h.dtype) + jnp.asarray(b, dtype=h.dtype)
            zs.append(z)
            h = jax.nn.relu(z) if act == "relu" else z
        return zs

    def patterns(self, x) -> jax.Array:
        """Activation patterns, bool (N, num_relu_units): unit active iff pre-activation > 0.

        Identity layers contribute no bits. A network without ReLU units gives (N, 0).
        """
        zs = self.preactivations(x)
        bits = [z > 0 for z, act in zip(zs, self._activations[:-1]) if act == "relu"]
        if not bits:
            return jnp.zeros((x.shape[0], 0), dtype=bool)
        return jnp.concatenate(bits, axis=1)

    def __call__(self, x) -> jax.Array:
        """Outputs f(x), shape (N, output_dim), for inputs x of shape (N, input_dim)."""
        x = jnp.asarray(x) if not isinstance(x, jax.Array) else x
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        zs = self.preactivations(x)
        h = x
        if zs:
            h = jax.nn.relu(zs[-1]) if self._activations[-2] == "relu" else zs[-1]
        return h @ jnp.asarray(self._weights[-1], dtype=h.dtype) + jnp.asarray(
            self._biases[-1], dtype=h.dtype
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, ReLUNet):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)


# -- files --------------------------------------------------------------------------------


def save_network(net: ReLUNet, path: str | os.PathLike, metadata: dict | None = None) -> str:
    """Write ``net`` to a ``.npz`` file (layout in this module's docstring); returns the path.

    Ternary networks are stored as int8 codes; others as float64.
    """
    path = os.fspath(path)
    ternary = net.is_ternary()
    arrays: dict[str, Any] = {
        "format": np.array(FILE_FORMAT),
        "format_version": np.array(FILE_FORMAT_VERSION),
        "num_layers": np.array(net.num_layers),
        "activations": np.array(net.activations),
        "ternary": np.array(ternary),
        "fingerprint": np.array(net.fingerprint),
        "metadata": np.array(json.dumps(metadata or {}, sort_keys=True)),
    }
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        dt = np.int8 if ternary else np.float64
        arrays[f"W{i}"] = np.asarray(w).astype(dt)
        arrays[f"b{i}"] = np.asarray(b).astype(dt)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    # Write through a file object so numpy does not append a second ".npz".
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def read_network_metadata(path: str | os.PathLike) -> dict:
    """The free-form metadata dict stored with a network file."""
    with _open_npz(os.fspath(path)) as data:
        return json.loads(str(data["metadata"])) if "metadata" in data.files else {}


def _open_npz(path: str):
    if not os.path.exists(path):
        raise FileNotFoundError(f"no network file at {path!r}")
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ValueError(f"{path!r} is not a readable tern_jax network file ({e})") from None


def load_network(path: str | os.PathLike) -> ReLUNet:
    """Read a network file written by :func:`save_network`.

    ``path`` may also be a run or checkpoint directory: a directory holding ``network.npz``
    loads that file; an orbax checkpoint directory is converted with
    :func:`tern_jax.checkpoint.network_from_checkpoint`. Corrupt files, shapes that do not
    chain, codes outside {-1, 0, 1} in a file declared ternary, and parameters that do not
    match the stored fingerprint all raise ``ValueError``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "network.npz")
        if os.path.isfile(candidate):
            return load_network(candidate)
        from .checkpoint import network_from_checkpoint

        return network_from_checkpoint(path)
    with _open_npz(path) as data:
        try:
            files = set(data.files)
            for key in ("format", "format_version", "num_layers", "activations"):
                if key not in files:
                    raise ValueError(
                        f"{path!r}: missing entry {key!r}; not a tern_jax network file"
                    )
            if str(data["format"]) != FILE_FORMAT:
                raise ValueError(
                    f"{path!r}: format is {str(data['format'])!r}, expected {FILE_FORMAT!r}"
                )
            version = int(data["format_version"])
            if version > FILE_FORMAT_VERSION:
                raise ValueError(
                    f"{path!r}: format version {version} is newer than this tern_jax "
                    f"understands ({FILE_FORMAT_VERSION})"
                )
            n = int(data["num_layers"])
            acts = [str(a) for a in data["activations"]]
            if len(acts) != n:
                raise ValueError(f"{path!r}: {len(acts)} activation tags for {n} layers")
            ternary = bool(data["ternary"]) if "ternary" in files else False
            ws, bs = [], []
            for i in range(n):
                for key in (f"W{i}", f"b{i}"):
                    if key not in files:
                        raise ValueError(f"{path!r}: missing array {key!r} (layer {i})")
                w, b = data[f"W{i}"], data[f"b{i}"]
                if ternary:
                    for name, a in ((f"W{i}", w), (f"b{i}", b)):
                        bad = ~np.isin(a, (-1, 0, 1))
                        if np.any(bad):
                            raise ValueError(
                                f"{path!r}: layer {i} is declared ternary but {name} holds "
                                f"{a[bad].ravel()[0]!r}, outside {{-1, 0, 1}}"
                            )
                ws.append(w)
                bs.append(b)
            stored_fp = str(data["fingerprint"]) if "fingerprint" in files else None
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
            raise ValueError(f"{path!r} is a damaged network file ({e})") from None
    try:
        net = ReLUNet.from_arrays(ws, bs, acts)
    except ValueError as e:
        raise ValueError(f"{path!r}: {e}") from None
    if stored_fp is not None and stored_fp != net.fingerprint:
        raise ValueError(
            f"{path!r}: parameters do not match the stored fingerprint "
            f"({net.fingerprint} != {stored_fp}); the file is damaged or was edited"
        )
    return net
