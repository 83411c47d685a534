//! Recurrent layers over a whole sequence: SimpleRNN, GRU (`reset_after=True`) and LSTM,
//! forward and backward through time, in Keras 3's weight layouts.
//!
//! * SimpleRNN: kernel (d, u), recurrent (u, u), bias (u); `h' = act(x W + b + h U)`.
//! * GRU: kernel (d, 3u), recurrent (u, 3u), bias (2, 3u) (row 0 input, row 1 recurrent),
//!   gate columns z, r, h: `z = σ(x Wz + bz + h Uz + rz)`, `r = σ(x Wr + br + h Ur + rr)`,
//!   `hh = tanh(x Wh + bh + r ⊙ (h Uh + rh))`, `h' = z ⊙ h + (1 - z) ⊙ hh`.
//! * LSTM: kernel (d, 4u), recurrent (u, 4u), bias (4u), gate columns i, f, c, o:
//!   `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h' = σ(o) ⊙ tanh(c')`.
//!
//! Shape of the work: the input projection of all steps is one product
//! `(n*t, d) @ kernel + bias` before the loop; each step is then one recurrent product
//! `h (n, u) @ recurrent` and one fused pass over the gates. The samples of a batch never
//! meet, so the batch is cut into chunks that run the whole sequence side by side on the
//! pool (no synchronisation per step). The backward walks the steps in reverse from the
//! gate values the forward saved, collects the gate gradients of all steps, and then
//! makes each weight gradient with one product (`kernel: X^T dG`, `recurrent:
//! H_prev^T dG`, bias: column sums).
//!
//! A mask (n, t) (nonzero = real step) is applied per sample and step as Keras 3 does: at a
//! masked step the states are carried unchanged, and the output is either zero
//! (`zero_masked`) or the previous step's output (zero before the first real step).
//! With `reverse` (Keras' `go_backwards`) the steps run from t-1 down to 0 and the
//! outputs are stored in processing order.
//!
//! The packed output is (n, t + k, u): the t per-step outputs, then the final h, then (LSTM)
//! the final c. The saved buffer (for the backward) is, in this order: h before every step
//! (n, t, u), c before every step (n, t, u, LSTM only), then per step the gate values
//! (n, t, s*u) with s = 1 (SimpleRNN: the new h), 4 (GRU: z, r, hh, h Uh + rh) or 5
//! (LSTM: i, f, g, o after their activations, tanh(c')). Rows are indexed by the time
//! index of the input (not the processing order).

use rayon::prelude::*;

use crate::fastmath::{sigmoid, Real};
use crate::gemm::{matmul_into, MatmulParams};
use crate::{parallel, Float, KernelError};

/// Which recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RnnCell {
    SimpleRnn,
    Gru,
    Lstm,
}

impl RnnCell {
    /// "simple_rnn", "gru" or "lstm".
    pub fn from_name(name: &str) -> Result<Self, KernelError> {
        match name {
            "simple_rnn" => Ok(RnnCell::SimpleRnn),
            "gru" => Ok(RnnCell::Gru),
            "lstm" => Ok(RnnCell::Lstm),
            _ => Err(KernelError(format!("kind must be 'simple_rnn', 'gru' or 'lstm', got {name:?}"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RnnCell::SimpleRnn => "simple_rnn",
            RnnCell::Gru => "gru",
            RnnCell::Lstm => "lstm",
        }
    }

    /// Gate blocks of u columns in kernel and recurrent.
    pub fn gates(self) -> usize {
        match self {
            RnnCell::SimpleRnn => 1,
            RnnCell::Gru => 3,
            RnnCell::Lstm => 4,
        }
    }

    /// States: 1 (h) or 2 (h, c).
    pub fn states(self) -> usize {
        if self == RnnCell::Lstm {
            2
        } else {
            1
        }
    }

    /// Saved gate values per step and sample, in units of u.
    fn saved_gates(self) -> usize {
        match self {
            RnnCell::SimpleRnn => 1,
            RnnCell::Gru => 4,
            RnnCell::Lstm => 5,
        }
    }
}

/// Activation of a SimpleRNN (GRU and LSTM use tanh and sigmoid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RnnActivation {
    Tanh,
    Relu,
}

impl RnnActivation {
    pub fn from_name(name: &str) -> Result<Self, KernelError> {
        match name {
            "tanh" => Ok(RnnActivation::Tanh),
            "relu" => Ok(RnnActivation::Relu),
            _ => Err(KernelError(format!("activation must be 'tanh' or 'relu', got {name:?}"))),
        }
    }
}

/// Sizes and options of one recurrent layer over a sequence: x (n, t, d), u units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RnnParams {
    pub cell: RnnCell,
    pub n: usize,
    pub t: usize,
    pub d: usize,
    pub u: usize,
    pub reverse: bool,
    pub zero_masked: bool,
    pub activation: RnnActivation,
}

impl RnnParams {
    /// Columns of kernel and recurrent.
    pub fn cols(&self) -> usize {
        self.cell.gates() * self.u
    }
    /// Elements of the bias: (2, 3u) for GRU, else (gates*u,).
    pub fn bias_len(&self) -> usize {
        if self.cell == RnnCell::Gru {
            2 * self.cols()
        } else {
            self.cols()
        }
    }
    /// Shape of the packed output (n, t + states, u).
    pub fn packed_shape(&self) -> [usize; 3] {
        [self.n, self.t + self.cell.states(), self.u]
    }
    /// Elements of the saved buffer.
    /// Elements of the scratch buffer `rnn_forward` takes (the input projection of every step).
    pub fn forward_work_len(&self) -> usize {
        self.n * self.t * self.cols()
    }
    /// Elements of the scratch buffer `rnn_backward` takes (the gate gradients of every step;
    /// twice for GRU, whose recurrent side differs).
    pub fn backward_work_len(&self) -> usize {
        self.n * self.t * self.cols() * if self.cell == RnnCell::Gru { 2 } else { 1 }
    }
    pub fn saved_len(&self) -> usize {
        let per = 1 + usize::from(self.cell == RnnCell::Lstm) + self.cell.saved_gates();
        self.n * self.t * self.u * per
    }

