import keras

model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5), keras.layers.Dense(2)])
lines = []
model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
text = "\n".join(lines)
assert "Total params" in text and "67" in text, text
assert model.count_params() == 67
