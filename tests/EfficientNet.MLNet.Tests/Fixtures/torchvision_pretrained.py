#!/usr/bin/env python3
"""Stands in for torchvision's published weights, which cannot be downloaded here.

    torchvision_pretrained.py IMAGE OUT_DIR [RESIZE CROP INTERPOLATION MEAN STD [MODEL]]

MODEL tf_efficientnet_b0 stands in for timm's TensorFlow port instead: torchvision's efficientnet_b0 with batch norm
eps 1e-3, padded as TensorFlow pads (make_torchvision_fixtures.tf_same_padding), statistics calibrated on random images
so that the padding shows in the probabilities, saved under timm's names (timm/make_timm_b0_names.py's module tree,
whose state_dict lists the same tensors in the same order).

Writes OUT_DIR/weights.pth: torch.save(state_dict) of torchvision's efficientnet_b0, or MODEL (e.g.
efficientnet_v2_s), with 1000 classes, random weights (seeded) and batch-norm statistics calibrated on random images
(the network's output depends on its input, as a published network's does); and OUT_DIR/expected.json:
torchvision's own probabilities (computed in float64) for IMAGE (IMAGE may be "first,second": then other_probabilities are the second's) with its evaluation transforms, by default EfficientNet_B0_Weights.
IMAGENET1K_V1.transforms() (resize 256 bicubic, crop 224, ImageNet mean and std), or
ImageClassification(crop, resize, interpolation, mean, std) when given (MEAN and STD as "a,b,c"). Run with Debian's
python3-torchvision 0.14; a test reference only.
"""
import json
import os
import sys

import torch
import torchvision
from PIL import Image
from torchvision.models import EfficientNet_B0_Weights
from torchvision.transforms import InterpolationMode
from torchvision.transforms._presets import ImageClassification

image_path, out_dir = sys.argv[1], sys.argv[2]
torch.manual_seed(11)
generator = torch.Generator().manual_seed(12)
model_name = sys.argv[8] if len(sys.argv) > 8 else "efficientnet_b0"
tensorflow = model_name == "tf_efficientnet_b0"
model = getattr(torchvision.models, "efficientnet_b0" if tensorflow else model_name)(weights=None)
with torch.no_grad():
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
            module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
            module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    # A classifier that separates the classes, so that the probabilities are far from uniform.
    model.classifier[1].weight.mul_(100)
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, "timm")]
from make_torchvision_fixtures import calibrate_batch_norm, calibrate_batch_norm_on, tf_same_padding

if len(sys.argv) > 3:
    resize, crop, interpolation = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    mean = tuple(float(v) for v in sys.argv[6].split(","))
    std = tuple(float(v) for v in sys.argv[7].split(","))
    mode = {"bilinear": InterpolationMode.BILINEAR, "bicubic": InterpolationMode.BICUBIC}[interpolation]
    transforms = ImageClassification(crop_size=crop, resize_size=resize, interpolation=mode, mean=mean, std=std)
else:
    transforms = EfficientNet_B0_Weights.IMAGENET1K_V1.transforms()
# IMAGE may name two files, "first,second": the second is the tests' premise that the probabilities depend on the image.
image_path, _, other_path = image_path.partition(",")
batch = transforms(Image.open(image_path).convert("RGB")).unsqueeze(0)
other = transforms(Image.open(other_path or image_path).convert("RGB")).unsqueeze(0)

# Statistics of the network's own activations (random ones leave its output nearly the same for every image, and a
# wrong resize, crop or normalization would pass unseen), as a published network's are.
if tensorflow:
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = 1e-3
    tf_same_padding(model)
    calibrate_batch_norm(model, generator, (1, 3, 224, 224))
    with torch.no_grad():
        model.classifier[1].weight.mul_(0.3)  # calibrated features are larger: keep the probabilities from saturating
else:
    # On the photographs themselves and their mirror images, at the evaluation size: statistics of random images at
    # another size leave activations that float32 rounding blows up (v2_s at 384: PyTorch's own float32 was 2e-3 off
    # its float64 in probability), which published weights do not do.
    photos = torch.cat([batch, other])
    calibrate_batch_norm_on(model, [torch.cat([photos, photos.flip(3)])])
    model.eval()
    with torch.no_grad():
        # Logits with a spread of about 5 on the photographs: far from uniform, and not saturated (a saturated softmax
        # would give both photographs the probability 1 for one class).
        scale = 5.0 / model(photos).std().item()
        model.classifier[1].weight.mul_(scale)
        model.classifier[1].bias.mul_(scale)
model.eval()

if tensorflow:
    from make_timm_b0_names import EfficientNetB0Names
    timm_names = list(EfficientNetB0Names(1000).state_dict().items())
    ours = list(model.state_dict().items())
    assert len(timm_names) == len(ours) and all(a.shape == b.shape for (_, a), (_, b) in zip(timm_names, ours))
    state = {timm_name: tensor for (timm_name, _), (_, tensor) in zip(timm_names, ours)}
else:
    state = model.state_dict()
torch.save(state, f"{out_dir}/weights.pth")

with torch.no_grad():
    # The reference in float64 (the weights saved are float32, and so is what the network sees): a float32 reference
    # would carry this CPU's own float32 rounding, which is what the tests' tolerance is about.
    model.double()
    probabilities = torch.softmax(model(batch.double()), dim=1)[0]
    other_probabilities = torch.softmax(model(other.double()), dim=1)[0]
with open(f"{out_dir}/expected.json", "w") as f:
    json.dump({"transforms": repr(transforms), "probabilities": probabilities.tolist(), "other_probabilities": other_probabilities.tolist(),
               "top": EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"][int(probabilities.argmax())]}, f)