    fn expect(&self, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
        if got != want {
            return Err(KernelError(format!("{}: {what} has {got} elements, expected {want} ({self:?})", self.cell.name())));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn check_inputs(
        &self,
        x: usize,
        kernel: usize,
        recurrent: usize,
        bias: Option<usize>,
        h0: usize,
        c0: Option<usize>,
        mask: Option<usize>,
    ) -> Result<(), KernelError> {
        let (n, t, d, u) = (self.n, self.t, self.d, self.u);
        self.expect("x", x, n * t * d)?;
        self.expect("kernel", kernel, d * self.cols())?;
        self.expect("recurrent", recurrent, u * self.cols())?;
        if let Some(b) = bias {
            self.expect("bias", b, self.bias_len())?;
        }
        self.expect("h0", h0, n * u)?;
        match (self.cell == RnnCell::Lstm, c0) {
            (true, Some(c)) => self.expect("c0", c, n * u)?,
            (true, None) => return Err(KernelError("lstm: c0 is required".into())),
            (false, Some(_)) => return Err(KernelError(format!("{}: takes one state (h0), got a c0", self.cell.name()))),
            (false, None) => {}
        }
        if let Some(m) = mask {
            self.expect("mask", m, n * t)?;
        }
        Ok(())
    }
}

/// Multiply-adds of a whole sequence from which the batch is split across the pool.
const RNN_PAR_WORK: usize = 1 << 21;

/// The sample chunks: (first sample, count) each, covering 0..n.
fn chunks(p: &RnnParams) -> Vec<(usize, usize)> {
    let threads = parallel::num_threads();
    let work = p.n * p.t * p.cols() * (p.u + p.d + 8);
    let parts = if threads > 1 && p.n > 1 && work >= RNN_PAR_WORK { threads.min(p.n) } else { 1 };
    let per = p.n.div_ceil(parts.max(1)).max(1);
    (0..p.n).step_by(per).map(|a| (a, per.min(p.n - a))).collect()
}

/// Cuts `buf` into consecutive pieces of `count * item` elements, one per chunk.
fn split_by<'a, T>(mut buf: &'a mut [T], parts: &[(usize, usize)], item: usize) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(parts.len());
    for &(_, count) in parts {
        let (head, tail) = buf.split_at_mut(count * item);
        out.push(head);
        buf = tail;
    }
    out
}

/// `c (m x n, row stride ldc) = [c +] a (m x k, row stride lda) @ b (k x n, row-major)` on
/// the calling thread.
#[allow(clippy::too_many_arguments)]
fn gemm_rows<T: Float>(a: &[T], lda: usize, b: &[T], c: &mut [T], ldc: usize, m: usize, n: usize, k: usize, accumulate: bool) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].iter_mut().for_each(|v| *v = T::zero());
            }
        }
        return;
    }
    assert!(a.len() >= (m - 1) * lda + k && b.len() >= k * n && c.len() >= (m - 1) * ldc + n, "gemm_rows: slices too short");
    // SAFETY: the assert above keeps every element the strides reach inside its slice; `c`
    // is borrowed mutably, so it aliases neither `a` nor `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.as_ptr(),
            1,
            lda as isize,
            b.as_ptr(),
            1,
            n as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// One optional piece of a buffer per chunk.
type Pieces<'a, T> = Vec<Option<&'a mut [T]>>;

/// What every chunk of the forward reads.
struct Fwd<'a, T> {
    xp: &'a [T],
    recurrent: &'a [T],
    brec: Option<&'a [T]>,
    h0: &'a [T],
    c0: Option<&'a [T]>,
    mask: Option<&'a [u8]>,
    p: RnnParams,
}

/// What one chunk of the forward writes (its samples' rows of each buffer).
struct FwdOut<'a, T> {
    first: usize,
    count: usize,
    out: &'a mut [T],
    hprev: Option<&'a mut [T]>,
    cprev: Option<&'a mut [T]>,
    gates: Option<&'a mut [T]>,
}

#[inline(always)]
fn act<T: Real>(a: RnnActivation, v: T) -> T {
    match a {
        RnnActivation::Tanh => v.vtanh(),
        RnnActivation::Relu => v.max(T::zero()),
    }
}

