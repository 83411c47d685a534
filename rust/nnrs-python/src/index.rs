//! Bindings of the index & logic family: compare, where, cast, take, scatter_add, one_hot.
//! Every borrow is the fallible one; a bad dtype is a TypeError, a bad shape, axis or
//! index a ValueError naming the kernel.

use nnrs_kernels::elementwise::fmt_shape;
use nnrs_kernels::index::{self as k, Bool, Broadcast, CastFrom, CompareOp, Index, TakeParams};
use nnrs_kernels::KernelError;
use numpy::{dtype, Element, PyArrayDescr, PyArrayDescrMethods, PyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::common::{describe, dtype_of, new_array, run_named, slice_of, try_read, with_out, zeros, DType, Elem};
use crate::elementwise::same_dtype;

const FLOATS: &str = "float32 or float64";

fn kernel_error(e: KernelError) -> PyErr {
    PyValueError::new_err(e.0)
}

/// Element types of index arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdxType {
    I32,
    I64,
}

fn index_dtype(kernel: &str, arg: &str, a: &Bound<'_, PyAny>) -> PyResult<IdxType> {
    if a.cast::<PyArrayDyn<i32>>().is_ok() {
        Ok(IdxType::I32)
    } else if a.cast::<PyArrayDyn<i64>>().is_ok() {
        Ok(IdxType::I64)
    } else {
        Err(PyTypeError::new_err(format!("{kernel}: {arg} must be an int32 or int64 numpy array, got {}", describe(a))))
    }
}

/// `axis` of an array of `shape` (negative counts from the end).
fn norm_axis(kernel: &str, axis: i64, shape: &[usize]) -> PyResult<usize> {
    let nd = shape.len();
    let n = nd as i64;
    if axis < -n || axis >= n {
        return Err(PyValueError::new_err(format!("{kernel}: axis {axis} is out of range for shape {} (ndim {nd})", fmt_shape(shape))));
    }
    Ok((if axis < 0 { axis + n } else { axis }) as usize)
}

/// The bytes of a numpy bool array (a uint8 view of it: no copy, no bool validity to trust).
fn bool_bytes<'py>(py: Python<'py>, kernel: &str, arg: &str, a: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if a.cast::<PyArrayDyn<bool>>().is_err() {
        return Err(PyTypeError::new_err(format!("{kernel}: {arg} must be a bool numpy array, got {}", describe(a))));
    }
    a.call_method1("view", (dtype::<u8>(py),))
}

// ---- compare ---------------------------------------------------------------------------------

fn compare_t<'py, T: Elem>(py: Python<'py>, op: CompareOp, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "compare";
    let (ra, rb) = (try_read::<T>(K, "a", FLOATS, a)?, try_read::<T>(K, "b", FLOATS, b)?);
    let p = Broadcast::<2>::new(K, [ra.shape(), rb.shape()]).map_err(kernel_error)?;
    let y = zeros::<bool>(py, &p.out_shape);
    with_out(K, &y, |ys| {
        let (xa, xb) = (slice_of(&ra), slice_of(&rb));
        run_named(py, K, || k::compare(op, &xa, &xb, ys, &p))
    })?;
    Ok(y.into_any())
}

/// `op(a, b)` as a bool array with numpy broadcasting; op one of equal, not_equal, less,
/// less_equal, greater, greater_equal; a and b float arrays of one dtype.
#[pyfunction]
pub fn compare<'py>(py: Python<'py>, op: &str, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let op = CompareOp::parse(op).map_err(kernel_error)?;
    match same_dtype("compare", ("a", a), ("b", b))? {
        DType::F32 => compare_t::<f32>(py, op, a, b),
        DType::F64 => compare_t::<f64>(py, op, a, b),
    }
}

// ---- where -------------------------------------------------------------------------------------

