"""Flax NNX models: the trained ternary MLP, its float twin and a frozen-code MLP.

The dense layers live in :mod:`tern_jax.training.layers`, one class per case (re-exported
here): :class:`TernaryDense` (latent float weights, quantised with straight-through
gradients), :class:`FloatDense` (full precision) and :class:`CodeDense` (fixed int8 codes and
a scale). Three models share one forward pass (:class:`LayerStack`): hidden layer 1
identity, 2 ReLU, 3 identity, ... (``"alternating"``) or ReLU everywhere (``"all_relu"``),
then an affine output layer:

- ``AlternatingMLP(input_dim, widths, architecture, quantizer, rngs=nnx.Rngs(0))``: the
  ternary model trained by quantisation-aware training;
- ``MLP(input_dim, widths, architecture, rngs=...)``: its full-precision twin;
- :class:`CodeMLP`: frozen codes, from :meth:`CodeMLP.from_layers`,
  :meth:`CodeMLP.from_network` (also reachable as ``AlternatingMLP.from_network``) or a code
  export.

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
weights ``scale * codes`` (:mod:`tern_jax.training.folding`).

**Model config** (:meth:`~LayerStack.config`, stored in checkpoints and code exports;
rebuilt by :func:`model_from_config`): ``class`` (``"AlternatingMLP"``, ``"MLP"`` or
``"CodeMLP"``), ``input_dim``, ``widths``, ``architecture``, ``output_dim``; for
``AlternatingMLP`` also ``quantizer``, ``quantize_bias``, ``quantize_output``; for ``CodeMLP``
a ``frozen`` list with one ``{"bias_is_code", "per_channel"}`` entry per layer. The layout
written by tern_jax 0.1.0 (every key for every class; a code model as ``"class":
"AlternatingMLP"`` with a ``frozen`` list; a float model possibly as ``AlternatingMLP`` with
``quantizer`` None) is read as well, and the parameter names (``layers.<i>.kernel``,
``.bias``, ``.scale``) are unchanged, so its checkpoints restore as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .errors import InvalidInput, WrongType
from .forward import outputs, pattern_bits, walk
from .network import ReLUNet
from .quantize import Quantizer, as_quantizer
from .training.folding import foldable as _foldable
from .training.folding import network_from_layers
from .training.layers import CodeDense, DenseLayer, FloatDense, Frozen, TernaryDense
from .training.layers import check_dim as _check_dim

__all__ = [
    "ARCHITECTURES",
    "MLP",
    "AlternatingMLP",
    "CodeDense",
    "CodeMLP",
    "DenseLayer",
    "FloatDense",
    "Frozen",
    "LayerStack",
    "TernaryDense",
    "frozen_model",
    "hidden_activations",
    "model_from_config",
    "network_from_layers",
]

ARCHITECTURES = ("alternating", "all_relu")


def hidden_activations(architecture: str, num_hidden: int) -> tuple[str, ...]:
    """Activation tags of the hidden layers for an architecture name."""
    if architecture == "alternating":
        return tuple("identity" if i % 2 == 0 else "relu" for i in range(num_hidden))
    if architecture == "all_relu":
        return ("relu",) * num_hidden
    raise InvalidInput(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")


class LayerStack(nnx.Module):
    """Dense layers with activation tags: the forward pass and conversions of every model.

    Subclasses set ``input_dim``, ``widths``, ``output_dim``, ``architecture``,
    ``activations`` and ``layers`` (an ``nnx.List`` of :class:`DenseLayer`), and define
    :meth:`config`.
    """

    quantizer: Quantizer | None = None  # the training quantiser, where there is one

    def _set_shape(self, input_dim: int, widths: Sequence[int], arch: str, output_dim: int):
        self.input_dim = _check_dim(input_dim, "input_dim")
        self.output_dim = _check_dim(output_dim, "output_dim")
        if isinstance(widths, (int, np.integer, str)):
            raise WrongType(f"widths must be a list of positive ints, got {widths!r}")
        if len(widths) == 0:
            raise InvalidInput("widths must be a non-empty list of positive ints, got []")
        self.widths = tuple(_check_dim(w, f"widths[{i}]") for i, w in enumerate(widths))
        self.architecture = arch
        self.activations = (*hidden_activations(arch, len(self.widths)), "identity")

    @property
    def dims(self) -> tuple[int, ...]:
        return (self.input_dim, *self.widths, self.output_dim)

    def _base_config(self) -> dict[str, Any]:
        return {
            "class": type(self).__name__,
            "input_dim": self.input_dim,
            "widths": list(self.widths),
            "architecture": self.architecture,
            "output_dim": self.output_dim,
        }

    def config(self) -> dict[str, Any]:
        """JSON-able description rebuilt by :func:`model_from_config` (module docstring)."""
        return self._base_config()

    # -- evaluation ---------------------------------------------------------------------
    def _params(self) -> list[tuple[jax.Array, jax.Array]]:
        """Every layer's ``(W, b)`` as the forward pass sees them (quantised when training)."""
        return [layer.effective() for layer in self.layers]

    def preactivations(self, x: jax.Array) -> list[jax.Array]:
        """Pre-activations of every hidden layer, each (N, n_l) (:func:`tern_jax.forward.walk`)."""
        return walk(self._params(), self.activations, x, xp=jnp, output=False)[0]

    def patterns(self, x: jax.Array) -> jax.Array:
        """Activation patterns (N, num ReLU units): active iff pre-activation > 0."""
        return pattern_bits(self._params(), self.activations, x, xp=jnp)

    def __call__(self, x: jax.Array) -> jax.Array:
        return outputs(self._params(), self.activations, x, xp=jnp)

    # -- conversion ---------------------------------------------------------------------
    def layer_arrays(self) -> list[dict[str, np.ndarray]]:
        """Per layer, the codes and scale of a ternary layer or ``{"weight", "bias"}``
        (float64) of a full-precision one: the input of :func:`network_from_layers`."""
        return [layer.arrays() for layer in self.layers]

    def foldable(self) -> bool:
        """True when every hidden layer is ternary with one per-tensor scale (math.md 1)."""
        return _foldable(self.layer_arrays())

    def to_network(self, preserve_output: bool = True) -> ReLUNet:
        """The exact :class:`ReLUNet` this model computes (see the module docstring).

        ``preserve_output=False`` (foldable models only) returns the fully folded network
        computing ``f / P_L``: same activation and linear regions, ternary output codes.
        """
        return network_from_layers(self.layer_arrays(), self.activations, preserve_output)

    @staticmethod
    def from_network(net: ReLUNet) -> CodeMLP:
        """A frozen :class:`CodeMLP` (scale-1 codes) computing a ternary :class:`ReLUNet`,
        e.g. a construction; its architecture must be alternating or all-ReLU."""
        return CodeMLP.from_network(net)


