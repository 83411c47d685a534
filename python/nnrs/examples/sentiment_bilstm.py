"""Bidirectional LSTM on the Sentiment Labelled Sentences (amazon, imdb, yelp; 2,838 reviews).

The same data and split as the text CNN example (words, vocabulary from the training
reviews, ids padded after the words to ``--maxlen``, 80% train / 20% test with a fixed
seed). An Embedding with ``mask_zero=True`` marks the padding, so the LSTMs read each
review only as far as its last word in both directions: Embedding -> Bidirectional(LSTM)
(final states of both directions concatenated) -> Dropout -> Dense(1, sigmoid).

    python -m nnrs.examples.sentiment_bilstm [--data DIR] [--epochs 4] [--seed 0] [--plot bilstm.svg]
"""

from __future__ import annotations

import nnrs
from nnrs import layers
from nnrs.examples.sentiment_textcnn import sentiment_arguments, train_and_report


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
    ap = sentiment_arguments(__doc__.splitlines()[0], epochs=4, lr=2e-3, curves="bilstm_curves.svg")
    ap.add_argument("--units", type=int, default=64)
    args = ap.parse_args(argv)
    return train_and_report(args, lambda vocab: build_model(vocab, args.maxlen, args.embed_dim, args.units, args.dropout,
                                                            args.l2), "Bidirectional LSTM on Sentiment Labelled Sentences")


if __name__ == "__main__":
    main()
