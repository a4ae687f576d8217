"""What an exported file carries for a deployer: classes in output order, input shape, normalisation,
cost and the model's config."""

import json
from typing import Any

from torch import nn

import condnet
from condnet.config import RunConfig
from condnet.cost import count_params
from condnet.data import data_info

INPUT_HELP = "float32 NCHW images: (uint8 pixel / 255 - mean) / std per channel"


def output_classes(model: nn.Module, num_classes: int) -> list[int]:
    """Class indices (of the dataset) of the model's logits, in output order (an expert's own classes)."""
    classes = getattr(model, "classes", None)
    return list(range(num_classes)) if classes is None else list(classes)


def deployment_metadata(model: nn.Module, config: RunConfig, macs: dict[str, float]) -> dict[str, Any]:
    """The metadata of an export of ``model`` (trained with ``config``); ``macs`` holds mean, min, max."""
    info = data_info(config.data)
    classes = output_classes(model, info.num_classes)
    return {
        "condnet_version": condnet.__version__,
        "model_name": config.model["name"],
        "config": config.to_dict(),
        "class_indices": classes,
        "class_names": [info.class_names[c] for c in classes],
        "input_shape": list(info.shape),
        "input": INPUT_HELP,
        "mean": list(config.data.mean or info.mean),
        "std": list(config.data.std or info.std),
        "params": count_params(model),
        "macs_per_sample": {k: float(macs[k]) for k in ("mean", "min", "max")},
        "outputs": ["logits", "routes"] if hasattr(model, "sample_macs") else ["logits"],
    }


def as_strings(metadata: dict[str, Any]) -> dict[str, str]:
    """Metadata as ONNX metadata_props: every value as JSON text (strings quoted), so one json.loads reads
    any of them."""
    return {k: json.dumps(v) for k, v in metadata.items()}
