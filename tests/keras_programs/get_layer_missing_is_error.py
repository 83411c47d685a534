import keras

model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="only")])
assert model.get_layer("only").name == "only"
try:
    model.get_layer("nope")
except ValueError:
    pass
else:
    raise AssertionError("an unknown layer name must be a ValueError")
