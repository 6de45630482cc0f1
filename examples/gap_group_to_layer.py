"""A group of your own, typed in GAP notation, to a trained and checked DSS network.

The group: the symmetries of a hexagon (rotations and reflections, order 12), written as a
GAP user would, 1-based. Each set element is a signal on the hexagon's 6 corners, moved by a
random symmetry; every set is one of four base patterns plus noise, and the label is the
pattern. The symmetry of the task is exactly S_n x H, so a DSS network for H fits it.

    python examples/gap_group_to_layer.py           # small setting (a few seconds)
    python examples/gap_group_to_layer.py --full    # more data, wider network, more epochs
"""

import argparse

import numpy as np
import torch

import eqsolve
from eqsolve import layers, theory

GAP = "(1,2,3,4,5,6), (2,6)(3,5)"  # rotation by one corner, reflection through corner 1
PATTERNS = np.array([
    [1, 0, 0, 0, 0, 0],  # one corner lit
    [1, 1, 0, 0, 0, 0],  # two neighbours
    [1, 0, 1, 0, 0, 0],  # two at distance 2
    [1, 0, 0, 1, 0, 0],  # two opposite corners
], dtype=np.float32)


def make_sets(H, n_sets, n, noise, rng):
    """Sets of n noisy copies of one pattern, each moved by its own random element of H."""
    labels = rng.integers(len(PATTERNS), size=n_sets)
    x = np.empty((n_sets, n, 1, H.degree), dtype=np.float32)
    for s, label in enumerate(labels):
        for i in range(n):
            g = H.random_element(rng)
            moved = np.empty(H.degree, dtype=np.float32)
            moved[g] = PATTERNS[label]  # the value at point p moves to point g[p]
            x[s, i, 0] = moved + noise * rng.standard_normal(H.degree)
    return layers.train.SetData(torch.from_numpy(x), torch.from_numpy(labels))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sets, n, width, epochs = (4000, 10, 32, 30) if args.full else (600, 6, 8, 8)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    H = eqsolve.PermutationGroup.from_gap(GAP)
    B = eqsolve.solve(H)
    print(f"H = <{H.to_gap()}>: degree {H.degree}, order {H.order()}")
    print(f"E(H) = {B.dim} shared weights per channel pair "
          f"(Lemma 1 by Burnside: {eqsolve.count(H, method='burnside')})")
    claims = theory.theorem1(H, n)
    print(f"Theorem 1 for sets of {n}: E(S_n x H) = {claims[1].predicted}, agree={claims.agree}")

    data = make_sets(H, sets, n, noise=0.6, rng=rng)
    train, test = data.split(0.8)
    net = layers.models.invariant(B, channels=[1, width, width], n_classes=len(PATTERNS))
    history = layers.train.fit(net, train, epochs=epochs, lr=5e-3, seed=args.seed)
    accuracy = layers.train.evaluate(net, test)
    print(f"trained {layers.count_parameters(net)} parameters for {epochs} epochs: "
          f"loss {history[0]:.3f} -> {history[-1]:.3f}, test accuracy {accuracy:.2f} "
          f"(chance {1 / len(PATTERNS):.2f})")

    report = layers.testing.assert_equivariant(net.double(), (H.action(), None), set_size=n,
                                                out_set_axis=None, rng=args.seed)
    print(f"S_n x H invariance: worst relative error {report.error:.1e} over {report.trials} random elements")
    return {"dim": B.dim, "order": H.order(), "theorem1_agree": claims.agree, "accuracy": accuracy,
            "history": history, "invariance_error": report.error}


if __name__ == "__main__":
    main()
