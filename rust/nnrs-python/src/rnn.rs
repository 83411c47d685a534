//! Bindings of the recurrent family: rnn_forward and rnn_backward (SimpleRNN, GRU, LSTM over
//! a whole sequence, one call per layer and direction; see nnrs_kernels::rnn for the
//! packed output and saved layouts).

use nnrs_kernels::fastmath::Real;
use nnrs_kernels::rnn::{self as k, RnnActivation, RnnCell, RnnGrads, RnnParams};
use numpy::{PyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::common::{borrow_ro, describe, fresh_rw, new_array, out_slice, read, run_kernel, shape_of, slice_of, value_error, Elem};
use crate::dispatch;

/// The mask as bytes (nonzero = real step): a bool or uint8 array of shape (n, t).
fn mask_bytes(kernel: &str, mask: Option<&Bound<'_, PyAny>>, n: usize, t: usize) -> PyResult<Option<Vec<u8>>> {
    let Some(m) = mask else { return Ok(None) };
    let (shape, bytes) = if let Ok(a) = m.cast::<PyArrayDyn<bool>>() {
        let r = borrow_ro(kernel, "mask", a)?;
        (r.shape().to_vec(), r.as_array().iter().map(|&b| u8::from(b)).collect::<Vec<u8>>())
    } else if let Ok(a) = m.cast::<PyArrayDyn<u8>>() {
        let r = borrow_ro(kernel, "mask", a)?;
        (r.shape().to_vec(), r.as_array().iter().copied().collect())
    } else {
        return Err(PyTypeError::new_err(format!("{kernel}: mask must be a bool or uint8 array, got {}", describe(m))));
    };
    if shape != [n, t] {
        return Err(value_error(kernel, format!("mask must have shape ({n}, {t}) (batch, time), got {shape:?}")));
    }
    Ok(Some(bytes))
}

/// Params from x (n, t, d) and recurrent (u, gates*u), with the shape errors worded for Python.
fn params(kernel: &str, kind: &str, activation: &str, sx: &[usize], sr: &[usize], reverse: bool, zero_masked: bool) -> PyResult<RnnParams> {
    let cell = RnnCell::from_name(kind).map_err(|e| value_error(kernel, e))?;
    let activation = RnnActivation::from_name(activation).map_err(|e| value_error(kernel, e))?;
    if sx.len() != 3 {
        return Err(value_error(kernel, format!("x must be 3-D (batch, time, features), got shape {sx:?}")));
    }
    let g = cell.gates();
    if sr.len() != 2 || sr[1] != g * sr[0] {
        return Err(value_error(kernel, format!("recurrent of a {kind} must have shape (units, {g} * units), got {sr:?}")));
    }
    Ok(RnnParams { cell, n: sx[0], t: sx[1], d: sx[2], u: sr[0], reverse, zero_masked, activation })
}

fn want_shape(kernel: &str, arg: &str, got: &[usize], want: &[usize]) -> PyResult<()> {
    if got != want {
        return Err(value_error(kernel, format!("{arg} must have shape {want:?}, got {got:?}")));
    }
    Ok(())
}

fn states_of<'a, 'py>(kernel: &str, kind: RnnCell, states: &'a Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let tup = states
        .cast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err(format!("{kernel}: states must be a tuple of arrays, got {}", describe(states))))?;
    let v: Vec<Bound<'py, PyAny>> = tup.iter().collect();
    if v.len() != kind.states() {
        return Err(value_error(kernel, format!("a {} takes {} state(s), got {}", kind.name(), kind.states(), v.len())));
    }
    Ok(v)
}

type Fwd<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

