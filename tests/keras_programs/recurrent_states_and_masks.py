import keras
import numpy as np

rng = np.random.default_rng(1)
x = rng.normal(size=(2, 6, 4)).astype("float32")

# LSTM by hand from its weights (gates i, f, c, o), with return_state and an initial state
lstm = keras.layers.LSTM(3, return_sequences=True, return_state=True)
h0, c0 = rng.normal(size=(2, 3)).astype("float32"), rng.normal(size=(2, 3)).astype("float32")
seq, h, c = lstm(x, initial_state=[h0, c0])
k, rk, b = (np.asarray(w) for w in lstm.get_weights())
assert np.allclose(b[3:6], 1.0)  # unit_forget_bias


def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


hh, cc = h0, c0
for t in range(6):
    z = x[:, t] @ k + hh @ rk + b
    i, f, g, o = z[:, :3], z[:, 3:6], z[:, 6:9], z[:, 9:]
    cc = sig(f) * cc + sig(i) * np.tanh(g)
    hh = sig(o) * np.tanh(cc)
    np.testing.assert_allclose(np.asarray(keras.ops.convert_to_numpy(seq))[:, t], hh, atol=1e-5)
np.testing.assert_allclose(keras.ops.convert_to_numpy(h), hh, atol=1e-5)
np.testing.assert_allclose(keras.ops.convert_to_numpy(c), cc, atol=1e-5)

# a mask: the state is carried over masked steps, so trailing padding changes nothing
gru = keras.layers.GRU(5)
mask = np.array([[True] * 4 + [False] * 2, [True] * 6])
padded = gru(x, mask=mask)
short = gru(x[:1, :4])
np.testing.assert_allclose(keras.ops.convert_to_numpy(padded)[:1], keras.ops.convert_to_numpy(short), atol=1e-5)

# go_backwards returns the outputs in processing order: the last one is the backward pass's final state
rnn = keras.layers.SimpleRNN(3, return_sequences=True, go_backwards=True, return_state=True)
out, state = rnn(x)
np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[:, -1], keras.ops.convert_to_numpy(state), atol=1e-6)

# a stateful layer continues from where the previous batch stopped
plain = keras.layers.GRU(4, return_sequences=True)
full = keras.ops.convert_to_numpy(plain(x))
stateful = keras.layers.GRU(4, return_sequences=True, stateful=True)
stateful.build((2, 6, 4))
stateful.set_weights(plain.get_weights())
first = keras.ops.convert_to_numpy(stateful(x[:, :3]))
second = keras.ops.convert_to_numpy(stateful(x[:, 3:]))
np.testing.assert_allclose(np.concatenate([first, second], axis=1), full, atol=1e-5)
stateful.reset_states()
np.testing.assert_allclose(keras.ops.convert_to_numpy(stateful(x[:, :3])), first, atol=1e-5)

# configs round-trip
cfg = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True), merge_mode="sum").get_config()
again = keras.layers.Bidirectional.from_config(cfg)
assert again.merge_mode == "sum" and again.forward_layer.units == 2 and again.backward_layer.go_backwards
