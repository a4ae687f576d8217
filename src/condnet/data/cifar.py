"""Reader for the CIFAR-10/100 "python version" batches.

The batches are pickles; they are read with an unpickler that only admits the NumPy array
constructors they contain, so a tampered file cannot run code.
"""

import pickle
from pathlib import Path

import numpy as np

from condnet.errors import CondnetError

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles store raw bytes
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D102 - pickle protocol
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def read_cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR batch file: uint8 images [N, 3, 32, 32] and int64 labels [N]."""
    try:
        with open(path, "rb") as handle:
            batch = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as exc:
        raise CondnetError(f"cannot read CIFAR batch {path}: {exc}; re-download the CIFAR python version") from None
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key.encode()], dtype=np.int64)
    except (KeyError, TypeError):
        raise CondnetError(f"{path} is not a CIFAR python batch (no data/{label_key}); "
                           "point data.root at the extracted cifar-*-python directory") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise CondnetError(f"{path} is corrupt: {data.shape} images for {len(labels)} labels; re-download it")
    return data.reshape(-1, 3, 32, 32), labels
