"""Writes augmentation_ops.json: torchvision's own functional image operations (Debian's python3-torchvision 0.14) on
a fixed 3 x 12 x 12 image, the reference for ImageOperationsTests. Photometric operations run on the float path (values
0..1, no rounding; the test scales by 255), posterize and equalize on the uint8 path (they accept nothing else);
geometric ones with bilinear resampling and zeros outside (fill None).

    /usr/bin/python3 make_augmentation_fixtures.py   (in this folder)
"""
import json

import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

generator = torch.Generator().manual_seed(20261130)
image = torch.randint(0, 256, (3, 12, 12), generator=generator, dtype=torch.uint8)
# A smooth part too, so that blur and equalize see more than noise.
image[:, 6:, :6] = torch.arange(36, dtype=torch.uint8).view(1, 6, 6) * 7
unit = image.float() / 255

operations = []


def add(name, argument, output, scale):
    operations.append({"name": name, "argument": argument, "output": [round(v, 4) for v in (output.double() * scale).flatten().tolist()]})


for factor in (0.4, 1.5):
    add("brightness", factor, F.adjust_brightness(unit, factor), 255)
for factor in (0.3, 1.7):
    add("saturation", factor, F.adjust_saturation(unit, factor), 255)
for factor in (0.4, 1.6):
    add("contrast", factor, F.adjust_contrast(unit, factor), 255)
for factor in (0.2, 1.9):
    add("sharpness", factor, F.adjust_sharpness(unit, factor), 255)
add("solarize", 128.0, F.solarize(unit, 128 / 255), 255)
add("autocontrast", 0, F.autocontrast(unit), 255)
for bits in (2, 5):
    add("posterize", bits, F.posterize(image, bits), 1)
add("equalize", 0, F.equalize(image), 1)
add("rotate", 30.0, F.rotate(unit, 30.0, interpolation=InterpolationMode.BILINEAR), 255)
add("translate", [2, -1], F.affine(unit, angle=0.0, translate=[2, -1], scale=1.0, shear=[0.0, 0.0], interpolation=InterpolationMode.BILINEAR), 255)

with open("augmentation_ops.json", "w") as out:
    json.dump({"torchvision": torchvision.__version__, "shape": [3, 12, 12], "input": image.flatten().tolist(), "operations": operations}, out)
print(f"wrote {len(operations)} operations")
