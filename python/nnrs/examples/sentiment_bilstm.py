"""Bidirectional LSTM on the Sentiment Labelled Sentences (amazon, imdb, yelp; 2,838 reviews).

The same data and split as the text CNN example (words, vocabulary from the training
reviews, ids padded after the words to ``--maxlen``, 80% train / 20% test with a fixed
seed). An Embedding with ``mask_zero=True`` marks the padding, so the LSTMs read each
review only as far as its last word in both directions: Embedding -> Bidirectional(LSTM)
(final states of both directions concatenated) -> Dropout -> Dense(1, sigmoid).

    python -m nnrs.examples.sentiment_bilstm [--data DIR] [--epochs 4] [--seed 0] [--plot bilstm.svg]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import nnrs
from nnrs import layers
from nnrs.examples.sentiment_textcnn import DEFAULT, prepare


def build_model(vocab_size, maxlen, embed_dim=64, units=64, dropout=0.5, l2=1e-4):
    reg = nnrs.regularizers.L2(l2) if l2 else None
    return nnrs.Sequential([
        nnrs.Input((maxlen,), dtype="int32", name="ids"),
        layers.Embedding(vocab_size, embed_dim, mask_zero=True, embeddings_regularizer=reg, name="embedding"),
        layers.Bidirectional(layers.LSTM(units), name="bilstm"),
        layers.Dropout(dropout, name="dropout"),
        layers.Dense(1, activation="sigmoid", name="out"),
    ], name="bilstm")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT, help="folder of *_labelled.txt files (default ../shared/data/sentiment)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0, help="seed of the initial weights, shuffling and dropout")
    ap.add_argument("--split-seed", type=int, default=113, help="seed of the train/test split")
    ap.add_argument("--maxlen", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=5000)
    ap.add_argument("--embed-dim", type=int, default=64)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--plot", default=None, help="where to save the training curves (SVG); default bilstm_curves.svg")
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.data) and not os.path.isfile(args.data):
        sys.exit(f"sentiment data {args.data!r} not found; pass --data DIR holding the *_labelled.txt files")
    (x_train, y_train), (x_test, y_test), tok = prepare(args.data, args.maxlen, args.max_tokens, args.split_seed)
    nnrs.random.seed(args.seed)
    model = build_model(tok.vocabulary_size(), args.maxlen, args.embed_dim, args.units, args.dropout, args.l2)
    model.compile(optimizer=nnrs.optimizers.Adam(args.lr), loss="binary_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose,
                        validation_data=(x_test, y_test))
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    plot = args.plot or f"{model.name}_curves.svg"
    nnrs.utils.plot_history(history, plot, title="Bidirectional LSTM on Sentiment Labelled Sentences")
    print(f"{model.name}: train {len(x_train)} / test {len(x_test)} reviews, vocabulary {tok.vocabulary_size()}, "
          f"{model.count_params():,} parameters, {time.perf_counter() - t0:.1f}s: test loss {loss:.4f}, "
          f"test accuracy {acc:.2%}; curves in {plot}")
    return acc


if __name__ == "__main__":
    main()
