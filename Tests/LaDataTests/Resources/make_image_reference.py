#!/usr/bin/env python3
"""Fixtures and reference values for Tests/LaDataTests/ImageTests.swift.

Run with the reference venv (torch, torchvision, Pillow, numpy):
    /work/venv-ref/bin/python Tests/LaDataTests/Resources/make_image_reference.py

Writes
  images/*.png, images/*.jpg      tiny decoder fixtures (gray, 16-bit, 1-bit, gray+alpha, RGBA, palette with
                                  transparency, interlaced, grayscale/CMYK/progressive JPEG) and ref_input.png
                                  (32x24 RGB), the input of the resize references
  image_decode_reference.json     the RGB bytes each fixture must decode to (PIL's convert("RGB"), except
                                  16-bit samples: round(v * 255 / 65535), where PIL clips gray at 255), and
                                  Pillow's size and per-channel byte sums for every image in coco/mini
  image_resize_reference.json     torchvision (float tensors, antialias=True) and PIL (8-bit) resizes,
                                  crops and the open_clip eval pipeline on ref_input.png, as CHW floats
"""
import json
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
COCO = os.path.join(REPO, "..", "shared", "data", "coco", "mini")
os.makedirs(IMAGES, exist_ok=True)
rng = np.random.default_rng(20240601)


def write_png(path, array, color_type, bit_depth, interlace=False, palette=None, trns=None):
    """A minimal PNG writer (filter 0), so 16-bit RGB and Adam7 interlacing can be produced exactly."""
    array = np.asarray(array)
    height, width = array.shape[:2]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    samples = array.reshape(height, width, channels)

    def pack(rows):
        out = b""
        for row in rows:
            flat = row.reshape(-1)
            if bit_depth == 16:
                data = flat.astype(">u2").tobytes()
            elif bit_depth == 8:
                data = flat.astype(np.uint8).tobytes()
            else:
                bits = "".join(format(int(v), "0%db" % bit_depth) for v in flat)
                bits += "0" * (-len(bits) % 8)
                data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
            out += b"\x00" + data
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += pack(sub)
    else:
        raw = pack(samples)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", bytes(trns))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def pil_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


decode_cases = []


def add_case(name, expected, note):
    expected = np.asarray(expected, dtype=np.uint8)
    decode_cases.append({
        "file": name, "width": int(expected.shape[1]), "height": int(expected.shape[0]), "note": note,
        "rgb": expected.reshape(-1).tolist(),
    })


# --- PNG fixtures ---
gray = rng.integers(0, 256, size=(5, 7), dtype=np.uint8)
write_png(os.path.join(IMAGES, "gray8.png"), gray, 0, 8)
add_case("gray8.png", pil_rgb(os.path.join(IMAGES, "gray8.png")), "8-bit gray, replicated")

gray16 = rng.integers(0, 65536, size=(4, 6), dtype=np.uint16)
write_png(os.path.join(IMAGES, "gray16.png"), gray16, 0, 16)
g8 = np.round(gray16.astype(np.float64) * 255 / 65535).astype(np.uint8)
add_case("gray16.png", np.repeat(g8[:, :, None], 3, axis=2), "16-bit gray, scaled with rounding")

bits = rng.integers(0, 2, size=(4, 9), dtype=np.uint8)
write_png(os.path.join(IMAGES, "gray1.png"), bits, 0, 1)
add_case("gray1.png", pil_rgb(os.path.join(IMAGES, "gray1.png")), "1-bit gray")

la = rng.integers(0, 256, size=(4, 5, 2), dtype=np.uint8)
write_png(os.path.join(IMAGES, "gray_alpha.png"), la, 4, 8)
add_case("gray_alpha.png", pil_rgb(os.path.join(IMAGES, "gray_alpha.png")), "gray + alpha, alpha dropped")

