#!/usr/bin/env python3
"""PyTorch side of the NEU-Seg equal-wall-time comparison.

Trains the repository's PyTorch UNet-ResNet18 (packages/models/scripts/pytorch_reference.py: segmentation_models layout,
1 input channel, no pretrained weights) on a folder written by `train import` (train.csv, train_images/, and the split in
train_imgids.txt / valid_imgids.txt, or the split.json of a steel run with --split) for a wall-time budget counted from
process start, with PyTorch's best recipe for that budget: images area-resized to --scale (200x200 -> 64x64), batch 16,
Adam 3e-3 with a cosine schedule to 0 over the training time, BCE, head bias -2.5, random horizontal and vertical flips.
It then scores the validation images at their stored size exactly as steel's `evaluate` does (area resize to the training
size, logits resized back bilinearly with half-pixel centres, sigmoid > 0.5): competition Dice (mean over image x class
pairs, 1 where both masks are empty), dataset Dice per class (2*sum(I) / (sum(P) + sum(T)) over the split, 1 where both
sums are 0), IoU per class (sum(I) / sum(P | T)) and their means, and writes them to --out as JSON (atomically).

Usage: /usr/bin/python3 apps/train/scripts/pytorch_neu.py --data apps/train/.cache/neu-seg --minutes 14 --out result.json
       /usr/bin/python3 apps/train/scripts/pytorch_neu.py --score masks.json   # scores given masks (tests), prints JSON
"""
import time

START = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "..", "packages", "models", "scripts")


class UserError(Exception):
    """A mistake in the arguments or the data: one line on stderr, exit code 2."""


# ---- the metrics of steel's `evaluate` (@steel/ensemble createStepEvaluator) ---------------------------------------


class Scores:
    """Per class: the sum over images of the competition Dice, and the pooled intersection, predicted and true pixels."""

    def __init__(self, classes):
        self.classes = classes
        self.images = 0
        self.dice_sum = np.zeros(classes)
        self.inter = np.zeros(classes)
        self.pred = np.zeros(classes)
        self.truth = np.zeros(classes)

    def add(self, pred, truth):
        """pred, truth: boolean arrays [N, classes, H, W]."""
        axes = (2, 3)
        inter = np.logical_and(pred, truth).sum(axis=axes).astype(np.float64)
        p = pred.sum(axis=axes).astype(np.float64)
        t = truth.sum(axis=axes).astype(np.float64)
        both = p + t
        self.dice_sum += np.where(both == 0, 1.0, 2.0 * inter / np.maximum(both, 1)).sum(axis=0)
        self.inter += inter.sum(axis=0)
        self.pred += p.sum(axis=0)
        self.truth += t.sum(axis=0)
        self.images += pred.shape[0]

    def summary(self):
        both = self.pred + self.truth
        union = both - self.inter
        dice = self.dice_sum / max(self.images, 1)
        dataset = np.where(both == 0, 1.0, 2.0 * self.inter / np.maximum(both, 1))
        iou = np.where(union == 0, 1.0, self.inter / np.maximum(union, 1))
        return {
            "images": self.images,
            "dice": dice.tolist(),
            "mean": float(dice.mean()),
            "datasetDice": dataset.tolist(),
            "meanDatasetDice": float(dataset.mean()),
            "iou": iou.tolist(),
            "meanIou": float(iou.mean()),
        }


def score_file(path):
    """Scores {height, width, classes, images: [{pred, truth}]} (flat [H, W, classes] 0/1 lists) as `evaluate` would."""
    with open(path) as f:
        spec = json.load(f)
    h, w, c = spec["height"], spec["width"], spec["classes"]
    scores = Scores(c)
    for image in spec["images"]:
        to = lambda values: (np.asarray(values).reshape(1, h, w, c) > 0).transpose(0, 3, 1, 2)  # noqa: E731
        scores.add(to(image["pred"]), to(image["truth"]))
    return scores.summary()


# ---- the resizes of @steel/transforms `resize` -----------------------------------------------------------------------


def area_matrix(n_in, n_out):
    """[n_out, n_in] weights: output pixel o averages input span [o * in, (o + 1) * in) / out, weighted by coverage."""
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        a, b = o * n_in, (o + 1) * n_in
        i = a // n_out
        while i * n_out < b:
            overlap = min(b, (i + 1) * n_out) - max(a, i * n_out)
            if overlap > 0:
                m[o, i] = overlap / n_in
            i += 1
    return m


