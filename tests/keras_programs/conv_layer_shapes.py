import keras
import numpy as np

L = keras.layers
x2 = np.zeros((2, 9, 7, 4), "float32")
x1 = np.zeros((2, 11, 4), "float32")
cases = [
    (L.Conv2D(5, 3), x2, (2, 7, 5, 5)),
    (L.Conv2D(5, 3, strides=2, padding="same"), x2, (2, 5, 4, 5)),
    (L.Conv2D(5, (3, 2), dilation_rate=2), x2, (2, 5, 5, 5)),
    (L.Conv2D(6, 3, groups=2, padding="same"), x2, (2, 9, 7, 6)),
    (L.Conv1D(3, 4), x1, (2, 8, 3)),
    (L.Conv1D(3, 4, strides=3, padding="same"), x1, (2, 4, 3)),
    (L.DepthwiseConv2D(3, depth_multiplier=2), x2, (2, 7, 5, 8)),
    (L.SeparableConv2D(3, 3, padding="same"), x2, (2, 9, 7, 3)),
    (L.Conv2DTranspose(3, 3, strides=2), x2, (2, 19, 15, 3)),
    (L.Conv2DTranspose(3, 3, strides=2, padding="same"), x2, (2, 18, 14, 3)),
    (L.MaxPooling2D(2), x2, (2, 4, 3, 4)),
    (L.MaxPooling2D(3, strides=2, padding="same"), x2, (2, 5, 4, 4)),
    (L.AveragePooling1D(2), x1, (2, 5, 4)),
    (L.GlobalMaxPooling2D(keepdims=True), x2, (2, 1, 1, 4)),
    (L.GlobalAveragePooling1D(), x1, (2, 4)),
    (L.UpSampling2D((2, 3)), x2, (2, 18, 21, 4)),
    (L.ZeroPadding2D(((1, 2), (0, 3))), x2, (2, 12, 10, 4)),
    (L.Cropping2D(((1, 2), (3, 0))), x2, (2, 6, 4, 4)),
]
for layer, x, want in cases:
    got = tuple(layer(x).shape)
    assert got == want, (layer.name, got, want)
    assert tuple(layer.compute_output_shape(x.shape)) == want, layer.name
assert L.DepthwiseConv2D(3, depth_multiplier=2).get_config()["depth_multiplier"] == 2
sep = L.SeparableConv2D(3, 3)
sep(x2)
assert sep.depthwise_kernel.shape == (3, 3, 4, 1) and sep.pointwise_kernel.shape == (1, 1, 4, 3)
tr = L.Conv2DTranspose(3, 3)
tr(x2)
assert tr.kernel.shape == (3, 3, 3, 4)