fn where_t<'py, T: Elem>(
    py: Python<'py>,
    cond: &Bound<'py, PyAny>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "where";
    let rc = try_read::<u8>(K, "cond", "bool", cond)?;
    let (ra, rb) = (try_read::<T>(K, "a", FLOATS, a)?, try_read::<T>(K, "b", FLOATS, b)?);
    let p = Broadcast::<3>::new(K, [rc.shape(), ra.shape(), rb.shape()]).map_err(kernel_error)?;
    let y = new_array::<T>(py, &p.out_shape);
    with_out(K, &y, |ys| {
        let (c, xa, xb) = (slice_of(&rc), slice_of(&ra), slice_of(&rb));
        run_named(py, K, || k::where_(&c, &xa, &xb, ys, &p))
    })?;
    Ok(y.into_any())
}

/// `cond ? a : b` elementwise with numpy broadcasting of the three; cond a bool array,
/// a and b float arrays of one dtype.
#[pyfunction]
#[pyo3(name = "where")]
pub fn where_<'py>(py: Python<'py>, cond: &Bound<'py, PyAny>, a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let bytes = bool_bytes(py, "where", "cond", cond)?;
    match same_dtype("where", ("a", a), ("b", b))? {
        DType::F32 => where_t::<f32>(py, &bytes, a, b),
        DType::F64 => where_t::<f64>(py, &bytes, a, b),
    }
}

// ---- cast ----------------------------------------------------------------------------------------

/// The dtypes of `cast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CastType {
    F32,
    F64,
    I32,
    I64,
    U8,
    Bool,
}

const CAST_NAMES: &str = "float32, float64, int32, int64, uint8, bool";

impl CastType {
    fn of_descr(py: Python<'_>, d: &Bound<'_, PyArrayDescr>) -> Option<Self> {
        [
            (dtype::<f32>(py), Self::F32),
            (dtype::<f64>(py), Self::F64),
            (dtype::<i32>(py), Self::I32),
            (dtype::<i64>(py), Self::I64),
            (dtype::<u8>(py), Self::U8),
            (dtype::<bool>(py), Self::Bool),
        ]
        .into_iter()
        .find(|(t, _)| d.is_equiv_to(t))
        .map(|(_, c)| c)
    }

    /// The target dtype given as a numpy dtype, a type or a name.
    fn of_arg(py: Python<'_>, kernel: &str, allowed: &[Self], names: &str, dt: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bad = || {
            let r = dt.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into());
            PyTypeError::new_err(format!("{kernel}: dtype must be one of {names}, got {r}"))
        };
        if dt.is_none() {
            return Err(bad());
        }
        let d = PyArrayDescr::new(py, dt).map_err(|_| bad())?;
        Self::of_descr(py, &d).filter(|c| allowed.contains(c)).ok_or_else(bad)
    }
}

/// A source element of `cast` and how it is read from numpy (bools as their bytes).
trait Src: Copy + Sync + 'static {
    type Raw: Element + Clone + Sync;
    fn view(raw: &[Self::Raw]) -> &[Self];
}

macro_rules! plain_src {
    ($($t:ty),*) => {$(
        impl Src for $t {
            type Raw = $t;
            fn view(raw: &[$t]) -> &[$t] {
                raw
            }
        }
    )*};
}
plain_src!(f32, f64, i32, i64, u8);

impl Src for Bool {
    type Raw = u8;
    fn view(raw: &[u8]) -> &[Bool] {
        Bool::from_bytes(raw)
    }
}

fn cast_t<'py, S: Src, D: Element + CastFrom<S> + Send>(py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "cast";
    let rx = try_read::<S::Raw>(K, "x", CAST_NAMES, x)?;
    // Zero-filled, so that a bool output never holds a byte other than 0 or 1.
    let y = zeros::<D>(py, rx.shape());
    with_out(K, &y, |ys| {
        let xs = slice_of(&rx);
        run_named(py, K, || k::cast(S::view(&xs), ys))
    })?;
    Ok(y.into_any())
}

macro_rules! cast_to {
    ($py:expr, $x:expr, $S:ty, $dst:expr) => {
        match $dst {
            CastType::F32 => cast_t::<$S, f32>($py, $x),
            CastType::F64 => cast_t::<$S, f64>($py, $x),
            CastType::I32 => cast_t::<$S, i32>($py, $x),
            CastType::I64 => cast_t::<$S, i64>($py, $x),
            CastType::U8 => cast_t::<$S, u8>($py, $x),
            CastType::Bool => cast_t::<$S, bool>($py, $x),
        }
    };
}

