"""The main job: the Fashion-MNIST demo, from training to report."""

from condnet.demo.pipeline import run_demo

__all__ = ["run_demo"]
