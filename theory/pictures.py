"""Pictures of weight-sharing patterns: ``orbit_index`` as a colour image.

Entry (i, j) of an equivariant weight matrix gets the colour of its basis id (the
orbit of the pair), so equal colours mean one shared weight. matplotlib is imported
here only, lazily (``pip install 'eqsolve[plot]'``); the figure is drawn with the Agg
canvas (no pyplot, no global backend change) and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eqsolve import EqsolveError
from eqsolve._io import atomic_write


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def colours(table: np.ndarray) -> np.ndarray:
    """RGB image (h, w, 3) in [0, 1]: up to 20 ids get the tab20 palette, more ids the smooth
    "turbo" colour map in id order; -1 (outside a support) is white."""
    table = np.asarray(table)
    ids = table.max(initial=-1) + 1
    rgb = np.ones(table.shape + (3,))
    inside = table >= 0
    if ids <= 20:
        palette = np.array(_TAB20)[: max(ids, 1)] / 255.0
    else:
        # ids are numbered by first appearance in row-major order, so a smooth colour map
        # shows the structure: for a shift-invariant layer every row is a shifted gradient
        from matplotlib import colormaps

        palette = colormaps["turbo"](np.linspace(0.0, 1.0, ids))[:, :3]
    rgb[inside] = palette[table[inside]]
    return rgb


def draw_sharing(table, path, title: str = "", blocks: int | None = None, max_points: int = 512,
                 dpi: int = 110, subtitle: str = "") -> dict:
    """Write a PNG of the sharing pattern ``table`` (an orbit_index) to ``path``.

    Parameters
    ----------
    table:
        ``(d_out, d_in)`` integer array (basis ids, -1 outside a support).
    blocks:
        For S_n x H tables: the number n of elements; each of the n x n blocks is shown
        (cropped to its top-left corner if needed) and separated by lines.
    max_points:
        Largest number of rows/columns drawn; bigger tables show their top-left corner
        (per block with ``blocks``), and the caption says so.

    Returns a dict with the path, the shape drawn and whether it was cropped.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise EqsolveError("pictures need matplotlib: pip install 'eqsolve[plot]'") from None
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 1:
        raise EqsolveError(f"max_points must be an integer >= 1, got {max_points!r}")
    table = np.asarray(table)
    if table.ndim != 2:
        raise EqsolveError(f"a sharing table must be 2-dimensional, got shape {table.shape}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise EqsolveError(f"pictures are written as PNG: give a path ending in .png, got {str(path)!r}")
    shown, cropped, lines = _crop(table, blocks, max_points)
    dim = int(table.max(initial=-1)) + 1
    fig = Figure(figsize=(6.4, 6.4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(colours(_relabel(shown)), interpolation="nearest")
    for pos in lines:
        ax.axhline(pos - 0.5, color="black", linewidth=1.2)
        ax.axvline(pos - 0.5, color="black", linewidth=1.2)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("input index j" + (" (drawn indices)" if cropped and blocks else ""))
    ax.set_ylabel("output index i" + (" (drawn indices)" if cropped and blocks else ""))
    head = title or "weight-sharing pattern"
    caption = f"{dim} shared weights over a {table.shape[0]} x {table.shape[1]} matrix (one colour each)"
    if cropped and blocks:
        k = shown.shape[0] // blocks
        caption += f";\nshowing the first {k} of the {table.shape[0] // blocks} indices of each of the {blocks} x {blocks} blocks"
    elif cropped:
        caption += f";\nshowing the top-left {shown.shape[0]} x {shown.shape[1]} corner"
    if subtitle:
        caption = subtitle + "\n" + caption
    ax.set_title(head + "\n" + caption, fontsize=9)
    fig.tight_layout()
    _atomic_savefig(fig, path)
    return {"path": str(path), "shape": list(table.shape), "shown": list(shown.shape), "cropped": cropped,
            "dimension": dim}


def _relabel(table: np.ndarray) -> np.ndarray:
    """Number the ids that are drawn by first appearance (row-major), so the colours spread
    over what is visible; equal ids keep equal colours, -1 stays -1."""
    flat = table.ravel()
    inside = flat >= 0
    ids, first = np.unique(flat[inside], return_index=True)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(ids))
    out = np.full(flat.shape, -1, dtype=np.int64)
    out[inside] = rank[np.searchsorted(ids, flat[inside])]
    return out.reshape(table.shape)


def _crop(table: np.ndarray, blocks: int | None, max_points: int):
    rows, cols = table.shape
    if blocks:
        if rows % blocks or cols % blocks:
            raise EqsolveError(f"a table of shape {table.shape} cannot be split into {blocks} x {blocks} blocks")
        d_r, d_c = rows // blocks, cols // blocks
        k_r = max(1, min(d_r, max_points // blocks))
        k_c = max(1, min(d_c, max_points // blocks))
        r_idx = (np.arange(blocks)[:, None] * d_r + np.arange(k_r)).ravel()
        c_idx = (np.arange(blocks)[:, None] * d_c + np.arange(k_c)).ravel()
        shown = table[np.ix_(r_idx, c_idx)]
        lines = [k_r * b for b in range(1, blocks)] if k_r == k_c else []
        return shown, (k_r < d_r or k_c < d_c), lines
    k_r, k_c = min(rows, max_points), min(cols, max_points)
    return table[:k_r, :k_c], (k_r < rows or k_c < cols), []


def _atomic_savefig(fig, path: Path) -> None:
    atomic_write(path, lambda handle: fig.savefig(handle, format="png"))


_TAB20 = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
    (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
    (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (199, 199, 199),
    (219, 219, 141), (158, 218, 229),
]
