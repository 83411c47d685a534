import importlib.util
import shutil

import keras

a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
out = keras.layers.Dense(1, name="head")(keras.layers.concatenate([a, b], name="join"))
model = keras.Model([a, b], out)
if importlib.util.find_spec("pydot") is None or shutil.which("dot") is None:
    try:
        keras.utils.plot_model(model, to_file="model.png")
    except ImportError as e:
        assert "pydot" in str(e) or "graphviz" in str(e).lower()
    else:
        raise AssertionError("a picture without pydot or Graphviz must be a clear ImportError")
else:
    keras.utils.plot_model(model, to_file="model.png", show_shapes=True)
