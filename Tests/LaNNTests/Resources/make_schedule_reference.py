#!/usr/bin/env python3
"""Builds schedule_reference.json for ScheduleTests: learning rates from open_clip's own schedulers.

Reference data only: the Swift package never depends on Python. To regenerate:

    pip install 'open-clip-torch[training]'   # provides open_clip_train.scheduler
    python3 Tests/LaNNTests/Resources/make_schedule_reference.py

Each case calls the real `open_clip_train.scheduler.cosine_lr` or `const_lr_cooldown` with a dummy
optimizer, exactly as open_clip_train/main.py does (`scheduler = cosine_lr(optimizer, args.lr,
args.warmup, total_steps)`, then `scheduler(step)` before every optimizer step, for step in
0 ..< total_steps), and records the returned rate and the rate assigned to the optimizer's param groups.
Steps 0 ... total (inclusive) are recorded; open_clip itself never goes beyond step total - 1.

JSON layout: `cases` is a list of {name, function, arguments (open_clip's names), learning_rates}.
"""

import inspect
import json
import os

import torch

from open_clip_train import scheduler as oc_scheduler

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "schedule_reference.json")

CASES = [
    ("cosine_clip", "cosine_lr", dict(base_lr=5e-4, warmup_length=10, steps=100)),
    ("cosine_no_warmup", "cosine_lr", dict(base_lr=1e-3, warmup_length=0, steps=37)),
    ("cosine_one_warmup_step", "cosine_lr", dict(base_lr=3e-4, warmup_length=1, steps=20)),
    ("cosine_long_warmup", "cosine_lr", dict(base_lr=2e-3, warmup_length=50, steps=64)),
    ("cooldown_linear", "const_lr_cooldown",
     dict(base_lr=5e-4, warmup_length=10, steps=100, cooldown_steps=30, cooldown_power=1.0, cooldown_end_lr=0.0)),
    ("cooldown_square_to_floor", "const_lr_cooldown",
     dict(base_lr=1e-3, warmup_length=5, steps=60, cooldown_steps=25, cooldown_power=2.0, cooldown_end_lr=1e-5)),
    ("cooldown_sqrt", "const_lr_cooldown",
     dict(base_lr=2e-4, warmup_length=0, steps=40, cooldown_steps=13, cooldown_power=0.5, cooldown_end_lr=2e-6)),
    ("cooldown_without_plateau", "const_lr_cooldown",
     dict(base_lr=1e-3, warmup_length=8, steps=30, cooldown_steps=22, cooldown_power=1.0, cooldown_end_lr=0.0)),
]

dummy = torch.nn.Parameter(torch.zeros(1))
cases = []
for name, function, arguments in CASES:
    optimizer = torch.optim.SGD([dummy], lr=0.0)
    adjust = getattr(oc_scheduler, function)(optimizer, **arguments)
    rates = []
    for step in range(arguments["steps"] + 1):
        returned = adjust(step)
        assigned = optimizer.param_groups[0]["lr"]
        assert returned == assigned
        rates.append(returned)
    cases.append({"name": name, "function": function, "arguments": arguments, "learning_rates": rates})

reference = {
    "generator": "make_schedule_reference.py",
    "source": {
        "cosine_lr": inspect.getsource(oc_scheduler.cosine_lr),
        "const_lr_cooldown": inspect.getsource(oc_scheduler.const_lr_cooldown),
    },
    "cases": cases,
}
with open(OUTPUT, "w") as f:
    json.dump(reference, f, indent=1)
    f.write("\n")
print(f"wrote {OUTPUT}: {len(cases)} cases, {os.path.getsize(OUTPUT)} bytes")
