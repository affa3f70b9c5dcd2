#!/usr/bin/env python3
"""PyTorch reference outputs for @steel/models parity tests.

A minimal PyTorch port of segmentation_models' UNet and FPN on torchvision ResNet encoders, with the same state_dict
names as segmentation_models_pytorch (encoder.*, decoder.blocks.N.conv1.0.weight, decoder.p4.skip_conv.weight,
decoder.seg_blocks.N.block.M.block.0.weight, segmentation_head.0.weight, classification_head.3.weight).
Weights and input are defined by a formula that src/__fixtures__/formula.ts computes bit for bit; the forward pass runs
in float64 and the output statistics go to src/__fixtures__/parity-*.json.

Run with Debian's torch (apt-get install python3-torch python3-torchvision):
                          /usr/bin/python3 packages/models/scripts/pytorch_reference.py [fixture names...]
Parameter counts only:    /usr/bin/python3 packages/models/scripts/pytorch_reference.py --parameters
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "src", "__fixtures__")

# ---- formula (mirrored in src/__fixtures__/formula.ts) ----------------------------------------------------------


def fnv1a(text):
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def uniform(name, count):
    """count values in [-1, 1): a counter-based hash of (fnv1a(name), i); exact in float32 and float64."""
    with np.errstate(over="ignore"):
        x = np.arange(count, dtype=np.uint32) * np.uint32(0x9E3779B9) + np.uint32(fnv1a(name))
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x85EBCA6B)
        x ^= x >> np.uint32(13)
        x *= np.uint32(0xC2B2AE35)
        x ^= x >> np.uint32(16)
    return (x >> np.uint32(8)).astype(np.float64) / 16777216.0 * 2.0 - 1.0


def formula_tensor(name, shape):
    """The value of state_dict entry `name` (PyTorch layout) as float32."""
    count = int(np.prod(shape)) if len(shape) > 0 else 1
    v = uniform(name, count)
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        out = v * float(np.sqrt(3.0 / fan_in))
    elif leaf == "weight":  # batch / group norm scale
        out = 1.0 + 0.1 * v
    elif leaf == "bias" or leaf == "running_mean":
        out = 0.1 * v
    elif leaf == "running_var":
        out = 1.0 + 0.5 * v
    else:
        raise ValueError(name)
    return out.astype(np.float32).reshape(shape)


# ---- model (segmentation_models naming) -------------------------------------------------------------------------


class ResNetEncoder(nn.Module):
    def __init__(self, name, in_channels):
        super().__init__()
        net = getattr(torchvision.models, name)(weights=None)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        del net.fc
        del net.avgpool
        self.net = net
        # Channels of f1..f5: 64, then the last batch norm of each stage (bn2 in BasicBlock, bn3 in Bottleneck).
        last_bn = lambda block: block.bn3 if hasattr(block, "bn3") else block.bn2
        self.out_channels = [64] + [last_bn(layer[-1]).num_features for layer in (net.layer1, net.layer2, net.layer3, net.layer4)]

    def forward(self, x):
        n = self.net
        f1 = n.relu(n.bn1(n.conv1(x)))
        f2 = n.layer1(n.maxpool(f1))
        f3 = n.layer2(f2)
        f4 = n.layer3(f3)
        f5 = n.layer4(f4)
        return [f1, f2, f3, f4, f5]


def conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class UnetBlock(nn.Module):
    def __init__(self, cin, cskip, cout):
        super().__init__()
        self.conv1 = conv_bn_relu(cin + cskip, cout)
        self.conv2 = conv_bn_relu(cout, cout)

    def forward(self, x, skip):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UnetDecoder(nn.Module):
    def __init__(self, encoder_channels, channels=(256, 128, 64, 32, 16)):
        super().__init__()
        c1, c2, c3, c4, c5 = encoder_channels
        ins = [c5] + list(channels[:-1])
        skips = [c4, c3, c2, c1, 0]
        self.blocks = nn.ModuleList([UnetBlock(i, s, o) for i, s, o in zip(ins, skips, channels)])

    def forward(self, features):
        f1, f2, f3, f4, f5 = features
        x = f5
        for block, skip in zip(self.blocks, [f4, f3, f2, f1, None]):
            x = block(x, skip)
        return x


class Conv3x3GNReLU(nn.Module):
    def __init__(self, cin, cout, upsample):
        super().__init__()
        self.upsample = upsample
        self.block = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(32, cout), nn.ReLU())

    def forward(self, x):
        x = self.block(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True) if self.upsample else x


class SegmentationBlock(nn.Module):
    def __init__(self, cin, cout, n_upsamples):
        super().__init__()
        layers = [Conv3x3GNReLU(cin, cout, n_upsamples > 0)]
        layers += [Conv3x3GNReLU(cout, cout, True) for _ in range(1, n_upsamples)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class FPNBlock(nn.Module):
    def __init__(self, pyramid, skip):
        super().__init__()
        self.skip_conv = nn.Conv2d(skip, pyramid, kernel_size=1)

    def forward(self, x, skip):
        return F.interpolate(x, scale_factor=2, mode="nearest") + self.skip_conv(skip)


class FPNDecoder(nn.Module):
    def __init__(self, encoder_channels, pyramid=256, segmentation=128, dropout=0.2):
        super().__init__()
        _, c2, c3, c4, c5 = encoder_channels
        self.p5 = nn.Conv2d(c5, pyramid, kernel_size=1)
        self.p4 = FPNBlock(pyramid, c4)
        self.p3 = FPNBlock(pyramid, c3)
        self.p2 = FPNBlock(pyramid, c2)
        self.seg_blocks = nn.ModuleList([SegmentationBlock(pyramid, segmentation, n) for n in (3, 2, 1, 0)])
        self.dropout = nn.Dropout2d(p=dropout)

    def forward(self, features):
        _, c2, c3, c4, c5 = features
        p5 = self.p5(c5)
        p4 = self.p4(p5, c4)
        p3 = self.p3(p4, c3)
        p2 = self.p2(p3, c2)
        s = [b(p) for b, p in zip(self.seg_blocks, [p5, p4, p3, p2])]
        return self.dropout(torch.stack(s).sum(dim=0))


class SegmentationModel(nn.Module):
    def __init__(self, architecture, encoder, in_channels, classes, classification_head):
        super().__init__()
        self.encoder = ResNetEncoder(encoder, in_channels)
        if architecture == "unet":
            self.decoder = UnetDecoder(self.encoder.out_channels)
            self.segmentation_head = nn.Sequential(nn.Conv2d(16, classes, 3, padding=1), nn.Identity())
        else:
            self.decoder = FPNDecoder(self.encoder.out_channels)
            self.segmentation_head = nn.Sequential(nn.Conv2d(128, classes, 1), nn.UpsamplingBilinear2d(scale_factor=4))
        self.classification_head = (
            nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(self.encoder.out_channels[-1], classes))
            if classification_head
            else None
        )

    def forward(self, x):
        features = self.encoder(x)
        masks = self.segmentation_head(self.decoder(features))
        if self.classification_head is None:
            return masks, None
        return masks, self.classification_head(features[-1])


def state_dict_names(model):
    # The encoder's torchvision module sits under `net`; segmentation_models' ResNetEncoder *is* the ResNet, so drop it.
    return {k.replace("encoder.net.", "encoder."): v for k, v in model.state_dict().items()}


def load_formula(model):
    state = {}
    for key, value in model.state_dict().items():
        name = key.replace("encoder.net.", "encoder.")
        if key.endswith("num_batches_tracked"):
            state[key] = value
        else:
            state[key] = torch.from_numpy(formula_tensor(name, tuple(value.shape)))
    model.load_state_dict(state, strict=True)


def names_checksum(model):
    return checksum_of(state_dict_names(model))


def checksum_of(state):
    lines = sorted(f"{k}:{','.join(str(d) for d in v.shape)}" for k, v in state.items())
    return fnv1a("\n".join(lines)), len(lines)


def sample_indices(shape, count=48):
    """Fixed NHWC coordinates spread over the output (deterministic, no RNG state)."""
    n, h, w, c = shape
    total = n * h * w * c
    u = (uniform("samples", count) + 1.0) / 2.0
    flat = np.minimum((u * total).astype(np.int64), total - 1)
    coords = []
    for f in flat.tolist():
        coords.append([f // (h * w * c), (f // (w * c)) % h, (f // c) % w, f % c])
    return coords


def stats(nhwc):
    return {"mean": float(nhwc.mean()), "std": float(nhwc.std()), "absMax": float(np.abs(nhwc).max())}


CONFIGS = [
    {"name": "unet-resnet18", "architecture": "unet", "encoder": "resnet18", "inChannels": 1, "classes": 4, "classificationHead": True},
    {"name": "unet-resnet34", "architecture": "unet", "encoder": "resnet34", "inChannels": 3, "classes": 4, "classificationHead": False},
    {"name": "fpn-resnet34", "architecture": "fpn", "encoder": "resnet34", "inChannels": 3, "classes": 4, "classificationHead": False},
    {"name": "unet-resnet50", "architecture": "unet", "encoder": "resnet50", "inChannels": 1, "classes": 4, "classificationHead": True},
    {"name": "fpn-resnet50", "architecture": "fpn", "encoder": "resnet50", "inChannels": 3, "classes": 4, "classificationHead": False},
]
INPUT = {"batch": 2, "height": 64, "width": 64}


def reference(cfg):
    torch.manual_seed(0)
    model = SegmentationModel(cfg["architecture"], cfg["encoder"], cfg["inChannels"], cfg["classes"], cfg["classificationHead"])
    load_formula(model)
    model = model.double().eval()
    shape = (INPUT["batch"], cfg["inChannels"], INPUT["height"], INPUT["width"])
    x = torch.from_numpy(uniform("input", int(np.prod(shape))).astype(np.float32).reshape(shape)).double()
    with torch.no_grad():
        masks, labels = model(x)
    out = masks.permute(0, 2, 3, 1).numpy()  # NHWC
    checksum, count = names_checksum(model)
    params = sum(p.numel() for p in model.parameters())
    result = {
        "source": "packages/models/scripts/pytorch_reference.py, torch " + torch.__version__ + " float64, inference mode",
        **cfg,
        "input": {"shape": [INPUT["batch"], INPUT["height"], INPUT["width"], cfg["inChannels"]], "formula": "uniform('input') in NCHW order"},
        "stateDict": {"count": count, "checksum": checksum},
        # The encoder alone under torchvision's names (what `loadPytorchWeights(..., { format: 'torchvision' })` reads).
        "torchvisionStateDict": dict(zip(("checksum", "count"), checksum_of(model.encoder.net.state_dict()))),
        "parameters": params,
        "output": {"shape": list(out.shape), **stats(out), "samples": [[*ix, float(out[tuple(ix)])] for ix in sample_indices(out.shape)]},
    }
    if labels is not None:
        result["classification"] = {"shape": list(labels.shape), "values": labels.numpy().reshape(-1).tolist()}
    return result


def dtype_fixture():
    """A tiny .safetensors with F32, F16, BF16 and I64 tensors serialised from torch, and their values as JSON."""
    values = torch.tensor([[0.0, -1.5, 3.14159, 65504.0], [1e-7, -2.0e-5, 0.333333, -1234.5678]], dtype=torch.float32)
    tensors = {
        "weight.f32": values,
        "weight.f16": values.to(torch.float16),
        "weight.bf16": values.to(torch.bfloat16),
        "bn.num_batches_tracked": torch.tensor(123456789012, dtype=torch.int64),
        "index.i64": torch.tensor([-3, 0, 2**40], dtype=torch.int64),
    }
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().astype(
            "<i2" if t.dtype == torch.bfloat16 else t.numpy().dtype.newbyteorder("<")
        ).tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(FIXTURES, "dtypes.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))
    expected = {
        name: {
            "dtype": names[t.dtype],
            "shape": list(t.shape),
            "values": [int(v) for v in t.reshape(-1).tolist()] if t.dtype == torch.int64 else t.float().reshape(-1).tolist(),
        }
        for name, t in tensors.items()
    }
    expected["weight.f32"]["values"] = [float(np.float32(v)) for v in values.reshape(-1).tolist()]
    with open(os.path.join(FIXTURES, "dtypes.json"), "w") as f:
        json.dump({"source": "packages/models/scripts/pytorch_reference.py (torch " + torch.__version__ + ")", "tensors": expected}, f, indent=1)
        f.write("\n")


def parameter_counts():
    """sum(p.numel() for p in model.parameters()) for every architecture, encoder and 1 / 3 input channels, 4 classes."""
    for architecture in ("unet", "fpn"):
        for encoder in ("resnet18", "resnet34", "resnet50"):
            counts = [sum(p.numel() for p in SegmentationModel(architecture, encoder, c, 4, False).parameters()) for c in (3, 1)]
            print(f"{architecture}-{encoder}: 3 channels {counts[0]}, 1 channel {counts[1]}")


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if sys.argv[1:] == ["--parameters"]:
        parameter_counts()
        return
    os.makedirs(FIXTURES, exist_ok=True)
    only = set(sys.argv[1:])
    for cfg in CONFIGS:
        if only and cfg["name"] not in only:
            continue
        result = reference(cfg)
        path = os.path.join(FIXTURES, f"parity-{cfg['name']}.json")
        with open(path, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
        print(cfg["name"], "params", result["parameters"], "mean", result["output"]["mean"], "std", result["output"]["std"], "absMax", result["output"]["absMax"])
    dtype_fixture()


if __name__ == "__main__":
    main()
