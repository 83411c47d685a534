import os
import sys

import keras
import numpy as np

# files written by real Keras 3 (tests/fixtures/keras3/make_fixtures.py)
here = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "..", "fixtures", "keras3")
model = keras.models.load_model(os.path.join(here, "mlp.keras"))
x = np.load(os.path.join(here, "x.npy"))
np.testing.assert_allclose(model.predict(x, verbose=0), np.load(os.path.join(here, "mlp_pred.npy")), rtol=1e-6, atol=1e-6)
fn = keras.models.load_model(os.path.join(here, "fn.keras"))
pa, pb = fn.predict([np.load(os.path.join(here, "x_a.npy")), np.load(os.path.join(here, "x_b.npy"))], verbose=0)
np.testing.assert_allclose(pa, np.load(os.path.join(here, "fn_pred_a.npy")), rtol=1e-6, atol=1e-6)
np.testing.assert_allclose(pb, np.load(os.path.join(here, "fn_pred_b.npy")), rtol=1e-6, atol=1e-6)