class AlternatingMLP(LayerStack):
    """Ternary MLP trained with quantisation-aware training: :class:`TernaryDense` layers.

    ``quantizer``: a :class:`Quantizer` or a rule name (``"absmean"``, ``"twn"``,
    ``"threshold"``) or its JSON dict. ``quantize_bias``: code biases at the layer scale
    (True) or keep them float. ``quantize_output``: quantise the output layer too (else it
    is a :class:`FloatDense`). The full-precision twin is :class:`MLP`.
    """

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        architecture: str = "alternating",
        quantizer: Quantizer | str | dict = "absmean",
        *,
        quantize_bias: bool = True,
        quantize_output: bool = True,
        output_dim: int = 1,
        rngs: nnx.Rngs,
    ):
        self._set_shape(input_dim, widths, architecture, output_dim)
        q = as_quantizer(quantizer)
        if q is None:
            raise InvalidInput("AlternatingMLP needs a quantiser; use MLP for full precision")
        self.quantizer = q
        self.quantize_bias = bool(quantize_bias)
        self.quantize_output = bool(quantize_output)
        dims, n = self.dims, len(self.dims) - 1

        def layer(i: int) -> DenseLayer:
            if i == n - 1 and not self.quantize_output:
                return FloatDense(dims[i], dims[i + 1], rngs=rngs)
            return TernaryDense(
                dims[i], dims[i + 1], quantizer=q, quantize_bias=quantize_bias, rngs=rngs
            )

        self.layers = nnx.List([layer(i) for i in range(n)])

    def config(self) -> dict[str, Any]:
        return {
            **self._base_config(),
            "quantizer": self.quantizer.to_json(),
            "quantize_bias": self.quantize_bias,
            "quantize_output": self.quantize_output,
        }


