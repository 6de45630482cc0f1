"""PyTorch layers built from a solved :class:`eqsolve.Basis` (see docs/layers.md).

>>> import torch, eqsolve; from eqsolve import layers
>>> B = eqsolve.solve(eqsolve.groups.symmetric(5))
>>> layers.EquivariantLinear(B, 2, 3)(torch.randn(4, 2, 5)).shape
torch.Size([4, 3, 5])
"""

from . import testing
from .dss import DSSLinear
from .linear import EquivariantLinear
from .norm import EquivariantBatchNorm, SetNorm
from .pool import InvariantPool
from . import baselines, blocks, exporting, models, train
from .registry import MODELS, build
from .exporting import (ExportResult, export, load_exported, load_state_dict, onnx_available, onnx_compatible,
                        read_metadata, save_state_dict)
from .models import count_parameters

__all__: list[str] = [
    "EquivariantLinear",
    "InvariantPool",
    "DSSLinear",
    "EquivariantBatchNorm",
    "SetNorm",
    "testing",
    "models",
    "blocks",
    "baselines",
    "build",
    "MODELS",
    "train",
    "export",
    "exporting",
    "ExportResult",
    "load_exported",
    "read_metadata",
    "onnx_compatible",
    "onnx_available",
    "save_state_dict",
    "load_state_dict",
    "count_parameters",
]
