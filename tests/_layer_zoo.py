"""Named bases for the layer tests (EMLP-style ids, select with ``-k``)."""

import numpy as np

import eqsolve
from eqsolve import groups


def symmetric_actions(m):
    """``(rho, acts)``: S_m on its m points and its ``tensor(k)`` (k <= 3) and ``subsets(k)``
    (k = 2, 3 where k <= m), by name ("t0".."t3", "s2", "s3")."""
    rho = groups.symmetric(m).action()
    acts = {f"t{k}": rho.tensor(k) for k in range(4)}
    for k in (2, 3):
        if k <= m:
            acts[f"s{k}"] = rho.subsets(k)
    return rho, acts


def _near(side):
    coords = np.indices((side, side)).reshape(2, -1)
    delta = (coords[:, :, None] - coords[:, None, :]) % side
    return ((delta <= 1) | (delta >= side - 1)).all(axis=0)


def square_zoo():
    """name -> (group, basis) for H acting on its own points (d_out = d_in)."""
    gap = eqsolve.PermutationGroup.from_gap("(1,2,3,4)(5,6), (1,3)")
    intransitive = eqsolve.PermutationGroup.parse("(0 1 2); (3 4)", degree=6)
    zoo = {
        "cyclic(7)": groups.cyclic(7),
        "dihedral(6)": groups.dihedral(6),
        "symmetric(5)": groups.symmetric(5),
        "alternating(4)": groups.alternating(4),
        "grid(3x4)": groups.grid_translations((3, 4)),
        "product(cyclic(3),symmetric(3))": groups.product_action(groups.cyclic(3), groups.symmetric(3)),
        "product(cyclic(2),cyclic(3))": groups.product_action(groups.cyclic(2), groups.cyclic(3)),
        "intransitive((012)(34)+fixed)": intransitive,
        "direct(symmetric(3),cyclic(4))": groups.direct_product(groups.symmetric(3), groups.cyclic(4)),
        "gap((1234)(56),(13))": gap,
    }
    return {name: (H, eqsolve.solve(H)) for name, H in zoo.items()}


def pair_zoo():
    """name -> basis between two different actions of one group."""
    C = groups.cyclic(4)
    S = groups.symmetric(4)
    D = groups.dihedral(5)
    return {
        "cyclic(4):tensor2<-points": eqsolve.solve(out=C.action().tensor(2), inp=C.action()),
        "symmetric(4):points<-2subsets": eqsolve.solve(out=S.action(), inp=S.action().subsets(2)),
        "dihedral(5):trivial<-points": eqsolve.solve(out=D.trivial(), inp=D.action()),
        "dihedral(5):points<-trivial": eqsolve.solve(out=D.action(), inp=D.trivial()),
        "symmetric(4):points+trivial<-points": eqsolve.solve(out=S.action() + S.trivial(), inp=S.action()),
    }


def masked_grid(side=6):
    G = groups.grid_translations((side, side))
    return G, eqsolve.solve(G, support=_near(side)), _near(side)
