"""Flax NNX models: ternary layers, the alternating/all-ReLU MLP, a float twin.

``TernaryDense`` keeps a latent float kernel and bias and quantises them in the forward pass
with a :class:`~tern_jax.quantize.Quantizer` (straight-through gradients), or holds frozen
integer codes and a scale (``TernaryDense.from_codes``, for constructions and imports).

``AlternatingMLP(input_dim, widths, architecture=..., quantizer=..., rngs=nnx.Rngs(0))`` has
hidden layer 1 identity, 2 ReLU, 3 identity, ... (``"alternating"``) or ReLU everywhere
(``"all_relu"``), then an affine output layer. ``MLP`` is the same network in full precision.

``model.to_network()`` returns the :class:`~tern_jax.network.ReLUNet` the model computes
(math.md section 1). With per-tensor scales ``s_l`` and codes ``C_l`` the hidden layers are
*folded*: with ``P_l = s_1 ... s_l`` the folded net has weights ``C_l`` and biases
``b_l / P_l`` (ternary-coded biases ``b_l = s_l c_l`` become ``c_l / P_{l-1}``); its
pre-activations are those of the model divided by ``P_l > 0``, so every activation pattern
is unchanged. The output layer gets weights ``P_{L-1} * W_L`` (``W_L = s_L C_L``) and the
model's output bias, so the function is the same; these output weights are not ternary. The
folded network ``is_ternary()`` only when, with ``preserve_output=False`` (output layer
``C_L`` and bias ``b_L / P_L``, computing ``f / P_L``: the same activation and linear
regions), every folded bias happens to lie in {-1, 0, 1} (e.g. all scales 1, or biases 0).
Per-channel scales or full-precision layers cannot be folded: those networks keep float
weights ``scale * codes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .errors import InvalidInput
from .quantize import Quantizer, as_quantizer, quantize_bias, ste, ternarize

ARCHITECTURES = ("alternating", "all_relu")


class Frozen(nnx.Variable):
    """A fixed (never trained) array: integer codes or scales of a frozen layer."""


def hidden_activations(architecture: str, num_hidden: int) -> tuple[str, ...]:
    """Activation tags of the hidden layers for an architecture name."""
    if architecture == "alternating":
        return tuple("identity" if i % 2 == 0 else "relu" for i in range(num_hidden))
    if architecture == "all_relu":
        return ("relu",) * num_hidden
    raise InvalidInput(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")


def _check_dim(v: Any, what: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
        raise InvalidInput(f"{what} must be a positive integer, got {v!r}")
    return int(v)


class TernaryDense(nnx.Module):
    """Dense layer ``h @ W + b`` with ternary-quantised (or full-precision) parameters.

    ``quantizer=None`` gives a full-precision layer. ``quantize_bias=True`` codes the bias at
    the layer's weight scale (nearest of {-s, 0, s}); ``False`` keeps it in float.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        quantizer: Quantizer | str | dict | None = "absmean",
        quantize_bias: bool = True,
        rngs: nnx.Rngs,
        kernel_init: Any = None,
    ):
        self.in_features = _check_dim(in_features, "in_features")
        self.out_features = _check_dim(out_features, "out_features")
        self.quantizer = as_quantizer(quantizer)
        self.quantize_bias = bool(quantize_bias) and self.quantizer is not None
        self.frozen = False
        self.bias_is_code = self.quantize_bias
        init = kernel_init or nnx.initializers.lecun_normal()
        self.kernel = nnx.Param(init(rngs.params(), (self.in_features, self.out_features)))
        self.bias = nnx.Param(jnp.zeros((self.out_features,), jnp.float32))

    @classmethod
    def from_codes(
        cls, codes: Any, bias: Any, scale: float = 1.0, *, bias_is_code: bool = True
    ) -> TernaryDense:
        """A frozen layer ``W = scale * codes``; ``bias`` is codes (times scale) or floats."""
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
        layer = cls(c.shape[0], c.shape[1], quantizer=None, rngs=nnx.Rngs(0))
        layer.frozen = True
        layer.bias_is_code = bool(bias_is_code)
        layer.quantize_bias = bool(bias_is_code)
        layer.kernel = Frozen(jnp.asarray(c, jnp.int8))
        layer.bias = Frozen(jnp.asarray(b, jnp.int8 if bias_is_code else jnp.float32))
        layer.scale = Frozen(jnp.asarray(s, jnp.float32))
        return layer

    @property
    def is_ternary(self) -> bool:
        return self.frozen or self.quantizer is not None

    def effective(self) -> tuple[jax.Array, jax.Array]:
        """The weight and bias used in the forward pass (STE-quantised when training)."""
        if self.frozen:
            s = self.scale[...]
            b = self.bias[...].astype(jnp.float32)
            return s * self.kernel[...].astype(jnp.float32), s * b if self.bias_is_code else b
        w, b = self.kernel[...], self.bias[...]
        if self.quantizer is None:
            return w, b
        codes, scale = ternarize(w, self.quantizer)
        w_q = ste(w, scale * codes)
        if self.quantize_bias:
            b = ste(b, scale * quantize_bias(b, jax.lax.stop_gradient(scale)))
        return w_q, b

    def codes(self) -> dict[str, np.ndarray]:
        """Integer codes and scale as numpy: ``codes`` int8, ``scale`` float64 (scalar or per
        output unit), and ``bias_codes`` int8 or ``bias`` float64."""
        if not self.is_ternary:
            raise InvalidInput("a full-precision layer has no ternary codes")
        if self.frozen:
            c = np.asarray(self.kernel[...], np.int8)
            s = np.asarray(self.scale[...], np.float64)
            b = np.asarray(self.bias[...])
        else:
            c, s = ternarize(self.kernel[...], self.quantizer)
            c, s = np.asarray(c).astype(np.int8), np.asarray(s, np.float64)
            b = np.asarray(self.bias[...])
            if self.quantize_bias:
                b = np.asarray(quantize_bias(self.bias[...], jnp.asarray(s, jnp.float32)))
        out: dict[str, np.ndarray] = {"codes": c, "scale": np.asarray(s, np.float64)}
        if self.bias_is_code:
            out["bias_codes"] = np.asarray(b).astype(np.int8)
        else:
            out["bias"] = np.asarray(b, np.float64)
        return out

    def __call__(self, x: jax.Array) -> jax.Array:
        w, b = self.effective()
        return x @ w + b