crate::multiversion! {
    /// The whole sequence for one chunk of samples.
    fn forward_chunk<T: Real>(f: &Fwd<'_, T>, o: FwdOut<'_, T>) {
        let p = f.p;
        let (t, u, g) = (p.t, p.u, p.cols());
        let k_states = p.cell.states();
        let sg = p.cell.saved_gates() * u;
        let nb = o.count;
        let a = o.first;
        let FwdOut { out, mut hprev, mut cprev, mut gates, .. } = o;
        let row_out = (t + k_states) * u;
        let mut h = f.h0[a * u..(a + nb) * u].to_vec();
        let mut c = match f.c0 {
            Some(c0) => c0[a * u..(a + nb) * u].to_vec(),
            None => Vec::new(),
        };
        let mut hr = vec![T::zero(); nb * g];
        let mut scratch = vec![T::zero(); sg];
        let mut hn = vec![T::zero(); u];
        let mut cn = vec![T::zero(); u];
        for k in 0..t {
            let tt = if p.reverse { t - 1 - k } else { k };
            gemm_rows(&h, u, f.recurrent, &mut hr, g, nb, g, u, false);
            for j in 0..nb {
                let i = a + j;
                let m = f.mask.is_none_or(|m| m[i * t + tt] != 0);
                let xr = &f.xp[(i * t + tt) * g..(i * t + tt + 1) * g];
                let hrr = &mut hr[j * g..(j + 1) * g];
                let hj = &mut h[j * u..(j + 1) * u];
                if let Some(hp) = hprev.as_deref_mut() {
                    hp[(j * t + tt) * u..(j * t + tt + 1) * u].copy_from_slice(hj);
                }
                let gs: &mut [T] = match gates.as_deref_mut() {
                    Some(gb) => &mut gb[(j * t + tt) * sg..(j * t + tt + 1) * sg],
                    None => &mut scratch,
                };
                match p.cell {
                    RnnCell::SimpleRnn => {
                        let (xr, hrr, gs, hn) = (&xr[..u], &hrr[..u], &mut gs[..u], &mut hn[..u]);
                        for q in 0..u {
                            let v = act(p.activation, xr[q] + hrr[q]);
                            gs[q] = v;
                            hn[q] = v;
                        }
                    }
                    RnnCell::Gru => {
                        if let Some(br) = f.brec {
                            for (v, &b) in hrr.iter_mut().zip(br) {
                                *v = *v + b;
                            }
                        }
                        let (xz, rest) = xr.split_at(u);
                        let (xrr, xh) = rest.split_at(u);
                        let (hz, rest) = hrr.split_at(u);
                        let (hrg, hh) = rest.split_at(u);
                        let (gz, rest) = gs.split_at_mut(u);
                        let (gr, rest) = rest.split_at_mut(u);
                        let (ghh, ghr) = rest.split_at_mut(u);
                        let (hn, hjr) = (&mut hn[..u], &hj[..u]);
                        let (xz, xrr, xh, hz, hrg, hh) = (&xz[..u], &xrr[..u], &xh[..u], &hz[..u], &hrg[..u], &hh[..u]);
                        let (gz, gr, ghh, ghr) = (&mut gz[..u], &mut gr[..u], &mut ghh[..u], &mut ghr[..u]);
                        for q in 0..u {
                            let z = sigmoid(xz[q] + hz[q]);
                            let r = sigmoid(xrr[q] + hrg[q]);
                            let cand = (xh[q] + r * hh[q]).vtanh();
                            gz[q] = z;
                            gr[q] = r;
                            ghh[q] = cand;
                            ghr[q] = hh[q];
                            hn[q] = z * hjr[q] + (T::one() - z) * cand;
                        }
                    }
                    RnnCell::Lstm => {
                        let cj = &c[j * u..(j + 1) * u];
                        let (xi, rest) = xr.split_at(u);
                        let (xf, rest) = rest.split_at(u);
                        let (xg, xo) = rest.split_at(u);
                        let (hi, rest) = hrr.split_at(u);
                        let (hf, rest) = rest.split_at(u);
                        let (hg, ho) = rest.split_at(u);
                        let (gi, rest) = gs.split_at_mut(u);
                        let (gf, rest) = rest.split_at_mut(u);
                        let (gg, rest) = rest.split_at_mut(u);
                        let (go, gtc) = rest.split_at_mut(u);
                        let (hn, cn) = (&mut hn[..u], &mut cn[..u]);
                        let (cj, xi, xf, xg, xo, hi, hf, hg, ho) =
                            (&cj[..u], &xi[..u], &xf[..u], &xg[..u], &xo[..u], &hi[..u], &hf[..u], &hg[..u], &ho[..u]);
                        let (gi, gf, gg, go, gtc) = (&mut gi[..u], &mut gf[..u], &mut gg[..u], &mut go[..u], &mut gtc[..u]);
                        for q in 0..u {
                            let ig = sigmoid(xi[q] + hi[q]);
                            let fg = sigmoid(xf[q] + hf[q]);
                            let gg_ = (xg[q] + hg[q]).vtanh();
                            let og = sigmoid(xo[q] + ho[q]);
                            let cv = fg * cj[q] + ig * gg_;
                            let tc = cv.vtanh();
                            gi[q] = ig;
                            gf[q] = fg;
                            gg[q] = gg_;
                            go[q] = og;
                            gtc[q] = tc;
                            cn[q] = cv;
                            hn[q] = og * tc;
                        }
                    }
                }
                if let Some(cp) = cprev.as_deref_mut() {
                    cp[(j * t + tt) * u..(j * t + tt + 1) * u].copy_from_slice(&c[j * u..(j + 1) * u]);
                }
                let orow = &mut out[j * row_out..(j + 1) * row_out];
                if m {
                    hj.copy_from_slice(&hn);
                    if p.cell == RnnCell::Lstm {
                        c[j * u..(j + 1) * u].copy_from_slice(&cn);
                    }
                    orow[k * u..(k + 1) * u].copy_from_slice(&hn);
                } else if p.zero_masked || k == 0 {
                    orow[k * u..(k + 1) * u].iter_mut().for_each(|v| *v = T::zero());
                } else {
                    orow.copy_within((k - 1) * u..k * u, k * u);
                }
            }
        }
        for j in 0..nb {
            let orow = &mut out[j * row_out..(j + 1) * row_out];
            orow[t * u..(t + 1) * u].copy_from_slice(&h[j * u..(j + 1) * u]);
            if p.cell == RnnCell::Lstm {
                orow[(t + 1) * u..(t + 2) * u].copy_from_slice(&c[j * u..(j + 1) * u]);
            }
        }
    }
}

