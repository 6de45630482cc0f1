"""Cycle notation: random permutations -> cycle strings -> parse, in 0-based and GAP notation."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eqsolve
from eqsolve._parse import array_to_cycles, cycles_to_array, format_permutation, parse_cycles

perms = st.integers(0, 12).flatmap(lambda d: st.permutations(list(range(d))))
groups_of_perms = st.integers(1, 12).flatmap(
    lambda d: st.tuples(st.just(d), st.lists(st.permutations(list(range(d))), min_size=1, max_size=4))
)


@settings(max_examples=200, deadline=None)
@given(perms)
def test_one_permutation_round_trips_in_both_notations(perm):
    d = len(perm)
    arr = np.array(perm, dtype=np.int64)
    text = format_permutation(arr)
    parsed = parse_cycles(text)
    assert len(parsed) == 1
    assert cycles_to_array(parsed[0], d).tolist() == list(perm)
    gap = format_permutation(arr, one_based=True)
    assert cycles_to_array(parse_cycles(gap, one_based=True)[0], d).tolist() == list(perm)
    assert all(int(x) >= 1 for x in re.findall(r"\d+", gap))  # 1-based


@settings(max_examples=150, deadline=None)
@given(groups_of_perms, st.sampled_from(["; ", ";", " ; "]), st.sampled_from([", ", ",", " , "]))
def test_generator_lists_round_trip(data, sep0, sep1):
    d, gens = data
    H = eqsolve.PermutationGroup(gens, degree=d)
    texts = [format_permutation(g) for g in H.generators]
    assert eqsolve.PermutationGroup.parse(sep0.join(texts), degree=d) == H
    assert eqsolve.PermutationGroup.parse(str(H), degree=d) == H
    gap = sep1.join(format_permutation(g, one_based=True) for g in H.generators)
    assert eqsolve.PermutationGroup.from_gap(gap, degree=d) == H
    assert eqsolve.PermutationGroup.from_gap(H.to_gap(), degree=d) == H
    assert eval(repr(H), {"PermutationGroup": eqsolve.PermutationGroup}) == H
    # one cycle string per generator in a list
    assert eqsolve.PermutationGroup(texts, degree=d) == H


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 10).flatmap(
        lambda d: st.lists(
            st.lists(st.integers(0, d - 1), min_size=1, max_size=d, unique=True), min_size=1, max_size=4
        ).map(lambda cycles: (d, cycles))
    )
)
def test_products_of_overlapping_cycles_act_left_to_right(data):
    """A product of (possibly overlapping) cycles equals composing them, leftmost applied first."""
    d, cycles = data
    text = "".join("(" + " ".join(map(str, c)) + ")" for c in cycles)
    got = eqsolve.PermutationGroup.parse(text, degree=d).generators[0]
    expected = np.arange(d)
    for c in cycles:
        step = np.arange(d)
        step[c] = c[1:] + c[:1]
        expected = step[expected]  # apply c after what came before
    assert got.tolist() == expected.tolist()
    gap = "".join("(" + ",".join(str(p + 1) for p in c) + ")" for c in cycles)
    assert eqsolve.PermutationGroup.from_gap(gap, degree=d).generators[0].tolist() == expected.tolist()


@settings(max_examples=100, deadline=None)
@given(perms)
def test_array_to_cycles_is_canonical(perm):
    cycles = array_to_cycles(np.array(perm, dtype=np.int64))
    assert all(len(c) >= 2 and c[0] == min(c) for c in cycles)
    assert [c[0] for c in cycles] == sorted(c[0] for c in cycles)
    points = [p for c in cycles for p in c]
    assert len(points) == len(set(points)) == sum(1 for i, p in enumerate(perm) if p != i)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(0 1 2)(3 4); (0 1)", [[(0, 1, 2), (3, 4)], [(0, 1)]]),
        ("  (0,1,2)  (3 4) ;(0 1)  ", [[(0, 1, 2), (3, 4)], [(0, 1)]]),
        ("()", [[]]),
        ("(); (0 1)", [[], [(0, 1)]]),
        ("(5)", [[(5,)]]),
        ("", []),
    ],
)
def test_zero_based_examples(text, expected):
    assert parse_cycles(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(1,2,3)(4,5), (1,2)", [[(0, 1, 2), (3, 4)], [(0, 1)]]),
        ("[(1,2,3)(4,5), (1,2)]", [[(0, 1, 2), (3, 4)], [(0, 1)]]),
        ("Group((1,2,3)(4,5), (1,2))", [[(0, 1, 2), (3, 4)], [(0, 1)]]),
        ("(1,2,3)(4,5); (1,2)", [[(0, 1, 2), (3, 4)], [(0, 1)]]),
        ("(), (1,2)", [[], [(0, 1)]]),
        ("(10,11,12)", [[(9, 10, 11)]]),
    ],
)
def test_gap_examples(text, expected):
    assert parse_cycles(text, one_based=True) == expected


def test_degree_inference():
    assert eqsolve.PermutationGroup.parse("(0 4)").degree == 5
    assert eqsolve.PermutationGroup.parse("(0 4)", degree=9).degree == 9
    assert eqsolve.PermutationGroup.from_gap("(1,4)").degree == 4
    assert eqsolve.PermutationGroup(["(0 1)", "(2 6)"]).degree == 7
    assert eqsolve.PermutationGroup.parse("(0 1)").generators.tolist() == [[1, 0]]
