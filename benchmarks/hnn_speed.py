"""Wall-clock of HNNs against their plain backbones (and of a cutout expert), measured side by side.

Prints, per model, the median time of an inference batch and of a training step (forward, backward,
SGD step) for the backbone and the HNN, measured in alternation in one process, and their ratios.

    .venv/bin/python benchmarks/hnn_speed.py [--rounds 7] [--threads 1]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from condnet.cost import count_macs
from condnet.models import create_model
from condnet.models.stages import StageNet

PAIRS = (("hnn_lenet_fmnist", ["Bag"]), ("hnn_resnet20_fmnist", ["Bag"]), ("hnn_resnet20_cifar10", ["cat"]))


def infer(model: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        model(x)


def train_step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer) -> None:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def side_by_side(calls: dict[str, callable], rounds: int) -> dict[str, float]:
    """Median seconds of each call, the calls taking turns in every round (after one warm-up each)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"threads {args.threads}, rounds {args.rounds}; inference batch 256, training batch 125; median ms")
    print(f"{'model':<22} {'MACs ratio':>10} {'infer bb':>9} {'infer hnn':>9} {'ratio':>6} {'infer expert':>12} "
          f"{'train bb':>9} {'train hnn':>9} {'ratio':>6}")
    for name, expert_classes in PAIRS:
        print(measure(name, expert_classes, args.rounds))


def measure(name: str, expert_classes: list[str], rounds: int) -> str:
    """One table row: MACs ratio, inference and training-step times of backbone, HNN and expert."""
    hnn = create_model(name)
    backbone = StageNet(hnn.spec)
    expert = hnn.cutout(expert_classes).eval()
    spec = hnn.spec
    x = torch.randn(256, spec.in_channels, spec.input_size, spec.input_size)
    y = torch.randint(0, spec.num_classes, (125,))
    opts = {m: torch.optim.SGD(m.parameters(), lr=0.01) for m in (backbone, hnn)}
    macs = count_macs(hnn.eval(), x[:2]) / count_macs(backbone.eval(), x[:2])
    inference = side_by_side({"bb": lambda: infer(backbone, x), "hnn": lambda: infer(hnn, x),
                              "expert": lambda: infer(expert, x)}, rounds)
    backbone.train()
    hnn.train()
    training = side_by_side({"bb": lambda: train_step(backbone, x[:125], y, opts[backbone]),
                             "hnn": lambda: train_step(hnn, x[:125], y, opts[hnn])}, rounds)
    return (f"{name:<22} {macs:>10.2f} {1e3 * inference['bb']:>9.1f} {1e3 * inference['hnn']:>9.1f} "
            f"{inference['hnn'] / inference['bb']:>6.2f} {1e3 * inference['expert']:>12.1f} "
            f"{1e3 * training['bb']:>9.1f} {1e3 * training['hnn']:>9.1f} {training['hnn'] / training['bb']:>6.2f}")

if __name__ == "__main__":
    main()
