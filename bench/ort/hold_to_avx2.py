"""Write a copy of onnxruntime-node whose library runs its AVX2 code on an AVX-512 CPU (benchmarks only).

The issue's AVX2 targets are for an AVX2-only machine, where ONNX Runtime runs its AVX2 (FMA3)
kernels; none has been available. On an AVX-512 machine the engine can be held to AVX2
(`--kernel avx2`, `ONEDNN_MAX_CPU_ISA=AVX2` for oneDNN), but ONNX Runtime has no such switch: MLAS
picks its kernels from CPUID and from XCR0, the register that says which vector state the OS saves.
A CPU with AVX-512 whose OS does not save the ZMM state (XCR0 bits 5-7 clear) gets the AVX2
kernels, so this copy answers every XGETBV in the library with XCR0 = 0x07 (x87, SSE and AVX
state only): each 3-byte `xgetbv` (0F 01 D0) becomes `mov al, 7; nop` (B0 07 90). The rest of
EAX keeps what it held and EDX is not written. The AVX-512 state bits (5-7) are in AL, so AL
decides; the AMX bits (17-18) are read only beside CPUID's AMX flags, and where a CPU has those the
OS saves that state anyway.

Nothing else changes, and the product never loads it: `SCALES_ORT_MODULE=<out>/onnxruntime-node`
in the environment of scales-bench or scales-latency points bench/ort/worker.mjs at the copy.
The instruction sites come from objdump's disassembly, not a byte search, so no data or
mid-instruction bytes are touched; each site's bytes are checked before they are written.

    scripts/py bench/ort/hold_to_avx2.py build/bench/ort-avx2
"""
import argparse
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
XGETBV = bytes([0x0F, 0x01, 0xD0])
MOV_AL_7_NOP = bytes([0xB0, 0x07, 0x90])
LIB = Path("bin/napi-v6/linux/x64/libonnxruntime.so.1")


def load_segments(elf: bytes) -> list[tuple[int, int, int]]:
    """(virtual address, file offset, file size) of each PT_LOAD segment of a 64-bit little-endian ELF."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    out = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type == 1:
            out.append((p_vaddr, p_offset, p_filesz))
    return out


def file_offset(segments, vaddr: int) -> int:
    for va, off, size in segments:
        if va <= vaddr < va + size:
            return off + (vaddr - va)
    raise ValueError(f"address {vaddr:#x} is in no loaded segment")


def xgetbv_sites(lib: Path) -> list[int]:
    """Virtual addresses of every xgetbv instruction, from objdump's disassembly of the code."""
    # Streamed: the library's disassembly is about 350 MB of text.
    insn = re.compile(r"^\s*([0-9a-f]+):\s+xgetbv\b")
    with subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", str(lib)], stdout=subprocess.PIPE, text=True) as p:
        sites = [int(m.group(1), 16) for line in p.stdout if "xgetbv" in line and (m := insn.match(line))]
    if p.returncode != 0:
        raise SystemExit(f"objdump failed on {lib} (exit {p.returncode})")
    return sites


def hold(src_modules: Path, out: Path) -> dict:
    node_pkg = src_modules / "onnxruntime-node"
    if not (node_pkg / LIB).is_file():
        raise SystemExit(f"{node_pkg / LIB} not found (scripts/setup installs bench/ort)")
    if out.exists():
        shutil.rmtree(out)
    # The package's JavaScript, its x64 binding and library, and the package it requires; node
    # resolves onnxruntime-common from the copy's own node_modules folder.
    dst = out / "node_modules" / "onnxruntime-node"
    dst.mkdir(parents=True)
    for part in ["package.json", "dist", "lib"]:
        s = node_pkg / part
        (shutil.copytree if s.is_dir() else shutil.copy2)(s, dst / part)
    shutil.copytree(node_pkg / LIB.parent, dst / LIB.parent)
    shutil.copytree(src_modules / "onnxruntime-common", out / "node_modules" / "onnxruntime-common")

    lib = dst / LIB
    data = bytearray(lib.read_bytes())
    segments = load_segments(bytes(data))
    sites = xgetbv_sites(lib)
    if not sites:
        raise SystemExit(f"{lib}: no xgetbv instruction found; this ONNX Runtime cannot be held this way")
    for vaddr in sites:
        at = file_offset(segments, vaddr)
        if data[at:at + 3] != XGETBV:
            raise SystemExit(f"{lib}: bytes at {vaddr:#x} are {data[at:at + 3].hex()}, not xgetbv")
        data[at:at + 3] = MOV_AL_7_NOP
    lib.write_bytes(bytes(data))
    info = {"module": str(dst), "library": str(lib), "xgetbv_sites": [f"{a:#x}" for a in sites],
            "xcr0_seen": "0x07 in AL (x87, SSE, AVX state; no opmask/ZMM state)"}
    (out / "held.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write (replaced if present), e.g. build/bench/ort-avx2")
    ap.add_argument("--from", dest="src", type=Path, default=HERE / "node_modules",
                    help="node_modules folder holding onnxruntime-node (default: bench/ort's)")
    args = ap.parse_args(argv)
    info = hold(args.src, args.out)
    print(f"{len(info['xgetbv_sites'])} xgetbv sites answered with XCR0 = 0x07 in {info['library']}")
    print(f"use: SCALES_ORT_MODULE={info['module']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
