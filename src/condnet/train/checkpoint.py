"""Checkpoints: a resolved config plus tensors, written atomically, read without unpickling objects."""

from pathlib import Path
from typing import Any

import torch

from condnet.errors import CondnetError
from condnet.train.rundir import atomic_file

FORMAT = "condnet-checkpoint-v1"


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``."""
    with atomic_file(Path(path), "wb") as handle:
        torch.save(obj, handle)


def save_checkpoint(path: str | Path, config: dict[str, Any], model_state: dict[str, torch.Tensor],
                    **extra: Any) -> None:
    """Save a checkpoint: format tag, resolved config, model tensors and any extra plain state."""
    save_atomic({"format": FORMAT, "config": config, "model_state": model_state, **extra}, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; clear errors for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CondnetError(f"checkpoint {path} not found; pass a run directory or a .pt file written by condnet")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CondnetError(f"{path} is not a readable condnet checkpoint ({first}); "
                           "it may be truncated or written by another program") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CondnetError(f"{path} is not a condnet checkpoint (no {FORMAT} tag)")
    missing = [key for key in ("config", "model_state") if not isinstance(data.get(key), dict)]
    if missing:
        raise CondnetError(f"{path} lacks {' and '.join(missing)}; it is damaged or was not written by condnet")
    return data
