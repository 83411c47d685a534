import keras
import numpy as np

x = np.array([[1.0], [2.0], [3.0], [4.0]], "float32")
y = np.array([[0.0], [0.0], [0.0], [10.0]], "float32")
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros")])
model.compile(optimizer="sgd", loss="mse")
plain = model.evaluate(x, y, verbose=0)
weighted = model.evaluate(x, y, sample_weight=np.array([1.0, 1.0, 1.0, 0.0]), verbose=0)
assert abs(plain - 25.0) < 1e-5 and abs(weighted) < 1e-6, (plain, weighted)
labels = np.array([0, 0, 0, 1])
clf = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
clf.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
h1 = clf.fit(x, labels, epochs=1, verbose=0, shuffle=False, class_weight={0: 1.0, 1: 1.0}).history["loss"][0]
clf2 = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
clf2.set_weights(clf.get_weights())