class AlternatingMLP(nnx.Module):
    """Ternary MLP: identity/ReLU alternating (or all-ReLU) hidden layers, affine output.

    ``quantizer``: a :class:`Quantizer`, a rule name (``"absmean"``, ``"twn"``,
    ``"threshold"``) or None for full precision. ``quantize_bias``: code biases at the layer
    scale (True) or keep them float. ``quantize_output``: quantise the output layer too.
    """

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        architecture: str = "alternating",
        quantizer: Quantizer | str | dict | None = "absmean",
        *,
        quantize_bias: bool = True,
        quantize_output: bool = True,
        output_dim: int = 1,
        rngs: nnx.Rngs,
    ):
        self.input_dim = _check_dim(input_dim, "input_dim")
        self.output_dim = _check_dim(output_dim, "output_dim")
        if isinstance(widths, (int, np.integer)) or len(widths) == 0:
            raise InvalidInput(f"widths must be a non-empty list of positive ints, got {widths!r}")
        self.widths = tuple(_check_dim(w, f"widths[{i}]") for i, w in enumerate(widths))
        self.architecture = architecture
        self.activations = (*hidden_activations(architecture, len(self.widths)), "identity")
        self.quantizer = as_quantizer(quantizer)
        self.quantize_bias = bool(quantize_bias) and self.quantizer is not None
        self.quantize_output = bool(quantize_output) and self.quantizer is not None
        dims = (self.input_dim, *self.widths, self.output_dim)
        layers = []
        for i in range(len(dims) - 1):
            is_out = i == len(dims) - 2
            q = None if (is_out and not self.quantize_output) else self.quantizer
            layers.append(
                TernaryDense(
                    dims[i], dims[i + 1], quantizer=q, quantize_bias=quantize_bias, rngs=rngs
                )
            )
        self.layers = nnx.List(layers)
        self.frozen = False

    # -- description --------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-able constructor arguments (stored in checkpoints)."""
        return {
            "class": type(self).__name__,
            "input_dim": self.input_dim,
            "widths": list(self.widths),
            "architecture": self.architecture,
            "quantizer": None if self.quantizer is None else self.quantizer.to_json(),
            "quantize_bias": self.quantize_bias,
            "quantize_output": self.quantize_output,
            "output_dim": self.output_dim,
            # Frozen (code) models: per layer the bias kind and scale shape, to rebuild them.
            "frozen": [
                {"bias_is_code": layer.bias_is_code, "per_channel": np.ndim(layer.scale[...]) > 0}
                for layer in self.layers
            ]
            if self.frozen
            else False,
        }

    # -- evaluation ---------------------------------------------------------------------
    def preactivations(self, x: jax.Array) -> list[jax.Array]:
        """Pre-activations of every hidden layer, each (N, n_l)."""
        zs, h = [], x
        for layer, act in zip(self.layers[:-1], self.activations[:-1]):
            z = layer(h)
            zs.append(z)
            h = jax.nn.relu(z) if act == "relu" else z
        return zs

    def patterns(self, x: jax.Array) -> jax.Array:
        """Activation patterns (N, num ReLU units): active iff pre-activation > 0."""
        zs = self.preactivations(x)
        bits = [z > 0 for z, a in zip(zs, self.activations[:-1]) if a == "relu"]
        if not bits:
            return jnp.zeros((x.shape[0], 0), bool)
        return jnp.concatenate(bits, axis=1)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = x
        for layer, act in zip(self.layers, self.activations):
            h = layer(h)
            if act == "relu":
                h = jax.nn.relu(h)
        return h

    # -- conversion ---------------------------------------------------------------------
    def layer_arrays(self) -> list[dict[str, np.ndarray]]:
        """Per layer, :meth:`TernaryDense.codes` for ternary layers or ``{"weight", "bias"}``
        (float64) for full-precision ones: the input of :func:`network_from_layers`."""
        out = []
        for layer in self.layers:
            if layer.is_ternary:
                out.append(layer.codes())
            else:
                w, b = layer.effective()
                out.append({"weight": np.asarray(w, np.float64), "bias": np.asarray(b, np.float64)})
        return out

    def foldable(self) -> bool:
        """True when every hidden layer is ternary with one per-tensor scale (math.md 1)."""
        return _foldable(self.layer_arrays())

    def to_network(self, preserve_output: bool = True):
        """The exact :class:`ReLUNet` this model computes (see the module docstring).

        ``preserve_output=False`` (foldable models only) returns the fully folded network
        computing ``f / P_L``: same activation and linear regions, ternary output codes.
        """
        return network_from_layers(self.layer_arrays(), self.activations, preserve_output)

    @classmethod
    def from_network(cls, net: Any) -> AlternatingMLP:
        """A frozen model (scale 1 codes) computing a ternary :class:`ReLUNet`, e.g. a
        construction; its architecture must be alternating or all-ReLU."""
        if not net.is_ternary():
            raise InvalidInput("from_network needs a ternary network (codes in {-1, 0, 1})")
        arch = _architecture_of(net.hidden_activations)
        return frozen_model(
            [
                {"codes": w, "scale": np.float64(1.0), "bias_codes": b}
                for w, b in zip(net.weights, net.biases)
            ],
            arch,
        )


