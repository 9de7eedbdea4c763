import subprocess
import sys

import tern_jax as tj


def test_every_public_name_resolves():
    for name in tj.__all__:
        assert getattr(tj, name) is not None, name


def test_import_is_cheap():
    """`import tern_jax` loads neither JAX's Flax/optax stack nor the engines until used."""
    code = (
        "import sys, tern_jax\n"
        "heavy = [m for m in ('flax', 'optax', 'orbax', 'jax') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_engines_do_not_import_training_code():
    """design.md: engines never import Flax, optax or the training code."""
    code = (
        "import sys, numpy as np, tern_jax as tj\n"
        "net = tj.constructions.ternary_alternating(1, [2]).net\n"
        "tj.exact_regions_1d(net, 0.0, 1.0)\n"
        "tj.count_regions(net, tj.Box(0.0, 1.0), 4096, progress=False)\n"
        "print(','.join(m for m in ('flax', 'optax', 'orbax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
