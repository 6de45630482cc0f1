"""The paper's image experiments (sections 6.2-6.4) on photographs shipped with scikit-image.

==================== =====================================================================
module               what
==================== =====================================================================
:mod:`.photos`       the colour photographs inside the scikit-image wheel, split by source
:mod:`.sets`         the three tasks' data, trivial predictors and metrics
:mod:`.grids`        bases of the image layers (3 x 3, stride-2, transposed), solved by eqsolve
:mod:`.nets`         U-nets and the selection network, DSS or Siamese+DS layers
:mod:`.pictures`     PNG grids of test examples
:mod:`.experiment`   presets, splits, models, loss, metric for ``eqsolve train``
==================== =====================================================================

Needs scikit-image (the ``images`` extra) and, for pictures, matplotlib. See docs/images.md.

>>> from eqsolve.layers import images
>>> images.sets.TASKS
('colors', 'quality', 'deblur')
"""

from . import experiment, grids, nets, photos, pictures, sets

__all__ = ["photos", "sets", "grids", "nets", "pictures", "experiment"]
