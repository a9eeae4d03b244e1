#!/usr/bin/python3
"""The PyTorch side of the benchmark: torchvision's efficientnet_b0, eager mode, on random tensors in memory, or
trained from a folder of image files with torchvision's ImageFolder and a DataLoader.

Run by the benchmark app (`--compare-pytorch`), one measurement per process, alternating with the .NET side.
Uses Debian's python3-torch and python3-torchvision (reference only, never a dependency of the product).

  /usr/bin/python3 pytorch_side.py --task infer|train --batch 16 --size 224 --threads 2 [--steps 5] [--epochs 5]
  /usr/bin/python3 pytorch_side.py --task fit-files --data FOLDER --batch 16 --size 224 --threads 2 --epochs 2 [--workers 0] [--sample-heap]

Prints one JSON object: images_per_second, peak_rss_bytes, rss_after_epoch_bytes (train, fit-files), versions.
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
    parser.add_argument("--task", choices=["infer", "train", "fit-files"], required=True)
    parser.add_argument("--data", help="fit-files: a folder with one subfolder of images per class")
    parser.add_argument("--workers", type=int, default=0, help="fit-files: DataLoader worker processes")
    parser.add_argument("--sample-heap", action="store_true",
                        help="fit-files: glibc's peak of native memory in use (mallinfo2 every millisecond) and its heaps' size after each epoch")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed steps (per epoch when training)")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.task == "fit-files":
        print(json.dumps(fit_files(args)))
        return
    model = torchvision.models.efficientnet_b0(num_classes=4 if args.task == "train" else 1000)
    pixels = torch.rand(args.batch, 3, args.size, args.size)
    result = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads()}

    if args.task == "infer":
        model.eval()
        with torch.inference_mode():
            model(pixels)  # warm-up: two passes, as on the .NET side
            model(pixels)
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


class HeapSampler:
    """glibc's count of native memory in use (mallinfo2: heaps' allocated bytes plus separately mapped blocks), sampled
    every millisecond on a thread, as the .NET side's HeapSampler.cs; and the size of glibc's heaps."""

    def __init__(self):
        import ctypes
        import threading

        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in
                        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

        self.libc = ctypes.CDLL("libc.so.6")
        self.libc.mallinfo2.restype = MallInfo2
        self.peak_in_use = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while not self.stopping:
            info = self.libc.mallinfo2()
            self.peak_in_use = max(self.peak_in_use, info.uordblks + info.hblkhd)
            time.sleep(0.001)

    def heap_bytes(self):
        return self.libc.mallinfo2().arena

    def stop(self):
        self.stopping = True
        self.thread.join()


def fit_files(args):
    """Training as a PyTorch user writes it: ImageFolder (PIL decoding every epoch), RandomResizedCrop and flip,
    ToTensor and Normalize, a shuffled DataLoader, AdamW with label smoothing; the clock runs from building the
    model to the end of the last epoch, as the .NET side's Fit."""
    from torchvision import datasets, transforms
    start = time.perf_counter()
    preprocessing = transforms.Compose([
        transforms.RandomResizedCrop(args.size, scale=(0.5, 1.0)),  # the .NET side's RandomCropMinimumScale
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    folder = datasets.ImageFolder(args.data, transform=preprocessing)
    loader = torch.utils.data.DataLoader(folder, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    model = torchvision.models.efficientnet_b0(num_classes=len(folder.classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    rss_after_epoch = []
    sampler = HeapSampler() if args.sample_heap else None
    heap_after_epoch = []
    for _ in range(args.epochs):
        for pixels, labels in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(pixels), labels, label_smoothing=0.1)
            loss.backward()
            optimizer.step()
        rss_after_epoch.append(rss_bytes())
        if sampler:
            heap_after_epoch.append(sampler.heap_bytes())
    elapsed = time.perf_counter() - start
    heap = {}
    if sampler:
        sampler.stop()
        heap = {"heap_in_use_peak_bytes": sampler.peak_in_use, "heap_bytes_after_epoch": heap_after_epoch}
    return {**heap, "torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
            "workers": args.workers, "images": len(folder), "images_per_second": args.epochs * len(folder) / elapsed,
            "rss_after_epoch_bytes": rss_after_epoch,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


if __name__ == "__main__":
    main()
