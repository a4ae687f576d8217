"""Model zoo: stage backbones, the registry, and (in subpackages) HNN and CIGT."""

from condnet.models import backbones as _backbones  # noqa: F401  (registers the plain backbones)
from condnet.models import cigt as _cigt  # noqa: F401  (registers the CIGT trellises)
from condnet.models import hnn as _hnn  # noqa: F401  (registers the hnn_* models)
from condnet.models.backbones import BACKBONES, backbone_spec
from condnet.models.registry import (
           Family,
           create_model,
           family_of,
           list_models,
           model_entry,
           register_family,
           register_model,
           resolve_model_config,
)
from condnet.models.stages import BackboneSpec, StageNet, StageSpec

__all__ = ["BACKBONES", "BackboneSpec", "Family", "StageNet", "StageSpec", "backbone_spec", "create_model",
           "family_of", "list_models", "model_entry", "register_family", "register_model",
           "resolve_model_config"]