/// The forward of a recurrent layer over the whole sequence: `out` (n, t + states, u) packed
/// as the module doc says; `saved` (`p.saved_len()` elements) receives what the backward
/// needs (None for inference). `mask` (n, t): nonzero marks a real step. `work`
/// (`p.forward_work_len()` elements, any contents) is scratch for the input projection, so
/// that a caller can hand in reused memory.
#[allow(clippy::too_many_arguments)]
pub fn rnn_forward<T: Real>(
    x: &[T],
    kernel: &[T],
    recurrent: &[T],
    bias: Option<&[T]>,
    h0: &[T],
    c0: Option<&[T]>,
    mask: Option<&[u8]>,
    out: &mut [T],
    saved: Option<&mut [T]>,
    work: &mut [T],
    p: &RnnParams,
) -> Result<(), KernelError> {
    p.check_inputs(x.len(), kernel.len(), recurrent.len(), bias.map(<[T]>::len), h0.len(), c0.map(<[T]>::len), mask.map(<[u8]>::len))?;
    let [n, tk, u] = p.packed_shape();
    p.expect("out", out.len(), n * tk * u)?;
    if let Some(s) = saved.as_deref() {
        p.expect("saved", s.len(), p.saved_len())?;
    }
    p.expect("work", work.len(), p.forward_work_len())?;
    let (t, g) = (p.t, p.cols());
    if n == 0 || u == 0 {
        return Ok(());
    }
    // The input projection of every step at once (with the input bias).
    let xp = work;
    if let Some(b) = bias {
        for row in xp.chunks_exact_mut(g) {
            row.copy_from_slice(&b[..g]);
        }
    }
    matmul_into(x, kernel, xp, MatmulParams { m: n * t, n: g, k: p.d, trans_a: false, trans_b: false }, bias.is_some())?;
    let brec = match (p.cell, bias) {
        (RnnCell::Gru, Some(b)) => Some(&b[g..2 * g]),
        _ => None,
    };
    let f = Fwd { xp: &*xp, recurrent, brec, h0, c0, mask, p: *p };
    let parts = chunks(p);
    let outs = split_by(out, &parts, tk * u);
    let (mut hps, mut cps, mut gss): (Pieces<'_, T>, Pieces<'_, T>, Pieces<'_, T>) = match saved {
        Some(s) => {
            let (hp, rest) = s.split_at_mut(n * t * u);
            let (cp, gs) = rest.split_at_mut(if p.cell == RnnCell::Lstm { n * t * u } else { 0 });
            let hp = split_by(hp, &parts, t * u).into_iter().map(Some).collect();
            let cp = if p.cell == RnnCell::Lstm {
                split_by(cp, &parts, t * u).into_iter().map(Some).collect()
            } else {
                parts.iter().map(|_| None).collect()
            };
            let gs = split_by(gs, &parts, t * u * p.cell.saved_gates()).into_iter().map(Some).collect();
            (hp, cp, gs)
        }
        None => (parts.iter().map(|_| None).collect(), parts.iter().map(|_| None).collect(), parts.iter().map(|_| None).collect()),
    };
    let jobs: Vec<FwdOut<'_, T>> = outs
        .into_iter()
        .enumerate()
        .map(|(c, out)| FwdOut {
            first: parts[c].0,
            count: parts[c].1,
            out,
            hprev: hps[c].take(),
            cprev: cps[c].take(),
            gates: gss[c].take(),
        })
        .collect();
    if jobs.len() > 1 {
        parallel::pool().install(|| jobs.into_par_iter().for_each(|o| forward_chunk(&f, o)));
    } else {
        jobs.into_iter().for_each(|o| forward_chunk(&f, o));
    }
    Ok(())
}

