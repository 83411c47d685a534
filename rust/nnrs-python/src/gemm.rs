//! Bindings of the matrix-product family: matmul, linear_forward, linear_backward.

use nnrs_kernels::activation::Activation;
use nnrs_kernels::fastmath::Real;
use nnrs_kernels::gemm::{self as k, BatchParams, MatmulParams};
use pyo3::prelude::*;

use crate::common::{fresh_rw, new_array, out_slice, read, run_kernel, shape_of, slice_of, value_error, with_out, zeros, Elem};
use crate::dispatch;

/// A shape as Python writes a tuple: (2, 3), (4,), ().
fn tuple(s: &[usize]) -> String {
    match s {
        [x] => format!("({x},)"),
        _ => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// Checks the shapes of `op(a) @ op(b)`: the batch layout, (m, n, k) and the output shape.
fn check_matmul(sa: &[usize], sb: &[usize], trans_a: bool, trans_b: bool) -> PyResult<(BatchParams, MatmulParams, Vec<usize>)> {
    const K: &str = "matmul";
    if sa.len() < 2 || sb.len() < 2 {
        return Err(value_error(
            K,
            format!("expected a (..., m, k) and b (..., k, n), each at least 2-D, got shapes a {} and b {}", tuple(sa), tuple(sb)),
        ));
    }
    let (ba, ma) = sa.split_at(sa.len() - 2);
    let (bb, mb) = sb.split_at(sb.len() - 2);
    let (m, ka) = if trans_a { (ma[1], ma[0]) } else { (ma[0], ma[1]) };
    let (kb, n) = if trans_b { (mb[1], mb[0]) } else { (mb[0], mb[1]) };
    if ka != kb {
        return Err(value_error(
            K,
            format!(
                "inner dimensions differ: a {} (trans_a={}) and b {} (trans_b={}) give k={ka} vs k={kb}",
                tuple(sa),
                py_bool(trans_a),
                tuple(sb),
                py_bool(trans_b)
            ),
        ));
    }
    let batch = BatchParams::broadcast(ba, bb).map_err(|_| {
        value_error(K, format!("batch dimensions {} of a {} and {} of b {} do not broadcast", tuple(ba), tuple(sa), tuple(bb), tuple(sb)))
    })?;
    let mut out = batch.out.clone();
    out.extend([m, n]);
    Ok((batch, MatmulParams { m, n, k: ka, trans_a, trans_b }, out))
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn matmul_t<'py, T: Elem>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    trans_a: bool,
    trans_b: bool,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "matmul";
    let (ra, rb) = (read::<T>(K, "a", a)?, read::<T>(K, "b", b)?);
    let (batch, p, shape) = check_matmul(&shape_of(&ra), &shape_of(&rb), trans_a, trans_b)?;
    let out = new_array::<T>(py, &shape);
    with_out(K, &out, |c| {
        let (xa, xb) = (slice_of(&ra), slice_of(&rb));
        run_kernel(py, K, || k::matmul(&xa, &xb, c, p, &batch))
    })?;
    Ok(out.into_any())
}

/// c = op(a) @ op(b) for float32/float64 arrays a (..., m, k), b (..., k, n) (op swaps the
/// last two dimensions when its flag is set); the batch dimensions broadcast as in numpy.
#[pyfunction]
#[pyo3(signature = (a, b, trans_a=false, trans_b=false))]
pub fn matmul<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    trans_a: bool,
    trans_b: bool,
) -> PyResult<Bound<'py, PyAny>> {
    dispatch!("matmul", "a", a, matmul_t(py, a, b, trans_a, trans_b))
}

fn check_linear(kernel: &str, sx: &[usize], sw: &[usize]) -> PyResult<(usize, usize, usize)> {
    if sx.len() != 2 || sw.len() != 2 {
        return Err(value_error(kernel, format!("expected x (batch, in) and w (in, out), got shapes {sx:?} and {sw:?}")));
    }
    if sx[1] != sw[0] {
        return Err(value_error(kernel, format!("x has {} features but w expects {} (x {sx:?}, w {sw:?})", sx[1], sw[0])));
    }
    Ok((sx[0], sx[1], sw[1]))
}

