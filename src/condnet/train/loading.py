"""Load a trained run once: its model (from a run directory or a checkpoint file), its run config, and its
data and evaluation batches when a command asks for them."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from torch import nn

from condnet.config import RunConfig, parse_config, read_yaml
from condnet.data import Batcher, Split
from condnet.devices import resolve_device
from condnet.errors import CheckpointError, CondnetError, ConfigError
from condnet.models.registry import is_import_path
from condnet.train.checkpoint import load_checkpoint
from condnet.train.rundir import RunDir
from condnet.train.setup import DataBundle, build_model, load_data, make_batcher

SPLITS = ("test", "val", "train")


@dataclass
class LoadedRun:
    """A model in eval mode, the run config it was trained with, the file it came from, and the run's data,
    read on first use and at most once."""

    model: nn.Module
    config: RunConfig
    path: Path

    @cached_property
    def data(self) -> DataBundle:
        """The run's dataset, read (with its validation split and size limits) on first access."""
        return load_data(self.config.data)

    def split(self, name: str) -> Split:
        """The ``test``, ``val`` or ``train`` split; errors for another name or an empty validation split."""
        if name not in SPLITS:
            raise ConfigError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        images = getattr(self.data, name)
        if name == "val" and len(images) == 0:
            raise ConfigError("the run's val split is empty (data.val_size is 0); "
                              "use --split test or a run trained with a validation split")
        return images

    def batches(self, split: str | Split = "test") -> Batcher:
        """The evaluation batcher (normalised as in training, no augmentation) over the named split, or over
        ``split`` itself (part of one: an expert's classes, the first images)."""
        images = self.split(split) if isinstance(split, str) else split
        return make_batcher(images, self.config.data, self.data.info, training=False)

    def test_images(self, limit: int) -> torch.Tensor:
        """The first ``limit`` test images, normalised as in training, as one tensor."""
        test = self.split("test")
        first = self.batches(test.subset(torch.arange(min(limit, len(test)))))
        return torch.cat([images for images, _ in first.epoch()])


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


def load_run(path: str | Path, device: str = "cpu") -> LoadedRun:
    """Load the model of a run directory or checkpoint onto ``device`` (a name as in ``train.device``);
    errors if the tensors do not fit the config. The data is read only when asked for."""
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
    return LoadedRun(model.to(target).eval(), config, file)