/// The gradients `rnn_backward` writes: wrt x (n, t, d), kernel (d, G), recurrent (u, G),
/// bias (None: no bias), h0 (n, u) and c0 (LSTM).
pub struct RnnGrads<'a, T> {
    pub gx: &'a mut [T],
    pub gkernel: &'a mut [T],
    pub grecurrent: &'a mut [T],
    pub gbias: Option<&'a mut [T]>,
    pub gh0: &'a mut [T],
    pub gc0: Option<&'a mut [T]>,
}

/// What every chunk of the backward reads.
struct Bwd<'a, T> {
    g: &'a [T],
    hprev: &'a [T],
    cprev: &'a [T],
    gates: &'a [T],
    rt: &'a [T],
    mask: Option<&'a [u8]>,
    p: RnnParams,
}

/// What one chunk of the backward writes.
struct BwdOut<'a, T> {
    first: usize,
    count: usize,
    dgx: &'a mut [T],
    dgr: Option<&'a mut [T]>,
    gh0: &'a mut [T],
    gc0: Option<&'a mut [T]>,
}

/// One sample's LSTM step backward: from dh (in: after the step, out: zero, the
/// recurrent product adds the rest), dc (in/out) and the output gradient `go`, the
/// pre-activation gradients of the gates i, f, g, o. Separate arguments, so that the
/// compiler knows the slices do not overlap and vectorizes the loop.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_backward_row<T: Real>(
    dh: &mut [T],
    dc: &mut [T],
    di: &mut [T],
    df: &mut [T],
    dg: &mut [T],
    dout: &mut [T],
    go: &[T],
    gi: &[T],
    gf: &[T],
    gg: &[T],
    gout: &[T],
    gtc: &[T],
    cp: &[T],
) {
    let u = dh.len();
    let one = T::one();
    let (dc, di, df, dg, dout) = (&mut dc[..u], &mut di[..u], &mut df[..u], &mut dg[..u], &mut dout[..u]);
    let (go, gi, gf, gg, gout, gtc, cp) = (&go[..u], &gi[..u], &gf[..u], &gg[..u], &gout[..u], &gtc[..u], &cp[..u]);
    for q in 0..u {
        let dhn = dh[q] + go[q];
        let (ig, fg, gv, og, tc) = (gi[q], gf[q], gg[q], gout[q], gtc[q]);
        let dcn = dc[q] + dhn * og * (one - tc * tc);
        dout[q] = dhn * tc * og * (one - og);
        di[q] = dcn * gv * ig * (one - ig);
        df[q] = dcn * cp[q] * fg * (one - fg);
        dg[q] = dcn * ig * (one - gv * gv);
        dc[q] = dcn * fg;
        dh[q] = T::zero();
    }
}

/// One sample's GRU step backward: the gate gradients of the recurrent side (dz, dr,
/// dhh = dh_pre * r) and of the input side (xz, xr, xh), and dh's direct part dh * z.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_backward_row<T: Real>(
    dh: &mut [T],
    dz: &mut [T],
    dr: &mut [T],
    dhh: &mut [T],
    xz: &mut [T],
    xr: &mut [T],
    xh: &mut [T],
    go: &[T],
    gz: &[T],
    gr: &[T],
    ghh: &[T],
    ghr: &[T],
    hp: &[T],
) {
    let u = dh.len();
    let one = T::one();
    let (dz, dr, dhh, xz, xr, xh) = (&mut dz[..u], &mut dr[..u], &mut dhh[..u], &mut xz[..u], &mut xr[..u], &mut xh[..u]);
    let (go, gz, gr, ghh, ghr, hp) = (&go[..u], &gz[..u], &gr[..u], &ghh[..u], &ghr[..u], &hp[..u]);
    for q in 0..u {
        let dhn = dh[q] + go[q];
        let (z, r, cand, hrh) = (gz[q], gr[q], ghh[q], ghr[q]);
        let dpre_h = dhn * (one - z) * (one - cand * cand);
        let dpre_z = dhn * (hp[q] - cand) * z * (one - z);
        let dpre_r = dpre_h * hrh * r * (one - r);
        dz[q] = dpre_z;
        dr[q] = dpre_r;
        dhh[q] = dpre_h * r;
        xz[q] = dpre_z;
        xr[q] = dpre_r;
        xh[q] = dpre_h;
        dh[q] = dhn * z;
    }
}

