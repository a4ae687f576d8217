"""Building every registered model in tests: hnn_lenet_mnist has no built-in hierarchy (MNIST has no given
class tree), so tests give it a small hand-written one."""

from torch import nn

from condnet.models import create_model

MNIST_TREE = {"classes": [str(d) for d in range(10)],
              "tree": {"name": "root", "children": [{"name": "loops", "children": [0, 6, 8, 9]},
                                                    {"name": "strokes", "children": [1, 4, 7]},
                                                    {"name": "curves", "children": [2, 3, 5]}]}}
OPTIONS = {"hnn_lenet_mnist": {"hierarchy": MNIST_TREE}}


def build_registered(name: str) -> nn.Module:
    """Registered model ``name`` with its defaults (plus a hierarchy where it has no built-in one)."""
    return create_model(name, **OPTIONS.get(name, {}))
