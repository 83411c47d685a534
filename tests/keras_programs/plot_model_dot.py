import importlib.util

import keras

a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
out = keras.layers.Dense(1, name="head")(keras.layers.concatenate([a, b], name="join"))
model = keras.Model([a, b], out)
keras.utils.plot_model(model, to_file="model.dot", show_shapes=True)
text = open("model.dot").read()
assert text.startswith("digraph") and "head (Dense)" in text and "join (Concatenate)" in text and "(None, 5)" in text
assert text.count("->") == 3  # a -> join, b -> join, join -> head
if importlib.util.find_spec("pydot") is None:
    try:
        keras.utils.plot_model(model, to_file="model.png")
    except ImportError as e:
        assert "pydot" in str(e) and "Graphviz" in str(e)
    else:
        raise AssertionError("a PNG without pydot must be a clear ImportError")