crate::multiversion! {
    /// Backward through time for one chunk of samples: the gate gradients of every step
    /// (input side `dgx`, recurrent side `dgr` for GRU) and the initial states' gradients.
    fn backward_chunk<T: Real>(f: &Bwd<'_, T>, o: BwdOut<'_, T>) {
        let p = f.p;
        let (t, u, g) = (p.t, p.u, p.cols());
        let k_states = p.cell.states();
        let sg = p.cell.saved_gates() * u;
        let (a, nb) = (o.first, o.count);
        let BwdOut { dgx, mut dgr, gh0, gc0, .. } = o;
        let row_g = (t + k_states) * u;
        let one = T::one();
        // dh, dc: gradients wrt the states after the current step
        let mut dh = vec![T::zero(); nb * u];
        let mut dc = vec![T::zero(); if p.cell == RnnCell::Lstm { nb * u } else { 0 }];
        for j in 0..nb {
            let grow = &f.g[(a + j) * row_g..(a + j + 1) * row_g];
            dh[j * u..(j + 1) * u].copy_from_slice(&grow[t * u..(t + 1) * u]);
            if p.cell == RnnCell::Lstm {
                dc[j * u..(j + 1) * u].copy_from_slice(&grow[(t + 1) * u..(t + 2) * u]);
            }
        }
        let mut carry = vec![T::zero(); nb * u];
        let mut dstep = vec![T::zero(); nb * g];
        let mut go = vec![T::zero(); u];
        for k in (0..t).rev() {
            let tt = if p.reverse { t - 1 - k } else { k };
            for j in 0..nb {
                let i = a + j;
                let m = f.mask.is_none_or(|m| m[i * t + tt] != 0);
                let grow = &f.g[i * row_g..(i + 1) * row_g];
                let cj = &mut carry[j * u..(j + 1) * u];
                for ((o, &a), &b) in go.iter_mut().zip(&grow[k * u..(k + 1) * u]).zip(cj.iter()) {
                    *o = a + b;
                }
                let ds = &mut dstep[j * g..(j + 1) * g];
                if !m {
                    // states carried: dh, dc pass through; the output took the previous one's
                    if p.zero_masked {
                        cj.iter_mut().for_each(|v| *v = T::zero());
                    } else {
                        cj.copy_from_slice(&go);
                    }
                    ds.iter_mut().for_each(|v| *v = T::zero());
                    dgx[(j * t + tt) * g..(j * t + tt + 1) * g].iter_mut().for_each(|v| *v = T::zero());
                    if let Some(dr) = dgr.as_deref_mut() {
                        dr[(j * t + tt) * g..(j * t + tt + 1) * g].iter_mut().for_each(|v| *v = T::zero());
                    }
                    continue;
                }
                cj.iter_mut().for_each(|v| *v = T::zero());
                let gs = &f.gates[(i * t + tt) * sg..(i * t + tt + 1) * sg];
                let dhj = &mut dh[j * u..(j + 1) * u][..u];
                let xrow = &mut dgx[(j * t + tt) * g..(j * t + tt + 1) * g];
                match p.cell {
                    RnnCell::SimpleRnn => {
                        let (go, gs, ds, xrow) = (&go[..u], &gs[..u], &mut ds[..u], &mut xrow[..u]);
                        for q in 0..u {
                            let dhn = dhj[q] + go[q];
                            let hv = gs[q];
                            let d = match p.activation {
                                RnnActivation::Tanh => dhn * (one - hv * hv),
                                RnnActivation::Relu => if hv > T::zero() { dhn } else { T::zero() },
                            };
                            ds[q] = d;
                            xrow[q] = d;
                            dhj[q] = T::zero();
                        }
                    }
                    RnnCell::Gru => {
                        let hp = &f.hprev[(i * t + tt) * u..(i * t + tt + 1) * u];
                        let (gz, rest) = gs.split_at(u);
                        let (gr, rest) = rest.split_at(u);
                        let (ghh, ghr) = rest.split_at(u);
                        let (dz, rest) = ds.split_at_mut(u);
                        let (dr, dhh) = rest.split_at_mut(u);
                        let (xz, rest) = xrow.split_at_mut(u);
                        let (xr, xh) = rest.split_at_mut(u);
                        gru_backward_row(dhj, dz, dr, dhh, xz, xr, xh, &go[..u], gz, gr, ghh, ghr, hp);
                        if let Some(drow) = dgr.as_deref_mut() {
                            drow[(j * t + tt) * g..(j * t + tt + 1) * g].copy_from_slice(ds);
                        }
                    }
                    RnnCell::Lstm => {
                        let cp = &f.cprev[(i * t + tt) * u..(i * t + tt + 1) * u];
                        let dcj = &mut dc[j * u..(j + 1) * u];
                        let (gi, rest) = gs.split_at(u);
                        let (gf, rest) = rest.split_at(u);
                        let (gg, rest) = rest.split_at(u);
                        let (gout, gtc) = rest.split_at(u);
                        let (di, rest) = ds.split_at_mut(u);
                        let (df, rest) = rest.split_at_mut(u);
                        let (dg, dout) = rest.split_at_mut(u);
                        lstm_backward_row(dhj, dcj, di, df, dg, dout, &go[..u], gi, gf, gg, gout, gtc, cp);
                        xrow.copy_from_slice(ds);
                    }
                }
            }
            // dh (before this step) += dG_rec @ recurrent^T
            gemm_rows(&dstep, g, f.rt, &mut dh, u, nb, u, g, true);
        }
        gh0.copy_from_slice(&dh);
        if let Some(gc) = gc0 {
            gc.copy_from_slice(&dc);
        }
    }
}

crate::multiversion! {
    /// `acc[c] += rows[r][c]` over the rows of `acc.len()` elements of `rows`.
    fn column_sums<T: Real>(rows: &[T], acc: &mut [T]) {
        let w = acc.len();
        if w == 0 {
            return;
        }
        for row in rows.chunks_exact(w) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = *a + v;
            }
        }
    }
}

