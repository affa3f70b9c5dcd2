# The Kaggle kernels' numpy helpers (mask2rle / rle2mask), timed on the masks the TypeScript benchmark writes.
# Usage: python3 numpy_rle.py MASKS.bin COUNT HEIGHT WIDTH  -> prints JSON {"encodeUs", "encodeCpuUs", "decodeUs", "decodeCpuUs", "numpy"}
import json, sys, time
import numpy as np

path, count, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
masks = np.fromfile(path, dtype=np.uint8).reshape(count, height, width)

def mask2rle(img):
    pixels = img.T.flatten()
    pixels = np.concatenate([[0], pixels, [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return ' '.join(str(x) for x in runs)

def rle2mask(rle, h, w):
    s = rle.split()
    starts, lengths = [np.asarray(x, dtype=int) for x in (s[0:][::2], s[1:][::2])]
    starts -= 1
    ends = starts + lengths
    img = np.zeros(h * w, dtype=np.uint8)
    for lo, hi in zip(starts, ends):
        img[lo:hi] = 1
    return img.reshape(w, h).T

rles = [mask2rle(m) for m in masks]
def median_us(fn, items, runs=7):
    # Median wall time and median CPU time of this process per item, in microseconds.
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for x in items:
            fn(x)
        wall.append((time.perf_counter() - t0) / len(items) * 1e6)
        cpu.append((time.process_time() - c0) / len(items) * 1e6)
    return sorted(wall)[runs // 2], sorted(cpu)[runs // 2]

encode_us, encode_cpu_us = median_us(mask2rle, masks)
decode_us, decode_cpu_us = median_us(lambda r: rle2mask(r, height, width), rles)
print(json.dumps({
    "encodeUs": encode_us,
    "encodeCpuUs": encode_cpu_us,
    "decodeUs": decode_us,
    "decodeCpuUs": decode_cpu_us,
    "numpy": np.__version__,
}))
