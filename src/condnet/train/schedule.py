"""Learning-rate schedules as a factor of the base rate per iteration, with linear warm-up."""

import math
from collections.abc import Callable

from condnet.config import TrainConfig


def lr_factor_fn(cfg: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """``factor(step)``: the schedule of ``cfg`` (per epoch, evaluated at fractional epochs) times warm-up."""
    total = cfg.epochs * steps_per_epoch
    warmup = cfg.warmup_epochs * steps_per_epoch

    def schedule(step: int) -> float:
        epoch = step / steps_per_epoch
        if cfg.schedule == "constant":
            return 1.0
        if cfg.schedule == "step":
            return cfg.gamma ** int(epoch // cfg.step_size)
        if cfg.schedule == "multistep":
            passed = sum(1 for m in cfg.milestones if epoch >= m)
            if cfg.factors:
                return 1.0 if passed == 0 else cfg.factors[passed - 1]
            return cfg.gamma ** passed
        progress = (step - warmup) / max(1.0, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
        return warm * schedule(step)

    return factor
