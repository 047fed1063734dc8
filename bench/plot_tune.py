"""The trade `clinivox tune` makes, from its `--table` (every grid point's scores on the rows
it chose on and on the held-out `--confirm` rows).

For each insertion cost (word errors an inserted lexicon term costs on top of its own), the
point chosen on the tuning rows and where it lands on the held-out rows; and a plot of
inserted terms per 1k words against term recall over the whole grid, both halves, with the
start profile and the chosen points marked.

    python bench/plot_tune.py TABLE.jsonl --start START.json --label tiny.en-clinical \\
        --out docs/bench/tune_tiny.png --json docs/bench/tune_tiny.json

START.json: `clinivox tune`'s report (its `start` and `confirm.start`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COSTS = (0.0, 1.0, 3.0, 5.0, 10.0)


def cost(s: dict, c: float) -> float:
    return s["errors"] + c * s["inserted_terms"]


def choose(rows: list[dict], c: float) -> dict:
    """The grid point `clinivox tune --insertion-cost c` chooses (same order of ties)."""
    return min(rows, key=lambda r: (cost(r["tune"], c), -r["tune"]["term_recall"],
                                    r["weights"]["bias"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", type=Path)
    ap.add_argument("--start", type=Path, required=True, help="the tune report (JSON)")
    ap.add_argument("--label", default="")
    ap.add_argument("--out", type=Path, default=None, help="PNG")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.table.read_text().splitlines() if line.strip()]
    if not rows or "confirm" not in rows[0]:
        raise SystemExit("the table needs held-out scores: run tune with --confirm")
    report = json.loads(args.start.read_text())
    start = {"tune": report["start"], "confirm": report["confirm"]["start"]}
    chosen = {c: choose(rows, c) for c in COSTS}
    out = {"label": args.label, "grid_points": len(rows), "start": start,
           "chosen": {str(c): r for c, r in chosen.items()}}
    print(f"{args.label}: {len(rows)} grid points")
    print("| insertion cost | weights | tuning rows: term recall, WER, inserted/1k | "
          "held-out rows: term recall, WER, inserted/1k |")
    print("|---|---|---|---|")

    def cell(s: dict) -> str:
        return (f"{s['term_recall']:.3f}, {100 * s['wer']:.2f}%, "
                f"{s['inserted_terms_per_1k_words']:.1f}")

    print(f"| start | - | {cell(start['tune'])} | {cell(start['confirm'])} |")
    for c, r in chosen.items():
        w = ", ".join(f"{k} {v:g}" for k, v in r["weights"].items())
        print(f"| {c:g} | {w} | {cell(r['tune'])} | {cell(r['confirm'])} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
        for ax, half, title in ((axes[0], "tune", "tuning rows (chosen here)"),
                                (axes[1], "confirm", "held-out rows")):
            ax.scatter([r[half]["inserted_terms_per_1k_words"] for r in rows],
                       [r[half]["term_recall"] for r in rows], s=6, alpha=0.25,
                       color="grey", label="grid points")
            ax.scatter([start[half]["inserted_terms_per_1k_words"]],
                       [start[half]["term_recall"]], marker="*", s=180, color="black",
                       label="start profile", zorder=3)
            groups: dict[str, list[float]] = {}  # costs that choose the same point
            for c, r in chosen.items():
                groups.setdefault(json.dumps(r["weights"], sort_keys=True), []).append(c)
            for cs in groups.values():
                r = chosen[cs[0]]
                ax.scatter([r[half]["inserted_terms_per_1k_words"]], [r[half]["term_recall"]],
                           s=60, zorder=4, label="chosen, insertion cost "
                           + ", ".join(f"{c:g}" for c in cs))
            ax.set_title(title)
            ax.set_xlabel("inserted lexicon terms per 1k words (lower is better)")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("term recall")
        axes[1].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"clinivox tune: {args.label}, {len(rows)} grid points")
        fig.tight_layout()
        fig.savefig(args.out, dpi=110)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
