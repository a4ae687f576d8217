"""DistributedDataParallel set-up for runs started by torchrun (gloo on CPU, nccl on GPU)."""

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's rank and the world size (1 when not started by torchrun)."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def local_device(device: torch.device) -> torch.device:
    """Under torchrun on CUDA, this process's own GPU (``cuda:$LOCAL_RANK``), made current; else
    ``device``."""
    if device.type != "cuda" or "LOCAL_RANK" not in os.environ:
        return device
    local = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    torch.cuda.set_device(local)
    return local


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group if torchrun set WORLD_SIZE > 1; otherwise a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size())


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum a tensor over all ranks (identity in a single process)."""
    if info.enabled:
        values = values.clone()
        dist.all_reduce(values)
    return values


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` in a single process)."""
    if not info.enabled:
        return [obj]
    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def close_distributed() -> None:
    """Leave the process group, if one was joined. Every rank calls it once its last collective is done:
    a rank that exits with the group still open can abort in gloo's threads and make torchrun stop the
    ranks still at work."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