def _architecture_of(hidden: Sequence[str]) -> str:
    for arch in ARCHITECTURES:
        if tuple(hidden) == hidden_activations(arch, len(hidden)):
            return arch
    raise InvalidInput(f"hidden activations {tuple(hidden)} are neither alternating nor all-ReLU")


def frozen_model(layers: list[dict[str, Any]], architecture: str) -> AlternatingMLP:
    """An :class:`AlternatingMLP` whose layers are frozen codes (see :meth:`layer_arrays`)."""
    if not layers:
        raise InvalidInput("a model needs at least one hidden layer and an output layer")
    dims = [np.asarray(layers[0]["codes"]).shape[0]]
    dims += [np.asarray(d["codes"]).shape[1] for d in layers]
    model = AlternatingMLP(
        dims[0], dims[1:-1], architecture, None, output_dim=dims[-1], rngs=nnx.Rngs(0)
    )
    frozen = []
    for i, d in enumerate(layers):
        if "codes" not in d:
            raise InvalidInput(f"layer {i}: a frozen model needs integer codes in every layer")
        coded = "bias_codes" in d
        frozen.append(
            TernaryDense.from_codes(
                d["codes"], d["bias_codes"] if coded else d["bias"], d["scale"], bias_is_code=coded
            )
        )
    model.layers = nnx.List(frozen)
    model.frozen = True
    return model


def _foldable(layers: list[dict[str, Any]]) -> bool:
    return all("codes" in d and np.ndim(d["scale"]) == 0 for d in layers[:-1])


