//! Bindings of the convolution family: conv2d_forward, conv2d_backward_input,
//! conv2d_backward_weight, im2col, col2im. Images are channels-last (n, h, w, c), kernels
//! (kh, kw, c / groups, oc); paddings are explicit (top, bottom, left, right).

use nnrs_kernels::activation::Activation;
use nnrs_kernels::conv::{self as k, Conv2dParams};
use nnrs_kernels::fastmath::Real;
use pyo3::prelude::*;

use crate::common::{fresh_rw, new_array, out_slice, read, run_kernel, shape_of, slice_of, value_error, with_out, Elem};
use crate::dispatch;

type Pair = (usize, usize);
type Pads = (usize, usize, usize, usize);

/// The geometry of x (n, h, w, c) under a kernel (kh, kw) with `oc` outputs; a ValueError
/// naming the kernel and the shapes when it is not a convolution.
#[allow(clippy::too_many_arguments)]
fn geometry(
    kernel: &str,
    sx: &[usize],
    ksize: Pair,
    oc: usize,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
) -> PyResult<Conv2dParams> {
    if sx.len() != 4 {
        return Err(value_error(kernel, format!("x must be 4-D (batch, height, width, channels), got shape {sx:?}")));
    }
    let p = Conv2dParams {
        n: sx[0],
        h: sx[1],
        w: sx[2],
        c: sx[3],
        oc,
        kh: ksize.0,
        kw: ksize.1,
        stride_h: strides.0,
        stride_w: strides.1,
        pad_top: padding.0,
        pad_bottom: padding.1,
        pad_left: padding.2,
        pad_right: padding.3,
        dil_h: dilation.0,
        dil_w: dilation.1,
        groups,
    };
    p.check().map_err(|e| value_error(kernel, format!("{} (x shape {sx:?})", e.0.trim_start_matches("conv2d: "))))?;
    Ok(p)
}

/// Checks that w is (kh, kw, c / groups, oc) and returns the geometry it makes with x.
fn with_kernel(
    kernel: &str,
    sx: &[usize],
    sw: &[usize],
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
) -> PyResult<Conv2dParams> {
    if sw.len() != 4 {
        return Err(value_error(kernel, format!("w must be 4-D (kh, kw, in_channels / groups, out_channels), got shape {sw:?}")));
    }
    let p = geometry(kernel, sx, (sw[0], sw[1]), sw[3], strides, padding, dilation, groups)?;
    if sw[2] * groups != p.c {
        return Err(value_error(
            kernel,
            format!("w {sw:?} expects {} input channels ({} per group x {groups} groups), x {sx:?} has {}", sw[2] * groups, sw[2], p.c),
        ));
    }
    Ok(p)
}

fn out_shape(p: &Conv2dParams) -> [usize; 4] {
    let (oh, ow) = p.out_hw();
    [p.n, oh, ow, p.oc]
}

#[allow(clippy::too_many_arguments)]
fn forward_t<'py, T: Elem + Real>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    b: Option<&Bound<'py, PyAny>>,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
    act: Activation,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "conv2d_forward";
    let (rx, rw) = (read::<T>(K, "x", x)?, read::<T>(K, "w", w)?);
    let p = with_kernel(K, &shape_of(&rx), &shape_of(&rw), strides, padding, dilation, groups)?;
    let rb = b.map(|b| read::<T>(K, "b", b)).transpose()?;
    if let Some(rb) = &rb {
        if shape_of(rb) != [p.oc] {
            return Err(value_error(K, format!("b must have shape ({},), got {:?}", p.oc, shape_of(rb))));
        }
    }
    if act.is_rowwise() {
        return Err(value_error(K, format!("activation {} is not fused into the convolution", act.name())));
    }
    let y = new_array::<T>(py, &out_shape(&p));
    with_out(K, &y, |ys| {
        let (xs, ws) = (slice_of(&rx), slice_of(&rw));
        let bs = rb.as_ref().map(slice_of);
        run_kernel(py, K, || k::conv2d_forward(&xs, &ws, bs.as_deref(), ys, &p, act, alpha))
    })?;
    Ok(y.into_any())
}

/// y = activation(conv(x, w) + b): x (n, h, w, c), w (kh, kw, c / groups, oc), b (oc,) or
/// None, y (n, oh, ow, oc); padding (top, bottom, left, right).
#[pyfunction]
#[pyo3(signature = (x, w, b=None, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, activation="linear", alpha=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    b: Option<&Bound<'py, PyAny>>,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
    activation: &str,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let act = crate::activation::parse("conv2d_forward", activation)?;
    dispatch!("conv2d_forward", "x", x, forward_t(py, x, w, b, strides, padding, dilation, groups, act, alpha))
}

fn shape4(kernel: &str, arg: &str, s: &[usize]) -> PyResult<[usize; 4]> {
    <[usize; 4]>::try_from(s).map_err(|_| value_error(kernel, format!("{arg} must have 4 dimensions, got {s:?}")))
}

