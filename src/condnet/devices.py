"""Device names (auto, cpu, cuda, cuda:N, mps): checked, and resolved to a device that exists here."""

import re

import torch

from condnet.errors import ConfigError

DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"


def check_device_name(name: str, where: str = "train.device") -> str:
    """``name`` if it is a device name condnet accepts, else a clear error."""
    if not isinstance(name, str) or not DEVICE_PATTERN.fullmatch(name):
        raise ConfigError(f"{where} must be one of {DEVICE_HELP}, got {name!r}")
    return name


def resolve_device(name: str, where: str = "train.device") -> torch.device:
    """The torch device for ``name`` ("auto": CUDA when available, else CPU); a device this machine does not
    have is an error naming what it has."""
    check_device_name(name, where)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            have = f"CUDA devices 0..{count - 1}" if count else "no CUDA device"
            raise ConfigError(f"{where} {name} is not available: this machine has {have}; use cpu or auto")
    if device.type == "mps" and not (torch.backends.mps.is_available()):
        raise ConfigError(f"{where} mps is not available on this machine; use cpu or auto")
    return device
