"""The recipe benchmark's baseline: scikit-learn's SVC (RBF kernel, its defaults) on the raw pixels of the very images
the network trains and tests on (the CSV RecipeComparison writes: split,label,pixels...). Prints the test accuracy."""
import sys

import numpy as np
from sklearn.svm import SVC

rows = [line.rstrip("\n").split(",") for line in open(sys.argv[1])]
split = np.array([r[0] for r in rows])
labels = np.array([r[1] for r in rows])
pixels = np.array([[float(v) for v in r[2:]] for r in rows], dtype=np.float32) / 255.0
train, test = split == "train", split == "test"
model = SVC().fit(pixels[train], labels[train])
print(f"{(model.predict(pixels[test]) == labels[test]).mean():.4f}")
