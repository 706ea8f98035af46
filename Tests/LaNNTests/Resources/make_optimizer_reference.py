#!/usr/bin/env python3
"""Builds optimizer_reference.json for OptimizerReferenceTests: parameter trajectories of torch.optim.

Reference data only: the Swift package never depends on Python. To regenerate:

    pip install torch
    python3 Tests/LaNNTests/Resources/make_optimizer_reference.py

Two float64 parameters, `w` [3, 4] and `b` [4], start from fixed random values. Five fixed random gradient
pairs are applied in turn (`p.grad = g`, then `optimizer.step()`), and the parameters are recorded after
each step. The gradients are scaled so that their global norm is above 1 at some steps and below at
others, which exercises both branches of `clip_grad_norm_(max_norm=1.0)`. All optimizers use the
single-tensor (for-loop) implementation (`foreach=False`), the one the Swift optimizers mirror.

JSON layout: `initial` {w, b}, `gradients` [5 x {w, b}], and `cases` {name: {description, steps: [5 x {w, b}]}};
tensors are flat row-major lists of float64 (Python's repr, which round-trips exactly), shapes in `shapes`.
"""

import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "optimizer_reference.json")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
torch.manual_seed(7)

SHAPES = {"w": [3, 4], "b": [4]}
STEPS = 5
initial = {name: torch.randn(shape) for name, shape in SHAPES.items()}
# Global gradient norms of about 3, 0.4, 1.6, 0.2, 5: clipping is active at steps 1, 3, 5 only.
norm_targets = [3.0, 0.4, 1.6, 0.2, 5.0]
gradients = []
for target in norm_targets:
    g = {name: torch.randn(shape) for name, shape in SHAPES.items()}
    norm = torch.sqrt(sum((t * t).sum() for t in g.values()))
    gradients.append({name: t * (target / norm) for name, t in g.items()})

ADAM = dict(lr=1e-2, betas=(0.9, 0.98), eps=1e-6, foreach=False)
CASES = {
    "sgd": ("SGD lr 0.1", lambda p: torch.optim.SGD(list(p.values()), lr=0.1, foreach=False), False),
    "sgd_momentum_dampening": (
        "SGD lr 0.1, momentum 0.9, dampening 0.1",
        lambda p: torch.optim.SGD(list(p.values()), lr=0.1, momentum=0.9, dampening=0.1, foreach=False),
        False,
    ),
    "sgd_nesterov": (
        "SGD lr 0.1, Nesterov momentum 0.9",
        lambda p: torch.optim.SGD(list(p.values()), lr=0.1, momentum=0.9, nesterov=True, foreach=False),
        False,
    ),
    "sgd_weight_decay": (
        "SGD lr 0.1, weight decay 0.01",
        lambda p: torch.optim.SGD(list(p.values()), lr=0.1, weight_decay=0.01, foreach=False),
        False,
    ),
    "adam_l2": (
        "Adam lr 1e-2, betas (0.9, 0.98), eps 1e-6, weight decay 0.1 (L2)",
        lambda p: torch.optim.Adam(list(p.values()), weight_decay=0.1, **ADAM),
        False,
    ),
    "adamw": (
        "AdamW lr 1e-2, betas (0.9, 0.98), eps 1e-6, weight decay 0.1 (decoupled)",
        lambda p: torch.optim.AdamW(list(p.values()), weight_decay=0.1, **ADAM),
        False,
    ),
    "adamw_groups": (
        "AdamW as adamw, two parameter groups: w with weight decay 0.1, b with none",
        lambda p: torch.optim.AdamW(
            [{"params": [p["w"]], "weight_decay": 0.1}, {"params": [p["b"]], "weight_decay": 0.0}], **ADAM
        ),
        False,
    ),
    "adamw_clipped": (
        "clip_grad_norm_([w, b], max_norm=1.0) before each step of adamw",
        lambda p: torch.optim.AdamW(list(p.values()), weight_decay=0.1, **ADAM),
        True,
    ),
}


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


cases = {}
for name, (description, make, clip) in CASES.items():
    params = {k: v.clone().requires_grad_(True) for k, v in initial.items()}
    optimizer = make(params)
    steps = []
    for g in gradients:
        for k, p in params.items():
            p.grad = g[k].clone()
        if clip:
            torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm=1.0)
        optimizer.step()
        steps.append({k: flat(p) for k, p in params.items()})
    cases[name] = {"description": description, "steps": steps}

reference = {
    "generator": "make_optimizer_reference.py",
    "torch": torch.__version__,
    "shapes": SHAPES,
    "initial": {k: flat(v) for k, v in initial.items()},
    "gradients": [{k: flat(v) for k, v in g.items()} for g in gradients],
    "cases": cases,
}
with open(OUTPUT, "w") as f:
    json.dump(reference, f, indent=1)
    f.write("\n")
print(f"wrote {OUTPUT}: {len(cases)} cases, {os.path.getsize(OUTPUT)} bytes")
