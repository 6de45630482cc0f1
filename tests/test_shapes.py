"""The shape-selection task: data generator, labels, mean-shape baseline, model symmetries."""

import numpy as np
import pytest
import torch

from eqsolve import EqsolveError
from eqsolve.layers import shapes


def test_generator_is_deterministic_per_seed():
    a = shapes.make_sets(6, seed=3, m=32, version="graphs")
    b = shapes.make_sets(6, seed=3, m=32, version="graphs")
    c = shapes.make_sets(6, seed=4, m=32, version="graphs")
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and np.array_equal(a.order, b.order)
    assert not torch.equal(a.x, c.x)
    # set s does not depend on how many sets are drawn
    longer = shapes.make_sets(9, seed=3, m=32, version="graphs")
    assert torch.equal(longer.x[:6], a.x)


@pytest.mark.parametrize("version", shapes.VERSIONS)
def test_labels_point_at_the_centre_frame(version):
    seed, m, frames = 5, 32, 16
    data = shapes.make_sets(8, seed=seed, m=m, frames=frames, version=version)
    for s in range(8):
        # replay the generator of set s: the known frame order
        rng = np.random.default_rng([seed, s])
        kind = shapes.KINDS[rng.integers(len(shapes.KINDS))]
        rest, _ = shapes.mesh(kind, m, rng)
        seq = shapes.sequence(rest, frames, rng, 0.01)
        start = rng.integers(frames - 7 + 1)
        assert data.kinds[s] == kind
        label = int(data.y[s])
        np.testing.assert_array_equal(data.coords[s, label], seq[start + 3])
        for i in range(7):  # every element is frame start + order[i] of the sequence
            np.testing.assert_array_equal(data.coords[s, i], seq[start + data.order[s, i]])
        assert sorted(data.order[s].tolist()) == list(range(7))
    # the input's node part is the frames' coordinates, as channels, in the same element order
    np.testing.assert_allclose(data.x[..., :m].numpy(), np.swapaxes(data.coords, -1, -2), rtol=1e-6, atol=1e-6)


def test_meshes_are_triangulations_with_correspondence():
    for kind in shapes.KINDS:
        for m in (32, 50):
            coords, graph = shapes.mesh(kind, m)
            assert coords.shape == (m, 3) and graph.number_of_nodes() == m
            # a closed triangulated surface: V - E + F = 2 (sphere) or 0 (torus), F = 2E/3
            e = graph.number_of_edges()
            assert m - e + 2 * e // 3 == (0 if kind == "torus" else 2)
    data = shapes.make_sets(3, seed=0, m=32, version="graphs")
    m = 32
    adj = data.x[:, :, :, m:].reshape(3, 7, 3, m, m)
    # the adjacency part holds the edge vectors x_i - x_j on mesh edges and zero elsewhere
    pts = torch.as_tensor(np.swapaxes(data.coords, -1, -2), dtype=torch.float32)
    expected = torch.as_tensor(data.adjacency, dtype=torch.float32)[:, None, None] * (pts[..., :, None] - pts[..., None, :])
    assert torch.allclose(adj, expected, atol=1e-6)


def test_mean_shape_baseline_computed_directly():
    data = shapes.make_sets(20, seed=1, m=32)
    direct = []
    for s in range(20):
        frames = [data.coords[s, i] for i in range(7)]
        mean = sum(frames) / 7.0
        dists = [float(np.sum(np.abs(f - mean))) for f in frames]
        direct.append(dists.index(min(dists)))
    assert shapes.mean_shape_choice(data.coords).tolist() == direct
    assert 0.3 < np.mean(np.array(direct) == data.y.numpy()) <= 1.0  # far above chance (1/7)


def _permute_vertices(x, perm, m, version):
    nodes = x[..., :m][..., perm]
    if version == "points":
        return nodes
    adj = x[..., m:].reshape(*x.shape[:-1], m, m)[..., perm, :][..., :, perm]
    return torch.cat([nodes, adj.reshape(*x.shape[:-1], m * m)], -1)


@pytest.mark.parametrize("version", shapes.VERSIONS)
def test_models_are_equivariant(version, rng):
    """Scores permute with the set and are invariant to relabelling the vertices."""
    m = 6  # the models do not depend on the data: random inputs on small meshes keep this fast
    basis = shapes.basis_for(version, m)
    x = torch.from_numpy(rng.standard_normal((2, 7, 3, basis.shape[1])))
    for name in shapes.MODELS:
        norm = None if name == "siamese-ds" else shapes.NORM
        net = shapes._make(name, basis, 4, 3, "mean", norm).double().eval()
        with torch.no_grad():
            ref = net(x)
            for _ in range(2):
                perm = torch.as_tensor(rng.permutation(m))
                order = torch.as_tensor(rng.permutation(7))
                moved = _permute_vertices(x, perm, m, version)[:, order]
                assert torch.allclose(net(moved), ref[:, order], atol=1e-9, rtol=1e-9), name


def test_parameter_counts_are_matched():
    basis = shapes.basis_for("points", 4)
    counts = {name: shapes.models.count_parameters(shapes.build_model(name, basis, width=16))
              for name in shapes.MODELS}
    assert all(abs(c - counts["dss-sum"]) <= 0.1 * counts["dss-sum"] for c in counts.values()), counts


