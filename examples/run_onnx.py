"""Run a condnet ONNX export with nothing but numpy and onnxruntime (and the standard library).

The classes, their order and the input normalisation come from the file's metadata, so this script
knows nothing about condnet. Images here are read from an MNIST-style IDX file (gzip or raw):

    python examples/run_onnx.py model.onnx t10k-images-idx3-ubyte.gz [t10k-labels-idx1-ubyte.gz] [--limit N]
"""

import argparse
import gzip
import json

import numpy as np
import onnxruntime as ort


def read_idx(path: str) -> np.ndarray:
    """An IDX file (MNIST layout) as a uint8 array of its declared shape."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("images")
    parser.add_argument("labels", nargs="?")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    channels, height, width = meta["input_shape"]
    mean = np.array(meta["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.array(meta["std"], dtype=np.float32).reshape(1, -1, 1, 1)

    pixels = read_idx(args.images)[: args.limit].reshape(-1, channels, height, width)
    batch = ((pixels.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)
    outputs = session.run(None, {session.get_inputs()[0].name: batch})
    best = outputs[0].argmax(1)
    names = [meta["class_names"][i] for i in best]
    print(f"{meta['model_name']}: {len(batch)} images, classes {', '.join(meta['class_names'])}")
    print("first predictions:", ", ".join(names[:8]))
    if len(outputs) > 1:
        paths, counts = np.unique(outputs[1], axis=0, return_counts=True)
        print(
            "routes taken:",
            ", ".join(f"{'-'.join(map(str, p))} x{c}" for p, c in zip(paths, counts, strict=True)),
        )
    if args.labels:
        labels = read_idx(args.labels)[: args.limit].astype(np.int64)
        predicted = np.array(meta["class_indices"])[best]
        mine = np.isin(labels, meta["class_indices"])  # an expert answers only for its classes
        accuracy = 100.0 * float((predicted[mine] == labels[mine]).mean())
        print(f"accuracy on the {int(mine.sum())} images of its classes: {accuracy:.2f}%")


if __name__ == "__main__":
    main()