rgba = rng.integers(0, 256, size=(4, 6, 4), dtype=np.uint8)
Image.fromarray(rgba, "RGBA").save(os.path.join(IMAGES, "rgba.png"))
add_case("rgba.png", pil_rgb(os.path.join(IMAGES, "rgba.png")), "RGBA, alpha dropped")

rgb16 = rng.integers(0, 65536, size=(3, 4, 3), dtype=np.uint16)
write_png(os.path.join(IMAGES, "rgb16.png"), rgb16, 2, 16)
add_case("rgb16.png", np.round(rgb16.astype(np.float64) * 255 / 65535), "16-bit RGB, scaled with rounding")

palette = rng.integers(0, 256, size=(6, 3), dtype=np.uint8)
indices = rng.integers(0, 6, size=(5, 6), dtype=np.uint8)
write_png(os.path.join(IMAGES, "palette.png"), indices, 3, 8, palette=palette, trns=[0, 128, 255])
add_case("palette.png", pil_rgb(os.path.join(IMAGES, "palette.png")), "palette with tRNS, expanded, alpha dropped")

palette4 = rng.integers(0, 256, size=(16, 3), dtype=np.uint8)
indices4 = rng.integers(0, 16, size=(3, 7), dtype=np.uint8)
write_png(os.path.join(IMAGES, "palette4.png"), indices4, 3, 4, palette=palette4)
add_case("palette4.png", pil_rgb(os.path.join(IMAGES, "palette4.png")), "4-bit palette")

inter = rng.integers(0, 256, size=(9, 11, 3), dtype=np.uint8)
write_png(os.path.join(IMAGES, "interlaced.png"), inter, 2, 8, interlace=True)
assert (pil_rgb(os.path.join(IMAGES, "interlaced.png")) == inter).all()
add_case("interlaced.png", inter, "Adam7-interlaced RGB")

# --- JPEG fixtures (smooth content so they stay tiny) ---
yy, xx = np.mgrid[0:12, 0:16]
smooth = np.stack([xx * 15, yy * 20, (xx + yy) * 8], axis=2).clip(0, 255).astype(np.uint8)
Image.fromarray(smooth[:, :, 0], "L").save(os.path.join(IMAGES, "gray.jpg"), quality=90)
add_case("gray.jpg", pil_rgb(os.path.join(IMAGES, "gray.jpg")), "grayscale JPEG")
Image.fromarray(smooth, "RGB").convert("CMYK").save(os.path.join(IMAGES, "cmyk.jpg"), quality=90)
add_case("cmyk.jpg", pil_rgb(os.path.join(IMAGES, "cmyk.jpg")), "Adobe CMYK JPEG, PIL's conversion")
Image.fromarray(smooth, "RGB").save(os.path.join(IMAGES, "progressive.jpg"), quality=90, progressive=True)
add_case("progressive.jpg", pil_rgb(os.path.join(IMAGES, "progressive.jpg")), "progressive YCbCr JPEG")

# --- coco/mini: Pillow's sizes and byte sums ---
coco = []
if os.path.isdir(COCO):
    for name in sorted(os.listdir(os.path.join(COCO, "images"))):
        with Image.open(os.path.join(COCO, "images", name)) as im:
            mode = im.mode
            rgb = np.asarray(im.convert("RGB")).astype(np.int64)
        coco.append({"file": name, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "mode": mode,
                     "sums": rgb.reshape(-1, 3).sum(axis=0).tolist()})

with open(os.path.join(HERE, "image_decode_reference.json"), "w") as f:
    json.dump({"fixtures": decode_cases, "coco_mini": coco}, f, separators=(",", ":"))

