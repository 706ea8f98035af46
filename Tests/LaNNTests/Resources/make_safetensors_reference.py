#!/usr/bin/env python3
"""Builds reference.safetensors with the official `safetensors` package, for SafeTensorsTests.

Reference data only: the Swift package never depends on Python. To regenerate:

    pip install safetensors numpy
    python3 Tests/LaNNTests/Resources/make_safetensors_reference.py

The values are chosen to be exact in every dtype they are stored as, so the Swift test compares exactly.
numpy has no bfloat16, so the BF16 tensor is handed to the official writer as raw bits (the upper 16 bits
of each float32), through the same `serialize_file` call that `safetensors.numpy.save_file` makes.
"""

import os

import numpy as np
from safetensors import TensorSpec, safe_open, serialize_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "reference.safetensors")

# float32: a 2x3 matrix.
F32 = np.array([[1.5, -2.25, 3.0], [0.125, -0.0, 1024.0]], dtype=np.float32)
# float64: values that need double precision.
F64 = np.array([0.1, -1e300, 2.0**-1074, 1.0 + 2.0**-52], dtype=np.float64)
# float16: 1, -2.5, the largest finite, the smallest subnormal, the smallest normal, inf, -inf, NaN.
F16 = np.array(
    [1.0, -2.5, 65504.0, 2.0**-24, 2.0**-14, np.inf, -np.inf, np.nan], dtype=np.float16
).reshape(2, 4)
# bfloat16 as float32 whose low 16 bits are zero: 1, -2.5, 3.140625, a subnormal (2^-133), inf, NaN.
BF16_AS_F32 = np.array(
    [1.0, -2.5, 3.140625, 2.0**-133, np.inf, np.nan], dtype=np.float32
)
BF16_BITS = (BF16_AS_F32.view(np.uint32) >> 16).astype("<u2")
assert ((BF16_BITS.astype(np.uint32) << 16).view(np.float32)[:4] == BF16_AS_F32[:4]).all()
I64 = np.array([[-(2**62), -1], [0, 2**62 + 7]], dtype=np.int64)
I32 = np.array([-2147483648, 0, 2147483647], dtype=np.int32)
U8 = np.array([0, 1, 127, 255], dtype=np.uint8)
BOOL = np.array([True, False, True], dtype=np.bool_)
# A zero-element tensor and a scalar.
EMPTY = np.zeros((0, 3), dtype=np.float32)
SCALAR = np.array(42.5, dtype=np.float64)

METADATA = {"format": "np", "producer": "make_safetensors_reference.py", "note": "π ≈ 3.14 \"quoted\""}


def main() -> None:
    tensors = {
        "f32": F32,
        "f64": F64,
        "f16": F16,
        "i64": I64,
        "i32": I32,
        "u8": U8,
        "bool": BOOL,
        "empty": EMPTY,
        "scalar": SCALAR,
    }
    # The TensorSpecs that safetensors.numpy.save_file builds, plus the hand-built BF16 entry.
    specs = {
        name: TensorSpec(
            dtype=array.dtype.name,
            shape=list(array.shape),
            data_ptr=array.ctypes.data,
            data_len=array.nbytes,
        )
        for name, array in tensors.items()
    }
    specs["bf16"] = TensorSpec(
        dtype="bfloat16",
        shape=[2, 3],
        data_ptr=BF16_BITS.ctypes.data,
        data_len=BF16_BITS.nbytes,
    )
    serialize_file(specs, OUTPUT, metadata=METADATA)

    # Check with the official reader (numpy cannot hold the BF16 tensor, so it is left out).
    with safe_open(OUTPUT, framework="np") as handle:
        assert handle.metadata() == METADATA
        for name, array in tensors.items():
            np.testing.assert_array_equal(handle.get_tensor(name), array)
    print(f"wrote {OUTPUT} ({os.path.getsize(OUTPUT)} bytes)")


if __name__ == "__main__":
    main()
