"""The GPU catalog: GPU models as data, looked up by product label or alias, with MIG geometry.

>>> from gpuplane.catalog import lookup, fits_together
>>> a100 = lookup("NVIDIA-A100-SXM4-80GB")
>>> a100.mig_profile("3g.40gb").resource_name
'nvidia.com/mig-3g.40gb'
>>> fits_together(a100, ["4g.40gb", "3g.40gb"]), fits_together(a100, ["4g.40gb"] * 2)
(True, False)
"""

from gpuplane.catalog.mig import fits_together, pack, placements_for, slot_mask
from gpuplane.catalog.models import GpuModel, MigProfile, all_models, find, lookup

__all__ = [
    "GpuModel",
    "MigProfile",
    "all_models",
    "find",
    "fits_together",
    "lookup",
    "pack",
    "placements_for",
    "slot_mask",
]
