"""Character-level LSTM language model on tiny-shakespeare, with temperature sampling.

Embedding 64 (initialized N(0, 1)) -> LSTM 256 (all steps) -> Dense over the characters; batches of 32 random
100-character windows from the first 90% of the text, each character predicting the next;
Adam 2e-3 with gradients clipped to norm 5. After training, the loss on the last 10% of the
text (in nats per character, over consecutive 100-character windows) is printed, and text is
sampled from the model at a few temperatures (lower: safer and more repetitive).

    python -m nnrs.examples.char_lstm [--data ../shared/data/tinyshakespeare/input.txt] [--steps 1500]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import nnrs

DEFAULT = os.environ.get("NNRS_SHAKESPEARE", os.path.join("..", "shared", "data", "tinyshakespeare", "input.txt"))


def load_text(path):
    """The text, its characters (sorted) and the text as ids into them (int32)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return text, chars, np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))


def build(vocab, embed=64, units=256):
    # the embedding starts as N(0, 1), as PyTorch's nn.Embedding does: with Keras' default
    # (uniform in +-0.05) the LSTM's inputs start tiny and it learns markedly slower (mean
    # training loss over steps 201-300: 2.20 against 1.80)
    emb = nnrs.layers.Embedding(vocab, embed, embeddings_initializer=nnrs.initializers.RandomNormal(stddev=1.0))
    return nnrs.Sequential([nnrs.Input((None,), dtype="int32"), emb, nnrs.layers.LSTM(units, return_sequences=True),
                            nnrs.layers.Dense(vocab)], name="char_lstm")


def windows(ids, starts, length):
    """Inputs (len(starts), length) and their next-character targets."""
    idx = starts[:, None] + np.arange(length)[None, :]
    return ids[idx], ids[idx + 1]


def validation_loss(model, ids, length=100, batch=64):
    """Mean loss per character over consecutive windows of ``ids`` (nats/char)."""
    starts = np.arange(0, len(ids) - length - 1, length)
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        x, y = windows(ids, starts[i:i + batch], length)
        total += float(model.evaluate(x, y, batch_size=len(x), verbose=0)) * y.size
        count += y.size
    return total / count


def sample(model, chars, prompt, n=300, temperature=1.0, window=100, seed=0):
    """``prompt`` continued by ``n`` characters drawn from the model's softmax at ``temperature``."""
    index = {c: i for i, c in enumerate(chars)}
    ids = [index[c] for c in prompt if c in index] or [0]
    rng = np.random.default_rng(seed)
    for _ in range(n):
        logits = model.predict(np.array([ids[-window:]], dtype=np.int32), verbose=0)[0, -1].astype(np.float64)
        z = logits / max(temperature, 1e-6)
        p = np.exp(z - z.max())
        ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return "".join(chars[i] for i in ids)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT, help="the text file (default ../shared/data/tinyshakespeare/input.txt)")
    ap.add_argument("--steps", type=int, default=1500, help="training steps (batches)")
    ap.add_argument("--epochs", type=int, default=None, help="alternatively, passes over the training text's windows")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", type=int, default=300, help="characters to sample at each temperature (0: none)")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.data):
        sys.exit(f"text file {args.data!r} not found; pass --data FILE")
    text, chars, ids = load_text(args.data)
    split = int(0.9 * len(ids))
    train, val = ids[:split], ids[split:]
    steps = args.steps
    if args.epochs is not None:
        steps = args.epochs * (len(train) // (args.batch_size * args.seq))
    nnrs.random.seed(args.seed)
    model = build(len(chars), units=args.units)
    model.compile(optimizer=nnrs.optimizers.Adam(args.lr, clipnorm=5.0),
                  loss=nnrs.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(args.seed)
    t0, running = time.perf_counter(), []
    for step in range(1, steps + 1):
        x, y = windows(train, rng.integers(0, len(train) - args.seq - 1, size=args.batch_size), args.seq)
        running.append(float(model.train_on_batch(x, y)))
        if step % 100 == 0 or step == steps:
            print(f"step {step}/{steps}: train loss {np.mean(running):.3f} ({(time.perf_counter() - t0) / step * 1e3:.0f} ms/step)",
                  flush=True)
            running = []
    vloss = validation_loss(model, val, args.seq)
    print(f"char_lstm: {len(chars)} characters, {model.count_params():,} parameters, {steps} steps in "
          f"{time.perf_counter() - t0:.0f}s: validation loss {vloss:.3f} nats/char on the last 10% of the text")
    for temperature in (0.5, 1.0) if args.sample else ():
        print(f"--- temperature {temperature}:\n{sample(model, chars, 'ROMEO:', args.sample, temperature)}\n")
    return vloss


if __name__ == "__main__":
    main()
