#!/usr/bin/python3
"""The PyTorch side of the benchmark: torchvision's efficientnet_b0, eager mode, on random tensors in memory.

Run by the benchmark app (`--compare-pytorch`), one measurement per process, alternating with the .NET side.
Uses Debian's python3-torch and python3-torchvision (reference only, never a dependency of the product).

  /usr/bin/python3 pytorch_side.py --task infer|train --batch 16 --size 224 --threads 2 [--steps 5] [--epochs 5]

Prints one JSON object: images_per_second, peak_rss_bytes, rss_after_epoch_bytes (train), versions.
"""
import argparse
import json
import resource
import time

import torch
import torchvision


def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["infer", "train"], required=True)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps (per epoch when training)")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = torchvision.models.efficientnet_b0(num_classes=4 if args.task == "train" else 1000)
    pixels = torch.rand(args.batch, 3, args.size, args.size)
    result = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}

    if args.task == "infer":
        model.eval()
        with torch.inference_mode():
            model(pixels)  # warm-up
            start = time.perf_counter()
            for _ in range(args.steps):
                model(pixels)
            elapsed = time.perf_counter() - start
        result["images_per_second"] = args.steps * args.batch / elapsed
    else:
        labels = torch.randint(0, 4, (args.batch,))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        model.train()

        def step():
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(pixels), labels, label_smoothing=0.1)
            loss.backward()
            optimizer.step()

        step()  # warm-up
        rss_after_epoch = []
        elapsed = 0.0
        for _ in range(args.epochs):
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            elapsed += time.perf_counter() - start
            rss_after_epoch.append(rss_bytes())
        result["images_per_second"] = args.epochs * args.steps * args.batch / elapsed
        result["rss_after_epoch_bytes"] = rss_after_epoch

    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
