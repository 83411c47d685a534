//! Optimizer updates, in place, one fused pass over param, grad and the state arrays.
//! Keras formulas, evaluated in the element type with the same operation order as the
//! numpy oracle (constants such as `lr * weight_decay` are computed in f64 first).

use rayon::prelude::*;

use crate::fastmath::{simd, Real};
use crate::parallel::{split_work, work_ns};
use crate::KernelError;

/// Keras SGD: `lr`, `momentum` (0: plain SGD, no velocity), `nesterov`, `weight_decay`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdParams {
    pub lr: f64,
    pub momentum: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
}

/// Keras Adam / AdamW; `step` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub step: u64,
    pub weight_decay: f64,
}

/// Keras RMSprop (`momentum` 0: no momentum buffer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropParams {
    pub lr: f64,
    pub rho: f64,
    pub momentum: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// Keras Adagrad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdagradParams {
    pub lr: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

fn check_len(param: usize, args: &[(&str, Option<usize>)]) -> Result<(), KernelError> {
    for &(arg, len) in args {
        if let Some(len) = len {
            if len != param {
                return Err(KernelError(format!("{arg} has {len} elements, param has {param}")));
            }
        }
    }
    Ok(())
}

/// Calls `f` on matching chunks of param, grad and the (optional) state arrays a and b:
/// once on the whole slices when the work (`cost` eighths of a nanosecond per element,
/// see [`work_ns`]) is small, else over the pool.
fn fused<T: Real>(
    param: &mut [T],
    grad: &[T],
    a: Option<&mut [T]>,
    b: Option<&mut [T]>,
    cost: usize,
    f: impl Fn(&mut [T], &[T], Option<&mut [T]>, Option<&mut [T]>) + Sync + Send,
) {
    let n = param.len();
    split_work(n, work_ns(n, cost), move |per| {
        let Some(c) = per else { return f(param, grad, a, b) };
        let nb = n.div_ceil(c);
        fn split<U>(s: Option<&mut [U]>, c: usize, nb: usize) -> Vec<Option<&mut [U]>> {
            match s {
                Some(s) => s.chunks_mut(c).map(Some).collect(),
                None => (0..nb).map(|_| None).collect(),
            }
        }
        let (ca, cb) = (split(a, c, nb), split(b, c, nb));
        param
            .par_chunks_mut(c)
            .zip(grad.par_chunks(c))
            .zip(ca.into_par_iter().zip(cb.into_par_iter()))
            .for_each(|((pc, gc), (ac, bc))| f(pc, gc, ac, bc));
    })
}

#[inline(always)]
fn sgd_plain<T: Real, const WD: bool>(p: &mut [T], g: &[T], lr: T, wdc: T) {
    for (x, &g) in p.iter_mut().zip(g) {
        let mut y = *x;
        if WD {
            y = y - wdc * y;
        }
        *x = y - lr * g;
    }
}

