"""Gather (true conditional) vs dense (every block on every sample) execution of a CIGT trellis.

Times inference and one training step of both modes side by side on the same weights and inputs, and
prints the wall-clock ratios next to the MAC ratio. Routes are uniformly random (``routing: random``),
so the blocks of a layer get balanced sub-batches, as a trained trellis with a balance term does. Usage:
    .venv/bin/python benchmarks/cigt_execution.py [--model cigt_lenet_fmnist] [--batch 250] [--repeats 20]
"""

import argparse
import time

import torch

from condnet.cost import measure_macs
from condnet.models import create_model


def seconds(fn, repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return sorted(times)[len(times) // 2]


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
    results = {}
    for mode, model in models.items():
        model.eval()
        macs = measure_macs(model, x).per_sample
        with torch.no_grad():
            infer = seconds(lambda: model(x), args.repeats)
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

        def step() -> None:
            loss = sum(model.training_loss(model(x), y).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        results[mode] = (macs, infer, seconds(step, args.repeats))
        print(f"{mode:<6}  MACs/sample {macs:>14,.0f}  inference {args.batch / infer:>8,.0f} img/s  "
              f"training step {args.batch / results[mode][2]:>8,.0f} img/s")
    (gm, gi, gt), (dm, di, dt) = results["gather"], results["dense"]
    print(f"dense / gather: MACs {dm / gm:.2f}x  inference time {di / gi:.2f}x  training step time {dt / gt:.2f}x")


if __name__ == "__main__":
    main()
