"""Evaluate a loaded model (run directory, checkpoint or expert file) on the test or validation split."""

from typing import Any

from condnet.cost import count_params
from condnet.train import evaluate
from condnet.train.loading import LoadedRun
from condnet.train.summary import cost_summary


def evaluate_run(loaded: LoadedRun, split: str = "test") -> dict[str, Any]:
    """Accuracy, loss, params and MACs/sample of the loaded model on ``split``.

    Experts (models with a ``classes`` attribute) are evaluated on the images of their classes only.
    This is what ``condnet eval --json`` prints.
    """
    images = loaded.split(split)
    classes = getattr(loaded.model, "classes", None)
    if classes is not None:
        images = images.restricted(list(classes))
    batches = loaded.batches(images)
    result = evaluate(loaded.model, batches.epoch())
    return {"path": str(loaded.path), "model": loaded.config.model["name"], "split": split, **result,
            "params": count_params(loaded.model), **cost_summary(loaded.model, batches)}
