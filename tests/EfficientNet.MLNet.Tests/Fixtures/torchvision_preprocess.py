#!/usr/bin/env python3
"""torchvision's evaluation preprocessing of an image, as the reference the C# preprocessing is checked against.

    torchvision_preprocess.py IMAGE RESIZE CROP INTERPOLATION OUT

Resizes the shorter side to RESIZE (torchvision.transforms.Resize on a PIL image: antialiased; INTERPOLATION is
bilinear or bicubic), centre-crops CROP x CROP (CenterCrop), and writes the pixels as uint8, planar RGB (3 x CROP x
CROP), to OUT: what torchvision's weights transforms feed the network before normalization. Debian's
python3-torchvision (0.14) is used; it is a test reference only.
"""
import sys

import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode

image_path, resize, crop, interpolation, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
mode = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}[interpolation]
image = Image.open(image_path).convert("RGB")
pipeline = transforms.Compose([transforms.Resize(resize, interpolation=mode), transforms.CenterCrop(crop), transforms.PILToTensor()])
pixels = pipeline(image)
assert pixels.dtype == torch.uint8 and tuple(pixels.shape) == (3, crop, crop), pixels.shape
with open(out, "wb") as f:
    f.write(pixels.contiguous().numpy().tobytes())
