"""MNIST MLP 784-256-128-10 (relu, dropout 0.2, Adam 1e-3, batch 64, 10 epochs).

Reads the MNIST IDX files from ``--data`` (default ``../shared/data/mnist``); with only
the t10k files there, trains on the first 8,000 images and tests on the last 2,000.

    python -m nnrs.examples.mnist_mlp [--data DIR] [--epochs 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import nnrs

DEFAULT = os.environ.get("NNRS_MNIST_DIR", os.path.join("..", "shared", "data", "mnist"))


def build(seed=0):
    nnrs.random.seed(seed)
    return nnrs.Sequential([
        nnrs.Input((784,)),
        nnrs.layers.Dense(256, activation="relu"),
        nnrs.layers.Dropout(0.2),
        nnrs.layers.Dense(128, activation="relu"),
        nnrs.layers.Dropout(0.2),
        nnrs.layers.Dense(10, activation="softmax"),
    ])


def load(path):
    (x_train, y_train), (x_test, y_test) = nnrs.datasets.mnist.load_data(path)
    prep = lambda x: (x.reshape(len(x), -1).astype(np.float32) / 255.0)  # noqa: E731
    return (prep(x_train), y_train.astype(np.int64)), (prep(x_test), y_test.astype(np.int64))


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.data):
        sys.exit(f"MNIST folder {args.data!r} not found; pass --data DIR holding the IDX files")
    (x_train, y_train), (x_test, y_test) = load(args.data)
    model = build(args.seed)
    model.compile(optimizer=nnrs.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=args.verbose)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"train {len(x_train)} / test {len(x_test)} images, {time.perf_counter() - t0:.1f}s: "
          f"test loss {loss:.4f}, test accuracy {acc:.2%}")
    return acc


if __name__ == "__main__":
    main()
