"""tern_jax.plots: files written, colours stable per pattern, bad input rejected."""

from __future__ import annotations

import numpy as np
import pytest

import tern_jax as tj
from tern_jax import constructions as C
from tern_jax import plots

PNG = b"\x89PNG\r\n\x1a\n"


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == PNG
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_pattern_colors_depend_only_on_the_pattern():
    a = np.array([True, False, True, True])
    c1 = plots.pattern_color(a)
    assert c1 == plots.pattern_color(a.copy()) == plots.pattern_color(a.tolist())
    assert all(0.0 <= x <= 1.0 for x in c1)
    # Different patterns (including the same bits with a different length) get other colours.
    others = [plots.pattern_color(b) for b in ([True, False, True, False], [True, False, True])]
    assert all(o != c1 for o in others)
    pats = np.random.default_rng(0).random((200, 12)) > 0.5
    cols = plots.pattern_colors(pats)
    assert cols.shape == (200, 3)
    uniq_pats = {p.tobytes() for p in pats}
    assert len({tuple(c) for c in cols}) == len(uniq_pats)


def test_plane_partition_png(tmp_path):
    net = C.ternary_alternating(2, [3]).net
    r = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 1, 0, 1))
    out = plots.plot_plane_partition(
        r.cells, r.patterns, tmp_path / "sub" / "p.png", linear_boundaries=r.linear_boundaries
    )
    w, h = _png_size(out)
    assert w > 100 and h > 100
    # Same network, same cells -> same colours (what makes checkpoints comparable).
    r2 = tj.exact_regions_2d(net, [0, 0], [1, 0], [0, 1], (0, 1, 0, 1))
    assert np.array_equal(plots.pattern_colors(r.patterns), plots.pattern_colors(r2.patterns))
    with pytest.raises(ValueError, match="must match"):
        plots.plot_plane_partition(r.cells, r.patterns[:3], tmp_path / "bad.png")


def test_line_function_png(tmp_path):
    net = C.ternary_alternating(1, [3]).net
    r = tj.exact_regions_1d(net, None, None)
    ts = np.linspace(-0.5, 1.5, 401)
    ys = np.asarray(net(ts[:, None].astype(np.float32)))
    bps = np.array([float(t) for t in r.breakpoints])
    out = plots.plot_line_function(
        ts, ys, tmp_path / "f.png", breakpoints=bps, breakpoint_values=np.zeros_like(bps)
    )
    assert _png_size(out)[0] > 100
    with pytest.raises(ValueError, match="must match"):
        plots.plot_line_function(ts, ys[:-1], tmp_path / "bad.png")
