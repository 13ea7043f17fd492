"""Cost accounting: parameter counts and GMACs, computed on the meta device.

Convention, stated next to every figure: **1 MAC = 1 multiply-add; the papers' "GFLOPs" are
MACs** (PyTorch FLOPs / 2). See :mod:`mthub.analysis.units` for what is and is not counted.

    >>> from mthub.analysis import build_on_meta, count_macs, count_parameters
    >>> model = build_on_meta(torchvision.models.resnet50)
    >>> count_macs(model, (torch.empty(1, 3, 224, 224, device="meta"),)).total_gmacs  # 4.09
"""

from .flops import MacCount, MetaDeviceError, count_macs
from .formulas import sdpa_macs
from .meta import build_on_meta, is_on_meta, meta_copy, to_meta
from .params import ROOT, ParamCount, count_parameters
from .summary import format_summary, model_summary
from .units import CONVENTION, CONVENTION_DETAIL, format_bytes, format_macs, format_params

__all__ = [
    "CONVENTION",
    "CONVENTION_DETAIL",
    "ROOT",
    "MacCount",
    "MetaDeviceError",
    "ParamCount",
    "build_on_meta",
    "count_macs",
    "count_parameters",
    "format_bytes",
    "format_macs",
    "format_params",
    "format_summary",
    "is_on_meta",
    "meta_copy",
    "model_summary",
    "sdpa_macs",
    "to_meta",
]