fn check_gy(kernel: &str, p: &Conv2dParams, sg: &[usize]) -> PyResult<()> {
    let want = out_shape(p);
    if sg != want {
        return Err(value_error(kernel, format!("gy must have shape {want:?}, got {sg:?}")));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn backward_input_t<'py, T: Elem>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    x_shape: Vec<usize>,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "conv2d_backward_input";
    let (rg, rw) = (read::<T>(K, "gy", gy)?, read::<T>(K, "w", w)?);
    let sx = shape4(K, "x_shape", &x_shape)?;
    let p = with_kernel(K, &sx, &shape_of(&rw), strides, padding, dilation, groups)?;
    check_gy(K, &p, &shape_of(&rg))?;
    let gx = new_array::<T>(py, &sx);
    with_out(K, &gx, |gxs| {
        let (gs, ws) = (slice_of(&rg), slice_of(&rw));
        run_kernel(py, K, || k::conv2d_backward_input(&gs, &ws, gxs, &p))
    })?;
    Ok(gx.into_any())
}

/// gx (x_shape) of the convolution of an x of shape x_shape with w, from gy.
#[pyfunction]
#[pyo3(signature = (gy, w, x_shape, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1))]
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_input<'py>(
    py: Python<'py>,
    gy: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    x_shape: Vec<usize>,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("conv2d_backward_input", "gy", gy, backward_input_t(py, gy, w, x_shape, strides, padding, dilation, groups))
}

type WeightGrads<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

#[allow(clippy::too_many_arguments)]
fn backward_weight_t<'py, T: Elem>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    kernel_size: Pair,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
    need_gb: bool,
) -> PyResult<WeightGrads<'py>> {
    const K: &str = "conv2d_backward_weight";
    let (rx, rg) = (read::<T>(K, "x", x)?, read::<T>(K, "gy", gy)?);
    let sg = shape_of(&rg);
    if sg.len() != 4 {
        return Err(value_error(K, format!("gy must be 4-D (batch, out_height, out_width, out_channels), got shape {sg:?}")));
    }
    let p = geometry(K, &shape_of(&rx), kernel_size, sg[3], strides, padding, dilation, groups)?;
    check_gy(K, &p, &sg)?;
    let gw = new_array::<T>(py, &[p.kh, p.kw, p.cg(), p.oc]);
    let gb = need_gb.then(|| new_array::<T>(py, &[p.oc]));
    {
        let mut wgw = fresh_rw(&gw)?;
        let mut wgb = gb.as_ref().map(fresh_rw).transpose()?;
        let gws = out_slice(&mut wgw)?;
        let gbs = wgb.as_mut().map(out_slice).transpose()?;
        let (xs, gs) = (slice_of(&rx), slice_of(&rg));
        run_kernel(py, K, || k::conv2d_backward_weight(&xs, &gs, gws, gbs, &p))?;
    }
    Ok((gw.into_any(), gb.map(|a| a.into_any())))
}

/// (gw (kh, kw, c / groups, oc), gb (oc,) or None) of the convolution, from x and gy.
#[pyfunction]
#[pyo3(signature = (x, gy, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1, need_gb=true))]
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward_weight<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    kernel_size: Pair,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
    groups: usize,
    need_gb: bool,
) -> PyResult<WeightGrads<'py>> {
    dispatch!("conv2d_backward_weight", "x", x, backward_weight_t(py, x, gy, kernel_size, strides, padding, dilation, groups, need_gb))
}

fn im2col_t<'py, T: Elem>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    kernel_size: Pair,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "im2col";
    let rx = read::<T>(K, "x", x)?;
    let sx = shape_of(&rx);
    let p = geometry(K, &sx, kernel_size, 1, strides, padding, dilation, 1)?;
    let (oh, ow) = p.out_hw();
    let col = new_array::<T>(py, &[p.n, oh, ow, p.patch_len()]);
    with_out(K, &col, |cs| {
        let xs = slice_of(&rx);
        run_kernel(py, K, || k::im2col(&xs, cs, &p))
    })?;
    Ok(col.into_any())
}

/// The patches of x (n, h, w, c): col (n, oh, ow, kh * kw * c), each patch in (kh, kw, c) order.
#[pyfunction]
#[pyo3(signature = (x, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)))]
pub fn im2col<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    kernel_size: Pair,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("im2col", "x", x, im2col_t(py, x, kernel_size, strides, padding, dilation))
}

#[allow(clippy::too_many_arguments)]
fn col2im_t<'py, T: Elem>(
    py: Python<'py>,
    col: &Bound<'py, PyAny>,
    x_shape: Vec<usize>,
    kernel_size: Pair,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "col2im";
    let rc = read::<T>(K, "col", col)?;
    let sx = shape4(K, "x_shape", &x_shape)?;
    let p = geometry(K, &sx, kernel_size, 1, strides, padding, dilation, 1)?;
    let (oh, ow) = p.out_hw();
    let want = [p.n, oh, ow, p.patch_len()];
    if shape_of(&rc) != want {
        return Err(value_error(K, format!("col must have shape {want:?}, got {:?}", shape_of(&rc))));
    }
    let gx = new_array::<T>(py, &sx);
    with_out(K, &gx, |gs| {
        let cs = slice_of(&rc);
        run_kernel(py, K, || k::col2im(&cs, gs, &p))
    })?;
    Ok(gx.into_any())
}

/// The adjoint of im2col: an array of x_shape (n, h, w, c) where every patch of col is
/// added back at the place it was taken from.
#[pyfunction]
#[pyo3(signature = (col, x_shape, kernel_size, strides=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1)))]
pub fn col2im<'py>(
    py: Python<'py>,
    col: &Bound<'py, PyAny>,
    x_shape: Vec<usize>,
    kernel_size: Pair,
    strides: Pair,
    padding: Pads,
    dilation: Pair,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("col2im", "col", col, col2im_t(py, col, x_shape, kernel_size, strides, padding, dilation))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(conv2d_forward, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d_backward_input, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d_backward_weight, m)?)?;
    m.add_function(wrap_pyfunction!(im2col, m)?)?;
    m.add_function(wrap_pyfunction!(col2im, m)?)?;
    Ok(())
}
