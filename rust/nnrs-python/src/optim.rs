//! Bindings of the optimizer updates (in place): sgd_update, adam_update,
//! rmsprop_update, adagrad_update. param and the state arrays must be C-contiguous
//! writeable arrays of param's shape and dtype; grad may be any layout.

use nnrs_kernels::optim::{self as k, AdagradParams, AdamParams, RmspropParams, SgdParams};
use nnrs_kernels::KernelError;
use numpy::{PyArrayDyn, PyReadwriteArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::common::{borrow_ro, borrow_rw, out_slice, overlap, run_kernel, slice_of, value_error, Elem};
use crate::dispatch;
use crate::elementwise::Num;

fn typed<'a, 'py, T: Elem>(kernel: &str, arg: &str, a: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyArrayDyn<T>>> {
    a.cast::<PyArrayDyn<T>>().map_err(|_| {
        let got = a.getattr("dtype").map(|d| d.to_string()).unwrap_or_else(|_| "a non-array".into());
        PyTypeError::new_err(format!("{kernel}: {arg} must have dtype {} like param, got {got}", std::any::type_name::<T>()))
    })
}

/// param, borrowed for writing: C-contiguous and writeable.
fn param_rw<'py, T: Elem>(kernel: &str, a: &Bound<'py, PyAny>) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    let arr = typed::<T>(kernel, "param", a)?;
    if !arr.is_c_contiguous() {
        return Err(value_error(
            kernel,
            format!("param must be C-contiguous (it is updated in place), got a view of shape {:?}", arr.shape()),
        ));
    }
    borrow_rw(kernel, "param", arr)
}

/// A state array, borrowed for writing: param's shape and dtype, C-contiguous, writeable,
/// and not param or grad themselves.
fn state_rw<'py, T: Elem>(kernel: &str, arg: &str, a: &Bound<'py, PyAny>, shape: &[usize]) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    let arr = typed::<T>(kernel, arg, a)?;
    if arr.shape() != shape {
        return Err(value_error(kernel, format!("{arg} shape {:?} differs from param shape {shape:?}", arr.shape())));
    }
    if !arr.is_c_contiguous() {
        return Err(value_error(kernel, format!("{arg} must be C-contiguous (it is updated in place)")));
    }
    borrow_rw(kernel, arg, arr)
}

/// grad, read (copied to C order when it is not C-contiguous): param's shape and dtype.
fn grad_ro<'py, T: Elem>(kernel: &str, a: &Bound<'py, PyAny>, shape: &[usize]) -> PyResult<numpy::PyReadonlyArrayDyn<'py, T>> {
    let arr = typed::<T>(kernel, "grad", a)?;
    if arr.shape() != shape {
        return Err(value_error(kernel, format!("grad shape {:?} differs from param shape {shape:?}", arr.shape())));
    }
    borrow_ro(kernel, "grad", arr)
}

/// One state array of an update: its argument name, its value, and whether the update
/// uses it (an optional state is used when momentum != 0).
type State<'a, 'py> = (&'a str, Option<&'a Bound<'py, PyAny>>, bool);

/// Borrows param, the used state arrays and grad (checked in that order) and runs
/// `f(param, grad, states)` on their elements with the GIL released.
fn update_t<'py, T: Num, const N: usize>(
    py: Python<'py>,
    kernel: &str,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    states: [State<'_, 'py>; N],
    f: impl FnOnce(&mut [T], &[T], [Option<&mut [T]>; N]) -> Result<(), KernelError> + Send,
) -> PyResult<()> {
    // Aliased arguments are rejected before any borrow, so that a borrow that is busy
    // can only be another thread's and is worth waiting for.
    let mut named: Vec<(&str, &Bound<'py, PyAny>)> = vec![("param", param)];
    named.extend(states.iter().filter(|s| s.2).filter_map(|s| s.1.map(|a| (s.0, a))));
    named.push(("grad", grad));
    let arrays: Vec<_> = named.iter().filter_map(|(n, a)| a.cast::<PyUntypedArray>().ok().map(|u| (*n, u))).collect();
    for (i, (na, a)) in arrays.iter().enumerate() {
        for (nb, b) in &arrays[i + 1..] {
            if overlap(a, b) {
                return Err(value_error(kernel, format!("{na} and {nb} share memory; each must be a distinct array")));
            }
        }
    }
    let mut wp = param_rw::<T>(kernel, param)?;
    let shape = wp.shape().to_vec();
    let mut ws = Vec::with_capacity(N);
    for (arg, a, needed) in states {
        ws.push(match (needed, a) {
            (false, _) => None,
            (true, None) => return Err(value_error(kernel, format!("{arg} is None but momentum != 0 needs it"))),
            (true, Some(a)) => Some(state_rw::<T>(kernel, arg, a, &shape)?),
        });
    }
    let rg = grad_ro::<T>(kernel, grad, &shape)?;
    let gs = slice_of(&rg);
    let ps = out_slice(&mut wp)?;
    let mut slices = Vec::with_capacity(N);
    for w in ws.iter_mut() {
        slices.push(w.as_mut().map(out_slice).transpose()?);
    }
    let mut ss = slices.into_iter();
    let ss: [Option<&mut [T]>; N] = std::array::from_fn(|_| ss.next().flatten());
    run_kernel(py, kernel, || f(ps, &gs, ss))
}

fn sgd_t<'py, T: Num>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    velocity: Option<&Bound<'py, PyAny>>,
    p: SgdParams,
) -> PyResult<()> {
    update_t::<T, 1>(py, "sgd_update", param, grad, [("velocity", velocity, p.momentum != 0.0)], |ps, gs, [vs]| {
        k::sgd_update(ps, gs, vs, p)
    })
}

