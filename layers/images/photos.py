"""The colour photographs that ship inside the scikit-image wheel, split by source image.

No download: every file is read from the installed ``skimage/data`` folder, and a missing file
is a clear :class:`eqsolve.EqsolveError` (never a network fetch). Each photograph is resized
(Lanczos) once so that its shorter side is ``SHORT_SIDE`` pixels (the scale of the Places images of the
paper, 256 x 256), then random crops with random horizontal and vertical flips give volume.

================ ===================================== ======
source           file(s)                               split
================ ===================================== ======
astronaut        astronaut.png                         train
coffee           coffee.png                            train
motorcycle       motorcycle_left.png, _right.png       train
hubble           hubble_deep_field.jpg                 train
retina           retina.jpg                            train
ihc              ihc.png (immunohistochemistry)        train
chelsea          chelsea.png                           test
rocket           rocket.jpg                            test
================ ===================================== ======

The split is by source, so no test crop ever overlaps a training photograph (the stereo pair
counts as one source). ``colorwheel`` and ``logo`` are synthetic and left out.

>>> from eqsolve.layers.images import photos
>>> sorted(photos.SPLITS["test"])
['chelsea', 'rocket']
>>> imgs = photos.load("test")
>>> [im.shape[2] for im in imgs], min(min(im.shape[:2]) for im in imgs)
([3, 3], 256)
"""

from __future__ import annotations

import functools
import os
from typing import Dict, List, Tuple

import numpy as np

from eqsolve import EqsolveError

SHORT_SIDE = 256

SOURCES: Dict[str, Tuple[str, ...]] = {
    "astronaut": ("astronaut.png",),
    "coffee": ("coffee.png",),
    "motorcycle": ("motorcycle_left.png", "motorcycle_right.png"),
    "hubble": ("hubble_deep_field.jpg",),
    "retina": ("retina.jpg",),
    "ihc": ("ihc.png",),
    "chelsea": ("chelsea.png",),
    "rocket": ("rocket.jpg",),
}

SPLITS: Dict[str, Tuple[str, ...]] = {
    "train": ("astronaut", "coffee", "motorcycle", "hubble", "retina", "ihc"),
    "test": ("chelsea", "rocket"),
}

__all__ = ["SHORT_SIDE", "SOURCES", "SPLITS", "data_dir", "load", "random_crops"]


def data_dir() -> str:
    """The ``skimage/data`` folder of the installed wheel."""
    try:
        import skimage.data
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise EqsolveError(
            "the image tasks need scikit-image (pip install 'eqsolve[images]' or scikit-image)"
        ) from err
    return os.path.dirname(skimage.data.__file__)


@functools.lru_cache(maxsize=None)
def _load_source(name: str, short_side: int) -> Tuple[np.ndarray, ...]:
    from PIL import Image  # Pillow: a dependency of scikit-image

    root = data_dir()
    out = []
    for filename in SOURCES[name]:
        path = os.path.join(root, filename)
        if not os.path.isfile(path):
            raise EqsolveError(
                f"photograph {filename!r} (source {name!r}) is not shipped in this scikit-image wheel "
                f"({root}); the image tasks read only files inside the wheel and never download"
            )
        with Image.open(path) as image:
            if image.mode not in ("RGB", "RGBA"):
                raise EqsolveError(f"{filename} is not a colour photograph (mode {image.mode})")
            image = image.convert("RGB")
            scale = short_side / min(image.size)
            size = (int(round(image.size[0] * scale)), int(round(image.size[1] * scale)))
            # Lanczos resampling filters before it subsamples (no aliasing when shrinking)
            small = np.asarray(image.resize(size, Image.LANCZOS), dtype=np.float32) / 255.0
        small = np.ascontiguousarray(small)
        small.setflags(write=False)
        out.append(small)
    return tuple(out)


def load(split: str, short_side: int = SHORT_SIDE) -> List[np.ndarray]:
    """The photographs of ``split`` (``"train"`` or ``"test"``): float32 ``(h, w, 3)`` in [0, 1],
    shorter side ``short_side``, read-only, cached in memory."""
    if split not in SPLITS:
        raise EqsolveError(f"unknown split {split!r}; expected 'train' or 'test'")
    if isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) or short_side < 8:
        raise EqsolveError(f"short_side must be an integer >= 8, got {short_side!r}")
    return [im for name in SPLITS[split] for im in _load_source(name, int(short_side))]


def random_crops(images: List[np.ndarray], count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random ``size x size`` crops, each randomly flipped left-right and up-down.

    The photograph is chosen uniformly (so small sources weigh as much as large ones), the
    position uniformly inside it. Returns float32 ``(count, 3, size, size)``.

    >>> import numpy as np
    >>> random_crops(load("test"), 4, 16, np.random.default_rng(0)).shape
    (4, 3, 16, 16)
    """
    if size > min(min(im.shape[:2]) for im in images):
        raise EqsolveError(f"crop size {size} exceeds the smallest photograph side")
    which = rng.integers(0, len(images), size=count)
    out = np.empty((count, 3, size, size), dtype=np.float32)
    for k, idx in enumerate(which):
        im = images[idx]
        top = rng.integers(0, im.shape[0] - size + 1)
        left = rng.integers(0, im.shape[1] - size + 1)
        crop = im[top:top + size, left:left + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if rng.random() < 0.5:
            crop = crop[::-1]
        out[k] = crop.transpose(2, 0, 1)
    return out
