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
want = clf.evaluate(x, labels, sample_weight=np.array([2.0, 2.0, 2.0, 0.5]), verbose=0)
# one batch: the epoch's loss is the class-weighted loss before the update
got = clf.fit(x, labels, batch_size=4, epochs=1, verbose=0, shuffle=False, class_weight={0: 2.0, 1: 0.5}).history["loss"][0]
assert abs(got - want) < 1e-5, (got, want)
