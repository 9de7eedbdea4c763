"""tern_jax: linear regions of ternary ReLU networks, in JAX.

Public names are loaded lazily so that ``import tern_jax`` stays cheap (the command-line
tool and the engines do not pay for Flax or optax unless they use them).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "ReLUNet": "network",
    "save_network": "network",
    "load_network": "network",
    # sampling engine
    "count_regions": "sampling",
    "RegionCount": "sampling",
    "Box": "sampling.domains",
    "Gaussian": "sampling.domains",
    "Plane": "sampling.domains",
    "Segment": "sampling.domains",
    "Points": "sampling.domains",
    # exact engines
    "exact_regions_1d": "exact",
    "exact_regions_2d": "exact",
    "ExactCount": "exact",
    "random_network": "random_nets",
}
_SUBMODULES = {
    "bounds",
    "checkpoint",
    "constructions",
    "estimators",
    "exact",
    "models",
    "network",
    "plots",
    "quantize",
    "random_nets",
    "tasks",
    "records",
    "report",
    "sampling",
    "train",
}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'tern_jax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
