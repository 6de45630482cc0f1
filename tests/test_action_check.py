"""Generator images that are not an action of the group raise NotAnActionError (issue: a
collapsed basis in silence); images that are an action pass, small and large."""

import numpy as np
import pytest

import eqsolve
from eqsolve import Action, NotAnActionError, groups
from eqsolve._homomorphism import check_action


def test_wrong_generator_order_is_refused():
    with pytest.raises(NotAnActionError, match=r"generator 0 has order 4 .* image has order 3"):
        Action(groups.cyclic(4), [[1, 2, 0]])


def test_broken_commutation_is_refused_by_a_product_order():
    H = eqsolve.PermutationGroup(["(0 1)", "(2 3)"], degree=4)  # C2 x C2: the product has order 2
    with pytest.raises(NotAnActionError, match="product of generators 0 then 1 has order 2"):
        Action(H, [[1, 0, 2], [0, 2, 1]])  # (0 1) then (1 2): order 3


def test_relation_only_the_exact_walk_sees():
    # C2 x C3; the images have the right orders (2, 3, and 6 for the product) but do not commute
    H = groups.cyclic(2) * groups.cyclic(3)
    images = [[3, 2, 1, 0, 4], [0, 3, 1, 2, 4]]
    with pytest.raises(NotAnActionError, match="same group element but different images"):
        Action(H, images)
    # the collapse the check prevents: the images generate a larger group, with fewer orbits on pairs
    assert eqsolve.solve(out=Action(H, images, check=False), inp=H.action()).dim < \
        eqsolve.solve(out=H.action(), inp=H.action()).dim


def test_swapped_images_of_a_tensor_power_are_refused():
    H = groups.dihedral(6)
    with pytest.raises(NotAnActionError, match="dihedral\\(6\\)"):
        Action(H, H.action().tensor(2).images[::-1])


@pytest.mark.parametrize("make", [
    lambda: groups.symmetric(4).action().tensor(2),
    lambda: groups.dihedral(7).action().subsets(2),
    lambda: groups.grid_translations((4, 6)).action() + groups.grid_translations((4, 6)).trivial(),
    lambda: groups.sets_of(groups.cyclic(3), 3).action() * groups.sets_of(groups.cyclic(3), 3).action(),
], ids=["S4^2", "D7-pairs", "grid+trivial", "sets-product"])
def test_images_of_real_actions_pass_and_solve_alike(make):
    rho = make()
    given = Action(rho.group, rho.images.tolist())
    assert check_action(rho.group, rho.images) == "exact"
    a = eqsolve.solve(out=given, inp=rho.group.action())
    b = eqsolve.solve(out=rho, inp=rho.group.action())
    assert a.dim == b.dim and np.array_equal(a.orbit_index, b.orbit_index)


def test_large_actions_get_the_relator_orders():
    S = groups.symmetric(64)
    rho = S.action().tensor(2)
    assert check_action(S, rho.images) == "relator orders"
    Action(S, rho.images)  # an action: accepted
    with pytest.raises(NotAnActionError):
        Action(S, rho.images[::-1])  # the 64-cycle's image given to the transposition


def test_sampled_cycles_on_huge_images(monkeypatch):
    import eqsolve._homomorphism as hom

    monkeypatch.setattr(hom, "RELATOR_WORK", 1000)  # force the sampled path on a small action
    G = groups.cyclic(12)
    good = G.action().tensor(2)
    Action(G, good.images)
    shifted = (np.arange(144) + 5) % 144  # a 144-cycle: longer than the generator's order 12
    with pytest.raises(NotAnActionError, match="a cycle longer than 12"):
        Action(G, [shifted])


def test_check_false_skips_and_builtin_combinations_skip():
    H = groups.cyclic(4)
    assert Action(H, [[1, 2, 0]], check=False).degree == 3
    assert (H.action().tensor(3) + H.trivial()).degree == 65


def test_trivial_group_with_identity_generators():
    H = eqsolve.PermutationGroup([[0, 1, 2], [0, 1, 2]])
    assert Action(H, [[0, 1], [0, 1]]).degree == 2
    with pytest.raises(NotAnActionError, match="order 1 in the group but its image has order 2"):
        Action(H, [[0, 1], [1, 0]])
