"""Bounds (math.md section 2), construction counts (section 3) and the matching table.

Expected values are hand-computed integers (worked out in the comments) or math.md section
4's table; the Serra upper bound is also checked against a brute-force enumeration of J.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tern_jax import bounds as B
from tern_jax import constructions as C
from tern_jax.cli import main

# -- hand-computed values -------------------------------------------------------------------


def test_zaslavsky():
    assert B.zaslavsky(2, 8) == 37  # 1 + 8 + 28
    assert B.zaslavsky(1, 5) == 6  # 1 + 5
    assert B.zaslavsky(2, 4) == 11  # 1 + 4 + 6
    assert B.zaslavsky(3, 3) == 8  # all 2^3 sign vectors
    assert B.zaslavsky(3, 2) == 4  # C(2, 3) = 0
    for n in range(1, 12):
        assert B.zaslavsky(2, n) == 1 + n + math.comb(n, 2)  # math.md section 4


# (n0, n, L) -> Montufar 2014, Serra 2018 lower, 3.2 at depth 2L, 3.4 at depth L (math.md 4)
FORMULA_TABLE = [
    ((1, 4, 2), 20, 25, 16, 25),
    ((1, 8, 3), 576, 729, 512, 729),
    ((2, 8, 2), 592, 925, 256, 625),
    ((2, 8, 3), 9472, 23125, 4096, 15625),
]


@pytest.mark.parametrize("arch, mont, serra, alt, rb", FORMULA_TABLE)
def test_math_md_formula_table(arch, mont, serra, alt, rb):
    n0, n, L = arch
    ws = [n] * L
    p = n // n0
    assert B.montufar2014(n0, ws) == mont
    assert B.serra2018_lower(n0, ws) == serra
    assert B.ternary_alternating_counts(n0, [p] * L).linear_unit_cube == alt
    assert B.ternary_real_bias_counts(n0, [p] * (L - 1), p).linear_unit_cube == rb
    # and the networks have the widths the table names: ~2n at depth 2L, and 2n..2n, n
    net = C.ternary_alternating(n0, [p] * L).net
    assert len(net.widths) == 2 * L and max(net.widths) == 2 * n
    assert C.ternary_real_bias(n0, [p] * (L - 1), p).net.widths == (2 * n,) * (L - 1) + (n,)


def test_montufar2014_values():
    assert B.montufar2014(2, [5, 3]) == 4 * 7  # floor(5/2)^2 * (1 + 3 + 3)
    assert B.montufar2014(3, [7, 3, 4]) == 8 * 1 * 15  # 2^3 * 1^3 * (1 + 4 + 6 + 4)
    assert B.montufar2014(1, [6]) == 7  # one layer: Zaslavsky


def test_serra2018_lower_values():
    assert B.serra2018_lower(1, [3, 3]) == 16  # (3 + 1) * (1 + 3)
    assert B.serra2018_lower(2, [6, 7]) == 16 * 29  # (3 + 1)^2 * (1 + 7 + 21)


def test_serra2018_upper_values():
    assert B.serra2018_upper(1, [3, 4, 5]) == 120  # 4 * 5 * 6
    assert B.serra2018_upper(2, [8, 8]) == 37 * 37  # caps never bind
    # n0 = 3, widths 2, 2: j1 = 0 -> 1 * 4, j1 = 1 -> 2 * 3, j1 = 2 -> 1 * 1
    assert B.serra2018_upper(3, [2, 2]) == 11
    assert B.serra2018_upper(1, [1, 1]) == 3  # j1 = 0 -> 1 * 2, j1 = 1 -> 1 * 1 (cap 0)
    # n0 = 2, widths 3, 1: j1 = 0 -> 1 * 2, j1 = 1 -> 3 * 2, j1 = 2 -> 3 * 2
    assert B.serra2018_upper(2, [3, 1]) == 14


def test_montufar2017_upper_values():
    assert B.montufar2017_upper(2, [8, 8]) == 1369  # 37^2
    assert B.montufar2017_upper(1, [3, 4, 5]) == 120
    assert B.montufar2017_upper(3, [2, 2]) == 16  # d = 2: 4 * 4
    assert B.montufar2017_upper(2, [1, 5]) == 12  # d1 = 1: 2; d2 = 1: 6


def test_exact_max_1d():
    assert B.exact_max_1d([3, 4, 5]) == 120
    assert B.exact_max_1d([4, 4]) == 25 == B.serra2018_lower(1, [4, 4])
    assert B.exact_max_1d([8, 8, 8]) == 729


def _serra_upper_brute(n0, widths):
    total = 0
    for js in itertools.product(*(range(n + 1) for n in widths)):
        cap, ok, term = n0, True, 1
        for n, j in zip(widths, js):
            if j > min(cap, n):
                ok = False
                break
            term *= math.comb(n, j)
            cap = min(cap, n - j)
        total += term if ok else 0
    return total


@settings(max_examples=60, deadline=None)
@given(n0=st.integers(1, 4), widths=st.lists(st.integers(1, 7), min_size=1, max_size=4))
def test_serra_upper_matches_enumeration_and_orders(n0, widths):
    up = B.serra2018_upper(n0, widths)
    assert up == _serra_upper_brute(n0, widths)
    assert isinstance(up, int)
    assert up <= B.montufar2017_upper(n0, widths)
    if all(w >= n0 for w in widths):
        assert B.montufar2014(n0, widths) <= up
    if all(w >= 3 * n0 for w in widths):
        assert B.montufar2014(n0, widths) <= B.serra2018_lower(n0, widths) <= up


@settings(max_examples=40, deadline=None)
@given(widths=st.lists(st.integers(3, 30), min_size=1, max_size=5))
def test_1d_bounds_coincide(widths):
    exact = B.exact_max_1d(widths)
    assert exact == B.serra2018_lower(1, widths) == B.serra2018_upper(1, widths)
    assert exact == math.prod(w + 1 for w in widths)


def test_bounds_are_python_ints_even_for_numpy_input():
    import numpy as np

    v = B.montufar2014(np.int64(2), np.array([8, 8]))
    assert type(v) is int and v == 592
    big = B.serra2018_upper(4, [200] * 6)
    assert type(big) is int and big > 2**53  # no float rounding anywhere


# -- hypotheses and argument checks ----------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: B.montufar2014(2, [4, 1]), "n_l >= n0"),
        (lambda: B.serra2018_lower(2, [6, 5]), "n_l >= 3 n0"),
        (lambda: B.serra2018_lower(1, [2, 3]), "n_l >= 3 n0"),
        (lambda: B.exact_max_1d([3, 2]), "n_l >= 3"),
        (lambda: B.zaslavsky(0, 3), "n0"),
        (lambda: B.zaslavsky(2, 0), "n1"),
        (lambda: B.montufar2017_upper(1, []), "widths"),
        (lambda: B.serra2018_upper(1, [2, 0]), r"widths\[1\]"),
        (lambda: B.serra2018_upper(1, [2.0]), "integer"),
        (lambda: B.montufar2014(True, [3]), "integer"),
        (lambda: B.montufar2017_upper(1, "33"), "widths"),
        (lambda: B.ternary_all_relu_counts(1, [2], form="x"), "form"),
        (lambda: B.ternary_real_bias_counts(1, [], 0), "m"),
    ],
)
def test_bad_arguments_and_hypotheses(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- construction counts as functions of their parameters ------------------------------------


def test_construction_counts_hand_computed():
    c = B.ternary_alternating_counts(1, [3, 2])  # 6 pieces; tail: first even block is last
    assert (c.linear_unit_cube, c.linear_total) == (6, 7)
    c = B.ternary_alternating_counts(1, [2, 3])  # first even block is not last: +1
    assert (c.linear_unit_cube, c.linear_total) == (6, 8)
    c = B.ternary_alternating_counts(2, [2, 3])
    assert (c.linear_unit_cube, c.linear_total) == (36, 64)
    c = B.ternary_all_relu_counts(1, [3, 3], "generic")
    assert (c.activation_unit_cube, c.activation_total, c.linear_total) == (9, 11, 10)
    c = B.ternary_all_relu_counts(2, [3], "cube")
    assert (c.linear_unit_cube, c.linear_total, c.activation_total) == (9, None, None)
    c = B.ternary_real_bias_counts(1, [3], 1)  # P = 4: 8 pieces, 2 top folds merge
    assert (c.activation_unit_cube, c.linear_unit_cube) == (8, 6)
    c = B.ternary_real_bias_counts(2, [2, 1], 3)  # (3 * 2 * 4)^2
    assert c.linear_unit_cube == c.linear_total == 576
    c = B.montufar_zigzag_counts(2, [5, 7])  # p = 2, 3
    assert c.linear_unit_cube == 36
    with pytest.raises(ValueError, match="n_l >= n0"):
        B.montufar_zigzag_counts(3, [2])


# -- matching architectures ------------------------------------------------------------------


def _net_for(row, n0):
    """Build the construction a table row names (by its widths/activations)."""
    name = row.construction
    ns = {"ternary_alternating": C.ternary_alternating, "ternary_all_relu": C.ternary_all_relu}
    ns["ternary_real_bias"] = C.ternary_real_bias
    return eval(name, ns).net  # the row's own construction string


@pytest.mark.parametrize("n0, widths", [(1, [8, 8, 8]), (2, [8, 8]), (2, [5, 7, 6]), (3, [9])])
def test_matching_architectures_rows(n0, widths):
    comp = B.matching_architectures(n0, widths)
    assert comp.bounds["montufar2014"] == B.montufar2014(n0, widths)
    assert comp.bounds["serra2018_upper"] == B.serra2018_upper(n0, widths)
    general, *rows = comp.rows
    assert general.widths == tuple(widths) and general.ternary == "no"
    n_params = sum(a * b + b for a, b in zip([n0, *widths], [*widths, 1]))
    assert general.num_parameters == n_params and general.memory_bits == 32 * n_params
    ps = [w // n0 for w in widths]
    names = [r.name for r in rows]
    assert names == [
        "double width + double depth (alternating)",
        "double width + double depth (all-ReLU)",
        "double width + square width (alternating)",
        "double width + square width (all-ReLU)",
        "ternary weights, real biases",
    ]
    for r in rows:
        net = _net_for(r, n0)
        assert net.widths == r.widths and r.depth == len(net.widths)
        assert r.num_parameters == net.num_parameters
        if r.ternary == "weights+biases":
            assert net.is_ternary() and r.memory_bits == 2 * net.num_parameters
            assert r.regions == math.prod(ps) ** n0
        else:
            n_bias = sum(len(b) for b in net.biases)
            assert r.memory_bits == 2 * (net.num_parameters - n_bias) + 32 * n_bias
    deep, _, wide, _, _ = rows
    assert deep.depth == 2 * len(widths)
    assert wide.depth == len(widths) + len(widths) % 2  # same depth (one more when L is odd)


def test_matching_architectures_too_narrow():
    comp = B.matching_architectures(3, [2, 2])
    assert comp.rows == () and "n_l >= n0" in comp.note
    assert comp.bounds["montufar2014"] is None and comp.bounds["serra2018_upper"] == 11
    assert "no matching ternary architectures" in comp.table()


# -- CLI --------------------------------------------------------------------------------------


def test_cli_bounds_table(capsys):
    assert main(["bounds", "--n0", "2", "--widths", "8,8"]) == 0
    out = capsys.readouterr().out
    assert "592" in out and "925" in out and "1369" in out
    assert "double width + square width (all-ReLU)" in out and "unit cube" in out


def test_cli_bounds_json(capsys):
    assert main(["bounds", "--n0", "1", "--widths", "4,4", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["bounds"] == {
        "montufar2014": 20,
        "serra2018_lower": 25,
        "serra2018_upper": 25,
        "montufar2017_upper": 25,
        "exact_max_1d": 25,
    }
    regions = {r["name"]: r["regions"] for r in rec["rows"]}
    assert regions["double width + double depth (alternating)"] == 16
    assert regions["ternary weights, real biases"] == 25
    assert "unit cube" in rec["rows_domain"]


def test_cli_bounds_bad_input(capsys):
    assert main(["bounds", "--n0", "0", "--widths", "4"]) == 2
    assert "n0" in capsys.readouterr().err


def test_serra_upper_matches_the_plain_dynamic_programme():
    """The O(n0)-per-layer programme against the definition's plain sum (small cases)."""
    import itertools
    import math

    def plain(n0, ws):
        total = 0
        for js in itertools.product(*(range(min(n0, n) + 1) for n in ws)):
            cap, ok = n0, True
            for j, n in zip(js, ws):
                if j > min(cap, n):
                    ok = False
                    break
                cap = min(cap, n - j)
            if ok:
                total += math.prod(math.comb(n, j) for j, n in zip(js, ws))
        return total

    for n0 in (1, 2, 3, 5):
        for ws in ([1], [4], [2, 7], [5, 3, 6], [6, 6, 2, 9], [3, 1, 4]):
            assert B.serra2018_upper(n0, ws) == plain(n0, ws), (n0, ws)


@pytest.mark.parametrize("n0, widths", [(10_000, [1_000_000]), (100_000, [1_000_000]),
                                        (1_000_000, [10]), (5_000, [5_000] * 10)])  # fmt: skip
def test_huge_bounds_are_refused_or_computed_fast(n0, widths):
    """Bounds with tens of thousands of digits either come out or are refused as TooLarge
    with the size in the note; the CLI prints a table and a JSON record (no crash on
    Python's 4300-digit limit)."""
    comp = B.matching_architectures(n0, widths)
    for name, value in comp.bounds.items():
        note = comp.bound_notes[name]
        assert value is not None or any(w in note for w in ("10^", "steps", "hypothesis")), note
    argv = ["bounds", "--n0", str(n0), "--widths", ",".join(map(str, widths))]
    assert main(argv) == 0
    assert main([*argv, "--json"]) == 0
