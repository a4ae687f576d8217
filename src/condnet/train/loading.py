"""Rebuild a trained model (and its run config) from a run directory or a checkpoint file."""

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from condnet.config import RunConfig, parse_config, read_yaml
from condnet.devices import resolve_device
from condnet.errors import CheckpointError, CondnetError
from condnet.models.registry import is_import_path
from condnet.train.checkpoint import load_checkpoint
from condnet.train.rundir import RunDir
from condnet.train.setup import build_model


@dataclass
class LoadedModel:
    """A model in eval mode, the run config it was trained with, and the file it came from."""

    model: nn.Module
    config: RunConfig
    path: Path


def checkpoint_path(path: str | Path) -> Path:
    """A run directory's best checkpoint, or the checkpoint file itself."""
    path = Path(path)
    if path.is_dir():
        run = RunDir(path)
        if run.best.exists():
            return run.best
        raise CheckpointError(f"{path} holds no checkpoints/best.pt; pass a finished run directory or a .pt "
                              "file")
    return path


def _check_vouched_for(path: str | Path, file: Path, name: str) -> None:
    """A model from user code is built only when the run directory the user named (its config.yaml) names
    the same import path: a checkpoint alone never makes condnet import code."""
    if not is_import_path(name):
        return
    run = Path(path)
    config = run / "config.yaml"
    if run.is_dir() and config.is_file() and read_yaml(config).get("model", {}).get("name") == name:
        return
    raise CheckpointError(f"{file} holds a model from user code ({name}); condnet imports code only from a "
                          "config you pass or a run directory you name: load it through its run directory")


def load_model(path: str | Path, device: str = "cpu") -> LoadedModel:
    """Load a model from a run directory or checkpoint onto ``device`` (a name as in ``train.device``);
    errors if the tensors do not fit the config."""
    file = checkpoint_path(path)
    target = resolve_device(device, "--device")
    state = load_checkpoint(file)
    try:
        config = parse_config(state["config"])
        _check_vouched_for(path, file, config.model["name"])
        model = build_model(config.model)
    except CheckpointError:
        raise
    except CondnetError as exc:
        raise CheckpointError(f"{file} holds a config condnet cannot build ({exc})") from None
    try:
        model.load_state_dict(state["model_state"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{file}: the tensors do not fit model {config.model['name']!r} ({first}); "
                           "the checkpoint belongs to another model or its config was edited") from None
    return LoadedModel(model.to(target).eval(), config, file)
