"""Runnable examples: ``python -m nnrs.examples.quickstart``, ``python -m nnrs.examples.mnist_mlp``."""
