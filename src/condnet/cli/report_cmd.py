"""``condnet report``: the demo's kind of report (tables and figures) built from existing runs."""

import argparse

from condnet.analysis.report import analyse_run, write_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md with tables and plots from finished runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", required=True, help="directory for report.md and figures/")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    analyses = [analyse_run(path) for path in args.runs]
    report = write_report(analyses, args.out, commands=["condnet report " + " ".join(args.runs) +
                                                         f" --out {args.out}"])
    print(f"report: {report}")
    return 0
