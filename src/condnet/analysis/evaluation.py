"""Evaluate a saved model (run directory, checkpoint or expert file) on the test or validation split."""

from pathlib import Path
from typing import Any

from condnet.cost import count_params
from condnet.train import evaluate, load_data, make_batcher
from condnet.train.loading import load_model
from condnet.train.summary import cost_summary


def evaluate_path(path: str | Path, split: str = "test", device: str = "cpu") -> dict[str, Any]:
    """Accuracy, loss, params and MACs/sample of the model at ``path`` on ``split``.

    Experts (models with a ``classes`` attribute) are evaluated on the images of their classes only.
    This is what ``condnet eval --json`` prints.
    """
    loaded = load_model(path, device)
    data = load_data(loaded.config.data)
    images = data.test if split == "test" else data.val
    classes = getattr(loaded.model, "classes", None)
    if classes is not None:
        images = images.restricted(list(classes))
    batches = make_batcher(images, loaded.config.data, data.info, training=False)
    result = evaluate(loaded.model, batches.epoch())
    return {"path": str(loaded.path), "model": loaded.config.model["name"], "split": split, **result,
            "params": count_params(loaded.model), **cost_summary(loaded.model, batches)}