def nearest_index(n_in, n_out):
    """floor((o + 0.5) * in / out), the mask resize."""
    return np.minimum(((2 * np.arange(n_out) + 1) * n_in) // (2 * n_out), n_in - 1)


# ---- data -----------------------------------------------------------------------------------------------------------


def read_ids(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def read_split(data, split_file):
    if split_file is not None:
        try:
            with open(split_file) as f:
                split = json.load(f)
            return split["train"], split["valid"], split_file
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(f"--split {split_file}: expected a steel run's split.json with train and valid id lists ({error}).")
    files = [os.path.join(data, "train_imgids.txt"), os.path.join(data, "valid_imgids.txt")]
    for path in files:
        if not os.path.isfile(path):
            raise UserError(f"{path} does not exist: --data must be a folder written by `train import` from a dataset with split lists, or pass --split.")
    return read_ids(files[0]), read_ids(files[1]), " + ".join(files)


def read_masks(data, classes, height, width):
    """train.csv (ImageId,ClassId,EncodedPixels; 1-based starts, column-major) -> {id: [classes, H, W] bool}."""
    path = os.path.join(data, "train.csv")
    masks = {}
    with open(path) as f:
        header = f.readline().strip()
        if header != "ImageId,ClassId,EncodedPixels":
            raise UserError(f"{path}: expected the header ImageId,ClassId,EncodedPixels, found {header[:60]!r}.")
        for row, line in enumerate(f, start=2):
            line = line.strip()
            if not line:
                continue
            image_id, class_id, rle = line.split(",", 2)
            k = int(class_id) - 1
            if not 0 <= k < classes:
                raise UserError(f"{path} row {row}: ClassId {class_id} is outside 1..{classes}.")
            flat = np.zeros(height * width, dtype=bool)
            numbers = np.array(rle.split(), dtype=np.int64)
            for start, length in zip(numbers[0::2] - 1, numbers[1::2]):
                flat[start : start + length] = True
            mask = masks.setdefault(image_id, np.zeros((classes, height, width), dtype=bool))
            mask[k] |= flat.reshape(width, height).T
    return masks


def read_grey(path):
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image)
    return pixels if pixels.ndim == 2 else pixels[:, :, 0]  # steel reads the first channel


# ---- training and scoring -------------------------------------------------------------------------------------------


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def write_json_atomic(path, value):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def run(args):
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, REFERENCE)
    from pytorch_reference import SegmentationModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    load_start = os.getloadavg()[0]
    budget = args.minutes * 60
    if not os.path.isfile(os.path.join(args.data, "dataset.json")):
        raise UserError(f"--data {args.data}: no dataset.json; expected a folder written by `train import --from <NEU-Seg> --out <folder>`.")
    with open(os.path.join(args.data, "dataset.json")) as f:
        meta = json.load(f)
    classes, height, width = meta["classes"], meta["height"], meta["width"]
    size = (round(height * args.scale), round(width * args.scale))
    if size[0] % 32 or size[1] % 32:
        raise UserError(f"--scale {args.scale} gives {size[0]}x{size[1]}; the model needs multiples of 32 (0.32 gives 64x64 for 200x200).")
    train_ids, val_ids, split_from = read_split(args.data, args.split)
    masks = read_masks(args.data, classes, height, width)
    empty = np.zeros((classes, height, width), dtype=bool)
    rows = torch.tensor(area_matrix(height, size[0]), dtype=torch.float64)
    cols = torch.tensor(area_matrix(width, size[1]), dtype=torch.float64)
    near_r, near_c = nearest_index(height, size[0]), nearest_index(width, size[1])

    def load(ids, what):
        images = np.zeros((len(ids), height, width), dtype=np.uint8)
        for i, image_id in enumerate(ids):
            path = os.path.join(args.data, "train_images", image_id)
            if not os.path.isfile(path):
                raise UserError(f"{what} image {image_id} is not in {os.path.join(args.data, 'train_images')}.")
            pixels = read_grey(path)
            if pixels.shape != (height, width):
                raise UserError(f"{path} is {pixels.shape[0]}x{pixels.shape[1]}; dataset.json says {height}x{width}.")
            images[i] = pixels
        return images

    # Training images: area-resized and rounded to bytes as steel's sample store keeps them; masks by nearest.
    train_images = load(train_ids, "Training")
    train_x = torch.empty(len(train_ids), 1, size[0], size[1])
    for i in range(0, len(train_ids), 256):
        chunk = torch.from_numpy(train_images[i : i + 256]).double()
        train_x[i : i + 256, 0] = (torch.round(rows @ chunk @ cols.T).clamp(0, 255) / 255).float()
    train_y = torch.from_numpy(np.stack([masks.get(i, empty)[:, near_r][:, :, near_c] for i in train_ids])).float()
    val_images = load(val_ids, "Validation")
    val_truth = np.stack([masks.get(i, empty) for i in val_ids])
    load_seconds = time.monotonic() - START

    model = SegmentationModel("unet", "resnet18", 1, classes, False)
    with torch.no_grad():
        model.segmentation_head[0].bias.fill_(args.head_bias)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(args.seed)
    order, position, epoch = torch.randperm(len(train_ids), generator=generator), 0, 0

    def predict(images):
        """Validation images [N, H, W] uint8 -> boolean masks [N, classes, H, W] (steel's inference pipeline)."""
        x = (torch.from_numpy(images).double() / 255)
        x = (rows @ x @ cols.T).float().unsqueeze(1)
        logits = model(x)[0]
        back = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        return (torch.sigmoid(back) > 0.5).numpy()

    def evaluate(limit=None):
        model.eval()
        scores = Scores(classes)
        count = len(val_ids) if limit is None else min(limit, len(val_ids))
        with torch.no_grad():
            for i in range(0, count, args.batch_size):
                j = min(i + args.batch_size, count)
                scores.add(predict(val_images[i:j]), val_truth[i:j])
        model.train()
        return scores

    def step(lr):
        nonlocal order, position, epoch
        if position + args.batch_size > len(order):
            epoch += 1
            order, position = torch.randperm(len(train_ids), generator=generator), 0
        index = order[position : position + args.batch_size]
        position += args.batch_size
        x, y = train_x[index].clone(), train_y[index].clone()
        for axis in (3, 2):  # horizontal, then vertical flips, each with probability 0.5
            flip = torch.rand(len(index), generator=generator) < 0.5
            x[flip], y[flip] = x[flip].flip(axis), y[flip].flip(axis)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = loss_fn(model(x)[0], y)
        loss.backward()
        optimizer.step()
        return loss.item()

    # The schedule runs on the clock: after one step and one timed validation batch, the learning rate follows a cosine
    # from lr to 0 over the training time that the budget leaves after the validation pass and 3 s for the result file,
    # and no step starts that would end past it (so a slower or faster moment of the machine cannot leave time unused).
    model.train()
    train_start = time.monotonic()
    last = time.monotonic()
    step(args.lr)
    step_seconds = time.monotonic() - last
    t = time.monotonic()
    evaluate(limit=args.batch_size)
    eval_batch = time.monotonic() - t
    eval_seconds = eval_batch * math.ceil(len(val_ids) / args.batch_size)
    train_end = START + budget - eval_seconds - 3
    span = max(train_end - train_start, 1e-9)
    print(f"Budget {args.minutes} min: training until {train_end - START:.0f} s, validation ~{eval_seconds:.0f} s.", file=sys.stderr)
    done, last_loss = 1, float("nan")
    while time.monotonic() + step_seconds <= train_end:
        lr = 0.5 * args.lr * (1 + math.cos(math.pi * min(1.0, (time.monotonic() - train_start) / span)))
        last = time.monotonic()
        last_loss = step(lr)
        step_seconds = time.monotonic() - last
        done += 1
        if done % 50 == 0:
            print(f"step {done} loss {last_loss:.4f} lr {lr:.2e} {time.monotonic() - START:.0f} s", file=sys.stderr)
    train_seconds = time.monotonic() - train_start - eval_batch
    t = time.monotonic()
    validation = evaluate().summary()
    eval_done = time.monotonic() - t
    result = {
        "tool": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "budgetMinutes": args.minutes,
        "model": "UNet-ResNet18 (packages/models/scripts/pytorch_reference.py), 1 input channel, no pretrained weights",
        "recipe": {
            "scale": args.scale,
            "size": list(size),
            "batchSize": args.batch_size,
            "optimizer": "adam",
            "lr": args.lr,
            "schedule": "cosine to 0 over the training time the budget leaves",
            "loss": "bce",
            "headBias": args.head_bias,
            "augment": "flips",
            "seed": args.seed,
        },
        "data": args.data,
        "split": split_from,
        "trainImages": len(train_ids),
        "steps": done,
        "epochs": round(done * args.batch_size / len(train_ids), 2),
        "msPerStep": round(1000 * train_seconds / max(done, 1), 1),
        "seconds": {
            "total": round(time.monotonic() - START, 1),
            "load": round(load_seconds, 1),
            "training": round(train_seconds, 1),
            "validation": round(eval_done, 1),
        },
        "loadAverage": {"start": load_start, "end": os.getloadavg()[0]},
        "machine": machine(),
        "validation": {"threshold": 0.5, **validation},
    }
    write_json_atomic(args.out, result)
    print(
        f"Validation ({validation['images']} images): competition Dice {validation['mean']:.4f}, dataset Dice "
        f"{validation['meanDatasetDice']:.4f}, mIoU {validation['meanIou']:.4f}; {done} steps in {result['seconds']['total']} s. "
        f"Wrote {args.out}",
        file=sys.stderr,
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="folder written by `train import` (train.csv, train_images/, dataset.json)")
    parser.add_argument("--minutes", type=float, help="wall-time budget from process start, in minutes")
    parser.add_argument("--out", help="result JSON file (written atomically)")
    parser.add_argument("--split", help="a steel run's split.json (default: the folder's train_imgids.txt / valid_imgids.txt)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scale", type=float, default=0.32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--head-bias", type=float, default=-2.5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--score", help="score the masks in this JSON file and print the result (no training)")
    args = parser.parse_args(argv)
    try:
        if args.score is not None:
            print(json.dumps(score_file(args.score)))
            return 0
        missing = [flag for flag, value in (("--data", args.data), ("--minutes", args.minutes), ("--out", args.out)) if value is None]
        if missing:
            raise UserError(f"missing {', '.join(missing)}: pass --data <imported folder> --minutes <budget> --out <result.json>.")
        if not os.path.isdir(args.data):
            raise UserError(f"--data {args.data} does not exist; import NEU-Seg first: train import --from <NEU-Seg> --out {args.data}.")
        if not args.minutes > 0:
            raise UserError(f"--minutes must be positive, got {args.minutes}.")
        run(args)
        return 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted; no result written.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
