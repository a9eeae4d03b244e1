"""Trains torchvision's EfficientNet with DistributedDataParallel (torchrun, Gloo on CPU) and saves what torchvision's
references/classification/train.py saves, so that EfficientNet.MLNet can take the weights over.

    torchrun --nproc_per_node=2 train_ddp.py --data shapes/ --output out/ [--epochs 2] [--size 64] [--batch-size 8]
             [--weights start.pth] [--model-ema-decay 0.9] [--score images.txt] [--fail-rank R --fail-epoch E]

--weights: start from these weights instead of random ones: a torch.save state_dict in torchvision's names with as many
classes as the data (e.g. a model EfficientNet.MLNet trained, saved with save_py), or a checkpoint holding one under
"model" or "state_dict" ("module." prefixes removed); its classifier rows are matched to the data's classes by name
(the checkpoint's "classes", or a classes.txt beside the file), other names stop the run.

--data: one subfolder of PNG or JPEG images per class (e.g. EfficientNet.MLNet's SyntheticShapes), read with
torchvision.io (no Pillow needed) and resized to --size. Each epoch a DistributedSampler gives every rank its part;
DDP averages the gradients. After each epoch rank 0's batch-norm buffers are broadcast and every rank checks, by
gathering all of them, that all ranks hold identical parameters and buffers (the script fails otherwise).

Writes, on rank 0, after the last epoch and only when every rank got there (a barrier):
  checkpoint.pth      {"model", "optimizer", "lr_scheduler", "epoch", "args", "model_ema"} as train.py saves them
                      (model_ema: torch.optim.swa_utils.AveragedModel's state_dict: "module." names and "n_averaged")
  checkpoint_ddp.pth  {"model": the DDP wrapper's state_dict ("module." names), "epoch"}
  classes.txt         the class names in the classifier's order
  scores.json         with --score: probabilities of the listed images (eval mode; model and EMA), read at --size
Each file is written to a temporary name and renamed, so a rank that dies (--fail-rank/--fail-epoch simulate it)
leaves no partial checkpoint: torchrun then fails the whole job.

Requires Debian's python3-torch and python3-torchvision (Gloo is built in); a test reference of EfficientNet.MLNet,
never a dependency of the library.
"""
import argparse
import datetime
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
import torchvision
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
EXTENSIONS = (".png", ".jpg", ".jpeg")


