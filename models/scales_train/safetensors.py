"""Minimal safetensors reader/writer (the format: 8-byte little-endian header length N, N bytes of
JSON header, then the raw little-endian tensor bytes). Debian 12 has no safetensors package, and
the format is small enough to implement exactly; the reader validates everything it is given.

Tensors are numpy arrays here, since torch 1.13 has no uint64 dtype (packed binary weights are U64).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

DTYPES = {
    "F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
    "U8": np.dtype("u1"), "I8": np.dtype("i1"),
}
_NAMES = {v: k for k, v in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024


def save(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    header: dict = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    offset = 0
    blobs = []
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        if dt not in _NAMES:
            raise TypeError(f"tensor {name}: dtype {arr.dtype} not supported")
        blob = arr.astype(dt, copy=False).tobytes()
        header[name] = {"dtype": _NAMES[dt], "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    hbytes += b" " * (-len(hbytes) % 8)  # align the data section to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)


def load(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Returns (tensors, metadata). Raises ValueError naming the problem for any malformed file."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise ValueError(f"{path}: file too short for a safetensors header ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} exceeds the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: header is not valid JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        try:
            dt = DTYPES[info["dtype"]]
            shape = [int(d) for d in info["shape"]]
            start, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: tensor {name}: bad entry {info!r}") from None
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= start <= end <= len(body)) or end - start != count * dt.itemsize:
            raise ValueError(f"{path}: tensor {name}: offsets {start}..{end} do not fit shape {shape} "
                             f"{info['dtype']} within {len(body)} data bytes")
        out[name] = np.frombuffer(body[start:end], dtype=dt).reshape(shape).copy()
    return out, meta
