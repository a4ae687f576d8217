"""The module a deployed model runs: eval mode, BatchNorm folded, an HNN's siblings fused.

:func:`inference_copy` is what ``condnet export`` exports and what ``condnet bench`` times in eager mode,
for every model kind alike (a plain backbone gets its BatchNorm folded too), so that side-by-side figures
compare like with like. The ONNX export is planned for onnxruntime (see :func:`inference_copy`).
"""

from torch import nn

from condnet.deploy.exportable import exportable_copy
from condnet.deploy.fused_hnn import FusedHNN
from condnet.models.hnn import HNN


def inference_copy(model: nn.Module, runtime: str = "eager") -> nn.Module:
    """An eval-mode copy of ``model`` for inference: :func:`exportable_copy`, and for an HNN (or expert)
    a :class:`FusedHNN` of it. For ``runtime="onnx"`` the fusion uses no block-diagonal weights: measured,
    onnxruntime runs them slower than the separate kernels they replace (docs/hnn.md)."""
    copied = exportable_copy(model)
    return FusedHNN(copied, block_diagonal=runtime != "onnx") if isinstance(copied, HNN) else copied