#[inline(always)]
fn sgd_momentum<T: Real, const WD: bool, const NESTEROV: bool>(p: &mut [T], g: &[T], v: &mut [T], lr: T, m: T, wdc: T) {
    for ((x, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
        let mut y = *x;
        if WD {
            y = y - wdc * y;
        }
        let nv = *v * m - lr * g;
        *v = nv;
        *x = if NESTEROV { y + (m * nv - lr * g) } else { y + nv };
    }
}

/// Keras SGD: `param -= lr*wd*param`; with momentum `v = m*v - lr*g` and `param += v`
/// (nesterov: `param += m*v - lr*g`); without, `param -= lr*g`.
pub fn sgd_update<T: Real>(param: &mut [T], grad: &[T], velocity: Option<&mut [T]>, p: SgdParams) -> Result<(), KernelError> {
    check_len(param.len(), &[("grad", Some(grad.len())), ("velocity", velocity.as_ref().map(|v| v.len()))])?;
    let (lr, m, wdc) = (T::of_f64(p.lr), T::of_f64(p.momentum), T::of_f64(p.lr * p.weight_decay));
    let wd = p.weight_decay != 0.0;
    let velocity =
        if p.momentum != 0.0 { Some(velocity.ok_or_else(|| KernelError("velocity is required when momentum != 0".into()))?) } else { None };
    fused(param, grad, velocity, None, 1, |pc, gc, vc, _| {
        simd(
            #[inline(always)]
            || match (vc, wd, p.nesterov) {
                (None, false, _) => sgd_plain::<T, false>(pc, gc, lr, wdc),
                (None, true, _) => sgd_plain::<T, true>(pc, gc, lr, wdc),
                (Some(v), false, false) => sgd_momentum::<T, false, false>(pc, gc, v, lr, m, wdc),
                (Some(v), false, true) => sgd_momentum::<T, false, true>(pc, gc, v, lr, m, wdc),
                (Some(v), true, false) => sgd_momentum::<T, true, false>(pc, gc, v, lr, m, wdc),
                (Some(v), true, true) => sgd_momentum::<T, true, true>(pc, gc, v, lr, m, wdc),
            },
        )
    });
    Ok(())
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn adam_loop<T: Real, const WD: bool>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], c1: T, c2: T, lr_t: T, eps: T, wdc: T) {
    for (((x, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let mut y = *x;
        if WD {
            y = y - wdc * y;
        }
        let nm = *m + (g - *m) * c1;
        let nv = *v + (g * g - *v) * c2;
        *m = nm;
        *v = nv;
        *x = y - lr_t * nm / (nv.sqrt() + eps);
    }
}

/// Keras Adam/AdamW: `param -= lr*wd*param`; `m += (g-m)(1-b1)`; `v += (g*g-v)(1-b2)`;
/// `param -= lr*sqrt(1-b2**step)/(1-b1**step) * m / (sqrt(v) + eps)`.
pub fn adam_update<T: Real>(param: &mut [T], grad: &[T], m: &mut [T], v: &mut [T], p: AdamParams) -> Result<(), KernelError> {
    check_len(param.len(), &[("grad", Some(grad.len())), ("m", Some(m.len())), ("v", Some(v.len()))])?;
    if p.step == 0 {
        return Err(KernelError("step counts from 1, got 0".into()));
    }
    let s = p.step as f64;
    let lr_t = T::of_f64(p.lr * (1.0 - p.beta2.powf(s)).sqrt() / (1.0 - p.beta1.powf(s)));
    let (c1, c2, eps, wdc) = (T::of_f64(1.0 - p.beta1), T::of_f64(1.0 - p.beta2), T::of_f64(p.eps), T::of_f64(p.lr * p.weight_decay));
    let wd = p.weight_decay != 0.0;
    fused(param, grad, Some(m), Some(v), 4, |pc, gc, mc, vc| {
        let (mc, vc) = (mc.expect("m is given"), vc.expect("v is given"));
        simd(
            #[inline(always)]
            || {
                if wd {
                    adam_loop::<T, true>(pc, gc, mc, vc, c1, c2, lr_t, eps, wdc)
                } else {
                    adam_loop::<T, false>(pc, gc, mc, vc, c1, c2, lr_t, eps, wdc)
                }
            },
        )
    });
    Ok(())
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn rmsprop_loop<T: Real, const WD: bool, const MOM: bool>(
    p: &mut [T],
    g: &[T],
    ms: &mut [T],
    mom: &mut [T],
    rho: T,
    c: T,
    lr: T,
    eps: T,
    mm: T,
    wdc: T,
) {
    // Without momentum `mom` is empty and unused: zip it only when MOM.
    let n = p.len();
    for i in 0..n {
        let x = p[i];
        let g = g[i];
        let mut y = x;
        if WD {
            y = y - wdc * y;
        }
        let s = ms[i] * rho + c * g * g;
        ms[i] = s;
        let inc = lr * g / (s + eps).sqrt();
        if MOM {
            let nm = mom[i] * mm + inc;
            mom[i] = nm;
            p[i] = y - nm;
        } else {
            p[i] = y - inc;
        }
    }
}

/// Keras RMSprop: `param -= lr*wd*param`; `ms = rho*ms + (1-rho)*g*g`;
/// `inc = lr*g/sqrt(ms + eps)`; with momentum `mom = momentum*mom + inc; param -= mom`,
/// else `param -= inc`.
pub fn rmsprop_update<T: Real>(
    param: &mut [T],
    grad: &[T],
    ms: &mut [T],
    mom: Option<&mut [T]>,
    p: RmspropParams,
) -> Result<(), KernelError> {
    check_len(param.len(), &[("grad", Some(grad.len())), ("ms", Some(ms.len())), ("mom", mom.as_ref().map(|v| v.len()))])?;
    let mom = if p.momentum != 0.0 { Some(mom.ok_or_else(|| KernelError("mom is required when momentum != 0".into()))?) } else { None };
    let (rho, c, lr, eps, mm, wdc) = (
        T::of_f64(p.rho),
        T::of_f64(1.0 - p.rho),
        T::of_f64(p.lr),
        T::of_f64(p.eps),
        T::of_f64(p.momentum),
        T::of_f64(p.lr * p.weight_decay),
    );
    let wd = p.weight_decay != 0.0;
    fused(param, grad, Some(ms), mom, 3, |pc, gc, sc, oc| {
        let sc = sc.expect("ms is given");
        let n = pc.len();
        let (gc, sc) = (&gc[..n], &mut sc[..n]);
        simd(
            #[inline(always)]
            || match (oc, wd) {
                (None, false) => rmsprop_loop::<T, false, false>(pc, gc, sc, &mut [], rho, c, lr, eps, mm, wdc),
                (None, true) => rmsprop_loop::<T, true, false>(pc, gc, sc, &mut [], rho, c, lr, eps, mm, wdc),
                (Some(o), false) => rmsprop_loop::<T, false, true>(pc, gc, sc, &mut o[..n], rho, c, lr, eps, mm, wdc),
                (Some(o), true) => rmsprop_loop::<T, true, true>(pc, gc, sc, &mut o[..n], rho, c, lr, eps, mm, wdc),
            },
        )
    });
    Ok(())
}

#[inline(always)]
fn adagrad_loop<T: Real, const WD: bool>(p: &mut [T], g: &[T], acc: &mut [T], lr: T, eps: T, wdc: T) {
    for ((x, &g), a) in p.iter_mut().zip(g).zip(acc.iter_mut()) {
        let mut y = *x;
        if WD {
            y = y - wdc * y;
        }
        let na = *a + g * g;
        *a = na;
        *x = y - lr * g / (na + eps).sqrt();
    }
}

/// Keras Adagrad: `param -= lr*wd*param`; `acc += g*g`; `param -= lr*g/sqrt(acc + eps)`.
pub fn adagrad_update<T: Real>(param: &mut [T], grad: &[T], acc: &mut [T], p: AdagradParams) -> Result<(), KernelError> {
    check_len(param.len(), &[("grad", Some(grad.len())), ("acc", Some(acc.len()))])?;
    let (lr, eps, wdc) = (T::of_f64(p.lr), T::of_f64(p.eps), T::of_f64(p.lr * p.weight_decay));
    let wd = p.weight_decay != 0.0;
    fused(param, grad, Some(acc), None, 3, |pc, gc, ac, _| {
        let ac = ac.expect("acc is given");
        simd(
            #[inline(always)]
            || {
                if wd {
                    adagrad_loop::<T, true>(pc, gc, ac, lr, eps, wdc)
                } else {
                    adagrad_loop::<T, false>(pc, gc, ac, lr, eps, wdc)
                }
            },
        )
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(n: usize, phase: f64) -> Vec<f64> {
        (0..n).map(|i| ((i as f64 + phase) * 0.61).sin()).collect()
    }

    #[test]
    fn sgd_by_hand() {
        let mut p = vec![1.0f64, 2.0];
        let g = [0.5, -1.0];
        sgd_update(&mut p, &g, None, SgdParams { lr: 0.1, momentum: 0.0, nesterov: false, weight_decay: 0.0 }).unwrap();
        assert_eq!(p, [0.95, 2.1]);
        let mut v = vec![0.0, 0.0];
        let sp = SgdParams { lr: 0.1, momentum: 0.9, nesterov: false, weight_decay: 0.0 };
        sgd_update(&mut p, &g, Some(&mut v), sp).unwrap();
        sgd_update(&mut p, &g, Some(&mut v), sp).unwrap();
        // v1 = -0.05, v2 = 0.9 * -0.05 - 0.05 = -0.095; p = 0.95 - 0.05 - 0.095
        assert!((v[0] + 0.095).abs() < 1e-15 && (p[0] - 0.805).abs() < 1e-15);
        assert!(sgd_update(&mut p, &g, None, sp).is_err());
    }

    #[test]
    fn adam_first_step_moves_by_lr() {
        // With m = v = 0, the first Adam step is lr * sign(g) (up to eps).
        let mut p = vec![0.0f64; 3];
        let (mut m, mut v) = (vec![0.0; 3], vec![0.0; 3]);
        let ap = AdamParams { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-12, step: 1, weight_decay: 0.0 };
        adam_update(&mut p, &[2.0, -3.0, 0.5], &mut m, &mut v, ap).unwrap();
        for (x, want) in p.iter().zip([-0.01, 0.01, -0.01]) {
            assert!((x - want).abs() < 1e-9, "{x}");
        }
        assert!(adam_update(&mut p, &[0.0; 3], &mut m, &mut v, AdamParams { step: 0, ..ap }).is_err());
    }

    #[test]
    fn rmsprop_and_adagrad_by_hand() {
        let mut p = vec![1.0f64];
        let mut ms = vec![0.0];
        let rp = RmspropParams { lr: 0.1, rho: 0.9, momentum: 0.0, eps: 0.0, weight_decay: 0.0 };
        rmsprop_update(&mut p, &[2.0], &mut ms, None, rp).unwrap();
        // ms = 0.1 * 4 = 0.4; p = 1 - 0.1 * 2 / sqrt(0.4)
        assert!((ms[0] - 0.4).abs() < 1e-15 && (p[0] - (1.0 - 0.2 / 0.4f64.sqrt())).abs() < 1e-15);
        let mut p = vec![1.0f64];
        let mut acc = vec![0.0];
        adagrad_update(&mut p, &[2.0], &mut acc, AdagradParams { lr: 0.1, eps: 0.0, weight_decay: 0.5 }).unwrap();
        // p = 1 - 0.05 = 0.95; acc = 4; p -= 0.1 * 2 / 2
        assert!((p[0] - 0.85).abs() < 1e-15 && acc[0] == 4.0);
    }

    #[test]
    fn parallel_chunks_equal_serial() {
        crate::parallel::set_num_threads(2);
        let n = 300_007;
        let g = vals(n, 0.5);
        let run = |n: usize| {
            let mut p = vals(n, 0.0);
            let (mut m, mut v, mut s, mut o) = (vec![0.1; n], vec![0.2; n], vec![0.3; n], vec![0.0; n]);
            let g = &g[..n];
            for step in 1..4 {
                adam_update(
                    &mut p,
                    g,
                    &mut m,
                    &mut v,
                    AdamParams { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-7, step, weight_decay: 0.01 },
                )
                .unwrap();
                rmsprop_update(
                    &mut p,
                    g,
                    &mut s,
                    Some(&mut o),
                    RmspropParams { lr: 0.01, rho: 0.9, momentum: 0.5, eps: 1e-7, weight_decay: 0.0 },
                )
                .unwrap();
                sgd_update(&mut p, g, Some(&mut v), SgdParams { lr: 0.01, momentum: 0.9, nesterov: true, weight_decay: 0.1 }).unwrap();
                adagrad_update(&mut p, g, &mut s, AdagradParams { lr: 0.01, eps: 1e-7, weight_decay: 0.0 }).unwrap();
            }
            p
        };
        let big = run(n);
        // The first 1000 elements computed on their own (serial) must give the same bits.
        let small = run(1000);
        assert_eq!(&big[..1000], &small[..]);
    }

    #[test]
    fn bad_lengths_are_an_error() {
        let mut p = vec![0.0f32; 3];
        let mut a = vec![0.0f32; 2];
        assert!(adagrad_update(&mut p, &[0.0; 3], &mut a, AdagradParams { lr: 0.1, eps: 1e-7, weight_decay: 0.0 }).is_err());
        assert!(sgd_update(&mut p, &[0.0; 2], None, SgdParams { lr: 0.1, momentum: 0.0, nesterov: false, weight_decay: 0.0 }).is_err());
    }
}
