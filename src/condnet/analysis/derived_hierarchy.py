"""A class hierarchy derived from a trained model's confusions, for datasets with no given tree (MNIST)."""

import numpy as np
import torch

from condnet.data.hierarchy import Hierarchy, derive
from condnet.errors import CondnetError
from condnet.train import collect_logits
from condnet.train.loading import LoadedRun


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``."""
    flat = labels.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes).numpy()


def derive_from_run(loaded: LoadedRun, split: str = "val",
                    num_groups: int | None = None) -> tuple[Hierarchy, np.ndarray]:
    """The hierarchy :func:`~condnet.data.hierarchy.derive` builds from the confusion matrix of the loaded
    model on ``split`` (the validation split by default), and that matrix."""
    if getattr(loaded.model, "classes", None) is not None:
        raise CondnetError(f"{loaded.path} is an expert of {len(loaded.model.classes)} classes; "
                           "derive a hierarchy from a model trained on all classes of its dataset")
    logits, labels = collect_logits(loaded.model, loaded.batches(split).epoch())
    info = loaded.data.info
    confusion = confusion_matrix(logits.argmax(1), labels, info.num_classes)
    return derive(confusion, info.class_names, num_groups), confusion
