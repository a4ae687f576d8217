"""Gather (true conditional) vs dense (every block on every sample) execution of a CIGT trellis.

Times inference and one training step of both modes on the same weights and inputs, interleaved
(gather, dense, gather, dense, ...) so that both see the same machine load, and prints the wall-clock
ratios next to the MAC ratio. Routes are uniformly random (``routing: random``), so the blocks of a
layer get balanced sub-batches, as in a trained trellis with a balance term. Usage:
    .venv/bin/python benchmarks/cigt_execution.py [--model cigt_lenet_fmnist] [--batch 250] [--repeats 20]
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from condnet.cost import measure_macs
from condnet.models import create_model


def workloads(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Callable[[], None]]:
    """An inference call and a training step (forward, loss, backward, SGD update) of ``model``."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def inference() -> None:
        model.eval()
        with torch.no_grad():
            model(x)

    def training_step() -> None:
        model.train()
        loss = sum(model.training_loss(model(x), y).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return {"inference": inference, "training step": training_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cigt_lenet_fmnist")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {mode: create_model(args.model, execution=mode, routing="random")
              for mode in ("gather", "dense")}
    models["dense"].load_state_dict(models["gather"].state_dict())
    cfg = models["gather"].condnet_config
    x = torch.randn(args.batch, cfg["in_channels"], cfg["input_size"], cfg["input_size"])
    y = torch.randint(0, cfg["num_classes"], (args.batch,))
    macs = {mode: measure_macs(model.eval(), x).per_sample for mode, model in models.items()}
    jobs = {(mode, kind): fn for mode, model in models.items() for kind, fn in workloads(model, x, y).items()}
    times: dict[tuple[str, str], list[float]] = {key: [] for key in jobs}
    for repeat in range(args.repeats + 1):  # the first round warms up
        for key, fn in jobs.items():
            tic = time.perf_counter()
            fn()
            if repeat:
                times[key].append(time.perf_counter() - tic)
    median = {key: statistics.median(values) for key, values in times.items()}
    for mode in models:
        print(f"{mode:<6}  MACs/sample {macs[mode]:>14,.0f}  "
              f"inference {args.batch / median[mode, 'inference']:>8,.0f} "
              f"img/s  training step {args.batch / median[mode, 'training step']:>8,.0f} img/s")
    ratio = {kind: median["dense", kind] / median["gather", kind] for kind in ("inference", "training step")}
    print(f"dense / gather: MACs {macs['dense'] / macs['gather']:.2f}x  "
          f"inference time {ratio['inference']:.2f}x  "
          f"training step time {ratio['training step']:.2f}x")


if __name__ == "__main__":
    main()
