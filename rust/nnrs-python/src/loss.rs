//! Bindings of the loss family: loss_forward (a Python float), loss_backward (gpred).

use std::borrow::Cow;

use nnrs_kernels::loss::{self as k, Loss, LossParams, Target};
use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::common::{fresh_rw, new_array, out_slice, read, run_kernel, scalar_array, shape_of, slice_of, value_error, Elem};
use crate::dispatch;
use crate::elementwise::Num;

fn parse(kernel: &str, name: &str) -> PyResult<Loss> {
    Loss::from_name(name).map_err(|e| value_error(kernel, e))
}

/// The target of a loss call, read and checked against pred's shape.
enum ReadTarget<'py, T: Elem> {
    Values(PyReadonlyArrayDyn<'py, T>),
    Classes(PyReadonlyArrayDyn<'py, i64>),
}

/// Everything a loss kernel needs, checked: pred, target, weight and (n, m).
struct Args<'py, T: Elem> {
    pred: PyReadonlyArrayDyn<'py, T>,
    shape: Vec<usize>,
    target: ReadTarget<'py, T>,
    weight: Option<PyReadonlyArrayDyn<'py, T>>,
    params: LossParams,
}

fn read_args<'py, T: Elem>(
    kernel: &str,
    loss: Loss,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    delta: f64,
) -> PyResult<Args<'py, T>> {
    let rp = read::<T>(kernel, "pred", pred)?;
    let sp = shape_of(&rp);
    if sp.is_empty() {
        return Err(value_error(kernel, "pred must have a batch axis, got a 0-d array"));
    }
    let n = sp[0];
    let m: usize = sp[1..].iter().product();
    let target = if loss == Loss::SoftmaxCrossentropy {
        if sp.len() != 2 {
            return Err(value_error(kernel, format!("softmax_crossentropy expects pred of shape (n, k), got {sp:?}")));
        }
        if let Ok(t) = target.cast::<PyArrayDyn<i64>>() {
            let rt = t.try_readonly().map_err(|e| value_error(kernel, format!("target: {e}")))?;
            if shape_of(&rt) != [n] {
                return Err(value_error(
                    kernel,
                    format!("int64 class-index target must have shape [{n}], got {:?} (pred {sp:?})", shape_of(&rt)),
                ));
            }
            ReadTarget::Classes(rt)
        } else if let Ok(t) = target.cast::<PyArrayDyn<T>>() {
            let rt = t.try_readonly().map_err(|e| value_error(kernel, format!("target: {e}")))?;
            if shape_of(&rt) != sp {
                return Err(value_error(kernel, format!("target shape {:?} differs from pred shape {sp:?}", shape_of(&rt))));
            }
            ReadTarget::Values(rt)
        } else {
            let got = target.getattr("dtype").map(|d| d.to_string()).unwrap_or_else(|_| "a non-array".into());
            return Err(PyTypeError::new_err(format!(
                "{kernel}: softmax_crossentropy target must be int64 class indices (n,) or probabilities (n, k) of dtype {}, got {got}",
                std::any::type_name::<T>()
            )));
        }
    } else {
        let rt = read::<T>(kernel, "target", target)?;
        if shape_of(&rt) != sp {
            return Err(value_error(kernel, format!("target shape {:?} differs from pred shape {sp:?}", shape_of(&rt))));
        }
        ReadTarget::Values(rt)
    };
    let weight = match weight {
        None => None,
        Some(w) => {
            let rw = read::<T>(kernel, "weight", w)?;
            if shape_of(&rw) != [n] {
                return Err(value_error(
                    kernel,
                    format!("weight shape {:?}, expected [{n}] (one per sample of pred {sp:?})", shape_of(&rw)),
                ));
            }
            Some(rw)
        }
    };
    Ok(Args { pred: rp, shape: sp, target, weight, params: LossParams { loss, n, m, delta } })
}

/// The target as a kernel argument (borrowed when C-contiguous).
enum SliceTarget<'a, T: Elem> {
    Values(Cow<'a, [T]>),
    Classes(Cow<'a, [i64]>),
}

impl<'a, T: Elem> SliceTarget<'a, T> {
    fn of(t: &'a ReadTarget<'_, T>) -> Self {
        match t {
            ReadTarget::Values(v) => SliceTarget::Values(slice_of(v)),
            ReadTarget::Classes(c) => SliceTarget::Classes(slice_of(c)),
        }
    }
    fn target(&self) -> Target<'_, T> {
        match self {
            SliceTarget::Values(v) => Target::Values(v),
            SliceTarget::Classes(c) => Target::Classes(c),
        }
    }
}

fn forward_t<'py, T: Num>(
    py: Python<'py>,
    loss: Loss,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    delta: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "loss_forward";
    let a = read_args::<T>(K, loss, pred, target, weight, delta)?;
    let ps = slice_of(&a.pred);
    let ts = SliceTarget::of(&a.target);
    let ws = a.weight.as_ref().map(slice_of);
    let p = a.params;
    let v = run_kernel(py, K, || k::loss_forward(&ps, ts.target(), ws.as_deref(), p))?;
    Ok(scalar_array(py, T::of_f64(v)))
}

/// Mean over the batch of weight[i] * loss_i, as a 0-d array of pred's dtype.
#[pyfunction]
#[pyo3(signature = (name, pred, target, weight=None, delta=1.0))]
pub fn loss_forward<'py>(
    py: Python<'py>,
    name: &str,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    delta: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let loss = parse("loss_forward", name)?;
    dispatch!("loss_forward", "pred", pred, forward_t(py, loss, pred, target, weight, delta))
}

#[allow(clippy::too_many_arguments)]
fn backward_t<'py, T: Num>(
    py: Python<'py>,
    loss: Loss,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    grad: f64,
    delta: f64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "loss_backward";
    let a = read_args::<T>(K, loss, pred, target, weight, delta)?;
    let g = new_array::<T>(py, &a.shape);
    {
        let mut wg = fresh_rw(&g)?;
        let gs = out_slice(&mut wg)?;
        let ps = slice_of(&a.pred);
        let ts = SliceTarget::of(&a.target);
        let ws = a.weight.as_ref().map(slice_of);
        let p = a.params;
        run_kernel(py, K, || k::loss_backward(&ps, ts.target(), ws.as_deref(), grad, p, gs))?;
    }
    Ok(g.into_any())
}

/// Gradient of grad * loss_forward(...) wrt pred.
#[pyfunction]
#[pyo3(signature = (name, pred, target, weight=None, grad=1.0, delta=1.0))]
#[allow(clippy::too_many_arguments)]
pub fn loss_backward<'py>(
    py: Python<'py>,
    name: &str,
    pred: &Bound<'py, PyAny>,
    target: &Bound<'py, PyAny>,
    weight: Option<&Bound<'py, PyAny>>,
    grad: f64,
    delta: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let loss = parse("loss_backward", name)?;
    dispatch!("loss_backward", "pred", pred, backward_t(py, loss, pred, target, weight, grad, delta))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(loss_forward, m)?)?;
    m.add_function(wrap_pyfunction!(loss_backward, m)?)?;
    Ok(())
}
