"""CIGT (paper B): the conditional information gain trellis, its losses and the registered trellises."""

from condnet.models.cigt import families as _families  # noqa: F401  (registers the cigt_* models)
from condnet.models.cigt.loss import classification_loss, entropy, information_gain
from condnet.models.cigt.router import Router, temperature
from condnet.models.cigt.trellis import CIGTNet, CIGTOutput, RoutingConfig, TrellisOptions

__all__ = ["CIGTNet", "CIGTOutput", "Router", "RoutingConfig", "TrellisOptions", "classification_loss",
           "entropy", "information_gain", "temperature"]
