"""One training engine for every model: losses, schedules, checkpoints, resume, DDP."""

from condnet.train.checkpoint import load_checkpoint, save_atomic, save_checkpoint
from condnet.train.engine import Trainer
from condnet.train.objective import collect_logits, evaluate, logits_of, training_losses
from condnet.train.rundir import RunDir
from condnet.train.setup import DataBundle, build_model, load_data, make_batcher, resolve_run_config

__all__ = ["DataBundle", "RunDir", "Trainer", "build_model", "collect_logits", "evaluate", "load_checkpoint",
           "load_data", "logits_of", "make_batcher", "resolve_run_config", "save_atomic", "save_checkpoint",
           "training_losses"]
