import keras
import numpy as np

seen = []
sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
rec = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate)))
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
model.fit(np.ones((4, 1), "float32"), np.ones((4, 1), "float32"), epochs=3, verbose=0, callbacks=[sched, rec])
np.testing.assert_allclose(seen, [0.1, 0.05, 0.1 / 3], rtol=1e-6)
