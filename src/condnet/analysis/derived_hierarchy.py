"""A class hierarchy derived from a trained model's confusions, for datasets with no given tree (MNIST)."""

from pathlib import Path

import numpy as np
import torch

from condnet.data.hierarchy import Hierarchy, derive
from condnet.errors import CondnetError
from condnet.train import collect_logits, load_data, make_batcher
from condnet.train.loading import load_model


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``."""
    flat = labels.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes).numpy()


def derive_from_run(path: str | Path, split: str = "val", num_groups: int | None = None,
                    device: str = "cpu") -> tuple[Hierarchy, np.ndarray]:
    """The hierarchy :func:`~condnet.data.hierarchy.derive` builds from the confusion matrix of the model
    at ``path`` on ``split`` (the validation split by default), and that matrix."""
    loaded = load_model(path, device)
    if getattr(loaded.model, "classes", None) is not None:
        raise CondnetError(f"{loaded.path} is an expert of {len(loaded.model.classes)} classes; "
                           "derive a hierarchy from a model trained on all classes of its dataset")
    data = load_data(loaded.config.data)
    images = data.val if split == "val" else data.test
    if len(images) == 0:
        raise CondnetError(f"the run's {split} split is empty (data.val_size is 0); "
                           "use --split test or a run trained with a validation split")
    logits, labels = collect_logits(loaded.model, make_batcher(images, loaded.config.data, data.info,
                                                               training=False).epoch())
    confusion = confusion_matrix(logits.argmax(1), labels, data.info.num_classes)
    return derive(confusion, data.info.class_names, num_groups), confusion
