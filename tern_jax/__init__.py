"""tern_jax: linear regions of ternary ReLU networks, in JAX.

Public names are loaded lazily so that ``import tern_jax`` stays cheap (the command-line
tool and the engines do not pay for Flax or optax unless they use them). Type checkers and
editors see the real names through the ``TYPE_CHECKING`` block below.

Layers (an import only points down this list; ``tests/test_package.py`` enforces it):

- core: ``network`` (ReLUNet), ``forward``, ``domains``, ``arith``, ``errors``,
  ``records``, ``netfile``;
- engines: ``sampling``, ``exact``, ``bounds``, ``constructions``, ``estimators``,
  ``random_nets``;
- training: ``training``, ``train``, ``models``, ``quantize``, ``checkpoint``, ``tasks``;
- app: ``io``, ``report``, ``plots``, ``cli``, ``commands``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # the names below are what __getattr__ returns at run time
    from . import (
        bounds,
        checkpoint,
        constructions,
        domains,
        errors,
        estimators,
        exact,
        io,
        models,
        netfile,
        network,
        plots,
        quantize,
        random_nets,
        records,
        report,
        sampling,
        tasks,
        train,
    )
    from .domains import Box, Gaussian, Line, Plane, Points, Segment, parse_domain
    from .errors import (
        DamagedFile,
        InvalidInput,
        MissingFile,
        PeerLost,
        TernJaxError,
        TooLarge,
        WrongType,
    )
    from .estimators import RegionEstimate, estimate_regions
    from .exact import ExactCount, exact_regions, exact_regions_1d, exact_regions_2d
    from .io import load_network
    from .netfile import save_network
    from .network import ReLUNet
    from .random_nets import random_network
    from .sampling import RegionCount, count_regions

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "ReLUNet": "network",
    "save_network": "netfile",
    "load_network": "io",
    # domains, shared by every engine
    "Box": "domains",
    "Gaussian": "domains",
    "Line": "domains",
    "Plane": "domains",
    "Points": "domains",
    "Segment": "domains",
    "parse_domain": "domains",
    # errors
    "TernJaxError": "errors",
    "InvalidInput": "errors",
    "WrongType": "errors",
    "MissingFile": "errors",
    "DamagedFile": "errors",
    "TooLarge": "errors",
    "PeerLost": "errors",
    # sampling engine
    "count_regions": "sampling",
    "RegionCount": "sampling",
    # exact engines
    "exact_regions": "exact",
    "exact_regions_1d": "exact",
    "exact_regions_2d": "exact",
    "ExactCount": "exact",
    # estimators
    "estimate_regions": "estimators",
    "RegionEstimate": "estimators",
    "random_network": "random_nets",
}
_SUBMODULES = {
    "bounds",
    "checkpoint",
    "codes",
    "constructions",
    "domains",
    "errors",
    "estimators",
    "exact",
    "io",
    "models",
    "netfile",
    "network",
    "plots",
    "quantize",
    "random_nets",
    "tasks",
    "training",
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