#[allow(clippy::too_many_arguments)]
fn forward_t<'py, T: Elem + Real>(
    py: Python<'py>,
    kind: &str,
    x: &Bound<'py, PyAny>,
    kernel: &Bound<'py, PyAny>,
    recurrent: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
    states: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    reverse: bool,
    activation: &str,
    zero_masked: bool,
    save: bool,
) -> PyResult<Fwd<'py>> {
    const K: &str = "rnn_forward";
    let (rx, rk, rr) = (read::<T>(K, "x", x)?, read::<T>(K, "kernel", kernel)?, read::<T>(K, "recurrent", recurrent)?);
    let p = params(K, kind, activation, &shape_of(&rx), &shape_of(&rr), reverse, zero_masked)?;
    let (n, d, u, g) = (p.n, p.d, p.u, p.cols());
    want_shape(K, "kernel", &shape_of(&rk), &[d, g])?;
    let rb = bias.map(|b| read::<T>(K, "bias", b)).transpose()?;
    if let Some(rb) = &rb {
        let want: Vec<usize> = if p.cell == RnnCell::Gru { vec![2, g] } else { vec![g] };
        want_shape(K, "bias", &shape_of(rb), &want)?;
    }
    let st = states_of(K, p.cell, states)?;
    let rh = read::<T>(K, "h0", &st[0])?;
    want_shape(K, "h0", &shape_of(&rh), &[n, u])?;
    let rc = st.get(1).map(|c| read::<T>(K, "c0", c)).transpose()?;
    if let Some(rc) = &rc {
        want_shape(K, "c0", &shape_of(rc), &[n, u])?;
    }
    let mb = mask_bytes(K, mask, n, p.t)?;
    let out = new_array::<T>(py, &p.packed_shape());
    let saved = save.then(|| new_array::<T>(py, &[p.saved_len()]));
    let work = new_array::<T>(py, &[p.forward_work_len()]);
    {
        let mut ww = fresh_rw(&work)?;
        let wks = out_slice(&mut ww)?;
        let mut wo = fresh_rw(&out)?;
        let mut ws = saved.as_ref().map(fresh_rw).transpose()?;
        let os = out_slice(&mut wo)?;
        let ss = ws.as_mut().map(out_slice).transpose()?;
        let (xs, ks, rs, hs) = (slice_of(&rx), slice_of(&rk), slice_of(&rr), slice_of(&rh));
        let bs = rb.as_ref().map(slice_of);
        let cs = rc.as_ref().map(slice_of);
        run_kernel(py, K, || k::rnn_forward(&xs, &ks, &rs, bs.as_deref(), &hs, cs.as_deref(), mb.as_deref(), os, ss, wks, &p))?;
    }
    Ok((out.into_any(), saved.map(|s| s.into_any())))
}

/// (packed, saved): packed (n, t + states, u) = the per-step outputs (processing order),
/// the final h, the final c (LSTM); saved (flat) what rnn_backward needs, None unless save.
#[pyfunction]
#[pyo3(signature = (kind, x, kernel, recurrent, bias, states, mask=None, reverse=false, activation="tanh", zero_masked=false, save=true))]
#[allow(clippy::too_many_arguments)]
pub fn rnn_forward<'py>(
    py: Python<'py>,
    kind: &str,
    x: &Bound<'py, PyAny>,
    kernel: &Bound<'py, PyAny>,
    recurrent: &Bound<'py, PyAny>,
    bias: Option<&Bound<'py, PyAny>>,
    states: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    reverse: bool,
    activation: &str,
    zero_masked: bool,
    save: bool,
) -> PyResult<Fwd<'py>> {
    dispatch!("rnn_forward", "x", x, forward_t(py, kind, x, kernel, recurrent, bias, states, mask, reverse, activation, zero_masked, save))
}

type Grads<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>, Bound<'py, PyTuple>);

