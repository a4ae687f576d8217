"""``condnet report``: the demo's kind of report (tables and figures) built from existing runs."""

import argparse
import shlex
from pathlib import Path

from condnet.analysis.report import analyse_run, write_report
from condnet.cli.output import add_device_option, add_force_option
from condnet.errors import RunDirError
from condnet.files import check_output_dir, check_output_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md with tables and plots from finished runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", required=True, help="directory for report.md and figures/")
    add_force_option(p)
    add_device_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = [Path(path).name for path in args.runs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RunDirError(f"two runs are named {twice[0]!r}; their figures would overwrite each other: "
                          "pass run directories with different names")
    out = check_output_dir(args.out)
    check_output_file(out / "report.md", args.force, reading=args.runs)
    if (out / "figures").exists() and not args.force:
        raise RunDirError(f"{out / 'figures'} already exists; pass --force to replace its figures or choose "
                          "another --out")
    analyses = [analyse_run(path, device=args.device) for path in args.runs]
    device = ["--device", args.device] if args.device != "cpu" else []
    command = shlex.join(["condnet", "report", *args.runs, "--out", str(args.out), *device])
    report = write_report(analyses, args.out, commands=[command])
    print(f"report: {report}")
    return 0