def _dense(d: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Float64 weight and bias of one layer description (``scale * codes``)."""
    if "codes" not in d:
        return np.asarray(d["weight"], np.float64), np.asarray(d["bias"], np.float64)
    s = np.asarray(d["scale"], np.float64)
    w = np.asarray(d["codes"], np.float64) * s
    b = np.asarray(d["bias_codes"], np.float64) * s if "bias_codes" in d else d["bias"]
    return w, np.asarray(b, np.float64)


def network_from_layers(
    layers: list[dict[str, Any]], activations: Sequence[str], preserve_output: bool = True
):
    """Build the ReLUNet of per-layer codes/scales (folded where exact) or float arrays.

    Folding (all hidden layers coded with scalar scales): hidden weights are the codes, biases
    ``b_l / P_l``; the output layer is ``P_{L-1} * W_L`` with bias ``b_L``
    (``preserve_output``), or codes ``C_L`` with bias ``b_L / P_L``.
    """
    from .network import ReLUNet

    if not _foldable(layers):
        if not preserve_output:
            raise InvalidInput(
                "preserve_output=False needs per-tensor ternary scales in every layer"
            )
        pairs = [_dense(d) for d in layers]
        return ReLUNet.from_arrays([p[0] for p in pairs], [p[1] for p in pairs], activations)
    ws, bs = [], []
    prod = 1.0  # P_{l-1}: product of the earlier layers' scales, float64
    for d in layers[:-1]:
        s = float(d["scale"])
        if "bias_codes" in d:
            folded_b = np.asarray(d["bias_codes"], np.float64) / prod  # s c / (P_{l-1} s)
        else:
            folded_b = np.asarray(d["bias"], np.float64) / (prod * s)
        ws.append(np.asarray(d["codes"], np.float64))
        bs.append(folded_b)
        prod *= s
    out = layers[-1]
    w_out, b_out = _dense(out)
    if preserve_output:
        ws.append(w_out * prod)
        bs.append(b_out)
    else:
        if "codes" not in out or np.ndim(out["scale"]) != 0:
            # A float or per-channel output layer: divide by P_{L-1} only.
            ws.append(w_out)
            bs.append(b_out / prod)
        else:
            s_out = float(out["scale"])
            ws.append(np.asarray(out["codes"], np.float64))
            bs.append(b_out / (prod * s_out))
    return ReLUNet.from_arrays(ws, bs, activations)


class MLP(AlternatingMLP):
    """The full-precision twin of :class:`AlternatingMLP` (same layout, float weights)."""

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        architecture: str = "alternating",
        *,
        output_dim: int = 1,
        rngs: nnx.Rngs,
    ):
        super().__init__(input_dim, widths, architecture, None, output_dim=output_dim, rngs=rngs)


def model_from_config(config: dict[str, Any], rngs: nnx.Rngs | None = None) -> AlternatingMLP:
    """Rebuild a model (fresh parameters) from :meth:`AlternatingMLP.config`."""
    if not isinstance(config, dict):
        raise InvalidInput(f"model config must be a dict, got {type(config).__name__}")
    cfg = dict(config)
    cls_name = cfg.pop("class", "AlternatingMLP")
    classes = {"AlternatingMLP": AlternatingMLP, "MLP": MLP}
    if cls_name not in classes:
        raise InvalidInput(f"unknown model class {cls_name!r}; expected one of {sorted(classes)}")
    allowed = {
        "input_dim",
        "widths",
        "architecture",
        "quantizer",
        "quantize_bias",
        "quantize_output",
        "output_dim",
        "frozen",
    }
    unknown = set(cfg) - allowed
    if unknown:
        raise InvalidInput(f"unknown model config fields {sorted(unknown)}")
    missing = {"input_dim", "widths"} - set(cfg)
    if missing:
        raise InvalidInput(f"model config lacks {sorted(missing)}")
    rngs = rngs or nnx.Rngs(0)
    frozen = cfg.pop("frozen", False)
    if frozen:
        dims = [int(cfg["input_dim"]), *map(int, cfg["widths"]), int(cfg.get("output_dim", 1))]
        if not isinstance(frozen, list) or len(frozen) != len(dims) - 1:
            raise InvalidInput("model config 'frozen' must list one entry per layer")
        layers = []
        for i, f in enumerate(frozen):
            n_in, n_out = dims[i], dims[i + 1]
            d: dict[str, Any] = {
                "codes": np.zeros((n_in, n_out), np.int8),
                "scale": np.ones((n_out,) if f.get("per_channel") else ()),
            }
            d["bias_codes" if f.get("bias_is_code", True) else "bias"] = np.zeros(n_out)
            layers.append(d)
        return frozen_model(layers, cfg.get("architecture", "alternating"))
    if cls_name == "MLP":
        cfg = {
            k: v
            for k, v in cfg.items()
            if k in ("input_dim", "widths", "architecture", "output_dim")
        }
    return classes[cls_name](rngs=rngs, **cfg)
