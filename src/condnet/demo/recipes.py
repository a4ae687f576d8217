"""The demo's models on Fashion-MNIST and their short training recipe (the embedded default).

The model sections are those of configs/lenet_fmnist_thick.yaml, lenet_fmnist_thin.yaml,
hnn_lenet_fmnist.yaml, cigt_lenet_fmnist.yaml and cigt_lenet_fmnist_random.yaml (a test keeps them
equal); only the schedule is shortened, and CIGT's warm-up and temperature decay are scaled to it.
"""

import math
from typing import Any

TRAIN = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5.0e-4, "schedule": "cosine",
         "warmup_epochs": 0.5, "seed": 0}
DATA = {"dataset": "fashion_mnist", "batch_size": 125}
CIGT = {"name": "cigt_lenet_fmnist", "path_counts": [1, 2, 4], "execution": "gather", "routing": "ig",
        "cls_loss": "mean", "ig_weight": 0.063, "balance": 2.12, "temperature_initial": 25.0,
        "temperature_min": 0.01, "random_ratio": 0.49, "router_hidden": 128, "router_pool": 1,
        "dropout": 0.185}
MODELS: dict[str, dict[str, Any]] = {
    "backbone": {"name": "lenet_fmnist_thick", "dropout": 0.185},
    "thin": {"name": "lenet_fmnist_thin", "dropout": 0.185},
    "hnn": {"name": "hnn_lenet_fmnist", "dropout": 0.185, "split": 1, "width_rule": "share"},
    "cigt": CIGT,
    "cigt_random": {**CIGT, "routing": "random"},
}
LABELS = {"backbone": "thick backbone (LeNet)", "thin": "thin (one CIGT path)", "hnn": "HNN (LeNet)",
          "cigt": "CIGT [1,2,4]", "cigt_random": "CIGT random routing"}
# Paper B: warm-up is 25 of 150 epochs; the temperature reaches its minimum after ~70% of the iterations.
WARMUP_SHARE, TEMPERATURE_SHARE = 1 / 6, 0.7


def demo_config(run: str, epochs: int, train_images: int, limit_train: int | None = None,
                limit_test: int | None = None) -> dict[str, Any]:
    """The full config of demo run ``run`` for ``epochs`` epochs over ``train_images`` images."""
    model = dict(MODELS[run])
    if model["name"].startswith("cigt_"):
        steps = epochs * math.ceil(train_images / DATA["batch_size"])
        model["warmup_epochs"] = int(epochs * WARMUP_SHARE)
        model["temperature_decay"] = (model["temperature_min"] / model["temperature_initial"]) ** (
            1 / (TEMPERATURE_SHARE * steps))
    data = {**DATA, "limit_train": limit_train, "limit_test": limit_test}
    return {"model": model, "data": data, "train": {**TRAIN, "epochs": epochs}}
