"""Permutation groups given by generators, and their actions.

>>> H = PermutationGroup.parse("(0 1 2)(3 4); (0 1)", degree=5)
>>> H.degree, H.order(), [list(o) for o in H.orbits()]
(5, 12, [[0, 1, 2], [3, 4]])
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Callable, Iterable, Sequence

import numpy as np

from ._errors import ActionMismatchError, DegreeMismatchError, EqsolveError
from ._parse import cycles_to_array, format_permutation, parse_cycles
from ._perm import canonical_labels, check_array_form, point_orbit_labels, product_images  # noqa: F401 (re-exported)

GeneratorLike = "Sequence[int] | np.ndarray | str | sympy.combinatorics.Permutation"


class PermutationGroup:
    """A permutation group H <= S_d given by generators (0-based points).

    Parameters
    ----------
    generators:
        Array forms (``[1, 2, 0]``), 0-based cycle strings (``"(0 1 2)(3 4)"``),
        sympy ``Permutation`` objects, or a sympy ``PermutationGroup``.
        ``[]`` gives the trivial group (then ``degree`` is required).
    degree:
        Number of points; inferred from the generators when omitted.

    Examples
    --------
    >>> PermutationGroup([[1, 2, 0]]).order()
    3
    >>> PermutationGroup(["(0 1)"], degree=3).orbits()
    [(0, 1), (2,)]
    """

    __slots__ = ("_degree", "_generators", "_chain", "_order", "_log2_order", "_sampler", "_member", "_name",
                 "_shape", "_nodes", "_node_to_point")

    def __init__(self, generators: Iterable = (), degree: int | None = None, *, name: str | None = None,
                 order: "int | Callable[[], int] | None" = None,
                 log2_order: "Callable[[], float] | None" = None,
                 sampler: "Callable[[np.random.Generator], np.ndarray] | None" = None,
                 member: "Callable[[np.ndarray], bool] | None" = None,
                 shape: "tuple[int, ...] | None" = None, nodes: "Sequence | None" = None):
        if degree is not None:
            degree = _check_degree(degree)
        gens = _as_generator_list(generators)
        if degree is None:
            degree = _sympy_degree(gens)  # sympy pads permutations of different sizes to the largest
        arrays = _to_arrays(gens, degree)
        if degree is None:
            if not arrays:
                raise DegreeMismatchError("degree is missing: a group with no generators needs degree=...")
            degree = len(arrays[0])
        for index, arr in enumerate(arrays):
            if len(arr) != degree:
                raise DegreeMismatchError(
                    f"generators of different degrees: generator {index} has degree {len(arr)}, "
                    f"expected {degree}"
                )
        table = np.array(arrays, dtype=np.int64).reshape(len(arrays), degree)
        table.setflags(write=False)
        if nodes is not None:
            nodes = tuple(nodes)
            if len(nodes) != degree:
                raise DegreeMismatchError(f"nodes= names {len(nodes)} nodes for a group on {degree} points")
        if shape is not None:
            shape = tuple(int(s) for s in shape)
            if math.prod(shape) != degree:
                raise DegreeMismatchError(f"shape={shape} has {math.prod(shape)} points, the group has {degree}")
        set_ = object.__setattr__
        set_(self, "_degree", degree)
        set_(self, "_generators", table)
        set_(self, "_chain", None)
        set_(self, "_order", order)
        set_(self, "_log2_order", log2_order)
        set_(self, "_sampler", sampler)
        set_(self, "_member", member)
        set_(self, "_name", name)
        set_(self, "_shape", shape)
        set_(self, "_nodes", nodes)
        set_(self, "_node_to_point", None if nodes is None else {v: i for i, v in enumerate(nodes)})

    def __setattr__(self, key, value):
        raise AttributeError(f"PermutationGroup is immutable: cannot set {key!r} "
                             "(pass name=, order=, log2_order=, sampler=, member=, shape=, nodes= to the constructor)")

    # -- facts given at construction -----------------------------------------
    @property
    def name(self) -> str | None:
        """The group's name (``"cyclic(8)"``) when it was built by name, else None."""
        return self._name

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Grid shape of a translation group (points in row-major order), else None."""
        return self._shape

    @property
    def nodes(self) -> tuple | None:
        """For a graph's automorphism group: ``nodes[i]`` is the graph node of point ``i``."""
        return self._nodes

    @property
    def node_to_point(self) -> dict | None:
        """For a graph's automorphism group: the point of each graph node (inverse of :attr:`nodes`).

        >>> import networkx as nx
        >>> from eqsolve import groups
        >>> groups.automorphisms(nx.path_graph(["a", "b", "c"])).node_to_point
        {'a': 0, 'b': 1, 'c': 2}
        """
        return None if self._node_to_point is None else dict(self._node_to_point)

    def __mul__(self, other: "PermutationGroup") -> "PermutationGroup":
        """``H * K``: the direct product on the disjoint union of the points (H's first).

        >>> from eqsolve import groups
        >>> (groups.cyclic(3) * groups.symmetric(2)).order()
        6
        """
        if not isinstance(other, PermutationGroup):
            return NotImplemented
        from .groups import direct_product

        return direct_product(self, other)

    # -- construction -----------------------------------------------------
    @classmethod
    def parse(cls, text: str, degree: int | None = None) -> "PermutationGroup":
        """Group from 0-based cycle notation, generators separated by ``;``.

        >>> PermutationGroup.parse("(0 1 2 3)(4 5); (0 1)", degree=6).order()
        48
        """
        return cls._from_cycle_lists(parse_cycles(text), degree)

    @classmethod
    def from_gap(cls, text: str, degree: int | None = None) -> "PermutationGroup":
        """Group from 1-based GAP notation: ``"(1,2,3)(4,5), (1,2)"``.

        >>> PermutationGroup.from_gap("(1,2,3), (1,2)").generators.tolist()
        [[1, 2, 0], [1, 0, 2]]
        """
        return cls._from_cycle_lists(parse_cycles(text, one_based=True), degree, one_based=True)

    @classmethod
    def _from_cycle_lists(cls, cycle_lists, degree, one_based: bool = False):
        if degree is None:
            points = [p for gen in cycle_lists for cyc in gen for p in cyc]
            if not points and not cycle_lists:
                raise DegreeMismatchError("degree is missing: an empty generator list needs degree=...")
            degree = max(points) + 1 if points else 1
        degree = _check_degree(degree)
        return cls([cycles_to_array(c, degree, one_based) for c in cycle_lists], degree=degree)

    # -- basic data -----------------------------------------------------------
    @property
    def degree(self) -> int:
        """Number of points the group acts on."""
        return self._degree

    @property
    def generators(self) -> np.ndarray:
        """Read-only ``(k, degree)`` int64 array of generator array forms."""
        return self._generators

    @property
    def ngens(self) -> int:
        return self._generators.shape[0]

    def __repr__(self) -> str:
        if self._name is not None:
            return self._name
        return f"PermutationGroup.parse({str(self)!r}, degree={self.degree})"

    def __str__(self) -> str:
        return "; ".join(format_permutation(g) for g in self._generators)

    def to_gap(self) -> str:
        """1-based GAP notation of the generators."""
        return ", ".join(format_permutation(g, one_based=True) for g in self._generators)

    def __eq__(self, other) -> bool:
        """Same degree and the same generator list (structural equality).

        Use :meth:`is_same_group` for equality of the generated groups.
        """
        if not isinstance(other, PermutationGroup):
            return NotImplemented
        return self.degree == other.degree and np.array_equal(self._generators, other._generators)

    def __hash__(self) -> int:
        return hash((self.degree, self._generators.tobytes()))

    # -- group theory ------------------------------------------------------------
    @property
    def chain(self):
        """Stabilizer chain (built on first use)."""
        if self._chain is None:
            from ._chain import stabilizer_chain

            object.__setattr__(self, "_chain", stabilizer_chain(self._generators, self._degree))
        return self._chain

    def order(self) -> int:
        """Exact group order (a Python int; orders overflow 64 bits).

        Refused (:class:`ProblemTooLargeError`) above ``ORDER_MAX_BITS`` bits (about 315,000
        digits, S_d for d above about 75,000), where the integer alone takes minutes.
        """
        if not isinstance(self._order, int):
            bits = self.log2_order()
            if bits > ORDER_MAX_BITS:
                from ._errors import ProblemTooLargeError

                raise ProblemTooLargeError(
                    f"the order of {self.name or 'this group'} is about 10^{int(bits * math.log10(2))} "
                    f"({bits:.3g} bits), above the {ORDER_MAX_BITS} bits eqsolve computes exactly; "
                    "use log2_order() for its size"
                )
            if not isinstance(self._order, int):  # log2_order() may have computed it
                value = self._order() if callable(self._order) else self.chain.order
                object.__setattr__(self, "_order", int(value))
        return self._order

    def log2_order(self) -> float:
        """log2 of the group order, without building a huge integer.

        >>> import eqsolve
        >>> round(eqsolve.groups.symmetric(10**6).log2_order())
        18488885
        """
        if isinstance(self._order, int):
            return math.log2(self._order)
        if self._log2_order is not None:
            return float(self._log2_order())
        if callable(self._order):  # cheap by construction when no log2 formula is given
            object.__setattr__(self, "_order", int(self._order()))
            return math.log2(self._order)
        return float(self.chain.log2_order)

    def orbits(self) -> list[tuple[int, ...]]:
        """Orbits on points, each sorted, ordered by smallest point.

        Notes: one connected-components pass over the generator graph, O(d k).
        """
        labels = point_orbit_labels(self._generators, self._degree)
        return [tuple(np.flatnonzero(labels == k).tolist()) for k in range(int(labels.max(initial=-1)) + 1)]

    def random_element(self, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """A uniformly random element (array form).

        >>> g = PermutationGroup([[1, 2, 0]]).random_element(np.random.default_rng(0))
        >>> sorted(g.tolist())
        [0, 1, 2]
        """
        rng = np.random.default_rng(rng)
        if self._sampler is not None:
            return self._sampler(rng)
        return self.chain.random_element(rng)

    def __contains__(self, perm) -> bool:
        return self.contains(perm)

    def contains(self, perm) -> bool:
        """Membership test for an array form or a 0-based cycle string."""
        arr = _to_arrays(_as_generator_list([perm]), self._degree, label="element")[0]
        if len(arr) != self._degree:
            raise DegreeMismatchError(f"element of degree {len(arr)} tested in a group of degree {self._degree}")
        if self._member is not None:
            return self._member(arr)
        return self.chain.contains(arr)

    def is_same_group(self, other: "PermutationGroup") -> bool:
        """True when both generating sets generate the same group."""
        return (
            self.degree == other.degree
            and all(self.contains(g) for g in other.generators)
            and all(other.contains(g) for g in self.generators)
        )

    def to_sympy(self):
        """The same group as a ``sympy.combinatorics.PermutationGroup``."""
        from sympy.combinatorics import Permutation
        from sympy.combinatorics import PermutationGroup as SympyGroup

        gens = [Permutation(g.tolist(), size=self.degree) for g in self._generators]
        return SympyGroup(gens or [Permutation(list(range(self.degree)), size=self.degree)])

    # -- actions -----------------------------------------------------------------
    def action(self) -> "Action":
        """The natural action on the group's own points."""
        return Action(self, self._generators, recipe=lambda g: g, name="points", check=False)

    def trivial(self) -> "Action":
        """The trivial action on one point."""
        return Action(self, np.zeros((self.ngens, 1), dtype=np.int64), recipe=lambda g: np.zeros(1, np.int64), name="trivial",
                      check=False)


class Action:
    """A permutation representation of a group: generator images on ``degree`` points.

    ``images[s]`` is the image of the group's generator ``s``. Actions of one
    group combine with ``+`` (disjoint union), ``*`` (product),
    :meth:`tensor` and :meth:`subsets`.

    Images given here are checked to define an action (``check=True``): images that break a
    relation of the generators raise :class:`NotAnActionError` instead of silently solving
    for the larger group they generate. The check is exact for small groups and tests the
    orders of short words otherwise (``eqsolve._homomorphism``); ``check=False`` skips it
    (the combinations above are actions by construction and skip it).

    >>> H = PermutationGroup.parse("(0 1 2)")
    >>> rho = H.action()
    >>> (rho + H.trivial()).degree, rho.tensor(2).degree, rho.subsets(2).degree
    (4, 9, 3)
    """

    def __init__(self, group: PermutationGroup, images, recipe=None, name: str = "custom", *, check: bool = True):
        images = np.asarray(images)
        if images.ndim != 2 or images.shape[0] != group.ngens:
            raise DegreeMismatchError(
                f"an action needs one image per generator: the group has {group.ngens} generators, "
                f"got images of shape {images.shape}"
            )
        checked = np.array(
            [check_array_form(row, f"image of generator {i}") for i, row in enumerate(images)],
            dtype=np.int64,
        ).reshape(images.shape)
        checked.setflags(write=False)
        if check:
            from ._homomorphism import check_action

            check_action(group, checked)
        self.group = group
        self.images = checked
        self._recipe = recipe
        self.name = name

    @property
    def degree(self) -> int:
        return self.images.shape[1]

    def __repr__(self) -> str:
        return f"Action({self.name}, degree={self.degree}, group of degree {self.group.degree})"

    def image_of(self, element) -> np.ndarray:
        """Image of a group element (array form on the group's points) in this action."""
        if self._recipe is None:
            raise EqsolveError(
                f"action {self.name!r} was given by generator images only; use "
                "eqsolve.random_elements(rng, actions) to sample matching images"
            )
        g = np.asarray(element, dtype=np.int64)
        if g.shape != (self.group.degree,):
            raise DegreeMismatchError(f"element of shape {g.shape}, the group has degree {self.group.degree}")
        return self._recipe(g)

    def _same_group(self, other: "Action") -> None:
        if not isinstance(other, Action):
            raise ActionMismatchError(f"expected an Action, got {type(other).__name__}")
        if self.group is not other.group and self.group != other.group:
            raise ActionMismatchError(
                f"actions of different groups: {self.group!r} and {other.group!r}"
            )

    def _combine(self, other, images, recipe, name):
        both = None if self._recipe is None or other._recipe is None else recipe
        return Action(self.group, images, both, name, check=False)

    def __add__(self, other: "Action") -> "Action":
        """Disjoint union: points of ``self`` first, then those of ``other`` shifted."""
        self._same_group(other)
        images = np.concatenate([self.images, other.images + self.degree], axis=1)
        recipe = lambda g: np.concatenate([self.image_of(g), other.image_of(g) + self.degree])
        return self._combine(other, images, recipe, f"({self.name} + {other.name})")

    def __mul__(self, other: "Action") -> "Action":
        """Product action on pairs (i, j), flattened as ``i * other.degree + j``."""
        self._same_group(other)
        images = product_images(self.images, other.images)
        recipe = lambda g: product_images(self.image_of(g)[None], other.image_of(g)[None])[0]
        return self._combine(other, images, recipe, f"({self.name} * {other.name})")

    def tensor(self, k: int) -> "Action":
        """Action on k-tuples [d]^k (row-major), k >= 0; k = 0 is the trivial action."""
        if not isinstance(k, (int, np.integer)) or k < 0:
            raise EqsolveError(f"tensor power must be an integer >= 0, got {k!r}")
        _check_size(self.degree ** k, f"tensor({k}) of an action on {self.degree} points")
        if k == 0:
            return self.group.trivial()
        if k == 1:
            return self
        result = self
        for _ in range(k - 1):
            result = result * self
        result.name = f"{self.name}^{k}"
        return result

    def subsets(self, k: int) -> "Action":
        """Action on the k-subsets of the points, in lexicographic order."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 or k > self.degree:
            raise EqsolveError(f"subset size must be in 0..{self.degree}, got {k!r}")
        _check_size(math.comb(self.degree, k) * max(k, 1), f"{k}-subsets of {self.degree} points")
        subsets = np.array(list(combinations(range(self.degree), k)), dtype=np.int64).reshape(math.comb(self.degree, k), k)
        lookup = {tuple(s): i for i, s in enumerate(subsets.tolist())}

        def image(perm):
            moved = np.sort(perm[subsets], axis=1)
            return np.array([lookup[tuple(row)] for row in moved.tolist()], dtype=np.int64)

        images = np.array([image(g) for g in self.images], dtype=np.int64).reshape(self.group.ngens, len(subsets))
        recipe = None if self._recipe is None else (lambda g: image(self.image_of(g)))
        return Action(self.group, images, recipe, f"{k}-subsets of {self.name}", check=False)


MAX_POINTS = 1 << 26
ORDER_MAX_BITS = 1 << 20


def _check_size(n: int, what: str) -> None:
    from ._errors import ProblemTooLargeError

    if n > MAX_POINTS:
        raise ProblemTooLargeError(f"{what} has {n} points (more than {MAX_POINTS}); it would need {8 * n} bytes per generator")


def _check_degree(degree) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise DegreeMismatchError(f"degree must be an integer >= 0, got {degree!r}")
    if degree < 0:
        raise DegreeMismatchError(f"degree must be >= 0, got {degree}")
    _check_size(int(degree), "a group")
    return int(degree)


def _is_sympy(obj, name: str) -> bool:
    """``obj`` is a sympy object of class ``name``, without importing sympy (it is slow to import)."""
    return type(obj).__module__.startswith("sympy.") and any(c.__name__ == name for c in type(obj).__mro__)


def _as_generator_list(generators) -> list:
    if isinstance(generators, str):
        raise EqsolveError(
            f"generators given as one string {generators!r}: use PermutationGroup.parse(...) "
            "or a list of cycle strings"
        )
    if _is_sympy(generators, "PermutationGroup"):
        return list(generators.generators)
    if _is_sympy(generators, "Permutation"):
        raise EqsolveError(f"generators must be a list: write PermutationGroup([{generators!r}])")
    if isinstance(generators, np.ndarray) and generators.ndim == 2:
        return list(generators)
    try:
        gens = list(generators)
    except TypeError:
        raise EqsolveError(f"generators must be a list, got {type(generators).__name__}: {generators!r}") from None
    if gens and all(isinstance(g, (int, np.integer)) and not isinstance(g, bool) for g in gens):
        shown = "[" + ", ".join(str(int(g)) for g in gens[:12]) + (", ..." if len(gens) > 12 else "") + "]"
        raise EqsolveError(
            f"generators must be a list of permutations, got one flat list of points {shown}: "
            f"write PermutationGroup([{shown}]) for the group generated by that one permutation"
        )
    return gens


def _sympy_degree(gens: list) -> int | None:
    """Largest size among sympy permutations (sympy pads the smaller ones), or None."""
    sizes = [g.size for g in gens if _is_sympy(g, "Permutation")]
    if not sizes:
        return None
    others = [len(g) for g in gens if not _is_sympy(g, "Permutation") and not isinstance(g, str) and hasattr(g, "__len__")]
    return max(sizes + others)


def _to_arrays(gens: list, degree: int | None, label: str = "generator") -> list[np.ndarray]:
    # cycle strings need a degree: use the given one, else the largest point + 1 over all of them
    if degree is None:
        sizes = []
        for g in gens:
            if isinstance(g, str):
                pts = [p for gen in parse_cycles(g) for c in gen for p in c]
                sizes.append(max(pts) + 1 if pts else 0)
            elif _is_sympy(g, "Permutation"):
                sizes.append(g.size)
            else:
                sizes.append(len(g) if hasattr(g, "__len__") else 0)
        if gens and all(isinstance(g, str) for g in gens):
            degree = _check_degree(max(sizes)) if sizes else None
    arrays = []
    name = label
    for index, g in enumerate(gens):
        label = f"{name} {index}" if name == "generator" else name
        if isinstance(g, str):
            cycle_lists = parse_cycles(g)
            if len(cycle_lists) > 1:
                raise EqsolveError(f"{label} {g!r} contains several generators separated by ';'")
            d = degree if degree is not None else _check_degree(max(
                [p for gen in cycle_lists for c in gen for p in c], default=-1) + 1)
            arrays.append(cycles_to_array(cycle_lists[0] if cycle_lists else [], d))
        elif _is_sympy(g, "Permutation"):
            arr = list(g.array_form)
            if degree is not None and len(arr) < degree:
                arr += list(range(len(arr), degree))
            arrays.append(check_array_form(arr, label))
        else:
            arrays.append(check_array_form(g, label))
    return arrays