#[allow(clippy::too_many_arguments)]
fn backward_t<'py, T: Elem + Real>(
    py: Python<'py>,
    kind: &str,
    g: &Bound<'py, PyAny>,
    saved: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    kernel: &Bound<'py, PyAny>,
    recurrent: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    reverse: bool,
    activation: &str,
    zero_masked: bool,
    has_bias: bool,
) -> PyResult<Grads<'py>> {
    const K: &str = "rnn_backward";
    let (rg, rs) = (read::<T>(K, "g", g)?, read::<T>(K, "saved", saved)?);
    let (rx, rk, rr) = (read::<T>(K, "x", x)?, read::<T>(K, "kernel", kernel)?, read::<T>(K, "recurrent", recurrent)?);
    let p = params(K, kind, activation, &shape_of(&rx), &shape_of(&rr), reverse, zero_masked)?;
    let (n, t, d, u, gc) = (p.n, p.t, p.d, p.u, p.cols());
    want_shape(K, "kernel", &shape_of(&rk), &[d, gc])?;
    want_shape(K, "g", &shape_of(&rg), &p.packed_shape())?;
    want_shape(K, "saved", &shape_of(&rs), &[p.saved_len()])?;
    let mb = mask_bytes(K, mask, n, t)?;
    let gx = new_array::<T>(py, &[n, t, d]);
    let gk = new_array::<T>(py, &[d, gc]);
    let gr = new_array::<T>(py, &[u, gc]);
    let gb = has_bias.then(|| new_array::<T>(py, &if p.cell == RnnCell::Gru { vec![2, gc] } else { vec![gc] }));
    let gh = new_array::<T>(py, &[n, u]);
    let gcell = (p.cell == RnnCell::Lstm).then(|| new_array::<T>(py, &[n, u]));
    let work = new_array::<T>(py, &[p.backward_work_len()]);
    {
        let mut ww = fresh_rw(&work)?;
        let wks = out_slice(&mut ww)?;
        let (mut wx, mut wk, mut wr, mut wh) = (fresh_rw(&gx)?, fresh_rw(&gk)?, fresh_rw(&gr)?, fresh_rw(&gh)?);
        let mut wb = gb.as_ref().map(fresh_rw).transpose()?;
        let mut wc = gcell.as_ref().map(fresh_rw).transpose()?;
        let grads = RnnGrads {
            gx: out_slice(&mut wx)?,
            gkernel: out_slice(&mut wk)?,
            grecurrent: out_slice(&mut wr)?,
            gbias: wb.as_mut().map(out_slice).transpose()?,
            gh0: out_slice(&mut wh)?,
            gc0: wc.as_mut().map(out_slice).transpose()?,
        };
        let (gs, ss, xs, ks, rs_) = (slice_of(&rg), slice_of(&rs), slice_of(&rx), slice_of(&rk), slice_of(&rr));
        run_kernel(py, K, || k::rnn_backward(&gs, &ss, &xs, &ks, &rs_, mb.as_deref(), &p, grads, wks))?;
    }
    let states = match gcell {
        Some(c) => PyTuple::new(py, [gh.into_any(), c.into_any()])?,
        None => PyTuple::new(py, [gh.into_any()])?,
    };
    Ok((gx.into_any(), gk.into_any(), gr.into_any(), gb.map(|b| b.into_any()), states))
}

/// (gx, gkernel, grecurrent, gbias or None, (gh0,) or (gh0, gc0)) of rnn_forward, from the
/// gradient g of the packed output and the forward's saved buffer.
#[pyfunction]
#[pyo3(signature = (kind, g, saved, x, kernel, recurrent, mask=None, reverse=false, activation="tanh", zero_masked=false, has_bias=true))]
#[allow(clippy::too_many_arguments)]
pub fn rnn_backward<'py>(
    py: Python<'py>,
    kind: &str,
    g: &Bound<'py, PyAny>,
    saved: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    kernel: &Bound<'py, PyAny>,
    recurrent: &Bound<'py, PyAny>,
    mask: Option<&Bound<'py, PyAny>>,
    reverse: bool,
    activation: &str,
    zero_masked: bool,
    has_bias: bool,
) -> PyResult<Grads<'py>> {
    dispatch!(
        "rnn_backward",
        "x",
        x,
        backward_t(py, kind, g, saved, x, kernel, recurrent, mask, reverse, activation, zero_masked, has_bias)
    )
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rnn_forward, m)?)?;
    m.add_function(wrap_pyfunction!(rnn_backward, m)?)?;
    Ok(())
}
