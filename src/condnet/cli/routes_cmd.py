"""``condnet routes``: how a trained CIGT routes the classes of a split (counts, entropy, mutual
information)."""

import argparse

from condnet.analysis.routes import plot_routes, routes_of_run
from condnet.cli.output import (
    add_device_option,
    add_force_option,
    add_plot_option,
    check_plot_path,
    print_json,
)
from condnet.train.loading import load_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("routes", help="routing statistics of a trained CIGT run")
    p.add_argument("path", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--split", choices=("test", "val"), default="test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_plot_option(p, "class x block / path heatmaps")
    add_force_option(p)
    add_device_option(p)
    p.set_defaults(func=run)


def _table(title: str, columns: list[str], rows: list[list[int]], names: list[str]) -> str:
    width = max(len(n) for n in names)
    cell = max(6, *(len(c) for c in columns))
    lines = [title, f"{'':<{width}}  " + " ".join(f"{c:>{cell}}" for c in columns)]
    lines += [f"{name:<{width}}  " + " ".join(f"{v:>{cell}}" for v in row)
              for name, row in zip(names, rows, strict=True)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    check_plot_path(args.plot, args.force, reading=[args.path])
    stats, info = routes_of_run(load_run(args.path, args.device), args.split)
    if args.plot:
        plot_routes(stats, args.plot)
    if args.json:
        print_json({**info, **stats.as_dict(), **({"plot": args.plot} if args.plot else {})})
        return 0
    print(f"{info['model']} on {args.split} ({stats.n} images): accuracy {stats.accuracy:.2f}%  "
          f"path counts {stats.path_counts}")
    for layer, counts in enumerate(stats.layer_counts):
        if stats.path_counts[layer] > 1:
            blocks = [str(k) for k in range(len(counts[0]))]
            title = f"layer {layer}: samples per class and block"
            print("\n" + _table(title, blocks, counts, stats.class_names))
    print("\n" + _table("samples per class and leaf path", stats.path_names, stats.path_counts_by_class,
                        stats.class_names))
    print(f"\nroute entropy H(path) {stats.route_entropy:.4f} nats  "
          f"I(path; class) {stats.mutual_information:.4f} nats  "
          f"I(block; class) per layer {', '.join(f'{v:.4f}' for v in stats.layer_mutual_information)}")
    p = info["params"]
    print(f"params {p['total']:,} in all, {p['path']:,} on one path, {p['routers']:,} in routers")
    if args.plot:
        print(f"heatmap written to {args.plot}")
    return 0
