"""Checkpoints: a resolved config plus tensors, written atomically, read without unpickling objects."""

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from condnet.errors import CheckpointError
from condnet.files import atomic_file

FORMAT = "condnet-checkpoint-v1"


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``."""
    with atomic_file(Path(path), "wb") as handle:
        try:
            torch.save(obj, handle)
        except RuntimeError as exc:  # torch's follow-up error when the file system refused a write
            if isinstance(exc.__context__, OSError):
                raise exc.__context__ from None
            raise


def save_checkpoint(path: str | Path, config: dict[str, Any], model_state: dict[str, torch.Tensor],
                    **extra: Any) -> None:
    """Save a checkpoint: format tag, resolved config, model tensors and any extra plain state."""
    save_atomic({"format": FORMAT, "config": config, "model_state": model_state, **extra}, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` (tensors and plain data only: no object is unpickled,
    no code runs); clear errors, in condnet's own words, for missing, corrupt, foreign or unsafe files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found; "
                              "pass a run directory or a .pt file written by condnet")
    if not zipfile.is_zipfile(path):  # torch.save (and so condnet) writes zip archives
        with open(path, "rb") as handle:
            pickled = handle.read(1) == b"\x80"
        what = ("a bare pickle, which condnet will not unpickle" if pickled
                else "truncated or of another format")
        raise CheckpointError(f"{path} is not a readable condnet checkpoint ({what}); "
                              "pass a .pt file written by condnet")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path} holds Python objects that condnet will not unpickle (it loads only "
                              "tensors and plain data), so it is not a condnet checkpoint; pass a .pt file "
                              "written by condnet") from None
    except Exception:  # torch raises many types for damaged archives; its text is not shown
        raise CheckpointError(f"{path} is not a readable condnet checkpoint: truncated or damaged; "
                              "pass a .pt file written by condnet") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a condnet checkpoint (no {FORMAT} tag); "
                              "pass a .pt file written by condnet")
    missing = [key for key in ("config", "model_state") if not isinstance(data.get(key), dict)]
    if missing:
        raise CheckpointError(f"{path} lacks {' and '.join(missing)}; "
                              "it is damaged or was not written by condnet")
    return data
