"""What the MNIST convnet examples share: reading the images as (N, 28, 28, 1), the
command line (``--data``, ``--epochs``, ``--batch-size``, ``--seed``, ``--plot``), training
with Adam, printing the test accuracy and saving the training curves as an SVG."""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import nnrs

DEFAULT = os.environ.get("NNRS_MNIST_DIR", os.path.join("..", "shared", "data", "mnist"))


def load_images(path):
    """((x_train, y_train), (x_test, y_test)) with images (N, 28, 28, 1) in [0, 1], labels int64.
    With only the t10k files in ``path``: the first 8,000 images train, the last 2,000 test."""
    (x_train, y_train), (x_test, y_test) = nnrs.datasets.mnist.load_data(path)
    prep = lambda x: (x.reshape(len(x), 28, 28, 1).astype(np.float32) / 255.0)  # noqa: E731
    return (prep(x_train), y_train.astype(np.int64)), (prep(x_test), y_test.astype(np.int64))


def run(doc, build, argv=None, epochs=10, batch_size=64, lr=1e-3):
    """Parse the command line, train ``build(seed)`` and return the test accuracy."""
    name = doc.splitlines()[0]
    ap = argparse.ArgumentParser(description=name)
    ap.add_argument("--data", default=DEFAULT, help="folder with the MNIST IDX files (default ../shared/data/mnist)")
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--batch-size", type=int, default=batch_size)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None, help="where to save the training curves (SVG); default <model name>_curves.svg")
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.data):
        sys.exit(f"MNIST folder {args.data!r} not found; pass --data DIR holding the IDX files")
    (x_train, y_train), (x_test, y_test) = load_images(args.data)
    nnrs.random.seed(args.seed)
    model = build()
    model.compile(optimizer=nnrs.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose,
                        validation_data=(x_test, y_test))
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    plot = args.plot or f"{model.name}_curves.svg"
    nnrs.utils.plot_history(history, plot, title=f"{model.name} on MNIST")
    print(f"{model.name}: train {len(x_train)} / test {len(x_test)} images, {model.count_params():,} parameters, "
          f"{time.perf_counter() - t0:.1f}s: test loss {loss:.4f}, test accuracy {acc:.2%}; curves in {plot}")
    return acc
