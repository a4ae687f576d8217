"""Paper A's hierarchical network (HNN): trunk, nested per-category segments, cutout, top-down attention."""

from condnet.models.hnn import zoo as _zoo  # noqa: F401  (registers the hnn_* models)
from condnet.models.hnn.network import HNN
from condnet.models.hnn.plan import Segment, plan_segments

__all__ = ["HNN", "Segment", "plan_segments"]
