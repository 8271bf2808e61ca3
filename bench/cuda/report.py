"""Joins scales-bench-cuda's JSON with the FP16 twin's (torch_fp16_twin.py) into the markdown
tables of docs/benchmarks.md: per batch size, images/s of each and the speedup; per layer, the
fraction of the memory-bandwidth floor reached.

    python3 bench/cuda/report.py BENCH.json TORCH.json
"""
import json
import sys


def main() -> None:
    bench = json.load(open(sys.argv[1]))
    torch = json.load(open(sys.argv[2]))
    twin = {(r["scale"], r["batch"]): r for r in torch["rows"]}
    print(f"Device: {bench['device']}; PyTorch {torch['torch']}, cuDNN {torch['cudnn']}; "
          f"device-to-device copy {bench['copy_gbs']:.0f} GB/s (read + write).\n")
    print("| network (256x256 tiles) | batch | CUDA backend ms | img/s | FP16 twin ms | img/s | speedup |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in bench["e2e"]:
        t = twin.get((r["scale"], r["batch"]))
        if t is None:
            continue
        print(f"| SCALES-EDSR B16C64 x{r['scale']} | {r['batch']} | {r['ms']:.2f} | {r['images_per_s']:.1f} | "
              f"{t['ms']:.2f} | {t['images_per_s']:.1f} | {t['ms'] / r['ms']:.2f}x |")
    print("\n| layer (C64, 256x256 tiles) | batch | ms | bandwidth floor ms | fraction of floor |")
    print("|---|---:|---:|---:|---:|")
    for r in bench["layers"]:
        print(f"| {r['name']} | {r['batch']} | {r['ms']:.3f} | {r['floor_ms']:.3f} | {r['fraction_of_bandwidth']:.2f} |")


if __name__ == "__main__":
    main()
