"""Parameter counts of the generated layers equal the theory's predictions (issue 4, part 1).

For G = S_n x H, the paper's generalizations predict the dimension of the linear maps
R^{n x d} -> R^{n x d} (2 c_in c_out E(H)), -> R (c_in c_out o(H)), -> R^n (2 c_in c_out o(H))
and -> R^d (c_in c_out E(H)). A DSSLinear must have exactly the first number of weights, and an
EquivariantLinear between the corresponding actions of G the others.
"""

import pytest

import eqsolve
from eqsolve import theory

torch = pytest.importorskip("torch")
from eqsolve import layers  # noqa: E402

GROUPS = {
    "cyclic5": lambda: eqsolve.groups.cyclic(5),
    "dihedral6": lambda: eqsolve.groups.dihedral(6),
    "symmetric4": lambda: eqsolve.groups.symmetric(4),
    "intransitive": lambda: eqsolve.PermutationGroup.parse("(0 1 2)(3 4)", degree=6),
    "gap": lambda: eqsolve.PermutationGroup.from_gap("(1,2,3,4), (1,3)"),
}


def _weights(module) -> int:
    return sum(p.numel() for name, p in module.named_parameters() if "bias" not in name)


def _predictions(H, n, c_in, c_out):
    return {r.claim.split(": ")[-1]: r for r in theory.generalizations(H, n, c_in, c_out)}


@pytest.mark.parametrize("name", sorted(GROUPS))
@pytest.mark.parametrize("n, c_in, c_out", [(2, 1, 1), (4, 3, 5)])
def test_dss_layer_weights_match_theorem(name, n, c_in, c_out):
    H = GROUPS[name]()
    predicted = _predictions(H, n, c_in, c_out)
    assert all(r.agree for r in predicted.values())
    dss = layers.DSSLinear(eqsolve.solve(H), c_in, c_out, aggregation="sum")
    assert _weights(dss) == predicted["equivariant"].predicted


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_maps_out_of_sets_match_generalizations(name):
    H, n, c_in, c_out = GROUPS[name](), 3, 2, 3
    predicted = _predictions(H, n, c_in, c_out)
    G = eqsolve.groups.sets_of(H, n)
    rho = G.action()
    targets = {
        "invariant": G.trivial(),
        "selection": theory.block_action(G, n, H.degree),
        "merging": theory.element_action(G, n, H.degree),
        "equivariant": rho,
    }
    for task, out in targets.items():
        layer = layers.EquivariantLinear(eqsolve.solve(out=out, inp=rho), c_in, c_out)
        assert _weights(layer) == predicted[task].predicted, task
        # the bias is one parameter per output orbit and channel
        assert layer.bias.numel() == c_out * len(out.group.orbits() if out is rho else _orbits(out))


def _orbits(action):
    from eqsolve._group import point_orbit_labels

    labels = point_orbit_labels(action.images, action.degree)
    return range(int(labels.max()) + 1)
