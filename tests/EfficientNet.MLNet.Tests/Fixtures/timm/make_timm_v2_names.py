#!/usr/bin/env python3
"""Emit the state_dict tensor names and shapes of timm's `tf_efficientnetv2_s` (1000 classes).

Uses only torch (tested with Debian python3-torch 1.13). timm itself is NOT imported:
the module tree below is re-created by hand, with timm's attribute names and nesting,
from a reading of pytorch-image-models (huggingface/pytorch-image-models) at commit
aa4b5850c1543fa488abf260f18390eda46cf85d ("Cpubone (#2733)"), the same commit that
make_timm_b0_names.py was written against.

Naming / shape rules and where they come from (file:line at that commit):

  tf_efficientnetv2_s (timm/models/efficientnet.py L2656-2661):
    L2658 bn_eps = BN_EPS_TF_DEFAULT (1e-3; momentum is NOT overridden -> torch default 0.1)
    L2659 pad_type = 'same'  -> stride-2 3x3 convs become Conv2dSame (an nn.Conv2d subclass, same
          tensor names; see timm/layers/conv2d_same.py L32, L128-140), others plain nn.Conv2d.
    L2660 -> _gen_efficientnetv2_s(channel_multiplier=1.0, depth_multiplier=1.0, rw=False)

  _gen_efficientnetv2_s (timm/models/efficientnet.py L903-940), arch_def L914-921:
      cn_r2_k3_s1_e1_c24_skip / er_r4_k3_s2_e4_c48 / er_r4_k3_s2_e4_c64 /
      ir_r6_k3_s2_e4_c128_se0.25 / ir_r9_k3_s1_e6_c160_se0.25 / ir_r15_k3_s2_e6_c256_se0.25
    (no SE in the cn / er stages; SE only in the three ir stages)
    L922  num_features = 1280 (rw=False); L932 num_features = round_chs_fn(1280)
    L929  round_chs_fn = round_channels(multiplier=channel_multiplier)  (default round_limit=0.9)
    L933  stem_size = 24; L935 norm = BatchNorm2d(**bn args); L936 act = 'silu'.

  Top level (timm/models/efficientnet.py, class EfficientNet L59, __init__):
    L137  stem_size = round_chs_fn(stem_size) (fix_stem False)
    L138  conv_stem = create_conv2d(in_chans -> stem, k3, s2)  -> bias=False (conv2d_same.py L130)
    L139  bn1       = norm_act_layer(stem)                      -> BatchNormAct2d
    L142-153 EfficientNetBuilder(...) without se_from_exp -> builder default se_from_exp=False;
          blocks = nn.Sequential(*stages)                      -> blocks.<stage>.<idx>
    L160  conv_head (1x1, bias=False); L161 bn2; L168 create_classifier -> nn.Linear(nf, classes,
          bias=True) (timm/layers/classifier.py L43); global_pool has no tensors.

  timm/models/_efficientnet_builder.py:
    L36-38  BN_MOMENTUM_TF_DEFAULT = 1 - 0.99, BN_EPS_TF_DEFAULT = 1e-3 (only eps is used by tf_ models)
    L47-55  resolve_bn_args: passes only bn_momentum / bn_eps that were given
    L62-66  round_channels -> make_divisible(ch * multiplier, 8, round_limit=0.9)
    L81-229 _decode_block_str: 'cn' -> kernel_size, skip = ('skip' present)  (L186-190);
            'er' -> exp_kernel_size=k, exp_ratio=e, se_ratio=0 unless 'se' (L177-185);
            'ir' -> dw_kernel_size=k, exp_ratio=e, se_ratio (L156-165)
    L250    repeats = ceil(r * depth_multiplier)
    L330    se_from_exp=False default
    L373    out_chs = round_chs_fn(out_chs)
    L391-400 se_ratio /= exp_ratio when not se_from_exp, then SqueezeExcite(rd_ratio=se_ratio)
            => SE reduce chs = round(mid * 0.25 / exp_ratio), i.e. 0.25 * block *input* chs.
    L406-417 'ir' -> InvertedResidual, 'er' -> EdgeResidual, 'cn' -> ConvBnAct
    L468-469 only the first block of a stage keeps its stride.

  timm/models/_efficientnet_blocks.py:
    SqueezeExcite  L69-76: rd = round(in_chs * rd_ratio); conv_reduce (1x1, bias=True), act1,
                   conv_expand (1x1, bias=True), gate.  in_chs passed in is the block's mid chs.
    ConvBnAct      L110 has_skip = skip and stride == 1 and in == out; L113 conv (k, bias=False),
                   L123 bn1, L124 aa (Identity), L125 drop_path (no params).  No SE, no expansion.
    InvertedResidual L284-285 conv_s2d/bn_s2d = None (no tensors); L288 mid = make_divisible(in*e);
                   L292 conv_pw, L293 bn1, L296 conv_dw (groups=mid), L307 bn2, L308 aa,
                   L311 se(mid), L314 conv_pwl, L315 bn3 (no act).
    EdgeResidual   L714-717 mid = make_divisible(in_chs * exp_ratio) (force_in_chs unused here);
                   L723 conv_exp (k3, stride, in -> mid, bias=False), L733 bn1, L735 aa,
                   L738 se (Identity: no se in V2 er strings), L741 conv_pwl (1x1 mid -> out),
                   L742 bn2 (no act); L719 has_skip = in == out and stride == 1.
  timm/layers/blur_pool.py L122-133: create_aa(None) -> nn.Identity (no tensors).
  timm/layers/norm_act.py L56-99: BatchNormAct2d subclasses nn.BatchNorm2d (tensors on the module
    itself; `drop`, `act` hold none).  timm/layers/create_norm_act.py L60-62, L117-143 maps
    partial(nn.BatchNorm2d, eps=1e-3) -> partial(BatchNormAct2d, eps=1e-3, act_layer=silu).
  timm/layers/conv2d_same.py L128-140 create_conv2d_pad: bias=False by default; no conv in this
    network sets bias, so the only biases are BN, SE conv_reduce/conv_expand and the classifier.
  timm/layers/helpers.py L51-56 make_divisible.

Cross-check: `--variant efficientnetv2_rw_t` builds timm's efficientnetv2_rw_t
(timm/models/efficientnet.py L2367-2371: same _gen_efficientnetv2_s, channel_multiplier=0.8,
depth_multiplier=0.9) whose real named_parameters (names + shapes, 439 entries) are printed in
github.com/KwangryeolPark/Model.Summary @ 21b73e02481577f010d6cc1c451d8438c327c2e6,
docs/image/classification/efficientnetv2_rw_t.md; pass that file with `--check-md FILE`.
`--compare-torchvision` compares (position by position) with torchvision's efficientnet_v2_s.

Usage:  python3 make_timm_v2_names.py [num_classes] > timm_tf_efficientnetv2_s.json
"""
import argparse
import json
import math
import os
import re
import sys

