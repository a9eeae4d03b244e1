#!/usr/bin/env python3
"""Emit the state_dict tensor names and shapes of timm's `efficientnet_b0` (1000 classes).

Uses only torch (tested with Debian python3-torch 1.13). timm itself is NOT imported:
the module tree below is re-created by hand, with timm's attribute names and nesting,
from a reading of pytorch-image-models (huggingface/pytorch-image-models) at commit
aa4b5850c1543fa488abf260f18390eda46cf85d ("Cpubone (#2733)").

Naming / shape rules and where they come from (file:line at that commit):

  Top level (timm/models/efficientnet.py, class EfficientNet.__init__):
    L138  conv_stem = conv(in_chans=3 -> stem_size, k3, s2)         -> bias=False (see create_conv2d_pad)
    L139  bn1       = norm_act_layer(stem_size)                       -> BatchNormAct2d
    L153  blocks    = nn.Sequential(*builder(stem_size, block_args))  -> blocks.<stage>.<idx>
    L160  conv_head = conv(head_chs -> num_features, k1)
    L161  bn2       = norm_act_layer(num_features)
    L168  global_pool, classifier = create_classifier(...)            -> pool has no params; classifier is
          nn.Linear(num_features, num_classes, bias=True) (timm/layers/classifier.py L43)
    Registration order (= state_dict order): conv_stem, bn1, blocks, conv_head, bn2, global_pool, classifier.

  efficientnet_b0 (timm/models/efficientnet.py L2075) -> _gen_efficientnet(channel_multiplier=1.0,
  depth_multiplier=1.0) (L718-).  arch_def L745-753:
      ds_r1_k3_s1_e1_c16_se0.25 / ir_r2_k3_s2_e6_c24_se0.25 / ir_r2_k5_s2_e6_c40_se0.25 /
      ir_r3_k3_s2_e6_c80_se0.25 / ir_r3_k5_s1_e6_c112_se0.25 / ir_r4_k5_s2_e6_c192_se0.25 /
      ir_r1_k3_s1_e6_c320_se0.25
    L757  num_features = round_chs_fn(1280); L758 stem_size = 32; act = swish; norm = BatchNorm2d.

  timm/models/_efficientnet_builder.py:
    L62-66  round_channels -> make_divisible(ch * multiplier, 8)   (multiplier 1.0 => unchanged here)
    L81-    _decode_block_str: r=repeats, k=dw kernel, s=stride, e=exp ratio, c=out chs, se=se ratio
    L250    repeats scaled with ceil(r * depth_multiplier)             (1.0 => unchanged)
    L330    EfficientNetBuilder(se_from_exp=False) default; EfficientNet does not override it (L142-152)
    L373    out_chs = round_chs_fn(out_chs)
    L395    se_ratio /= exp_ratio (block input based SE); ds blocks have no exp_ratio -> 1.0
    L400    se_layer = partial(SqueezeExcite, rd_ratio=se_ratio)
    Each stage is an nn.Sequential of its blocks; the list of stages is wrapped by EfficientNet L153.

  timm/models/_efficientnet_blocks.py:
    SqueezeExcite          L71 rd = round(in_chs * rd_ratio); L73 conv_reduce (1x1, bias=True);
                           L75 conv_expand (1x1, bias=True); act1 / gate have no params.
    DepthwiseSeparableConv L192 conv_dw (groups=in_chs, bias=False), L202 bn1, L203 aa (Identity),
                           L206 se, L208 conv_pw (bias=False), L209 bn2, drop_path (no params).
    InvertedResidual       L288 mid = make_divisible(in_chs * exp_ratio); L292 conv_pw, L293 bn1,
                           L296 conv_dw (groups=mid), L307 bn2, L308 aa, L311 se, L314 conv_pwl, L315 bn3.

  timm/layers/norm_act.py L57-99: BatchNormAct2d subclasses nn.BatchNorm2d, so weight, bias,
    running_mean, running_var, num_batches_tracked sit directly on the module; its `drop` and `act`
    submodules carry no tensors.  timm/layers/create_norm_act.py L62 maps batchnorm2d -> BatchNormAct2d.
  timm/layers/conv2d_same.py L130: create_conv2d_pad sets bias=False by default.
  timm/layers/helpers.py L52: make_divisible = max(min, int(v + d/2) // d * d) (+d if < 0.9 v).

Cross-checked against a real printed timm state_dict of an efficientnet_b0-based checkpoint
(HSEmotion enet_b0_8_va_mtl.pt, classifier replaced by 10 outputs) in
github.com/zephiris21/calmman-clip-classify @ ab356eb001a96533de6cfecd6067ab062b2a9106,
path "_프로젝트 문서정리/아카이브/enet_b0_va_mtl_모델분석결과.md".
"""
import json
import sys

import torch.nn as nn

TIMM_COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def round_channels(ch, multiplier=1.0, divisor=8):
    return make_divisible(ch * multiplier, divisor)


class BatchNormAct2d(nn.BatchNorm2d):
    """BN with tensors on the module itself; drop/act hold no tensors."""

    def __init__(self, num_features, apply_act=True):
        super().__init__(num_features)
        self.drop = nn.Identity()
        self.act = nn.SiLU() if apply_act else nn.Identity()