class MLP(LayerStack):
    """The full-precision twin of :class:`AlternatingMLP` (same layout, :class:`FloatDense`)."""

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        architecture: str = "alternating",
        *,
        output_dim: int = 1,
        rngs: nnx.Rngs,
    ):
        self._set_shape(input_dim, widths, architecture, output_dim)
        dims = self.dims
        self.layers = nnx.List(
            [FloatDense(dims[i], dims[i + 1], rngs=rngs) for i in range(len(dims) - 1)]
        )


class CodeMLP(LayerStack):
    """A model of frozen :class:`CodeDense` layers (integer codes and scales, no training)."""

    def __init__(self, layers: Sequence[CodeDense], architecture: str = "alternating"):
        if len(layers) < 2:
            raise InvalidInput("a model needs at least one hidden layer and an output layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, CodeDense):
                raise WrongType(f"layer {i}: CodeMLP takes CodeDense layers, got {type(layer)}")
            if i and layer.in_features != layers[i - 1].out_features:
                raise InvalidInput(
                    f"layer {i} has {layer.in_features} inputs; layer {i - 1} has "
                    f"{layers[i - 1].out_features} outputs"
                )
        widths = [layer.out_features for layer in layers[:-1]]
        self._set_shape(layers[0].in_features, widths, architecture, layers[-1].out_features)
        self.layers = nnx.List(list(layers))

    @classmethod
    def from_layers(cls, layers: list[dict[str, Any]], architecture: str) -> CodeMLP:
        """A model from per-layer ``{"codes", "scale", "bias_codes" | "bias"}`` dicts (the
        format of :meth:`layer_arrays` and code exports)."""
        built = []
        for i, d in enumerate(layers):
            if "codes" not in d:
                raise InvalidInput(f"layer {i}: a code model needs integer codes in every layer")
            coded = "bias_codes" in d
            bias = d["bias_codes"] if coded else d["bias"]
            built.append(CodeDense(d["codes"], bias, d["scale"], bias_is_code=coded))
        return cls(built, architecture)

    @classmethod
    def from_network(cls, net: ReLUNet) -> CodeMLP:
        """A frozen model (scale-1 codes) computing a ternary :class:`ReLUNet`."""
        if not net.is_ternary():
            raise InvalidInput("from_network needs a ternary network (codes in {-1, 0, 1})")
        layers = [
            {"codes": w, "scale": np.float64(1.0), "bias_codes": b}
            for w, b in zip(net.weights, net.biases)
        ]
        return cls.from_layers(layers, _architecture_of(net.hidden_activations))

    def config(self) -> dict[str, Any]:
        # Per layer the bias kind and scale shape: enough to rebuild the structure.
        frozen = [
            {"bias_is_code": l.bias_is_code, "per_channel": l.per_channel} for l in self.layers
        ]
        return {**self._base_config(), "frozen": frozen}


def frozen_model(layers: list[dict[str, Any]], architecture: str) -> CodeMLP:
    """A :class:`CodeMLP` from per-layer codes (see :meth:`CodeMLP.from_layers`)."""
    return CodeMLP.from_layers(layers, architecture)


def _architecture_of(hidden: Sequence[str]) -> str:
    for arch in ARCHITECTURES:
        if tuple(hidden) == hidden_activations(arch, len(hidden)):
            return arch
    raise InvalidInput(f"hidden activations {tuple(hidden)} are neither alternating nor all-ReLU")


# -- rebuilding from a config ---------------------------------------------------------------
_KEYS = {
    "AlternatingMLP": {"quantizer", "quantize_bias", "quantize_output"},
    "MLP": set(),
    "CodeMLP": {"frozen"},
}
_SHAPE_KEYS = {"input_dim", "widths", "architecture", "output_dim"}
# tern_jax 0.1.0 wrote every key for every class (float models: quantizer None, frozen False).
_LEGACY_KEYS = {"quantizer", "quantize_bias", "quantize_output", "frozen"}


def _code_model_skeleton(cfg: dict[str, Any]) -> CodeMLP:
    """A :class:`CodeMLP` of zero codes with the structure a ``frozen`` list describes."""
    frozen = cfg["frozen"]
    dims = [int(cfg["input_dim"]), *map(int, cfg["widths"]), int(cfg.get("output_dim", 1))]
    if not isinstance(frozen, list) or len(frozen) != len(dims) - 1:
        raise InvalidInput("model config 'frozen' must list one entry per layer")
    layers = []
    for i, f in enumerate(frozen):
        if not isinstance(f, dict):
            raise InvalidInput(f"model config 'frozen'[{i}] must be a dict, got {f!r}")
        n_in, n_out = dims[i], dims[i + 1]
        d: dict[str, Any] = {
            "codes": np.zeros((n_in, n_out), np.int8),
            "scale": np.ones((n_out,) if f.get("per_channel") else ()),
        }
        d["bias_codes" if f.get("bias_is_code", True) else "bias"] = np.zeros(n_out)
        layers.append(d)
    return CodeMLP.from_layers(layers, cfg.get("architecture", "alternating"))


def model_from_config(
    config: dict[str, Any], rngs: nnx.Rngs | None = None
) -> AlternatingMLP | MLP | CodeMLP:
    """Rebuild a model (fresh parameters; zero codes for a code model) from its
    :meth:`~LayerStack.config`, in the current layout or that of tern_jax 0.1.0."""
    if not isinstance(config, dict):
        raise WrongType(f"model config must be a dict, got {type(config).__name__}")
    cfg = dict(config)
    cls_name = cfg.pop("class", "AlternatingMLP")
    if cls_name not in _KEYS:
        raise InvalidInput(f"unknown model class {cls_name!r}; expected one of {sorted(_KEYS)}")
    unknown = set(cfg) - _SHAPE_KEYS - _LEGACY_KEYS
    if unknown:
        raise InvalidInput(f"unknown model config fields {sorted(unknown)}")
    missing = {"input_dim", "widths"} - set(cfg)
    if missing:
        raise InvalidInput(f"model config lacks {sorted(missing)}")
    if cfg.get("frozen"):  # a code model, also as 0.1.0 wrote it ("class": "AlternatingMLP")
        return _code_model_skeleton(cfg)
    if cls_name == "CodeMLP":
        raise InvalidInput("a CodeMLP config needs its 'frozen' list (one entry per layer)")
    shape = {k: v for k, v in cfg.items() if k in _SHAPE_KEYS}
    rngs = rngs or nnx.Rngs(0)
    if cls_name == "MLP" or cfg.get("quantizer") is None:
        # 0.1.0 also described a full-precision model as AlternatingMLP with quantizer None.
        return MLP(rngs=rngs, **shape)
    extra = {k: cfg[k] for k in _KEYS["AlternatingMLP"] if k in cfg}
    return AlternatingMLP(rngs=rngs, **shape, **extra)