/// `x` converted to `dtype` (float32, float64, int32, int64, uint8 or bool; a numpy dtype,
/// type or name): float -> int truncates toward zero and saturates (NaN -> 0), int -> int
/// wraps, -> bool is `x != 0`, bool -> 0/1.
#[pyfunction]
pub fn cast<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, dtype: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "cast";
    use CastType as C;
    let bad_x = || PyTypeError::new_err(format!("{K}: x must be a numpy array of one of {CAST_NAMES}, got {}", describe(x)));
    let src = match x.cast::<PyUntypedArray>() {
        Ok(a) => CastType::of_descr(py, &a.dtype()).ok_or_else(bad_x)?,
        Err(_) => return Err(bad_x()),
    };
    let dst = CastType::of_arg(py, K, &[C::F32, C::F64, C::I32, C::I64, C::U8, C::Bool], CAST_NAMES, dtype)?;
    match src {
        C::F32 => cast_to!(py, x, f32, dst),
        C::F64 => cast_to!(py, x, f64, dst),
        C::I32 => cast_to!(py, x, i32, dst),
        C::I64 => cast_to!(py, x, i64, dst),
        C::U8 => cast_to!(py, x, u8, dst),
        C::Bool => {
            let bytes = bool_bytes(py, K, "x", x)?;
            cast_to!(py, &bytes, Bool, dst)
        }
    }
}

// ---- take / scatter_add / one_hot -----------------------------------------------------------------

/// Runs `$f::<T, I>($args)` for the float dtype of `$x` and the index dtype of `$i`.
macro_rules! float_index {
    ($kernel:expr, $xarg:expr, $x:expr, $i:expr, $f:ident ( $($args:expr),* )) => {
        match (dtype_of($kernel, $xarg, $x)?, index_dtype($kernel, "indices", $i)?) {
            (DType::F32, IdxType::I32) => $f::<f32, i32>($($args),*),
            (DType::F32, IdxType::I64) => $f::<f32, i64>($($args),*),
            (DType::F64, IdxType::I32) => $f::<f64, i32>($($args),*),
            (DType::F64, IdxType::I64) => $f::<f64, i64>($($args),*),
        }
    };
}

fn take_t<'py, T: Elem, I: Element + Index>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    axis: i64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "take";
    let (rx, ri) = (try_read::<T>(K, "x", FLOATS, x)?, try_read::<I>(K, "indices", "int32 or int64", indices)?);
    let xs = rx.shape();
    let ax = norm_axis(K, axis, xs)?;
    let p = TakeParams::new(K, xs, ax).map_err(kernel_error)?;
    let shape: Vec<usize> = xs[..ax].iter().chain(ri.shape()).chain(&xs[ax + 1..]).copied().collect();
    let y = new_array::<T>(py, &shape);
    with_out(K, &y, |ys| {
        let (xv, iv) = (slice_of(&rx), slice_of(&ri));
        run_named(py, K, || k::take(&xv, &iv, ys, &p))
    })?;
    Ok(y.into_any())
}

/// Gather along `axis`: shape `x.shape[:axis] + indices.shape + x.shape[axis+1:]`;
/// negative indices count from the end; an index out of range is a ValueError
/// "take: index I is out of bounds for axis A with size S" (the first bad one, C order).
#[pyfunction]
pub fn take<'py>(py: Python<'py>, x: &Bound<'py, PyAny>, indices: &Bound<'py, PyAny>, axis: i64) -> PyResult<Bound<'py, PyAny>> {
    float_index!("take", "x", x, indices, take_t(py, x, indices, axis))
}

