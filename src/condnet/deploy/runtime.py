"""Running an exported file: onnxruntime for .onnx (the reference runtime), the loaded program for .pt2."""

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condnet.errors import CondnetError


def onnx_session(path: str | Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads and sequential execution."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise CondnetError("onnxruntime is not installed; install condnet's deploy extra: "
                           "pip install 'condnet[deploy]'") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_runner(path: str | Path, threads: int = 1) -> Callable[[np.ndarray], list[np.ndarray]]:
    """A function images -> outputs of the .onnx file at ``path``."""
    session = onnx_session(path, threads)
    name = session.get_inputs()[0].name
    return lambda images: session.run(None, {name: images})


def run_export(path: str | Path, fmt: str, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Logits (and routes, for a routed model) of an exported file on ``images``."""
    if fmt == "onnx":
        outputs = [torch.from_numpy(o) for o in onnx_runner(path)(images.numpy())]
    else:
        program = torch.export.load(str(path)).module()
        with torch.no_grad():
            result = program(images)
        outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    return outputs[0], outputs[1] if len(outputs) > 1 else None


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The condnet metadata of an exported .onnx or .pt2 file (values decoded from JSON where they are)."""
    path = Path(path)
    if path.suffix == ".pt2":
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("condnet.json"))
            return json.loads(archive.read(name))
    import onnx

    return {p.key: json.loads(p.value) for p in onnx.load(str(path), load_external_data=False).metadata_props}
