"""condnet: image classifiers whose inference cost is dynamic (HNN cutout experts, CIGT routing)."""

from condnet.cost import count_macs, count_params
from condnet.errors import CondnetError
from condnet.models import create_model, list_models

__all__ = ["CondnetError", "count_macs", "count_params", "create_model", "list_models"]
__version__ = "0.1.0"
