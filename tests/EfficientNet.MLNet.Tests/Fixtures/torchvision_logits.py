#!/usr/bin/python3
"""Loads weights exported by EfficientNet.MLNet into torchvision's own efficientnet_bN and writes its logits.

    /usr/bin/python3 torchvision_logits.py WEIGHTS.safetensors VERSION CLASSES INPUT.safetensors OUTPUT.safetensors

INPUT holds "input" (N x 3 x H x W, already normalized); OUTPUT gets "logits" from the eval-mode network.
load_state_dict is strict: every torchvision name must be in the file with its shape. safetensors is read by hand
(Debian 12 has no python3-safetensors).
"""
import json
import struct
import sys

import numpy
import torch
import torchvision

from make_torchvision_fixtures import write_safetensors

NUMPY = {"F32": numpy.float32, "I64": numpy.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(length))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        values = numpy.frombuffer(data[start:end], dtype=NUMPY[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(values.copy())
    return tensors


def main(weights, version, classes, input_path, output_path):
    model = getattr(torchvision.models, f"efficientnet_{version}")(weights=None, num_classes=int(classes))
    model.load_state_dict(read_safetensors(weights), strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(read_safetensors(input_path)["input"])
    write_safetensors(output_path, {"logits": logits})


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
