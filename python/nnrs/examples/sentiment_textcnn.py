"""Text CNN (Kim, 2014) on the Sentiment Labelled Sentences (amazon, imdb, yelp; 2,838 reviews).

Reviews are tokenized into words (lower-cased, punctuation stripped; vocabulary from the
training reviews only), padded to ``--maxlen`` ids, embedded, convolved by 1-D filters of
widths 3, 4 and 5 in parallel (ReLU), max-pooled over time, concatenated, dropped out and
classified by one sigmoid unit. The examples are shuffled with a fixed seed and split 80%
train / 20% test (``nnrs.datasets.sentiment.load_data``).

    python -m nnrs.examples.sentiment_textcnn [--data DIR] [--epochs 10] [--seed 0] [--plot textcnn.svg]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import nnrs
from nnrs import layers

DEFAULT = os.environ.get("NNRS_SENTIMENT_DIR", os.path.join("..", "shared", "data", "sentiment"))


def build_model(vocab_size, maxlen, embed_dim=64, filters=64, widths=(3, 4, 5), dropout=0.5, l2=1e-4):
    """Embedding -> [Conv1D(width) -> GlobalMaxPooling1D for each width] -> Concatenate ->
    Dropout -> Dense(1, sigmoid), as a functional model."""
    reg = nnrs.regularizers.L2(l2) if l2 else None
    ids = nnrs.Input((maxlen,), dtype="int32", name="ids")
    x = layers.Embedding(vocab_size, embed_dim, embeddings_regularizer=reg, name="embedding")(ids)
    branches = [layers.GlobalMaxPooling1D(name=f"pool{w}")(
        layers.Conv1D(filters, w, activation="relu", kernel_regularizer=reg, name=f"conv{w}")(x)) for w in widths]
    h = layers.Concatenate(name="concat")(branches)
    h = layers.Dropout(dropout, name="dropout")(h)
    out = layers.Dense(1, activation="sigmoid", name="out")(h)
    return nnrs.Model(ids, out, name="textcnn")


def prepare(path, maxlen, max_tokens, seed=113):
    """((x_train, y_train), (x_test, y_test), tokenizer): ids padded after the words to ``maxlen``."""
    (s_train, y_train), (s_test, y_test) = nnrs.datasets.sentiment.load_data(path, test_split=0.2, seed=seed)
    tok = nnrs.text.Tokenizer(max_tokens=max_tokens).adapt(s_train)

    def ids(texts):
        return nnrs.utils.pad_sequences(tok.encode(texts), maxlen=maxlen, padding="post", truncating="post")

    return (ids(s_train), y_train), (ids(s_test), y_test), tok


def sentiment_arguments(description, epochs, lr, curves):
    """The command-line options both sentiment examples share (data, split, text, training);
    each example adds its own model size option."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", default=DEFAULT, help="folder of *_labelled.txt files (default ../shared/data/sentiment)")
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0, help="seed of the initial weights, shuffling and dropout")
    ap.add_argument("--split-seed", type=int, default=113, help="seed of the train/test split")
    ap.add_argument("--maxlen", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=5000)
    ap.add_argument("--embed-dim", type=int, default=64)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--plot", default=None, help=f"where to save the training curves (SVG); default {curves}")
    ap.add_argument("--verbose", type=int, default=2)
    return ap


def main(argv=None):
    ap = sentiment_arguments(__doc__.splitlines()[0], epochs=10, lr=1e-3, curves="textcnn_curves.svg")
    ap.add_argument("--filters", type=int, default=64)
    args = ap.parse_args(argv)
    return train_and_report(args, lambda vocab: build_model(vocab, args.maxlen, args.embed_dim, args.filters,
                                                            dropout=args.dropout, l2=args.l2),
                            "Text CNN on Sentiment Labelled Sentences")


def train_and_report(args, build, title):
    """What both sentiment examples do once the command line is read: prepare the split,
    build ``build(vocabulary_size)`` after seeding with ``args.seed``, train with Adam and
    binary cross-entropy, print the test accuracy and save the curves; returns the accuracy."""
    if not os.path.isdir(args.data) and not os.path.isfile(args.data):
        sys.exit(f"sentiment data {args.data!r} not found; pass --data DIR holding the *_labelled.txt files")
    (x_train, y_train), (x_test, y_test), tok = prepare(args.data, args.maxlen, args.max_tokens, args.split_seed)
    nnrs.random.seed(args.seed)
    model = build(tok.vocabulary_size())
    model.compile(optimizer=nnrs.optimizers.Adam(args.lr), loss="binary_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose,
                        validation_data=(x_test, y_test))
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    plot = args.plot or f"{model.name}_curves.svg"
    nnrs.utils.plot_history(history, plot, title=title)
    print(f"{model.name}: train {len(x_train)} / test {len(x_test)} reviews, vocabulary {tok.vocabulary_size()}, "
          f"{model.count_params():,} parameters, {time.perf_counter() - t0:.1f}s: test loss {loss:.4f}, "
          f"test accuracy {acc:.2%}; curves in {plot}")
    return acc


if __name__ == "__main__":
    main()