def test_bad_arguments():
    with pytest.raises(EqsolveError, match="mesh size"):
        shapes.mesh("torus", 33)
    with pytest.raises(EqsolveError, match="surface"):
        shapes.mesh("cube", 32)
    with pytest.raises(EqsolveError, match="version"):
        shapes.make_sets(2, version="meshes")
    with pytest.raises(EqsolveError, match="model"):
        shapes.build_model("pointnet", shapes.basis_for("points", 32))


def test_registered_task():
    from eqsolve.layers.train import SetData, Splits, tasks
    from eqsolve.layers.train import shapes as task_module

    task = tasks.get("shapes")
    assert task.default_model == "dss-sum" and "graph-siamese-ds" in task.models
    data = shapes.make_sets(6, seed=0, m=task_module.M, version="graphs")
    split = SetData(data.x, data.y)
    splits = Splits(split, split, split)
    assert task.baseline(splits) == float(np.mean(shapes.mean_shape_choice(data.coords) == data.y.numpy()))
    net = task.build_model("dss-sum", "small", splits)
    assert net(data.x).shape == (6, 7)


class _MeanShapeScorer(torch.nn.Module):
    """Scores each element by minus its L1 distance to the set's per-vertex mean (the node part
    of the input): a fixed model that knows how to find the centre frame."""

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.task = "selection"
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # evaluate() reads the dtype from here

    def forward(self, x, mask=None):
        nodes = x[..., :self.m]
        return -(nodes - nodes.mean(1, keepdim=True)).abs().sum((-1, -2)) + 0 * self.anchor


def test_graph_pipeline_scores_a_model_that_knows_the_answer():
    """Through the task's own wrapper (standardise, graph input) and evaluate(), a model that
    computes the mean-shape rule scores exactly the directly computed baseline; one that
    scores the opposite rule scores its complement. A label, permutation or argmax-axis slip
    anywhere in the graph pipeline breaks these equalities."""
    from eqsolve.layers.train import SetData, evaluate
    from eqsolve.layers.train import shapes as task_module

    m = task_module.M
    data = shapes.make_sets(60, seed=7, m=m, version="graphs")
    direct = float(np.mean(shapes.mean_shape_choice(data.coords) == data.y.numpy()))
    assert direct > 0.4
    wrapped = task_module.Prepared(_MeanShapeScorer(m), m, points=False)
    assert evaluate(wrapped, SetData(data.x, data.y)) == pytest.approx(direct, abs=1e-12)
    # a shuffled set keeps its answer: permute the elements and the labels together
    order = torch.as_tensor(np.random.default_rng(0).permutation(7))
    moved = SetData(data.x[:, order], torch.argsort(order)[data.y])
    assert evaluate(wrapped, moved) == pytest.approx(direct, abs=1e-12)


def test_scores_monotone_along_the_motion_pick_the_ends():
    """Why an untrained or barely trained model scores *below* chance (1/7): the 7 frames lie
    along a smooth path, so a score that is (nearly) linear in the coordinates is monotone
    along it and its maximum sits at an end frame, almost never at the centre. Selecting the
    centre needs a score that peaks in the middle (e.g. minus the distance to the mean)."""
    data = shapes.make_sets(150, seed=11, m=32, version="points")
    x = torch.as_tensor(data.coords, dtype=torch.float64).reshape(150, 7, -1)
    w = torch.from_numpy(np.random.default_rng(1).standard_normal(x.shape[-1]))
    pick = (x @ w).argmax(1).numpy()
    time_index = data.order[np.arange(150), pick]
    assert np.mean(pick == data.y.numpy()) < 0.5 / 7
    assert np.mean((time_index == 0) | (time_index == 6)) > 0.6


def test_set_norm_models_compute_the_same_function_in_training_and_evaluation(rng):
    """The DSS models normalise per set: no running statistics, so what is measured in
    evaluation mode is what training optimised (batch norm's running statistics are not)."""
    basis = shapes.basis_for("graphs", 4)
    net = shapes._make("dss-sum", basis, 4, 3, "mean", shapes.NORM).double()
    x = torch.from_numpy(rng.standard_normal((3, 7, 3, basis.shape[1])))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    net.train()
    net(x).logsumexp(-1).sum().backward()
    optimizer.step()
    with torch.no_grad():
        trained = net.train()(x)
        evaluated = net.eval()(x)
    assert torch.allclose(trained, evaluated, atol=1e-12, rtol=1e-12)


def test_dss_sum_learns_the_point_cloud_task():
    """A small DSS(sum) on point clouds, trained briefly with the preset's settings, beats
    chance and the untrained network by a wide margin (the table's runs, shrunk)."""
    from eqsolve.layers.train import SetData, evaluate, fit

    torch.manual_seed(0)
    train = shapes.make_sets(200, seed=0, m=32)
    test = shapes.make_sets(120, seed=1, m=32)
    net = shapes.build_model("dss-sum", shapes.basis_for("points", 32), width=8)
    test_data = SetData(shapes.standardise(test.x), test.y)
    before = evaluate(net, test_data)
    fit(net, SetData(shapes.standardise(train.x), train.y), epochs=12, lr=3e-3, seed=0)
    after = evaluate(net, test_data)
    assert after > 0.3 and after > before + 0.15, (before, after)

