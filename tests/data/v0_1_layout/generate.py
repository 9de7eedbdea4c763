"""How the files beside this script were made: with tern_jax 0.1.0 at commit 3215882, before
the model split, as ``python generate.py tests/data/v0_1_layout``. They hold checkpoints and
code exports in the old config layout (a code model as ``"class": "AlternatingMLP"`` with a
``frozen`` list), so later versions are tested against files that version really wrote. Kept
for provenance: run with a later tern_jax it would write the new layout instead."""

import json
import os
import sys

import jax
import numpy as np
from flax import nnx

import tern_jax as tj
from tern_jax import checkpoint as ck
from tern_jax.models import MLP, AlternatingMLP

out = sys.argv[1]
frozen = AlternatingMLP.from_network(tj.constructions.ternary_alternating(2, [2]).net)
trained = AlternatingMLP(2, [4, 3], "alternating", "twn", quantize_output=False, rngs=nnx.Rngs(1))
for i, l in enumerate(trained.layers):
    l.bias[...] = 0.3 * jax.random.normal(jax.random.key(10 + i), l.bias.shape)
pc = AlternatingMLP(
    2,
    [3, 3],
    "all_relu",
    tj.quantize.Quantizer("absmean", per_channel=True),
    quantize_bias=False,
    rngs=nnx.Rngs(2),
)
flt = MLP(2, [3, 2], "all_relu", rngs=nnx.Rngs(3))
x = np.asarray(jax.random.uniform(jax.random.key(0), (16, 2), minval=-1, maxval=1), np.float32)
expect = {}
for name, m in [("frozen", frozen), ("trained", trained), ("per_channel", pc), ("float", flt)]:
    ck.save_model(m, os.path.join(out, f"ckpt_{name}"), {"step": 5})
    expect[name] = {
        "config": m.config(),
        "fingerprint": m.to_network().fingerprint,
        "outputs": np.asarray(m(x)).tolist(),
    }
ck.export_codes(frozen, os.path.join(out, "codes_frozen.npz"))
ck.export_codes(trained, os.path.join(out, "codes_trained.npz"))
np.save(os.path.join(out, "inputs.npy"), x)
with open(os.path.join(out, "expected.json"), "w") as fh:
    json.dump(expect, fh, indent=1, sort_keys=True)