class SqueezeExcite(nn.Module):
    def __init__(self, in_chs, rd_ratio):
        super().__init__()
        rd = round(in_chs * rd_ratio)
        self.conv_reduce = nn.Conv2d(in_chs, rd, 1, bias=True)
        self.act1 = nn.SiLU()
        self.conv_expand = nn.Conv2d(rd, in_chs, 1, bias=True)
        self.gate = nn.Sigmoid()


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_chs, out_chs, k, stride, se_ratio):
        super().__init__()
        self.conv_dw = nn.Conv2d(in_chs, in_chs, k, stride=stride, padding=k // 2, groups=in_chs, bias=False)
        self.bn1 = BatchNormAct2d(in_chs)
        self.aa = nn.Identity()
        self.se = SqueezeExcite(in_chs, se_ratio / 1.0) if se_ratio else nn.Identity()
        self.conv_pw = nn.Conv2d(in_chs, out_chs, 1, bias=False)
        self.bn2 = BatchNormAct2d(out_chs, apply_act=False)
        self.drop_path = nn.Identity()


class InvertedResidual(nn.Module):
    def __init__(self, in_chs, out_chs, k, stride, exp_ratio, se_ratio):
        super().__init__()
        mid = make_divisible(in_chs * exp_ratio)
        self.conv_pw = nn.Conv2d(in_chs, mid, 1, bias=False)
        self.bn1 = BatchNormAct2d(mid)
        self.conv_dw = nn.Conv2d(mid, mid, k, stride=stride, padding=k // 2, groups=mid, bias=False)
        self.bn2 = BatchNormAct2d(mid)
        self.aa = nn.Identity()
        # se_from_exp=False: ratio is relative to block input, so divide by exp_ratio
        self.se = SqueezeExcite(mid, se_ratio / exp_ratio) if se_ratio else nn.Identity()
        self.conv_pwl = nn.Conv2d(mid, out_chs, 1, bias=False)
        self.bn3 = BatchNormAct2d(out_chs, apply_act=False)
        self.drop_path = nn.Identity()


# (block type, repeats, dw kernel, first stride, exp ratio, out chs, se ratio) per stage
ARCH_B0 = [
    ("ds", 1, 3, 1, 1.0, 16, 0.25),
    ("ir", 2, 3, 2, 6.0, 24, 0.25),
    ("ir", 2, 5, 2, 6.0, 40, 0.25),
    ("ir", 3, 3, 2, 6.0, 80, 0.25),
    ("ir", 3, 5, 1, 6.0, 112, 0.25),
    ("ir", 4, 5, 2, 6.0, 192, 0.25),
    ("ir", 1, 3, 1, 6.0, 320, 0.25),
]


class EfficientNetB0Names(nn.Module):
    def __init__(self, num_classes=1000, in_chans=3):
        super().__init__()
        stem = round_channels(32)
        self.conv_stem = nn.Conv2d(in_chans, stem, 3, stride=2, padding=1, bias=False)
        self.bn1 = BatchNormAct2d(stem)
        stages = []
        in_chs = stem
        for bt, reps, k, s, e, c, se in ARCH_B0:
            out = round_channels(c)
            blocks = []
            for i in range(reps):
                stride = s if i == 0 else 1
                if bt == "ds":
                    blocks.append(DepthwiseSeparableConv(in_chs, out, k, stride, se))
                else:
                    blocks.append(InvertedResidual(in_chs, out, k, stride, e, se))
                in_chs = out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        nf = round_channels(1280)
        self.conv_head = nn.Conv2d(in_chs, nf, 1, bias=False)
        self.bn2 = BatchNormAct2d(nf)
        self.global_pool = nn.AdaptiveAvgPool2d(1)  # no tensors (timm: SelectAdaptivePool2d)
        self.classifier = nn.Linear(nf, num_classes, bias=True)


def write_listing(source, model_name, module):
    """Prints the module's state_dict names and shapes as JSON, one tensor per line, and its counts to stderr."""
    sd = module.state_dict()
    tensors = [[k, list(v.shape)] for k, v in sd.items()]
    lines = ["{", '  "source": ' + json.dumps(source) + ",", '  "model": ' + json.dumps(model_name) + ",", '  "tensors": [']
    for i, t in enumerate(tensors):
        lines.append("    " + json.dumps(t) + ("," if i + 1 < len(tensors) else ""))
    lines += ["  ]", "}"]
    sys.stdout.write("\n".join(lines) + "\n")
    n_params = sum(p.numel() for p in module.parameters())
    n_state = sum(v.numel() for v in sd.values())
    print(f"tensors={len(tensors)} params={n_params} state_numel={n_state}", file=sys.stderr)
    return sd


def main():
    num_classes = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    write_listing(
        "Hand-built torch module tree mirroring timm efficientnet_b0 naming, from "
        "huggingface/pytorch-image-models@" + TIMM_COMMIT + " (timm/models/efficientnet.py, "
        "timm/models/_efficientnet_builder.py, timm/models/_efficientnet_blocks.py, "
        "timm/layers/norm_act.py); cross-checked against a printed timm EfficientNet-B0 state_dict "
        "in zephiris21/calmman-clip-classify@ab356eb001a96533de6cfecd6067ab062b2a9106",
        "efficientnet_b0", EfficientNetB0Names(num_classes=num_classes))


if __name__ == "__main__":
    main()
