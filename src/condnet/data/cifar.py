"""Reader for the CIFAR-10/100 "python version" batches.

The batches are pickles; they are read with an unpickler that only admits the NumPy array
constructors they contain, so a tampered file cannot run code. Whatever a corrupt or foreign pickle makes
those constructors raise is reported as a :class:`~condnet.errors.DataError`.
"""

import pickle
from pathlib import Path

import numpy as np

from condnet.errors import DataError

# What unpickling or converting a corrupt or foreign file can raise (besides pickle's own errors): bad
# arguments to the admitted constructors, unknown codecs, values that do not fit the array type, ...
_CORRUPT = (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, LookupError, AttributeError,
            OverflowError, RecursionError)

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
    except _CORRUPT as exc:
        raise DataError(f"cannot read CIFAR batch {path}: {_one_line(exc)}; "
                        "re-download the CIFAR python version") from None
    data, labels = _arrays(batch, path, label_key)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.ndim != 1 or len(data) != len(labels):
        raise DataError(f"{path} is corrupt: {data.shape} images for {labels.shape} labels; re-download it")
    return data.reshape(-1, 3, 32, 32), labels


def _arrays(batch: object, path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The batch's images (a uint8 array as stored) and labels (integers), converted to int64."""
    key = label_key.encode()
    if not isinstance(batch, dict) or b"data" not in batch or key not in batch:
        raise DataError(f"{path} is not a CIFAR python batch (no data/{label_key}); "
                        "point data.root at the extracted cifar-*-python directory")
    data = batch[b"data"]
    try:
        labels = np.asarray(batch[key])
    except _CORRUPT as exc:
        raise DataError(f"{path} is corrupt: cannot read its {label_key} ({_one_line(exc)}); "
                        "re-download the CIFAR python version") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or labels.dtype.kind not in "iu":
        raise DataError(f"{path} is corrupt: data must be a uint8 array and {label_key} integers; "
                        "re-download the CIFAR python version")
    return data, labels.astype(np.int64)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
