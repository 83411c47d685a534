"""Quickstart: an MLP on the built-in spirals dataset (no file, no network).

    python -m nnrs.examples.quickstart [--epochs 30] [--backend cpu|numpy]
"""

from __future__ import annotations

import argparse
import time

import nnrs


def main(argv=None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--backend", default=None, help="cpu (Rust, default) or numpy")
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)
    if args.backend:
        nnrs.set_backend(args.backend)
    nnrs.random.seed(0)
    (x_train, y_train), (x_test, y_test) = nnrs.datasets.spirals.load_data()
    model = nnrs.Sequential([
        nnrs.Input((2,)),
        nnrs.layers.Dense(64, activation="relu"),
        nnrs.layers.Dense(64, activation="relu"),
        nnrs.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=nnrs.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    t0 = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, validation_split=0.1, verbose=args.verbose)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"backend={nnrs.backend.current().name} train time {time.perf_counter() - t0:.1f}s  "
          f"test loss {loss:.4f}  test accuracy {acc:.2%}")
    return acc


if __name__ == "__main__":
    main()
