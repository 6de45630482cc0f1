"""A set of point clouds: S_n x S_k, with the three coordinates as channels.

Each set element is a cloud of k points in R^3, stored as a (3, k) signal: channels are the
coordinates, and H = S_k reorders the points. A set holds n clouds sampled from one shape
(a sphere, a cube's surface or a flat disc, each cloud at its own scale) and the label is the
shape. E(S_k) = 2, so each DSS layer has 2 x 2 weights per channel pair and runs on the
DeepSets fast path.

    python examples/point_clouds.py           # small setting
    python examples/point_clouds.py --full    # more points, more data
"""

import argparse

import numpy as np
import torch

import eqsolve
from eqsolve import layers

SHAPES = ("sphere", "cube", "disc")


def sample_cloud(shape, k, rng):
    """(3, k) points on the surface of one shape, scaled by a random factor, with noise."""
    if shape == "sphere":
        p = rng.standard_normal((k, 3))
        p /= np.linalg.norm(p, axis=1, keepdims=True)
    elif shape == "cube":
        p = rng.uniform(-1, 1, (k, 3))
        face = rng.integers(3, size=k)
        p[np.arange(k), face] = rng.choice([-1.0, 1.0], size=k)
    else:
        radius, angle = np.sqrt(rng.uniform(0, 1, k)), rng.uniform(0, 2 * np.pi, k)
        p = np.stack([radius * np.cos(angle), radius * np.sin(angle), np.zeros(k)], axis=1)
    p = p * rng.uniform(0.5, 1.5) + 0.05 * rng.standard_normal((k, 3))
    return p.T.astype(np.float32)


def make_sets(n_sets, n, k, rng):
    labels = rng.integers(len(SHAPES), size=n_sets)
    x = np.stack([[sample_cloud(SHAPES[y], k, rng) for _ in range(n)] for y in labels])
    return layers.train.SetData(torch.from_numpy(x), torch.from_numpy(labels))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sets, n, k, width, epochs = (2000, 8, 128, 32, 15) if args.full else (480, 4, 32, 16, 8)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)

    H = eqsolve.groups.symmetric(k)
    B = eqsolve.solve(H)
    layer = layers.DSSLinear(B, 3, width)
    print(f"S_{k} on the points of a cloud: E = {B.dim}; DSSLinear(3 -> {width}) has "
          f"{layers.count_parameters(layer)} parameters, path {layer.path}")

    data = make_sets(sets, n, k, rng)
    train, test = data.split(0.8)
    net = layers.models.invariant(B, channels=[3, width, width], n_classes=len(SHAPES))
    history = layers.train.fit(net, train, epochs=epochs, lr=5e-3, seed=args.seed)
    accuracy = layers.train.evaluate(net, test)
    print(f"{layers.count_parameters(net)} parameters, {epochs} epochs: loss {history[0]:.3f} -> "
          f"{history[-1]:.3f}, test accuracy {accuracy:.2f} (chance {1 / len(SHAPES):.2f})")

    report = layers.testing.assert_equivariant(net.double(), (H.action(), None), set_size=n,
                                               out_set_axis=None, rng=args.seed)
    print(f"S_n x S_k invariance: worst relative error {report.error:.1e}")
    return {"dim": B.dim, "accuracy": accuracy, "history": history, "invariance_error": report.error}


if __name__ == "__main__":
    main()
