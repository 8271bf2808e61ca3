"""The baseline of the CUDA benchmark: the FP twin of paper-size SCALES-EDSR (B16 C64, the same
layers with FP convs: models/scales_train/edsr.py, variant fp) in FP16 through PyTorch/cuDNN on the
same GPU, channels-last, cudnn.benchmark, batches of 256x256 tiles. Median of CUDA-event timings.

    python3 bench/cuda/torch_fp16_twin.py --json OUT.json [--batches 1,8,16] [--repeats 20]
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models"))
from scales_train.edsr import ModelConfig, ScalesEDSR  # noqa: E402


def time_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--batches", default="1,8,16")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    rows = []
    for scale in (2, 4):
        net = ScalesEDSR(ModelConfig.from_variant("fp", scale, 16, 64)).to(dev).half().eval()
        net = net.to(memory_format=torch.channels_last)
        for n in (int(b) for b in a.batches.split(",")):
            x = torch.rand(n, 3, a.size, a.size, device=dev).half().to(memory_format=torch.channels_last)
            with torch.inference_mode():
                ms = time_ms(lambda: net(x), a.repeats)
            rows.append({"name": f"torch_fp16_twin_x{scale}_b{n}", "scale": scale, "batch": n, "size": a.size,
                         "ms": ms, "images_per_s": 1000.0 * n / ms})
            print(f"FP16 twin x{scale} batch {n}: {ms:.2f} ms, {1000.0 * n / ms:.1f} img/s", flush=True)
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "cudnn": torch.backends.cudnn.version(), "rows": rows}
    Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
