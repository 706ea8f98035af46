#!/usr/bin/env python3
"""Packs the COCO mini images and captions (../shared/data/coco/mini) into one WebDataset shard:
KEY.jpg plus KEY.json = {"captions": [the image's 5 human captions]}, for `laclip train --data SHARD.tar`.

Usage: scripts/make-coco-mini-shard.py [MINI_FOLDER] [OUTPUT.tar]
Standard library only. COCO images and captions: see MINI_FOLDER/ATTRIBUTION.tsv (CC BY / CC BY-SA).
"""
import collections
import csv
import io
import json
import sys
import tarfile
from pathlib import Path

mini = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/coco/mini")
output = Path(sys.argv[2] if len(sys.argv) > 2 else "coco-mini-000.tar")
captions = collections.OrderedDict()
with open(mini / "captions.tsv", newline="") as f:
    for row in csv.DictReader(f, delimiter="\t"):
        # Skip stray lines (a caption's line break leaves a row without an image file).
        if row.get("caption") and row.get("filepath") and (mini / row["filepath"]).is_file():
            captions.setdefault(row["filepath"], []).append(row["caption"])
with tarfile.open(output, "w") as shard:
    for path, texts in captions.items():
        key = Path(path).stem
        shard.add(mini / path, arcname=key + ".jpg", recursive=False)
        data = json.dumps({"captions": texts}).encode()
        info = tarfile.TarInfo(key + ".json")
        info.size = len(data)
        shard.addfile(info, io.BytesIO(data))
print(f"{output}: {len(captions)} samples")
