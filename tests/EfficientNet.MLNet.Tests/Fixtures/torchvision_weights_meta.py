#!/usr/bin/env python3
"""Prints, as JSON, what torchvision (Debian's python3-torchvision 0.14) says of each EfficientNet B0..B7 and V2-S/M/L weights enum
entry: its evaluation transforms (resize, crop, interpolation, mean, std), its categories, parameters and top-1,
and which is DEFAULT. The built-in weights manifest is tested against it. A test reference only."""
import json

import torchvision.models as models

result = {}
enums = [(f"efficientnet_b{n}", getattr(models, f"EfficientNet_B{n}_Weights")) for n in range(8)]
enums += [(f"efficientnet_v2_{size}", getattr(models, f"EfficientNet_V2_{size.upper()}_Weights")) for size in "sml"]
for model_name, enum in enums:
    for weights in enum:
        t = weights.transforms()
        result[f"{model_name}.{weights.name}"] = {
            "resize": t.resize_size[0], "crop": t.crop_size[0], "interpolation": t.interpolation.value,
            "mean": list(t.mean), "std": list(t.std), "default": enum.DEFAULT == weights,
            "categories": weights.meta["categories"], "top1": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"],
            "url": weights.url,
        }
print(json.dumps(result))