def read_image(path, size):
    """RGB 0..255 as float, resized to size x size when it is not already, then normalized with ImageNet's statistics."""
    image = torchvision.io.read_image(path, torchvision.io.ImageReadMode.RGB).float()
    if image.shape[1:] != (size, size):
        image = F.interpolate(image.unsqueeze(0), size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return (image / 255 - MEAN) / STD


class ImageFolderTensors(Dataset):
    def __init__(self, root, size):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.samples = [(os.path.join(root, c, f), i) for i, c in enumerate(self.classes)
                        for f in sorted(os.listdir(os.path.join(root, c))) if f.lower().endswith(EXTENSIONS)]
        self.size = size

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        return read_image(path, self.size), label


def atomic_save(value, path):
    temporary = path + ".tmp"
    torch.save(value, temporary)
    os.replace(temporary, path)


def check_identical(module, rank, world, epoch):
    """Broadcasts rank 0's buffers, then gathers every rank's parameters and buffers and requires them identical."""
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)
    flat = torch.cat([t.detach().reshape(-1).double() for t in list(module.parameters()) + list(module.buffers())])
    gathered = [torch.empty_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    for other in range(1, world):
        if not torch.equal(gathered[0], gathered[other]):
            raise SystemExit(f"epoch {epoch}: rank {other}'s weights differ from rank 0's")
    if rank == 0:
        print(f"epoch {epoch}: the {world} ranks hold identical weights ({flat.numel()} values)", flush=True)


def load_weights(model, path, classes, rank):
    """Loads --weights (every name, strictly), with the classifier's rows matched to the data's classes by name: the
    names come from the checkpoint ("classes" or "class_names") or a classes.txt beside the file. Other names stop the
    run; with none, the rows are taken in the file's order, and rank 0 says so."""
    saved = torch.load(path, map_location="cpu")
    names = (saved.get("classes") or saved.get("class_names")) if isinstance(saved, dict) else None
    state = next((saved[key] for key in ("model", "state_dict") if isinstance(saved, dict) and key in saved), saved)
    state = {name.removeprefix("module."): tensor for name, tensor in state.items()}
    beside = os.path.join(os.path.dirname(os.path.abspath(path)), "classes.txt")
    if names is None and os.path.exists(beside):
        with open(beside) as f:
            names = [line.strip() for line in f if line.strip()]
    if names is None:
        if rank == 0:
            print(f"--weights: no class names with {path}: its classifier rows are taken in its order as {', '.join(classes)}", flush=True)
    elif sorted(names) != sorted(classes):
        raise SystemExit(f"--weights {path} is for the classes {', '.join(names)}, the data's are {', '.join(classes)}: the same names are needed")
    else:
        order = [names.index(c) for c in classes]
        for key in ("classifier.1.weight", "classifier.1.bias"):
            state[key] = state[key][order]
        if rank == 0:
            print(f"--weights: classifier rows matched to the data's classes by name ({', '.join(names)} -> {', '.join(classes)})", flush=True)
    model.load_state_dict(state)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--model", default="efficientnet_b0")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--model-ema-decay", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--score", default=None)
    parser.add_argument("--fail-rank", type=int, default=-1)
    parser.add_argument("--fail-epoch", type=int, default=-1)
    args = parser.parse_args()

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=120))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))

    dataset = ImageFolderTensors(args.data, args.size)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, num_workers=0)
    model = getattr(torchvision.models, args.model)(num_classes=len(dataset.classes))
    if args.weights:
        load_weights(model, args.weights, dataset.classes, rank)
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    decay = args.model_ema_decay
    ema = torch.optim.swa_utils.AveragedModel(model, avg_fn=lambda averaged, current, n: decay * averaged + (1 - decay) * current)

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        ddp.train()
        total, correct, loss_sum = 0, 0, 0.0
        for step, (images, labels) in enumerate(loader):
            if rank == args.fail_rank and epoch == args.fail_epoch and step == 1:
                print(f"rank {rank}: dying in epoch {epoch} (--fail-rank)", flush=True)
                os._exit(3)
            logits = ddp(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            ema.update_parameters(model)
            total += labels.numel()
            correct += (logits.argmax(1) == labels).sum().item()
            loss_sum += loss.item() * labels.numel()
        scheduler.step()
        check_identical(model, rank, world, epoch)
        # AveragedModel averages parameters; its buffers (batch-norm statistics) follow the model's, as torchvision's
        # reference does with its buffer copy.
        for averaged, current in zip(ema.module.buffers(), model.buffers()):
            averaged.copy_(current)
        if rank == 0:
            print(f"epoch {epoch}: rank 0 loss {loss_sum / total:.4f}, accuracy {correct / total:.3f}", flush=True)

    dist.barrier()  # every rank finished every epoch: only now is there a checkpoint to write
    if rank == 0:
        os.makedirs(args.output, exist_ok=True)
        atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "lr_scheduler": scheduler.state_dict(),
                     "epoch": args.epochs - 1, "args": args, "model_ema": ema.state_dict()}, os.path.join(args.output, "checkpoint.pth"))
        atomic_save({"model": ddp.state_dict(), "epoch": args.epochs - 1}, os.path.join(args.output, "checkpoint_ddp.pth"))
        with open(os.path.join(args.output, "classes.txt"), "w") as f:
            f.write("\n".join(dataset.classes) + "\n")
        if args.score:
            with open(args.score) as f:
                paths = [line.strip() for line in f if line.strip()]
            batch = torch.stack([read_image(p, args.size) for p in paths])
            scores = {}
            with torch.no_grad():
                for name, network in (("model", model), ("model_ema", ema.module)):
                    network.eval()
                    scores[name] = network(batch).softmax(1).tolist()
            scores["images"] = paths
            temporary = os.path.join(args.output, "scores.json.tmp")
            with open(temporary, "w") as f:
                json.dump(scores, f)
            os.replace(temporary, os.path.join(args.output, "scores.json"))
        print(f"saved {args.output}/checkpoint.pth, checkpoint_ddp.pth and classes.txt", flush=True)
    # Every rank tears the group down together: a rank that destroyed it while rank 0 was still writing left rank 0
    # hanging in its own destroy_process_group (seen once with Debian's torch 1.13 and Gloo, after every file was written).
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
