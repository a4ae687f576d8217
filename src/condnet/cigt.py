"""The public CIGT API (paper B): ``from condnet.cigt import information_gain, CIGTNet, ...``."""

from condnet.models.cigt import (
    CIGTNet,
    CIGTOutput,
    Router,
    RoutingConfig,
    classification_loss,
    entropy,
    information_gain,
    temperature,
)

__all__ = ["CIGTNet", "CIGTOutput", "Router", "RoutingConfig", "classification_loss", "entropy",
           "information_gain", "temperature"]