fn linear_forward_t<'py, T: Elem + Real>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    b: Option<&Bound<'py, PyAny>>,
    act: Activation,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "linear_forward";
    let (rx, rw) = (read::<T>(K, "x", x)?, read::<T>(K, "w", w)?);
    let (n, inp, out) = check_linear(K, &shape_of(&rx), &shape_of(&rw))?;
    let rb = b.map(|b| read::<T>(K, "b", b)).transpose()?;
    if let Some(rb) = &rb {
        if shape_of(rb) != [out] {
            return Err(value_error(K, format!("bias shape {:?}, expected ({out},)", shape_of(rb))));
        }
    }
    let y = new_array::<T>(py, &[n, out]);
    with_out(K, &y, |ys| {
        let (xs, ws) = (slice_of(&rx), slice_of(&rw));
        let bs = rb.as_ref().map(slice_of);
        run_kernel(py, K, || k::dense_forward(&xs, &ws, bs.as_deref(), ys, n, inp, out, act, alpha))
    })?;
    Ok(y.into_any())
}

/// y = activation(x @ w + b) (b optional), x (batch, in), w (in, out).
#[pyfunction]
#[pyo3(signature = (x, w, b=None, activation="linear", alpha=0.0))]
pub fn linear_forward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    b: Option<&Bound<'py, PyAny>>,
    activation: &str,
    alpha: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let act = crate::activation::parse("linear_forward", activation)?;
    dispatch!("linear_forward", "x", x, linear_forward_t(py, x, w, b, act, alpha))
}

type Grads<'py> = (Option<Bound<'py, PyAny>>, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

fn linear_backward_t<'py, T: Elem>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    need_gx: bool,
    need_gb: bool,
) -> PyResult<Grads<'py>> {
    const K: &str = "linear_backward";
    let (rx, rw, rg) = (read::<T>(K, "x", x)?, read::<T>(K, "w", w)?, read::<T>(K, "gy", gy)?);
    let (n, inp, out) = check_linear(K, &shape_of(&rx), &shape_of(&rw))?;
    if shape_of(&rg) != [n, out] {
        return Err(value_error(K, format!("gy shape {:?}, expected ({n}, {out})", shape_of(&rg))));
    }
    let gx = need_gx.then(|| new_array::<T>(py, &[n, inp]));
    let gw = new_array::<T>(py, &[inp, out]);
    let gb = need_gb.then(|| zeros::<T>(py, &[out]));
    {
        let mut wgx = gx.as_ref().map(fresh_rw).transpose()?;
        let mut wgw = fresh_rw(&gw)?;
        let mut wgb = gb.as_ref().map(fresh_rw).transpose()?;
        let gxs = wgx.as_mut().map(out_slice).transpose()?;
        let gws = out_slice(&mut wgw)?;
        let gbs = wgb.as_mut().map(out_slice).transpose()?;
        let (xs, ws, gs) = (slice_of(&rx), slice_of(&rw), slice_of(&rg));
        run_kernel(py, K, || k::linear_backward(&xs, &ws, &gs, gxs, gws, gbs, n, inp, out))?;
    }
    Ok((gx.map(|a| a.into_any()), gw.into_any(), gb.map(|a| a.into_any())))
}

/// Gradients (gx or None, gw, gb or None) of y = x @ w + b.
#[pyfunction]
#[pyo3(signature = (x, w, gy, need_gx=true, need_gb=true))]
pub fn linear_backward<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    w: &Bound<'py, PyAny>,
    gy: &Bound<'py, PyAny>,
    need_gx: bool,
    need_gb: bool,
) -> PyResult<Grads<'py>> {
    dispatch!("linear_backward", "x", x, linear_backward_t(py, x, w, gy, need_gx, need_gb))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(matmul, m)?)?;
    m.add_function(wrap_pyfunction!(linear_forward, m)?)?;
    m.add_function(wrap_pyfunction!(linear_backward, m)?)?;
    Ok(())
}
