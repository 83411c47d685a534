import os
import tempfile

import keras
import numpy as np

# a sequence-to-sequence model: the encoder's final states start the decoder (teacher forcing)
rng = np.random.default_rng(0)
T, F, H = 6, 3, 24
x = rng.normal(size=(256, T, F)).astype("float32")
y = x[:, ::-1]  # the task: the input sequence reversed
dec_x = np.concatenate([np.zeros_like(y[:, :1]), y[:, :-1]], axis=1)  # the target shifted right

keras.utils.set_random_seed(1)
enc_in = keras.Input((None, F), name="enc_in")
dec_in = keras.Input((None, F), name="dec_in")
_, h, c = keras.layers.LSTM(H, return_state=True, name="encoder")(enc_in)
decoder = keras.layers.LSTM(H, return_sequences=True, return_state=True, name="decoder")
dec_seq, _, _ = decoder(dec_in, initial_state=[h, c])
proj = keras.layers.Dense(F, name="proj")
model = keras.Model([enc_in, dec_in], proj(dec_seq))
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
hist = model.fit([x, dec_x], y, epochs=12, batch_size=32, verbose=0)
assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0], hist.history["loss"]

lines = []
model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
text = "\n".join(lines)
assert "encoder[0][1]" in text and "encoder[0][2]" in text, text

# inference models share the trained layers: the encoder gives states, the decoder runs one step at a time
encoder_model = keras.Model(enc_in, [h, c])
h_in, c_in = keras.Input((H,), name="h_in"), keras.Input((H,), name="c_in")
step_seq, step_h, step_c = decoder(dec_in, initial_state=[h_in, c_in])
decoder_model = keras.Model([dec_in, h_in, c_in], [proj(step_seq), step_h, step_c])
full = np.asarray(model.predict([x[:4], dec_x[:4]], verbose=0))
sh, sc = (np.asarray(s) for s in encoder_model.predict(x[:4], verbose=0))
steps = []
for t in range(T):
    out, sh, sc = (np.asarray(v) for v in decoder_model.predict([dec_x[:4, t:t + 1], sh, sc], verbose=0))
    steps.append(out[:, 0])
np.testing.assert_allclose(np.stack(steps, axis=1), full, atol=1e-4)

# the whole graph (states passed by keyword) survives a .keras file
path = os.path.join(tempfile.mkdtemp(), "seq2seq.keras")
model.save(path)
again = keras.saving.load_model(path)
np.testing.assert_allclose(np.asarray(again.predict([x[:4], dec_x[:4]], verbose=0)), full, atol=1e-6)

# as keras.io's seq2seq example: inference models rebuilt from the loaded model's inputs and layer outputs
assert [layer.name for layer in again.layers] == ["enc_in", "dec_in", "encoder", "decoder", "proj"]
_, enc_h, enc_c = again.layers[2].output
enc2 = keras.Model(again.input[0], [enc_h, enc_c])
h2_in, c2_in = keras.Input((H,)), keras.Input((H,))
seq2, h2, c2 = again.layers[3](again.input[1], initial_state=[h2_in, c2_in])
dec2 = keras.Model([again.input[1], h2_in, c2_in], [again.layers[4](seq2), h2, c2])
assert len(again.inputs) == 2 and len(again.outputs) == 1
sh, sc = (np.asarray(s) for s in enc2.predict(x[:4], verbose=0))
out, _, _ = (np.asarray(v) for v in dec2.predict([dec_x[:4], sh, sc], verbose=0))
np.testing.assert_allclose(out, full, atol=1e-4)

# an encoder summary repeated over the output steps (RepeatVector) with the state as the decoder's start
inp = keras.Input((T, F))
_, state = keras.layers.GRU(8, return_state=True)(inp)
seq = keras.layers.GRU(8, return_sequences=True)(keras.layers.RepeatVector(4)(state), initial_state=[state])
rv = keras.Model(inp, keras.layers.TimeDistributed(keras.layers.Dense(2))(seq))
assert tuple(rv.output_shape) == (None, 4, 2)
assert np.asarray(rv.predict(x[:5], verbose=0)).shape == (5, 4, 2)

# Bidirectional without merging gives the forward and the backward sequences as two outputs
fwd, bwd = keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True), merge_mode=None)(inp)
both = keras.Model(inp, [fwd, bwd])
f_out, b_out = (np.asarray(v) for v in both.predict(x[:3], verbose=0))
assert f_out.shape == b_out.shape == (3, T, 2)
