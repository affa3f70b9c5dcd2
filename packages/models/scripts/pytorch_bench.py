#!/usr/bin/env python3
"""PyTorch timings for the shapes of packages/models/bench: one training step (forward, BCE-with-logits, backward, Adam)
and inference forward passes, on the CPU with all cores (or STEEL_TORCH_THREADS). Prints one JSON object on stdout.
A case may set "architecture" (unet, fpn), "runs" and "warmup". With --serve '<case>' the model stays loaded and one
forward/step is timed per "run" line on stdin, so a benchmark can alternate it with other engines under the same load.
The one-shot output also has the process's peak resident memory (peak_rss_mib).

Usage: /usr/bin/python3 packages/models/scripts/pytorch_bench.py '[{"op": "train", "encoder": "resnet18", "shape": [2,128,256,1]}]'
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import SegmentationModel  # noqa: E402


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def make_step(case):
    """The function timed for one case (model and data built once)."""
    n, h, w, c = case["shape"]
    model = SegmentationModel(case.get("architecture", "unet"), case["encoder"], c, 4, False)
    x = torch.rand(n, c, h, w)
    if case["op"] == "train":
        model.train()
        y = (torch.rand(n, 4, h, w) > 0.9).float()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.BCEWithLogitsLoss()

        def step():
            opt.zero_grad()
            loss = loss_fn(model(x)[0], y)
            loss.backward()
            opt.step()
            loss.item()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)[0].sum().item()

    return step


def bench(case):
    runs = case.get("runs", 3)
    warmup = case.get("warmup", 1)
    step = make_step(case)
    for _ in range(warmup):
        step()
    times = []
    cpu = []
    for _ in range(runs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        step()
        cpu.append((time.process_time() - c0) * 1000)
        times.append((time.perf_counter() - t0) * 1000)
    return median(times), median(cpu)


def serve(case):
    """One model kept alive: prints a ready line, then one line of milliseconds per "run" line read from stdin."""
    step = make_step(case)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        t0 = time.perf_counter()
        step()
        print(json.dumps({"ms": (time.perf_counter() - t0) * 1000}), flush=True)


def main():
    torch.set_num_threads(int(os.environ.get("STEEL_TORCH_THREADS") or os.cpu_count() or 1))
    if sys.argv[1] == "--serve":
        serve(json.loads(sys.argv[2]))
        return
    cases = json.loads(sys.argv[1])
    timings = [bench(c) for c in cases]
    ms = [t[0] for t in timings]
    # CPU time of the process (all its threads): on one thread, what the step costs without other processes' load
    cpu_ms = [t[1] for t in timings]
    # ru_maxrss is in KiB on Linux: the peak of this process (one call per case from the bench)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "ms": ms, "cpu_ms": cpu_ms, "peak_rss_mib": round(peak)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
