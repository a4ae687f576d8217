"""``condnet train``: train a model from a YAML config into a run directory."""

import argparse
from pathlib import Path

from condnet.config import load_config
from condnet.train import Trainer
from condnet.train.distributed import close_distributed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("--config", help="YAML config (see configs/); optional with --resume")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=0.1 (repeatable)")
    p.add_argument("--out", help="run directory (default: runs/<config file name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.add_argument("--force", action="store_true",
                   help="replace the run that --out already holds "
                        "(its config, metrics, checkpoints, summary)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from condnet.errors import CondnetError

    if args.config is None and not args.resume:
        raise CondnetError("condnet train needs --config FILE.yaml (or --out DIR --resume)")
    if args.config is None and args.overrides:
        raise CondnetError("--set needs --config; a resumed run keeps the config saved in its directory")
    if args.out is None:
        if args.config is None:
            raise CondnetError("--resume needs --out DIR, the run directory to continue")
        args.out = str(Path("runs") / Path(args.config).stem)
    cfg = load_config(args.config, args.overrides) if args.config else None
    if args.force and args.resume:
        raise CondnetError("--force replaces a run and --resume continues it; pass only one of them")
    try:
        Trainer(cfg, args.out, resume=args.resume, verbose=not args.quiet, force=args.force).fit()
    finally:
        close_distributed()
    return 0
