"""Engine overhead: one training epoch with ``Trainer.train_epoch`` against a bare PyTorch loop.

Both train the same model (same initial weights) on the same Fashion-MNIST images with the same
batch size and the same SGD settings; epochs alternate engine / bare for ``--rounds`` rounds so that
load changes on the machine hit both alike. Prints the per-round wall-clock and process CPU times
(with one thread, CPU time is what the epoch itself cost, whatever else the machine runs), the time
ratios engine / bare (goal <= 1.10), the machine's matmul FLOP/s (a large ``torch.mm``) and the
engine's achieved training FLOP/s (3 x forward MACs x 2 FLOP per image) as a fraction of it.

    .venv/bin/python benchmarks/engine_overhead.py [--images 10000] [--rounds 3] [--threads 1]
"""

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from condnet.config import parse_config
from condnet.cost import count_macs
from condnet.data import dataset_info, load_dataset
from condnet.train import DataBundle, Trainer


def matmul_flops(size: int = 2048, repeats: int = 5) -> tuple[float, float]:
    """Best FLOP/s of ``torch.mm`` on two ``size`` x ``size`` float32 matrices, per wall and per CPU
    second."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    walls, cpus = zip(*(timed(torch.mm, a, b) for _ in range(repeats)), strict=True)
    return 2 * size**3 / min(walls), 2 * size**3 / min(cpus)


def bare_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
               labels: torch.Tensor, batch: int, epoch: int) -> None:
    """What a user would write by hand: shuffle, index, forward, cross-entropy, backward, step."""
    model.train()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(epoch))
    for start in range(0, len(order), batch):
        index = order[start:start + batch]
        loss = F.cross_entropy(model(images[index]), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of ``fn(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def engine_epoch(trainer: Trainer) -> None:
    trainer.train_epoch()
    trainer.epoch += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet_fmnist_thick")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=125)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    info = dataset_info("fashion_mnist")
    train, test = load_dataset("fashion_mnist")
    subset = train.subset(torch.arange(args.images))
    data = DataBundle(info, subset, train.subset(torch.arange(59_000, 60_000)),
                      test.subset(torch.arange(1000)))
    cfg = parse_config({"model": {"name": args.model},
                        "data": {"batch_size": args.batch, "val_size": 1000},
                        "train": {"epochs": 100, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
                                  "schedule": "cosine", "threads": args.threads}})
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, out, verbose=False, data=data)
        model = copy.deepcopy(trainer.model)  # same initial weights
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        mean, std = torch.tensor(info.mean).view(1, -1, 1, 1), torch.tensor(info.std).view(1, -1, 1, 1)
        images = (subset.images.float() / 255 - mean) / std  # bare loop: normalised once, up front
        engine_s, bare_s, engine_cpu, bare_cpu = [], [], [], []
        for r in range(args.rounds):
            for walls, cpus, (wall, cpu) in (
                    (engine_s, engine_cpu, timed(engine_epoch, trainer)),
                    (bare_s, bare_cpu,
                     timed(bare_epoch, model, optimizer, images, subset.labels, args.batch, r))):
                walls.append(wall)
                cpus.append(cpu)
            print(f"round {r + 1}: engine {engine_s[-1]:.2f} s (cpu {engine_cpu[-1]:.2f} s)  "
                  f"bare {bare_s[-1]:.2f} s (cpu {bare_cpu[-1]:.2f} s)  "
                  f"ratio {engine_s[-1] / bare_s[-1]:.3f} (cpu {engine_cpu[-1] / bare_cpu[-1]:.3f})",
                  flush=True)

    def ratio(a: list[float], b: list[float]) -> str:
        median = statistics.median(x / y for x, y in zip(a, b, strict=True))
        return f"median {median:.3f}, of the fastest {min(a) / min(b):.3f}"

    print(f"{args.model}, {args.images} images, batch {args.batch}, threads {args.threads}, "
          f"{args.rounds} rounds")
    print(f"time ratio engine / bare (goal <= 1.10): wall {ratio(engine_s, bare_s)}; "
          f"cpu {ratio(engine_cpu, bare_cpu)}")
    macs = count_macs(trainer.model.eval(), images[:2])
    peak, peak_cpu = matmul_flops()
    achieved = 3 * macs * 2 * args.images / min(engine_s)
    achieved_cpu = 3 * macs * 2 * args.images / min(engine_cpu)
    print(f"forward MACs/image {macs:,}; training FLOP/image (3 x MACs x 2) {6 * macs:,}")
    print(f"machine matmul (2048x2048 torch.mm): {peak / 1e9:.1f} GFLOP/s wall, "
          f"{peak_cpu / 1e9:.1f} per CPU second")
    print(f"engine achieved (fastest epoch): {achieved / 1e9:.1f} GFLOP/s wall = "
          f"{100 * achieved / peak:.1f}% of matmul; {achieved_cpu / 1e9:.1f} per CPU second = "
          f"{100 * achieved_cpu / peak_cpu:.1f}%")

if __name__ == "__main__":
    main()
