"""Wall-clock of HNNs against their plain backbones (and of a cutout expert), measured side by side.

Prints, per model, the median time of an inference batch and of a training step (forward, backward,
SGD step) for the backbone and the HNN, measured in alternation in one process, and their ratios.
``--siblings`` instead compares running 10 sibling 3x3 convolutions as one grouped convolution with
running them one after another, and checks whether the grouped result is bit-identical to a
convolution with fewer groups (what an expert would run).

    .venv/bin/python benchmarks/hnn_speed.py [--rounds 7] [--threads 1] [--siblings]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from condnet.cost import count_macs
from condnet.models import create_model
from condnet.models.stages import StageNet

# (model, width rule, classes of the expert to time)
PAIRS = (("hnn_lenet_fmnist", "share", ["Bag"]), ("hnn_resnet20_fmnist", "share", ["Bag"]),
         ("hnn_resnet20_fmnist", "sqrt_share", ["Bag"]), ("hnn_resnet20_cifar10", "share", ["cat"]))


def infer(model: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        model(x)


def conv_outputs(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Number of values all convolutions of ``model`` write for ``x`` (activation traffic, beside MACs)."""
    written = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: written.append(out.numel()))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    infer(model, x)
    for hook in hooks:
        hook.remove()
    return sum(written)


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
    parser.add_argument("--siblings", action="store_true", help="grouped vs looped sibling convolutions")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.siblings:
        siblings(args.rounds)
        return
    print(f"threads {args.threads}, rounds {args.rounds}; inference batch 256, training batch 125; median ms")
    print(f"{'model (width rule)':<33} {'MACs ratio':>10} {'conv out ratio':>14} {'infer bb':>9} "
          f"{'infer hnn':>9} {'ratio':>6} {'infer expert':>12} {'train bb':>9} {'train hnn':>9} {'ratio':>6}")
    for name, width_rule, expert_classes in PAIRS:
        print(measure(name, width_rule, expert_classes, args.rounds))


def measure(name: str, width_rule: str, expert_classes: list[str], rounds: int) -> str:
    """One table row: MACs and conv-output ratios; inference and training-step times of backbone, HNN
    and expert."""
    hnn = create_model(name, width_rule=width_rule)
    backbone = StageNet(hnn.spec)
    expert = hnn.cutout(expert_classes).eval()
    spec = hnn.spec
    x = torch.randn(256, spec.in_channels, spec.input_size, spec.input_size)
    y = torch.randint(0, spec.num_classes, (125,))
    opts = {m: torch.optim.SGD(m.parameters(), lr=0.01) for m in (backbone, hnn)}
    macs = count_macs(hnn.eval(), x[:2]) / count_macs(backbone.eval(), x[:2])
    outputs = conv_outputs(hnn, x[:2]) / conv_outputs(backbone, x[:2])
    inference = side_by_side({"bb": lambda: infer(backbone, x), "hnn": lambda: infer(hnn, x),
                              "expert": lambda: infer(expert, x)}, rounds)
    backbone.train()
    hnn.train()
    training = side_by_side({"bb": lambda: train_step(backbone, x[:125], y, opts[backbone]),
                             "hnn": lambda: train_step(hnn, x[:125], y, opts[hnn])}, rounds)
    label = f"{name} ({width_rule})"
    return (f"{label:<33} {macs:>10.2f} {outputs:>14.2f} {1e3 * inference['bb']:>9.1f} "
            f"{1e3 * inference['hnn']:>9.1f} {inference['hnn'] / inference['bb']:>6.2f} "
            f"{1e3 * inference['expert']:>12.1f} {1e3 * training['bb']:>9.1f} {1e3 * training['hnn']:>9.1f} "
            f"{training['hnn'] / training['bb']:>6.2f}")


def siblings(rounds: int, groups: int = 10, batch: int = 125) -> None:
    """Grouped vs looped sibling convolutions at the widths of one-class nodes under both width rules, and
    whether the grouped result is exact."""
    print(f"{groups} siblings, batch {batch}, 3x3 conv; median ms")
    print(f"{'channels/sibling':>16} {'size':>5} {'grouped':>8} {'looped':>8} "
          f"{'grouped == 1-group result':>26}")
    for channels, size in ((1, 28), (3, 14), (6, 7), (10, 14), (20, 7)):
        x = torch.randn(batch, groups * channels, size, size)
        w = torch.randn(groups * channels, channels, 3, 3)
        parts = [(x[:, i * channels:(i + 1) * channels], w[i * channels:(i + 1) * channels])
                 for i in range(groups)]
        times = side_by_side({"grouped": lambda x=x, w=w: F.conv2d(x, w, padding=1, groups=groups),
                              "looped": lambda parts=parts: [F.conv2d(a, b, padding=1) for a, b in parts]},
                             rounds)
        same = torch.equal(F.conv2d(x, w, padding=1, groups=groups)[:, :channels],
                           F.conv2d(parts[0][0], parts[0][1], padding=1))
        print(f"{channels:>16} {size:>5} {1e3 * times['grouped']:>8.2f} {1e3 * times['looped']:>8.2f} "
              f"{same!s:>26}")


if __name__ == "__main__":
    main()