# --- resize references on a 32x24 image ---
h, w = 24, 32
yy, xx = np.mgrid[0:h, 0:w]
base = np.stack([128 + 100 * np.sin(xx / 3.0), 128 + 100 * np.cos(yy / 2.5), (xx * 7 + yy * 5) % 256], axis=2)
img = np.clip(base + rng.normal(0, 20, size=base.shape), 0, 255).astype(np.uint8)
Image.fromarray(img, "RGB").save(os.path.join(IMAGES, "ref_input.png"))
pil = Image.open(os.path.join(IMAGES, "ref_input.png")).convert("RGB")
t = torch.from_numpy(img).permute(2, 0, 1).float().div(255).unsqueeze(0)  # [1, 3, H, W]

cases = []


def values(tensor):
    return [float("%.6g" % v) for v in tensor.reshape(-1).tolist()]


def add(name, out, source, **kwargs):
    out = out.squeeze(0)
    cases.append(dict(name=name, source=source, width=int(out.shape[-1]), height=int(out.shape[-2]),
                      values=values(out), **kwargs))


MODES = {"bilinear": (T.InterpolationMode.BILINEAR, Image.BILINEAR), "bicubic": (T.InterpolationMode.BICUBIC, Image.BICUBIC)}
for filt in ["bilinear", "bicubic"]:
    out = F.interpolate(t, size=(10, 13), mode=filt, antialias=True, align_corners=False).clamp(0, 1)
    add("down_%s_torch" % filt, out, "torch", op="resize", filter=filt, antialias=True)
    out = torch.from_numpy(np.asarray(pil.resize((13, 10), MODES[filt][1]))).permute(2, 0, 1).float() / 255
    add("down_%s_pil" % filt, out, "pil", op="resize", filter=filt, antialias=True)
    # crop box (top 3, left 5, 7 x 9) upscaled to 11 x 14: torchvision's resized_crop
    out = TF.resized_crop(t, 3, 5, 7, 9, [11, 14], interpolation=MODES[filt][0], antialias=True).clamp(0, 1)
    add("crop_up_%s_torch" % filt, out, "torch", op="resize", filter=filt, antialias=True, region=[5, 3, 9, 7])
out = F.interpolate(t, size=(10, 13), mode="bilinear", antialias=False, align_corners=False)
add("down_bilinear_noaa_torch", out, "torch", op="resize", filter="bilinear", antialias=False)
# Resize(12): shorter side 12 -> 16 x 12
out = T.Resize(12, interpolation=T.InterpolationMode.BICUBIC, antialias=True)(t).clamp(0, 1)
add("shorter_side_bicubic_torch", out, "torch", op="shorter_side", size=12, filter="bicubic", antialias=True)
out = torch.from_numpy(np.asarray(T.Resize(12, interpolation=T.InterpolationMode.BICUBIC)(pil))).permute(2, 0, 1).float() / 255
add("shorter_side_bicubic_pil", out, "pil", op="shorter_side", size=12, filter="bicubic", antialias=True)
# CenterCrop: odd margins exercise half-to-even rounding; larger than the image exercises padding
# (stored as 8-bit levels: a crop copies samples)
for cw, ch in [(15, 11), (35, 27)]:
    out = T.CenterCrop((ch, cw))(t).squeeze(0)
    cases.append(dict(name="center_crop_%dx%d" % (cw, ch), source="torch", op="center_crop", crop=[cw, ch],
                      width=cw, height=ch, levels=[int(round(v * 255)) for v in out.reshape(-1).tolist()]))
# open_clip's eval transform on the PIL image: Resize(12, bicubic), CenterCrop(12), ToTensor, Normalize(OpenAI)
mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
pipeline = T.Compose([T.Resize(12, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(12), T.ToTensor(), T.Normalize(mean, std)])
add("eval_pipeline_pil", pipeline(pil).unsqueeze(0), "pil", op="eval_pipeline", size=12, filter="bicubic")

with open(os.path.join(HERE, "image_resize_reference.json"), "w") as f:
    json.dump({"input": "images/ref_input.png", "cases": cases}, f, separators=(",", ":"))
print("fixtures:", len(decode_cases), "coco:", len(coco), "resize cases:", len(cases))