import torch.nn as nn

TIMM_COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"


# timm's helpers and blocks shared with V1, as make_timm_b0_names.py re-creates them (their tensors do not depend on the
# batch-norm eps, which the tf_ variants set to 1e-3).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_timm_b0_names import BatchNormAct2d, InvertedResidual, SqueezeExcite, make_divisible, round_channels, write_listing  # noqa: E402


def conv(in_chs, out_chs, k, stride=1, groups=1):
    # 'same' padding is a forward-time detail (Conv2dSame for stride 2); tensors are nn.Conv2d's.
    return nn.Conv2d(in_chs, out_chs, k, stride=stride, padding=k // 2, groups=groups, bias=False)


class ConvBnAct(nn.Module):
    def __init__(self, in_chs, out_chs, k, stride, skip):
        super().__init__()
        self.has_skip = skip and stride == 1 and in_chs == out_chs
        self.conv = conv(in_chs, out_chs, k, stride)
        self.bn1 = BatchNormAct2d(out_chs)
        self.aa = nn.Identity()
        self.drop_path = nn.Identity()


class EdgeResidual(nn.Module):
    def __init__(self, in_chs, out_chs, k, stride, exp_ratio, se_ratio):
        super().__init__()
        mid = make_divisible(in_chs * exp_ratio)
        self.has_skip = in_chs == out_chs and stride == 1
        self.conv_exp = conv(in_chs, mid, k, stride)
        self.bn1 = BatchNormAct2d(mid)
        self.aa = nn.Identity()
        self.se = SqueezeExcite(mid, se_ratio / exp_ratio) if se_ratio else nn.Identity()
        self.conv_pwl = conv(mid, out_chs, 1)
        self.bn2 = BatchNormAct2d(out_chs, apply_act=False)
        self.drop_path = nn.Identity()


# (block type, repeats, kernel, first stride, exp ratio, out chs, se ratio, forced skip) per stage
ARCH_V2_S = [
    ("cn", 2, 3, 1, 1.0, 24, 0.0, True),
    ("er", 4, 3, 2, 4.0, 48, 0.0, None),
    ("er", 4, 3, 2, 4.0, 64, 0.0, None),
    ("ir", 6, 3, 2, 4.0, 128, 0.25, None),
    ("ir", 9, 3, 1, 6.0, 160, 0.25, None),
    ("ir", 15, 3, 2, 6.0, 256, 0.25, None),
]

VARIANTS = {
    # name: (channel_multiplier, depth_multiplier)
    "tf_efficientnetv2_s": (1.0, 1.0),
    "efficientnetv2_rw_t": (0.8, 0.9),
}


class EfficientNetV2SNames(nn.Module):
    def __init__(self, num_classes=1000, in_chans=3, channel_multiplier=1.0, depth_multiplier=1.0):
        super().__init__()
        rc = lambda c: round_channels(c, channel_multiplier)
        stem = rc(24)
        self.conv_stem = conv(in_chans, stem, 3, 2)
        self.bn1 = BatchNormAct2d(stem)
        stages = []
        in_chs = stem
        for bt, reps, k, s, e, c, se, skip in ARCH_V2_S:
            out = rc(c)
            blocks = []
            for i in range(int(math.ceil(reps * depth_multiplier))):
                stride = s if i == 0 else 1
                if bt == "cn":
                    blocks.append(ConvBnAct(in_chs, out, k, stride, bool(skip)))
                elif bt == "er":
                    blocks.append(EdgeResidual(in_chs, out, k, stride, e, se))
                else:
                    blocks.append(InvertedResidual(in_chs, out, k, stride, e, se))
                in_chs = out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        nf = rc(1280)
        self.conv_head = conv(in_chs, nf, 1)
        self.bn2 = BatchNormAct2d(nf)
        self.global_pool = nn.AdaptiveAvgPool2d(1)  # no tensors (timm: SelectAdaptivePool2d)
        self.classifier = nn.Linear(nf, num_classes, bias=True)


def check_md(model, path):
    """Compare named_parameters with a Model.Summary markdown table ('| name | (shape) | ...')."""
    want = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\|\s*([A-Za-z_][\w.]*)\s*\|\s*\(([\d,\s]*)\)\s*\|", line)
            if m:
                want.append((m.group(1), [int(x) for x in m.group(2).split(",") if x.strip()]))
    got = [(k, list(p.shape)) for k, p in model.named_parameters()]
    bad = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    print(f"check-md: reference={len(want)} ours={len(got)} mismatches={len(bad)}", file=sys.stderr)
    for i, w, g in bad[:20]:
        print(f"  #{i}: ref={w} ours={g}", file=sys.stderr)
    return len(want) == len(got) and not bad


def compare_torchvision(sd):
    import torchvision

    tv = torchvision.models.efficientnet_v2_s().state_dict()

    def group(name, tvside):
        if tvside:
            m = re.match(r"features\.(\d+)\.(\d+)\.block\.", name)
            if m and 1 <= int(m.group(1)) <= 6:
                return ("block", int(m.group(1)) - 1, int(m.group(2)))
            if name.startswith("features.0."):
                return ("stem",)
            if name.startswith("features.7."):
                return ("head",)
            return ("classifier",)
        m = re.match(r"blocks\.(\d+)\.(\d+)\.", name)
        if m:
            return ("block", int(m.group(1)), int(m.group(2)))
        if name.startswith(("conv_stem.", "bn1.")):
            return ("stem",)
        if name.startswith(("conv_head.", "bn2.")):
            return ("head",)
        return ("classifier",)

    def grouped(d, tvside):
        out = {}
        for k, v in d.items():
            out.setdefault(group(k, tvside), []).append((k, list(v.shape)))
        return out

    a, b = grouped(sd, False), grouped(tv, True)
    ok = True
    print(f"compare-torchvision: timm-like tensors={len(sd)} torchvision tensors={len(tv)} "
          f"groups={len(a)}/{len(b)}", file=sys.stderr)
    for g in sorted(set(a) | set(b), key=str):
        ta, tb = a.get(g, []), b.get(g, [])
        sa, sb = [s for _, s in ta], [s for _, s in tb]
        if sa != sb:
            ok = False
            print(f"  {g}: timm n={len(ta)} tv n={len(tb)}", file=sys.stderr)
            for (ka, xa), (kb, xb) in zip(ta, tb):
                if xa != xb:
                    print(f"    {ka} {xa}  vs  {kb} {xb}", file=sys.stderr)
    print("compare-torchvision: " + ("all groups equal (counts and shapes, in order)" if ok else "DIFFERENCES"),
          file=sys.stderr)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("num_classes", nargs="?", type=int, default=1000)
    ap.add_argument("--variant", default="tf_efficientnetv2_s", choices=sorted(VARIANTS))
    ap.add_argument("--check-md", metavar="FILE")
    ap.add_argument("--compare-torchvision", action="store_true")
    args = ap.parse_args()

    cm, dm = VARIANTS[args.variant]
    m = EfficientNetV2SNames(num_classes=args.num_classes, channel_multiplier=cm, depth_multiplier=dm)
    sd = write_listing(
        "Hand-built torch module tree mirroring timm " + args.variant + " naming, from "
        "huggingface/pytorch-image-models@" + TIMM_COMMIT + " (timm/models/efficientnet.py "
        "_gen_efficientnetv2_s, timm/models/_efficientnet_builder.py, timm/models/_efficientnet_blocks.py "
        "ConvBnAct/EdgeResidual/InvertedResidual/SqueezeExcite, timm/layers/norm_act.py); naming and "
        "SE rule cross-checked against a printed timm efficientnetv2_rw_t parameter list in "
        "KwangryeolPark/Model.Summary@21b73e02481577f010d6cc1c451d8438c327c2e6",
        args.variant, m)
    ok = True
    if args.check_md:
        ok = check_md(m, args.check_md) and ok
    if args.compare_torchvision:
        ok = compare_torchvision(sd) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
