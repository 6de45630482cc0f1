"""Matching random images of one group element in several actions."""

from __future__ import annotations

import numpy as np

from ._errors import ActionMismatchError, EqsolveError


def random_elements(rng, actions) -> list[np.ndarray]:
    """Images of ONE uniform random group element in each of ``actions``.

    Works for actions given by generator images only (no ``image_of``), by
    sampling the group's joint action on the disjoint union of their points.
    To draw many, build the sampler once with :func:`joint_sampler`.

    >>> import eqsolve
    >>> H = eqsolve.groups.cyclic(4)
    >>> g, gg = random_elements(0, [H.action(), H.action().tensor(2)])
    >>> bool((gg == H.action().tensor(2).image_of(g)).all())
    True
    """
    return joint_sampler(actions)(np.random.default_rng(rng))


def joint_sampler(actions):
    """A function ``rng -> [image in each action]`` of one uniform random element."""
    from ._chain import stabilizer_chain

    actions = list(actions)
    if not actions:
        raise EqsolveError("random_elements needs at least one action")
    group = actions[0].group
    for action in actions[1:]:
        if action.group is not group and action.group != group:
            raise ActionMismatchError(f"actions of different groups: {group!r} and {action.group!r}")
    if all(a._recipe is not None for a in actions):
        def sample(rng):
            g = group.random_element(rng)
            return [a.image_of(g) for a in actions]

        return sample
    offsets = np.cumsum([0] + [a.degree for a in actions])
    joint = np.concatenate([a.images + off for a, off in zip(actions, offsets)], axis=1)
    chain = stabilizer_chain(joint, int(offsets[-1]))

    def sample_joint(rng):
        g = chain.random_element(rng)
        return [g[lo:hi] - lo for lo, hi in zip(offsets[:-1], offsets[1:])]

    return sample_joint