/// Backward through time of `rnn_forward`: `g` is the gradient of the packed output,
/// `saved` what the forward saved; x, kernel, recurrent and mask as given to the forward.
/// `work` (`p.backward_work_len()` elements, any contents) is scratch for the gate
/// gradients of every step.
#[allow(clippy::too_many_arguments)]
pub fn rnn_backward<T: Real>(
    g: &[T],
    saved: &[T],
    x: &[T],
    kernel: &[T],
    recurrent: &[T],
    mask: Option<&[u8]>,
    p: &RnnParams,
    grads: RnnGrads<'_, T>,
    work: &mut [T],
) -> Result<(), KernelError> {
    let (n, t, d, u) = (p.n, p.t, p.d, p.u);
    let gcols = p.cols();
    p.check_inputs(x.len(), kernel.len(), recurrent.len(), None, n * u, (p.cell == RnnCell::Lstm).then_some(n * u), mask.map(<[u8]>::len))?;
    let [_, tk, _] = p.packed_shape();
    p.expect("g", g.len(), n * tk * u)?;
    p.expect("saved", saved.len(), p.saved_len())?;
    let RnnGrads { gx, gkernel, grecurrent, gbias, gh0, gc0 } = grads;
    p.expect("gx", gx.len(), n * t * d)?;
    p.expect("gkernel", gkernel.len(), d * gcols)?;
    p.expect("grecurrent", grecurrent.len(), u * gcols)?;
    if let Some(gb) = gbias.as_deref() {
        p.expect("gbias", gb.len(), p.bias_len())?;
    }
    p.expect("gh0", gh0.len(), n * u)?;
    match (p.cell == RnnCell::Lstm, gc0.as_deref()) {
        (true, Some(gc)) => p.expect("gc0", gc.len(), n * u)?,
        (false, None) => {}
        _ => return Err(KernelError(format!("{}: gc0 is given exactly for lstm", p.cell.name()))),
    }
    let (hprev, rest) = saved.split_at(n * t * u);
    let (cprev, gates) = rest.split_at(if p.cell == RnnCell::Lstm { n * t * u } else { 0 });
    // recurrent^T (G, u), so that each step's product reads it row-major
    let mut rt = vec![T::zero(); gcols * u];
    for r in 0..u {
        for c in 0..gcols {
            rt[c * u + r] = recurrent[r * gcols + c];
        }
    }
    p.expect("work", work.len(), p.backward_work_len())?;
    // the gate gradients of every step (every element is written below)
    let (dgx, dgr_buf) = work.split_at_mut(n * t * gcols);
    if n > 0 && u > 0 {
        let f = Bwd { g, hprev, cprev, gates, rt: &rt, mask, p: *p };
        let parts = chunks(p);
        let dgxs = split_by(dgx, &parts, t * gcols);
        let mut dgrs: Vec<Option<&mut [T]>> = if p.cell == RnnCell::Gru {
            split_by(dgr_buf, &parts, t * gcols).into_iter().map(Some).collect()
        } else {
            parts.iter().map(|_| None).collect()
        };
        let gh0s = split_by(gh0, &parts, u);
        let mut gc0s: Vec<Option<&mut [T]>> = match gc0 {
            Some(gc) => split_by(gc, &parts, u).into_iter().map(Some).collect(),
            None => parts.iter().map(|_| None).collect(),
        };
        let jobs: Vec<BwdOut<'_, T>> = dgxs
            .into_iter()
            .zip(gh0s)
            .enumerate()
            .map(|(c, (dgx, gh0))| BwdOut { first: parts[c].0, count: parts[c].1, dgx, dgr: dgrs[c].take(), gh0, gc0: gc0s[c].take() })
            .collect();
        if jobs.len() > 1 {
            parallel::pool().install(|| jobs.into_par_iter().for_each(|o| backward_chunk(&f, o)));
        } else {
            jobs.into_iter().for_each(|o| backward_chunk(&f, o));
        }
    } else {
        gh0.iter_mut().for_each(|v| *v = T::zero());
        if let Some(gc) = gc0 {
            gc.iter_mut().for_each(|v| *v = T::zero());
        }
    }
    let dgx: &[T] = dgx;
    let dgr: &[T] = if p.cell == RnnCell::Gru { dgr_buf } else { dgx };
    let rows = n * t;
    // the weight gradients, one product each
    matmul_into(dgx, kernel, gx, MatmulParams { m: rows, n: d, k: gcols, trans_a: false, trans_b: true }, false)?;
    matmul_into(x, dgx, gkernel, MatmulParams { m: d, n: gcols, k: rows, trans_a: true, trans_b: false }, false)?;
    matmul_into(hprev, dgr, grecurrent, MatmulParams { m: u, n: gcols, k: rows, trans_a: true, trans_b: false }, false)?;
    if let Some(gb) = gbias {
        gb.iter_mut().for_each(|v| *v = T::zero());
        let (gin, grec) = gb.split_at_mut(gcols);
        column_sums(dgx, gin);
        if p.cell == RnnCell::Gru {
            column_sums(dgr, grec);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(cell: RnnCell, n: usize, t: usize, d: usize, u: usize) -> RnnParams {
        RnnParams { cell, n, t, d, u, reverse: false, zero_masked: false, activation: RnnActivation::Tanh }
    }

    fn vals(len: usize, s: f64) -> Vec<f64> {
        (0..len).map(|i| ((i as f64 + 1.0) * s).sin() * 0.5).collect()
    }

    /// Sum of w * packed output, for finite differences.
    #[allow(clippy::too_many_arguments)]
    fn loss(
        p: &RnnParams,
        x: &[f64],
        k: &[f64],
        r: &[f64],
        b: &[f64],
        h0: &[f64],
        c0: Option<&[f64]>,
        mask: Option<&[u8]>,
        w: &[f64],
    ) -> f64 {
        let [n, tk, u] = p.packed_shape();
        let mut out = vec![0.0; n * tk * u];
        rnn_forward(x, k, r, Some(b), h0, c0, mask, &mut out, None, &mut vec![0.0; p.forward_work_len()], p).unwrap();
        out.iter().zip(w).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn backward_matches_finite_differences() {
        for cell in [RnnCell::SimpleRnn, RnnCell::Gru, RnnCell::Lstm] {
            for (reverse, zero_masked) in [(false, false), (true, true), (true, false)] {
                let mut p = params(cell, 3, 5, 2, 3);
                p.reverse = reverse;
                p.zero_masked = zero_masked;
                let g = p.cols();
                let (x, k, r, b) = (vals(3 * 5 * 2, 0.7), vals(2 * g, 1.3), vals(3 * g, 0.9), vals(p.bias_len(), 2.1));
                let h0 = vals(9, 0.4);
                let c0 = (cell == RnnCell::Lstm).then(|| vals(9, 0.8));
                let mask: Vec<u8> = (0..15).map(|i| u8::from(i % 4 != 1)).collect();
                let [n, tk, u] = p.packed_shape();
                let w = vals(n * tk * u, 0.33);
                let mut out = vec![0.0; n * tk * u];
                let mut saved = vec![0.0; p.saved_len()];
                let mut work = vec![0.0; p.forward_work_len()];
                rnn_forward(&x, &k, &r, Some(&b), &h0, c0.as_deref(), Some(&mask), &mut out, Some(&mut saved), &mut work, &p).unwrap();
                let (mut gx, mut gk, mut gr, mut gb, mut gh, mut gc) =
                    (vec![0.0; x.len()], vec![0.0; k.len()], vec![0.0; r.len()], vec![0.0; b.len()], vec![0.0; 9], vec![0.0; 9]);
                let grads = RnnGrads {
                    gx: &mut gx,
                    gkernel: &mut gk,
                    grecurrent: &mut gr,
                    gbias: Some(&mut gb),
                    gh0: &mut gh,
                    gc0: c0.as_ref().map(|_| &mut gc[..]),
                };
                let mut work = vec![f64::NAN; p.backward_work_len()];
                rnn_backward(&w, &saved, &x, &k, &r, Some(&mask), &p, grads, &mut work).unwrap();
                let eps = 1e-6;
                let fd = |which: usize, idx: usize| {
                    let mut args = [x.clone(), k.clone(), r.clone(), b.clone(), h0.clone(), c0.clone().unwrap_or_default()];
                    args[which][idx] += eps;
                    let up = loss(&p, &args[0], &args[1], &args[2], &args[3], &args[4], c0.as_ref().map(|_| &args[5][..]), Some(&mask), &w);
                    args[which][idx] -= 2.0 * eps;
                    let dn = loss(&p, &args[0], &args[1], &args[2], &args[3], &args[4], c0.as_ref().map(|_| &args[5][..]), Some(&mask), &w);
                    (up - dn) / (2.0 * eps)
                };
                let mut all = vec![(0, &gx), (1, &gk), (2, &gr), (3, &gb), (4, &gh)];
                if c0.is_some() {
                    all.push((5, &gc));
                }
                for (which, grad) in all {
                    for (idx, &an) in grad.iter().enumerate() {
                        let num = fd(which, idx);
                        assert!((an - num).abs() < 1e-6, "{cell:?} rev={reverse} zero={zero_masked} arg {which}[{idx}]: {an} vs {num}");
                    }
                }
            }
        }
    }

    #[test]
    fn bad_lengths_are_errors() {
        let p = params(RnnCell::Lstm, 2, 3, 4, 5);
        let mut out = vec![0.0f32; 2 * 5 * 5];
        let z = vec![0.0f32; 1000];
        let mut w = vec![0.0f32; p.forward_work_len()];
        assert!(rnn_forward(&z[..24], &z[..80], &z[..100], None, &z[..10], None, None, &mut out, None, &mut w, &p).is_err());
        assert!(rnn_forward(&z[..23], &z[..80], &z[..100], None, &z[..10], Some(&z[..10]), None, &mut out, None, &mut w, &p).is_err());
        assert!(rnn_forward(&z[..24], &z[..80], &z[..100], None, &z[..10], Some(&z[..10]), None, &mut out, None, &mut w, &p).is_ok());
    }
}