fn scatter_add_t<'py, T: Elem, I: Element + Index>(
    py: Python<'py>,
    updates: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    axis: i64,
    dim_size: i64,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "scatter_add";
    let (ru, ri) = (try_read::<T>(K, "updates", FLOATS, updates)?, try_read::<I>(K, "indices", "int32 or int64", indices)?);
    let (us, is) = (ru.shape(), ri.shape());
    if us.len() < is.len() {
        return Err(PyValueError::new_err(format!("{K}: updates {} has fewer dimensions than indices {}", fmt_shape(us), fmt_shape(is))));
    }
    let nd = us.len() - is.len() + 1;
    if axis < -(nd as i64) || axis >= nd as i64 {
        return Err(PyValueError::new_err(format!(
            "{K}: axis {axis} is out of range for an output of {nd} dimensions (updates {}, indices {})",
            fmt_shape(us),
            fmt_shape(is)
        )));
    }
    let ax = (if axis < 0 { axis + nd as i64 } else { axis }) as usize;
    if us[ax..ax + is.len()] != *is {
        return Err(PyValueError::new_err(format!(
            "{K}: updates {} must have the shape of indices {} at axes {ax}..{}",
            fmt_shape(us),
            fmt_shape(is),
            ax + is.len()
        )));
    }
    if dim_size < 0 {
        return Err(PyValueError::new_err(format!("{K}: dim_size must be >= 0, got {dim_size}")));
    }
    let shape: Vec<usize> = us[..ax].iter().copied().chain([dim_size as usize]).chain(us[ax + is.len()..].iter().copied()).collect();
    let p = TakeParams::new(K, &shape, ax).map_err(kernel_error)?;
    let y = new_array::<T>(py, &shape);
    with_out(K, &y, |ys| {
        let (uv, iv) = (slice_of(&ru), slice_of(&ri));
        run_named(py, K, || k::scatter_add(&uv, &iv, ys, &p))
    })?;
    Ok(y.into_any())
}

/// The adjoint of take: zeros of shape `updates.shape[:axis] + (dim_size,) +
/// updates.shape[axis + indices.ndim:]` with every update slice added at its index
/// (repeated indices accumulate, in index order).
#[pyfunction]
pub fn scatter_add<'py>(
    py: Python<'py>,
    updates: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    axis: i64,
    dim_size: i64,
) -> PyResult<Bound<'py, PyAny>> {
    float_index!("scatter_add", "updates", updates, indices, scatter_add_t(py, updates, indices, axis, dim_size))
}

fn one_hot_t<'py, T: Elem, I: Element + Index>(
    py: Python<'py>,
    indices: &Bound<'py, PyAny>,
    classes: usize,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "one_hot";
    let ri = try_read::<I>(K, "indices", "int32 or int64", indices)?;
    let shape: Vec<usize> = ri.shape().iter().copied().chain([classes]).collect();
    let y = new_array::<T>(py, &shape);
    with_out(K, &y, |ys| {
        let iv = slice_of(&ri);
        run_named(py, K, || k::one_hot(&iv, classes, ys))
    })?;
    Ok(y.into_any())
}

/// `indices.shape + (num_classes,)` array of `dtype` (float32, the default, or float64):
/// 1 at each index, 0 elsewhere; an index outside [0, num_classes) gives a row of zeros.
#[pyfunction]
#[pyo3(signature = (indices, num_classes, dtype=None))]
pub fn one_hot<'py>(
    py: Python<'py>,
    indices: &Bound<'py, PyAny>,
    num_classes: i64,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    const K: &str = "one_hot";
    let it = index_dtype(K, "indices", indices)?;
    let dt = match dtype {
        Some(d) if !d.is_none() => CastType::of_arg(py, K, &[CastType::F32, CastType::F64], "float32, float64", d)?,
        _ => CastType::F32,
    };
    if num_classes < 0 {
        return Err(PyValueError::new_err(format!("{K}: num_classes must be >= 0, got {num_classes}")));
    }
    let n = num_classes as usize;
    match (dt, it) {
        (CastType::F64, IdxType::I32) => one_hot_t::<f64, i32>(py, indices, n),
        (CastType::F64, IdxType::I64) => one_hot_t::<f64, i64>(py, indices, n),
        (_, IdxType::I32) => one_hot_t::<f32, i32>(py, indices, n),
        (_, IdxType::I64) => one_hot_t::<f32, i64>(py, indices, n),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(cast, m)?)?;
    m.add_function(wrap_pyfunction!(take, m)?)?;
    m.add_function(wrap_pyfunction!(scatter_add, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot, m)?)?;
    Ok(())
}
