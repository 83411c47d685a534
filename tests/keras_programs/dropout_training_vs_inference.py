import keras
import numpy as np

layer = keras.layers.Dropout(0.5, seed=1)
x = np.ones((200, 50), "float32")
infer = layer(x, training=False).numpy()
train = layer(x, training=True).numpy()
assert (infer == 1.0).all()
kept = train != 0
assert 0.4 < kept.mean() < 0.6 and np.allclose(train[kept], 2.0)  # inverted dropout keeps the expectation
