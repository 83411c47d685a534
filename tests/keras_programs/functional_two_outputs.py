import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
a = rng.standard_normal((240, 4)).astype("float32")
b = rng.standard_normal((240, 3)).astype("float32")
y_reg = (a[:, :1] + b[:, :1]).astype("float32")
y_cls = (a[:, 1] > b[:, 1]).astype("int64")
ia, ib = keras.Input((4,), name="a"), keras.Input((3,), name="b")
h = keras.layers.Dense(16, activation="relu")(keras.layers.concatenate([ia, ib]))
reg = keras.layers.Dense(1, name="reg")(h)
cls = keras.layers.Dense(2, activation="softmax", name="cls")(h)
model = keras.Model([ia, ib], [reg, cls])
assert model.output_names == ["reg", "cls"]
model.compile(optimizer=keras.optimizers.Adam(0.02),
              loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
              loss_weights={"reg": 1.0, "cls": 0.5},
              metrics={"cls": ["accuracy"]})
hist = model.fit([a, b], {"reg": y_reg, "cls": y_cls}, batch_size=24, epochs=15, verbose=0)
h = hist.history
assert set(h) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}, sorted(h)
assert h["reg_loss"][-1] < 0.3 * h["reg_loss"][0] and h["cls_accuracy"][-1] > 0.85, h
for i in (0, -1):  # the total is the weighted sum of the outputs' losses
    assert abs(h["loss"][i] - (h["reg_loss"][i] + 0.5 * h["cls_loss"][i])) < 1e-4 * max(1.0, h["loss"][i])
pr, pc = model.predict([a[:7], b[:7]], verbose=0)
assert pr.shape == (7, 1) and pc.shape == (7, 2)
res = model.evaluate([a, b], [y_reg, y_cls], verbose=0, return_dict=True)
assert set(res) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
