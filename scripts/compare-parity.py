#!/usr/bin/env python3
"""Side by side: the Swift TrainCLIP runs and their open_clip reproductions, per mode and seed.

Reads TrainCLIP's OUTPUT/<mode>-seed<N>/result.json files and train-open-clip-parity.py's OUTPUT/results.json, and
prints, for every (mode, seed) present in both, zero-shot top-1 (80 templates), top-1 with one template, linear probe
and 5-way 5-shot of each, their difference, and per mode the mean over seeds of each side with its standard error.
Plain Python (no packages).

    python3 scripts/compare-parity.py --swift runs/TrainCLIP --torch runs/open_clip_parity [--markdown]
"""
import argparse
import json
import math
import os
import re

COLUMNS = [("zeroshot_top1", "top-1 (80 templates)"), ("zeroshot_top1_single", "top-1 (1 template)"),
           ("linear_probe", "linear probe"), ("few_shot_5way5shot", "5-way 5-shot")]


def mean_and_error(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    deviation = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, deviation / math.sqrt(n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--swift", default="runs/TrainCLIP")
    parser.add_argument("--torch", default="runs/open_clip_parity")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    swift = {}
    for name in sorted(os.listdir(args.swift)):
        match = re.fullmatch(r"(.+)-seed(\d+)", name)
        path = os.path.join(args.swift, name, "result.json")
        if match and os.path.exists(path):
            with open(path) as f:
                swift[(match.group(1), int(match.group(2)))] = json.load(f)["scores"]
    with open(os.path.join(args.torch, "results.json")) as f:
        runs = json.load(f)["runs"]
    torch = {}
    for mode, seeds in runs.items():
        for seed, run in seeds.items():
            scores = run.get("scores") or run.get("final") or (run["history"]["evaluations"][-1]["scores"] if "history" in run else {})
            torch[(mode, int(seed))] = scores
    pairs = sorted(set(swift) & set(torch), key=lambda key: (key[0], key[1]))
    print("| mode | seed | " + " | ".join(f"{label}: Swift / PyTorch (difference)" for _, label in COLUMNS) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |")
    for mode, seed in pairs:
        cells = []
        for key, _ in COLUMNS:
            a, b = swift[(mode, seed)].get(key), torch[(mode, seed)].get(key)
            cells.append("-" if a is None or b is None else f"{100 * a:.2f} / {100 * b:.2f} ({100 * (a - b):+.2f})")
        print(f"| {mode} | {seed} | " + " | ".join(cells) + " |")
    print()
    print("| mode | seeds | Swift top-1 (80 templates), mean ± SE | PyTorch, mean ± SE | largest per-seed difference |")
    print("| --- | --- | --- | --- | --- |")
    for mode in sorted({m for m, _ in pairs}):
        seeds = [s for m, s in pairs if m == mode]
        a = [swift[(mode, s)]["zeroshot_top1"] for s in seeds]
        b = [torch[(mode, s)]["zeroshot_top1"] for s in seeds]
        (ma, ea), (mb, eb) = mean_and_error(a), mean_and_error(b)
        worst = max(abs(x - y) for x, y in zip(a, b))
        print(f"| {mode} | {','.join(map(str, seeds))} | {100 * ma:.2f} ± {100 * ea:.2f} | {100 * mb:.2f} ± {100 * eb:.2f} | {100 * worst:.2f} |")


if __name__ == "__main__":
    main()