/// Keras SGD update of param (and velocity when momentum != 0), in place.
#[pyfunction]
#[pyo3(signature = (param, grad, velocity, lr, momentum=0.0, nesterov=false, weight_decay=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn sgd_update<'py>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    velocity: Option<&Bound<'py, PyAny>>,
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
) -> PyResult<()> {
    let p = SgdParams { lr, momentum, nesterov, weight_decay };
    dispatch!("sgd_update", "param", param, sgd_t(py, param, grad, velocity, p))
}

fn adam_t<'py, T: Num>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    m: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    p: AdamParams,
) -> PyResult<()> {
    update_t::<T, 2>(py, "adam_update", param, grad, [("m", Some(m), true), ("v", Some(v), true)], |ps, gs, [ms, vs]| {
        k::adam_update(ps, gs, ms.expect("m is used"), vs.expect("v is used"), p)
    })
}

/// Keras Adam/AdamW update of param, m and v, in place (step counts from 1).
#[pyfunction]
#[pyo3(signature = (param, grad, m, v, lr, beta1, beta2, eps, step, weight_decay=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn adam_update<'py>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    m: &Bound<'py, PyAny>,
    v: &Bound<'py, PyAny>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: i64,
    weight_decay: f64,
) -> PyResult<()> {
    if step < 1 {
        return Err(value_error("adam_update", format!("step counts from 1, got {step}")));
    }
    let p = AdamParams { lr, beta1, beta2, eps, step: step as u64, weight_decay };
    dispatch!("adam_update", "param", param, adam_t(py, param, grad, m, v, p))
}

fn rmsprop_t<'py, T: Num>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    ms: &Bound<'py, PyAny>,
    mom: Option<&Bound<'py, PyAny>>,
    p: RmspropParams,
) -> PyResult<()> {
    update_t::<T, 2>(py, "rmsprop_update", param, grad, [("ms", Some(ms), true), ("mom", mom, p.momentum != 0.0)], |ps, gs, [ss, os]| {
        k::rmsprop_update(ps, gs, ss.expect("ms is used"), os, p)
    })
}

/// Keras RMSprop update of param, ms (and mom when momentum != 0), in place.
#[pyfunction]
#[pyo3(signature = (param, grad, ms, mom, lr, rho, momentum, eps, weight_decay=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn rmsprop_update<'py>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    ms: &Bound<'py, PyAny>,
    mom: Option<&Bound<'py, PyAny>>,
    lr: f64,
    rho: f64,
    momentum: f64,
    eps: f64,
    weight_decay: f64,
) -> PyResult<()> {
    let p = RmspropParams { lr, rho, momentum, eps, weight_decay };
    dispatch!("rmsprop_update", "param", param, rmsprop_t(py, param, grad, ms, mom, p))
}

fn adagrad_t<'py, T: Num>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    acc: &Bound<'py, PyAny>,
    p: AdagradParams,
) -> PyResult<()> {
    update_t::<T, 1>(py, "adagrad_update", param, grad, [("acc", Some(acc), true)], |ps, gs, [acs]| {
        k::adagrad_update(ps, gs, acs.expect("acc is used"), p)
    })
}

/// Keras Adagrad update of param and acc, in place.
#[pyfunction]
#[pyo3(signature = (param, grad, acc, lr, eps, weight_decay=0.0))]
pub fn adagrad_update<'py>(
    py: Python<'py>,
    param: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    acc: &Bound<'py, PyAny>,
    lr: f64,
    eps: f64,
    weight_decay: f64,
) -> PyResult<()> {
    let p = AdagradParams { lr, eps, weight_decay };
    dispatch!("adagrad_update", "param", param, adagrad_t(py, param, grad, acc, p))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sgd_update, m)?)?;
    m.add_function(wrap_pyfunction!(adam_update, m)?)?;
    m.add_function(wrap_pyfunction!(rmsprop_update, m)?)?;
    m.add_function(wrap_pyfunction!(adagrad_update, m)?)?;
    Ok(())
}
