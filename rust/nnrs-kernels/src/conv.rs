//! 2-D convolution over channels-last images (1-D is the same kernel with height 1).
//!
//! Layouts: input x `(n, h, w, c)`, kernel w `(kh, kw, c / groups, oc)` (Keras'), output
//! y `(n, oh, ow, oc)`. The convolution is a matrix product per group: the patch matrix
//! (one row per output pixel, see [`im2col`]) times the kernel seen as a
//! `(kh * kw * c / groups, oc)` matrix, whose columns of group g are `g * oc / groups ..`.
//!
//! Workspace is bounded: the patch matrix is built for a tile of output rows at a time
//! (at most [`WORKSPACE_BYTES`] per thread) and reused, never for the whole batch. Work is
//! split into jobs of whole images (so the input gradient's writes never overlap) that run
//! on the nnrs pool; a 1x1 convolution with stride 1 and no padding is one plain product on
//! the `(n * h * w, c)` view. A float32 convolution of one group and at most 4 input
//! channels runs direct kernels (module `direct`, AVX2 / AVX-512) without patch matrices.

use crate::activation::{activation_forward, Activation, ActivationParams};
use crate::fastmath::Real;
use crate::gemm::{matmul_into, MatmulParams, GEMM_PAR_WORK};
use crate::{parallel, Float, KernelError};
use rayon::prelude::*;

/// Bytes of patch matrix one thread works on at a time: small enough to stay in a core's L2
/// cache between being written (im2col) and read (the product). On the bench machine (Zen 4,
/// 1 MiB L2 per core) 256 KiB to 2 MiB measured alike (within noise) for the 3x3 convs of
/// benches/run.py; 512 KiB keeps a tile in L2 with room for the product's packed operands.
pub const WORKSPACE_BYTES: usize = 512 << 10;

/// The geometry of a convolution (all sizes in elements; paddings explicit per side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub oc: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
    pub dil_h: usize,
    pub dil_w: usize,
    pub groups: usize,
}

impl Conv2dParams {
    /// Extent of the dilated kernel along height and width.
    pub fn kernel_extent(&self) -> (usize, usize) {
        ((self.kh.max(1) - 1) * self.dil_h + 1, (self.kw.max(1) - 1) * self.dil_w + 1)
    }

    /// Output height and width (call after [`Conv2dParams::check`]).
    pub fn out_hw(&self) -> (usize, usize) {
        let (eh, ew) = self.kernel_extent();
        let ph = self.h + self.pad_top + self.pad_bottom;
        let pw = self.w + self.pad_left + self.pad_right;
        (if ph >= eh { (ph - eh) / self.stride_h + 1 } else { 0 }, if pw >= ew { (pw - ew) / self.stride_w + 1 } else { 0 })
    }

    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }

    /// Output channels per group.
    pub fn ocg(&self) -> usize {
        self.oc / self.groups
    }

    /// Columns of one group's patch matrix: kh * kw * c / groups.
    pub fn kg(&self) -> usize {
        self.kh * self.kw * self.cg()
    }

    /// Columns of the whole patch matrix: kh * kw * c.
    pub fn patch_len(&self) -> usize {
        self.kg() * self.groups
    }

    pub fn x_len(&self) -> usize {
        self.n * self.h * self.w * self.c
    }

    pub fn w_len(&self) -> usize {
        self.kg() * self.oc
    }

    pub fn y_len(&self) -> usize {
        let (oh, ow) = self.out_hw();
        self.n * oh * ow * self.oc
    }

    /// Rows of the patch matrix: n * oh * ow.
    pub fn rows(&self) -> usize {
        let (oh, ow) = self.out_hw();
        self.n * oh * ow
    }

    /// Checks that the geometry is a convolution: positive sizes, strides and dilations,
    /// channels divisible by groups, a dilated kernel that fits in the padded input.
    pub fn check(&self) -> Result<(), KernelError> {
        let p = self;
        if p.kh == 0 || p.kw == 0 || p.c == 0 || p.oc == 0 || p.groups == 0 {
            return Err(KernelError(format!("conv2d: kernel sizes, channels and groups must be positive, got {p:?}")));
        }
        if p.stride_h == 0 || p.stride_w == 0 || p.dil_h == 0 || p.dil_w == 0 {
            return Err(KernelError(format!("conv2d: strides and dilations must be positive, got {p:?}")));
        }
        if !p.c.is_multiple_of(p.groups) || !p.oc.is_multiple_of(p.groups) {
            return Err(KernelError(format!(
                "conv2d: input channels {} and output channels {} must be divisible by groups {}",
                p.c, p.oc, p.groups
            )));
        }
        let (eh, ew) = p.kernel_extent();
        let (ph, pw) = (p.h + p.pad_top + p.pad_bottom, p.w + p.pad_left + p.pad_right);
        if eh > ph || ew > pw {
            return Err(KernelError(format!("conv2d: the dilated kernel ({eh}, {ew}) is larger than the padded input ({ph}, {pw})")));
        }
        Ok(())
    }

    fn check_lens(&self, kernel: &str, lens: &[(&str, usize, usize)]) -> Result<(), KernelError> {
        self.check()?;
        for &(arg, got, want) in lens {
            if got != want {
                return Err(KernelError(format!("{kernel}: {arg} has {got} elements, expected {want} for {self:?}")));
            }
        }
        Ok(())
    }

    /// Whether every group reads one input channel (depthwise): then the kernels work
    /// directly, channel-vectorized, without patch matrices.
    fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.cg() == 1
    }

    /// Whether the convolution is a plain product on the `(n * h * w, c)` view.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
            && self.groups == 1
    }
}

// ---- strided products ------------------------------------------------------------------------

/// A strided matrix view: element (i, j) at `off + i * rs + j * cs`.
#[derive(Clone, Copy)]
struct View {
    off: usize,
    rs: usize,
    cs: usize,
}

/// `c = [c +] a @ b` for a (m, k), b (k, n), c (m, n), each a strided view of its slice.
#[allow(clippy::too_many_arguments)]
fn gemm_view<T: Float>(
    (m, n, k): (usize, usize, usize),
    a: &[T],
    va: View,
    b: &[T],
    vb: View,
    c: &mut [T],
    vc: View,
    accumulate: bool,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |v: View, r: usize, cl: usize| v.off + (r - 1) * v.rs + (cl - 1) * v.cs;
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    c[vc.off + i * vc.rs + j * vc.cs] = T::zero();
                }
            }
        }
        return;
    }
    assert!(last(va, m, k) < a.len() && last(vb, k, n) < b.len() && last(vc, m, n) < c.len(), "gemm_view: view out of bounds");
    let par = if threads > 1 && m * n * k >= GEMM_PAR_WORK { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    let mut go = || {
        // SAFETY: the assert above checked that the last element each view reaches lies
        // inside its slice (all strides are non-negative, so every other element does too);
        // `c` is a unique borrow, so it does not alias `a` or `b`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr().add(vc.off),
                vc.cs as isize,
                vc.rs as isize,
                accumulate,
                a.as_ptr().add(va.off),
                va.cs as isize,
                va.rs as isize,
                b.as_ptr().add(vb.off),
                vb.cs as isize,
                vb.rs as isize,
                T::one(),
                T::one(),
                false,
                false,
                false,
                par,
            )
        }
    };
    if matches!(par, gemm::Parallelism::Rayon(_)) {
        parallel::pool().install(go);
    } else {
        go();
    }
}

// ---- patches -----------------------------------------------------------------------------------

/// Writes the patch rows `r0..r0 + rows` (row r = output pixel (b, oy, ox) in C order) into
/// `col` (rows, kh * kw * c): columns ordered (group, ky, kx, channel within the group),
/// which for one group is (ky, kx, c). Positions in the padding are zeros.
fn im2col_rows<T: Float>(x: &[T], col: &mut [T], p: &Conv2dParams, r0: usize, rows: usize) {
    let (oh, ow) = p.out_hw();
    let (cg, kg, pl) = (p.cg(), p.kg(), p.patch_len());
    // one group and no dilation along the width: the taps of a kernel row are kw adjacent
    // pixels, so each kernel row is one copy of kw * c elements (clipped at the borders)
    let contiguous = p.groups == 1 && p.dil_w == 1;
    let run = p.kw * p.c;
    // output pixel of the first row, then stepped row by row (no divisions per row)
    let (mut b, mut oy, mut ox) = (r0 / (oh * ow).max(1), (r0 / ow.max(1)) % oh.max(1), r0 % ow.max(1));
    for row in col[..rows * pl].chunks_exact_mut(pl) {
        let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;
        for ky in 0..p.kh {
            let iy = (oy * p.stride_h + ky * p.dil_h) as isize - p.pad_top as isize;
            if contiguous {
                let seg = &mut row[ky * run..(ky + 1) * run];
                let kx0 = (-ix0).clamp(0, p.kw as isize) as usize;
                let kx1 = (p.w as isize - ix0).clamp(0, p.kw as isize) as usize;
                if iy < 0 || iy as usize >= p.h || kx0 >= kx1 {
                    seg.iter_mut().for_each(|v| *v = T::zero());
                    continue;
                }
                seg[..kx0 * p.c].iter_mut().for_each(|v| *v = T::zero());
                seg[kx1 * p.c..].iter_mut().for_each(|v| *v = T::zero());
                let src = ((b * p.h + iy as usize) * p.w + (ix0 + kx0 as isize) as usize) * p.c;
                copy_run(&mut seg[kx0 * p.c..kx1 * p.c], &x[src..src + (kx1 - kx0) * p.c]);
                continue;
            }
            for kx in 0..p.kw {
                let ix = (ox * p.stride_w + kx * p.dil_w) as isize - p.pad_left as isize;
                let inside = iy >= 0 && (iy as usize) < p.h && ix >= 0 && (ix as usize) < p.w;
                let src = if inside { ((b * p.h + iy as usize) * p.w + ix as usize) * p.c } else { 0 };
                let at = (ky * p.kw + kx) * cg;
                for g in 0..p.groups {
                    let dst = &mut row[g * kg + at..g * kg + at + cg];
                    if inside {
                        copy_run(dst, &x[src + g * cg..src + (g + 1) * cg]);
                    } else {
                        dst.iter_mut().for_each(|v| *v = T::zero());
                    }
                }
            }
        }
        ox += 1;
        if ox == ow {
            ox = 0;
            oy += 1;
            if oy == oh {
                oy = 0;
                b += 1;
            }
        }
    }
}

/// `dst.copy_from_slice(src)`, with runs of up to 16 elements copied by inline moves of a
/// size known at compile time (a call of memcpy per short run costs more than the copy:
/// a 3-channel 3x3 patch row is 3 runs of 9).
#[inline(always)]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    #[inline(always)]
    fn fixed<T: Copy, const N: usize>(dst: &mut [T], src: &[T]) {
        dst[..N].copy_from_slice(&src[..N]);
    }
    match dst.len() {
        1 => fixed::<T, 1>(dst, src),
        2 => fixed::<T, 2>(dst, src),
        3 => fixed::<T, 3>(dst, src),
        4 => fixed::<T, 4>(dst, src),
        5 => fixed::<T, 5>(dst, src),
        6 => fixed::<T, 6>(dst, src),
        7 => fixed::<T, 7>(dst, src),
        8 => fixed::<T, 8>(dst, src),
        9 => fixed::<T, 9>(dst, src),
        10 => fixed::<T, 10>(dst, src),
        11 => fixed::<T, 11>(dst, src),
        12 => fixed::<T, 12>(dst, src),
        13 => fixed::<T, 13>(dst, src),
        14 => fixed::<T, 14>(dst, src),
        15 => fixed::<T, 15>(dst, src),
        16 => fixed::<T, 16>(dst, src),
        _ => dst.copy_from_slice(src),
    }
}

/// The adjoint of [`im2col_rows`]: adds patch rows `r0..r0 + rows` of `col` into `gx`,
/// which holds the images from `img0` on.
fn col2im_rows<T: Float>(col: &[T], gx: &mut [T], p: &Conv2dParams, r0: usize, rows: usize, img0: usize) {
    let (oh, ow) = p.out_hw();
    let (cg, kg, pl) = (p.cg(), p.kg(), p.patch_len());
    let (mut b, mut oy, mut ox) = (r0 / (oh * ow).max(1) - img0, (r0 / ow.max(1)) % oh.max(1), r0 % ow.max(1));
    for row in col[..rows * pl].chunks_exact(pl) {
        let (cb, coy, cox) = (b, oy, ox);
        ox += 1;
        if ox == ow {
            ox = 0;
            oy += 1;
            if oy == oh {
                oy = 0;
                b += 1;
            }
        }
        let (b, oy, ox) = (cb, coy, cox);
        for ky in 0..p.kh {
            let iy = (oy * p.stride_h + ky * p.dil_h) as isize - p.pad_top as isize;
            if iy < 0 || iy as usize >= p.h {
                continue;
            }
            for kx in 0..p.kw {
                let ix = (ox * p.stride_w + kx * p.dil_w) as isize - p.pad_left as isize;
                if ix < 0 || ix as usize >= p.w {
                    continue;
                }
                let dst = ((b * p.h + iy as usize) * p.w + ix as usize) * p.c;
                let at = (ky * p.kw + kx) * cg;
                for g in 0..p.groups {
                    let src = &row[g * kg + at..g * kg + at + cg];
                    for (o, &v) in gx[dst + g * cg..dst + (g + 1) * cg].iter_mut().zip(src) {
                        *o = *o + v;
                    }
                }
            }
        }
    }
}

/// The patch matrix of x: `col` (n * oh * ow, kh * kw * c), columns ordered (group, ky, kx,
/// channel in group) — for one group (ky, kx, c), so that `col @ w.reshape(kh * kw * c, oc)`
/// is the convolution.
pub fn im2col<T: Float>(x: &[T], col: &mut [T], p: &Conv2dParams) -> Result<(), KernelError> {
    p.check_lens("im2col", &[("x", x.len(), p.x_len()), ("col", col.len(), p.rows() * p.patch_len())])?;
    let pl = p.patch_len();
    let rows_per = (WORKSPACE_BYTES / std::mem::size_of::<T>() / pl.max(1)).max(1);
    parallel::for_item_chunks(col, pl * rows_per, parallel::work_ns(col.len(), 2), |first, chunk| {
        for (j, c) in chunk.chunks_mut(pl * rows_per).enumerate() {
            im2col_rows(x, c, p, (first + j) * rows_per, c.len() / pl.max(1));
        }
    });
    Ok(())
}

/// The adjoint of [`im2col`]: `gx` (n, h, w, c) = sum of the patch rows of `col` put back
/// where they were taken from (overlapping patches add up).
pub fn col2im<T: Float>(col: &[T], gx: &mut [T], p: &Conv2dParams) -> Result<(), KernelError> {
    p.check_lens("col2im", &[("col", col.len(), p.rows() * p.patch_len()), ("gx", gx.len(), p.x_len())])?;
    let (oh, ow) = p.out_hw();
    let img = p.h * p.w * p.c;
    let (prow, pl) = (oh * ow, p.patch_len());
    gx.iter_mut().for_each(|v| *v = T::zero());
    parallel::for_item_chunks(gx, img, parallel::work_ns(col.len(), 2), |first, chunk| {
        let imgs = chunk.len() / img.max(1);
        let r0 = first * prow;
        col2im_rows(&col[r0 * pl..(r0 + imgs * prow) * pl], chunk, p, r0, imgs * prow, first);
    });
    Ok(())
}

// ---- depthwise (one input channel per group) ----------------------------------------------------
// Output channel o = ci * mult + m reads input channel ci: per output pixel and kernel offset,
// one pass over the contiguous channels of an input pixel, a kernel row and an output row.

/// The input rows (pixel offsets into x) output pixel (oy, ox) of image b reads, with the
/// kernel offset index of each: calls `f(x_offset, ky * kw + kx)` for the offsets inside.
#[inline(always)]
fn dw_taps(p: &Conv2dParams, b: usize, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
    for ky in 0..p.kh {
        let iy = (oy * p.stride_h + ky * p.dil_h) as isize - p.pad_top as isize;
        if iy < 0 || iy as usize >= p.h {
            continue;
        }
        for kx in 0..p.kw {
            let ix = (ox * p.stride_w + kx * p.dil_w) as isize - p.pad_left as isize;
            if ix < 0 || ix as usize >= p.w {
                continue;
            }
            f(((b * p.h + iy as usize) * p.w + ix as usize) * p.c, ky * p.kw + kx);
        }
    }
}

crate::multiversion! {
    /// Depthwise forward of the images from `img0` on into `y` (whole images, (oh, ow, oc) each).
    fn dw_forward<T: Float>(x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], p: &Conv2dParams, img0: usize) {
        let (oh, ow) = p.out_hw();
        let (oc, mult) = (p.oc, p.ocg());
        for (i, yrow) in y.chunks_exact_mut(oc).enumerate() {
            let (b, oy, ox) = (img0 + i / (oh * ow), (i / ow) % oh, i % ow);
            match bias {
                Some(bs) => yrow.copy_from_slice(bs),
                None => yrow.iter_mut().for_each(|v| *v = T::zero()),
            }
            dw_taps(p, b, oy, ox, |xo, t| {
                let (xrow, wrow) = (&x[xo..xo + p.c], &w[t * oc..(t + 1) * oc]);
                if mult == 1 {
                    for ((o, &a), &k) in yrow.iter_mut().zip(xrow).zip(wrow) {
                        *o = *o + a * k;
                    }
                } else {
                    for ((os, &a), ks) in yrow.chunks_exact_mut(mult).zip(xrow).zip(wrow.chunks_exact(mult)) {
                        for (o, &k) in os.iter_mut().zip(ks) {
                            *o = *o + a * k;
                        }
                    }
                }
            });
        }
    }
}

crate::multiversion! {
    /// Depthwise input gradient of the images from `img0` on into `gx` (whole images).
    fn dw_backward_input<T: Float>(gy: &[T], w: &[T], gx: &mut [T], p: &Conv2dParams, img0: usize) {
        let (oh, ow) = p.out_hw();
        let (oc, mult, c) = (p.oc, p.ocg(), p.c);
        let imgs = gx.len() / (p.h * p.w * c).max(1);
        gx.iter_mut().for_each(|v| *v = T::zero());
        let base = img0 * p.h * p.w * c;
        for i in 0..imgs * oh * ow {
            let (b, oy, ox) = (img0 + i / (oh * ow), (i / ow) % oh, i % ow);
            let r = (img0 * oh * ow + i) * oc;
            let grow = &gy[r..r + oc];
            dw_taps(p, b, oy, ox, |xo, t| {
                let (dst, wrow) = (&mut gx[xo - base..xo - base + c], &w[t * oc..(t + 1) * oc]);
                if mult == 1 {
                    for ((o, &g), &k) in dst.iter_mut().zip(grow).zip(wrow) {
                        *o = *o + g * k;
                    }
                } else {
                    for ((o, gs), ks) in dst.iter_mut().zip(grow.chunks_exact(mult)).zip(wrow.chunks_exact(mult)) {
                        *o = gs.iter().zip(ks).fold(*o, |acc, (&g, &k)| acc + g * k);
                    }
                }
            });
        }
    }
}

crate::multiversion! {
    /// Depthwise kernel gradient of images `img0 .. img0 + imgs`, added into `acc` (kh * kw * oc).
    fn dw_backward_weight<T: Float>(x: &[T], gy: &[T], acc: &mut [T], p: &Conv2dParams, img0: usize, imgs: usize) {
        let (oh, ow) = p.out_hw();
        let (oc, mult, c) = (p.oc, p.ocg(), p.c);
        for i in 0..imgs * oh * ow {
            let (b, oy, ox) = (img0 + i / (oh * ow), (i / ow) % oh, i % ow);
            let r = (img0 * oh * ow + i) * oc;
            let grow = &gy[r..r + oc];
            dw_taps(p, b, oy, ox, |xo, t| {
                let (xrow, arow) = (&x[xo..xo + c], &mut acc[t * oc..(t + 1) * oc]);
                if mult == 1 {
                    for ((a, &v), &g) in arow.iter_mut().zip(xrow).zip(grow) {
                        *a = *a + v * g;
                    }
                } else {
                    for ((as_, &v), gs) in arow.chunks_exact_mut(mult).zip(xrow).zip(grow.chunks_exact(mult)) {
                        for (a, &g) in as_.iter_mut().zip(gs) {
                            *a = *a + v * g;
                        }
                    }
                }
            });
        }
    }
}

/// Images per job of the depthwise kernels: about 4 jobs per thread.
fn dw_plan(p: &Conv2dParams) -> Plan {
    let threads = parallel::num_threads();
    let imgs = p.n.div_ceil(4 * threads).max(1);
    let work = p.rows() * p.kh * p.kw * p.oc;
    Plan { imgs, tile: 0, parallel: threads > 1 && p.n.div_ceil(imgs) >= 2 && work >= (1 << 16) }
}

crate::multiversion! {
    /// `y[row, j] += b[j]` for every row of y (rows of b.len()).
    fn add_bias<T: Float>(y: &mut [T], b: &[T]) {
        for row in y.chunks_exact_mut(b.len().max(1)) {
            for (v, &a) in row.iter_mut().zip(b) {
                *v = *v + a;
            }
        }
    }
}

crate::multiversion! {
    /// `acc[j] += sum over the rows of m (rows of acc.len()) of m[row, j]`.
    fn add_rows<T: Float>(m: &[T], acc: &mut [T]) {
        for row in m.chunks_exact(acc.len().max(1)) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = *a + v;
            }
        }
    }
}

// ---- direct (f32, up to 32 input channels, one group) -----------------------------------------
// With a handful of input channels the patch matrix has few columns (27 for a 3-channel 3x3
// kernel): building it costs as much as the thin product. The direct kernels read a
// zero-padded copy of one image instead and keep a block of results in vector registers
// (forward: R output pixels x L output channels; kernel gradient: Q kernel entries x L
// output channels). They are f32 only, for CPUs with AVX2 and FMA (AVX-512 when present);
// everything else takes the patch path. The stride-1 gradient wrt x runs the forward one
// (see `input_grad_as_forward`).

#[cfg(target_arch = "x86_64")]
/// Input channels up to which a one-group convolution runs directly (without patches). On
/// the bench machine (Zen 4) the direct kernels beat the patch path clearly up to 16
/// channels (LeNet's 16 -> 32 5x5: forward 1.99 -> 1.49 ms) and match it at 32 (the 32 -> 64
/// 3x3 bench case: 41 ms either way), where they still save the patch workspace.
const DIRECT_MAX_C: usize = 32;

#[cfg(target_arch = "x86_64")]
/// Width of the zero-padded image the direct kernels read.
fn padded_w(p: &Conv2dParams) -> usize {
    p.w + p.pad_left + p.pad_right
}

#[cfg(target_arch = "x86_64")]
/// Image b of x, zero-padded on every side, into `buf` ((h + pads) x (w + pads) x c).
fn pad_image<T: Copy + Default>(x: &[T], p: &Conv2dParams, b: usize, buf: &mut Vec<T>) {
    let (hp, wp, c) = (p.h + p.pad_top + p.pad_bottom, padded_w(p), p.c);
    buf.clear();
    buf.resize(hp * wp * c, T::default());
    let img = &x[b * p.h * p.w * c..(b + 1) * p.h * p.w * c];
    for (iy, src) in img.chunks_exact(p.w * c).enumerate() {
        let at = ((iy + p.pad_top) * wp + p.pad_left) * c;
        buf[at..at + p.w * c].copy_from_slice(src);
    }
}

#[cfg(target_arch = "x86_64")]
/// Offsets, relative to an output pixel's corner in the padded image, of the kernel's
/// entries in the order (ky, kx, channel): the rows of the kernel seen as a matrix.
fn tap_offsets(p: &Conv2dParams) -> Vec<usize> {
    let wp = padded_w(p);
    let mut offs = Vec::with_capacity(p.kg());
    for ky in 0..p.kh {
        for kx in 0..p.kw {
            for ci in 0..p.c {
                offs.push((ky * p.dil_h * wp + kx * p.dil_w) * p.c + ci);
            }
        }
    }
    offs
}

#[cfg(target_arch = "x86_64")]
/// `s` seen as f32 when T is f32.
fn f32_slice<T: 'static>(s: &[T]) -> Option<&[f32]> {
    if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: T is f32 (same TypeId), so the memory is a valid [f32] of the same length.
    Some(unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) })
}

#[cfg(target_arch = "x86_64")]
/// `s` seen as mutable f32 when T is f32.
fn f32_slice_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: T is f32 (same TypeId), so the memory is a valid [f32] of the same length;
    // the unique borrow of `s` moves into the result.
    Some(unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) })
}

#[cfg(target_arch = "x86_64")]
mod direct {
    use super::{pad_image, tap_offsets, Conv2dParams};
    use std::arch::x86_64::*;

    /// The vector extensions the direct kernels are compiled for.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Isa {
        Avx512,
        Avx2,
    }

    pub fn isa() -> Option<Isa> {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("fma") {
            return Some(if has!("avx512f") { Isa::Avx512 } else { Isa::Avx2 });
        }
        None
    }

    /// A vector of f32 lanes. Every method needs the CPU feature of its type (AVX-512F for
    /// `__m512`, AVX2 + FMA for `__m256`): callers are compiled with it and run only where
    /// [`isa`] found it, and they pass pointers to at least `N` readable (writable) lanes.
    trait Vf: Copy {
        const N: usize;
        unsafe fn splat(v: f32) -> Self;
        unsafe fn load(p: *const f32) -> Self;
        unsafe fn store(p: *mut f32, v: Self);
        /// `a * b + c`, one rounding.
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
        unsafe fn add(a: Self, b: Self) -> Self;
    }

    impl Vf for __m512 {
        const N: usize = 16;
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            _mm512_set1_ps(v)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            _mm512_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            _mm512_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            _mm512_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            _mm512_add_ps(a, b)
        }
    }

    impl Vf for __m256 {
        const N: usize = 8;
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            _mm256_set1_ps(v)
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            _mm256_loadu_ps(p)
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: Self) {
            _mm256_storeu_ps(p, v)
        }
        #[inline(always)]
        unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
            _mm256_fmadd_ps(a, b, c)
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            _mm256_add_ps(a, b)
        }
    }

    /// Calls `$go!(k)` with the literal k = `$n` (1 ..= 12): block sizes as constants.
    macro_rules! upto12 {
        ($n:expr, $go:ident) => {
            match $n {
                1 => $go!(1),
                2 => $go!(2),
                3 => $go!(3),
                4 => $go!(4),
                5 => $go!(5),
                6 => $go!(6),
                7 => $go!(7),
                8 => $go!(8),
                9 => $go!(9),
                10 => $go!(10),
                11 => $go!(11),
                12 => $go!(12),
                _ => unreachable!("block size out of range"),
            }
        };
    }

    /// Forward of the R output pixels from `ox0` of row `oy`, output channels `o0 .. o0 + NV * N`:
    /// `wk` is the kernel (kg, ocp), `bp` the bias (ocp), both zero-padded to ocp channels.
    /// Needs V's CPU feature.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::needless_range_loop)]
    unsafe fn fwd_block<V: Vf, const NV: usize, const R: usize>(
        xp: &[f32],
        offs: &[usize],
        wk: &[f32],
        bp: &[f32],
        yrow: &mut [f32],
        p: &Conv2dParams,
        (oy, ox0, o0, ocp): (usize, usize, usize, usize),
    ) {
        let l = NV * V::N;
        let step = p.stride_w * p.c;
        let corner = (oy * p.stride_h * super::padded_w(p) + ox0 * p.stride_w) * p.c;
        let bias = &bp[o0..o0 + l];
        let mut acc = [[V::splat(0.0); NV]; R];
        for r in 0..R {
            for j in 0..NV {
                acc[r][j] = V::load(bias.as_ptr().add(j * V::N));
            }
        }
        let last_off = offs.iter().copied().max().unwrap_or(0);
        assert!(corner + last_off + (R - 1) * step < xp.len() && offs.len() * ocp <= wk.len() && o0 + l <= ocp, "fwd_block: out of bounds");
        let (x0, w0) = (xp.as_ptr().add(corner), wk.as_ptr().add(o0));
        for (q, &off) in offs.iter().enumerate() {
            // SAFETY (reads): the assert above bounds every x offset (off + r * step) and every
            // kernel row (q * ocp + o0 + l <= kg * ocp)
            let wq = w0.add(q * ocp);
            let mut wv = [V::splat(0.0); NV];
            for j in 0..NV {
                wv[j] = V::load(wq.add(j * V::N));
            }
            let xq = x0.add(off);
            for r in 0..R {
                let xv = V::splat(*xq.add(r * step));
                for j in 0..NV {
                    acc[r][j] = V::fma(xv, wv[j], acc[r][j]);
                }
            }
        }
        let n = l.min(p.oc - o0);
        assert!((ox0 + R - 1) * p.oc + o0 + n <= yrow.len(), "fwd_block: output out of bounds");
        let y0 = yrow.as_mut_ptr().add(ox0 * p.oc + o0);
        for r in 0..R {
            // SAFETY (writes): the assert above bounds the last pixel's n channels
            let yr = y0.add(r * p.oc);
            if n == l {
                for j in 0..NV {
                    V::store(yr.add(j * V::N), acc[r][j]);
                }
            } else {
                let mut tmp = [0.0f32; 64];
                for j in 0..NV {
                    V::store(tmp.as_mut_ptr().add(j * V::N), acc[r][j]);
                }
                std::ptr::copy_nonoverlapping(tmp.as_ptr(), yr, n);
            }
        }
    }

    /// Direct forward (no activation) of the images from `img0` on into `y` (whole images).
    /// Needs V's CPU feature.
    #[inline(always)]
    unsafe fn fwd_images<V: Vf, const NV: usize, const R: usize>(
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        p: &Conv2dParams,
        img0: usize,
    ) {
        let (oh, ow) = p.out_hw();
        let (oc, kg, l) = (p.oc, p.kg(), NV * V::N);
        let ocp = oc.div_ceil(l) * l;
        let mut wk = vec![0.0f32; kg * ocp];
        for (d, s) in wk.chunks_exact_mut(ocp).zip(w.chunks_exact(oc)) {
            d[..oc].copy_from_slice(s);
        }
        let mut bp = vec![0.0f32; ocp];
        if let Some(b) = bias {
            bp[..oc].copy_from_slice(b);
        }
        let offs = tap_offsets(p);
        let mut xp = Vec::new();
        for (i, yi) in y.chunks_exact_mut(oh * ow * oc).enumerate() {
            pad_image(x, p, img0 + i, &mut xp);
            for (oy, yrow) in yi.chunks_exact_mut(ow * oc).enumerate() {
                for o0 in (0..ocp).step_by(l) {
                    // blocks of equal width (14 pixels as 7 + 7, not 12 + 2)
                    let rb = ow.div_ceil(ow.div_ceil(R));
                    let mut ox0 = 0;
                    while ox0 < ow {
                        let r = rb.min(ow - ox0);
                        macro_rules! go {
                            ($k:literal) => {
                                fwd_block::<V, NV, $k>(&xp, &offs, &wk, &bp, yrow, p, (oy, ox0, o0, ocp))
                            };
                        }
                        upto12!(r, go);
                        ox0 += r;
                    }
                }
            }
        }
    }

    // One vector of output channels when they fit in one (no lanes spent on padding), else two.
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn fwd_avx512(x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32], p: &Conv2dParams, img0: usize) {
        if p.oc <= 16 {
            fwd_images::<__m512, 1, 12>(x, w, bias, y, p, img0)
        } else {
            fwd_images::<__m512, 2, 12>(x, w, bias, y, p, img0)
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn fwd_avx2(x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32], p: &Conv2dParams, img0: usize) {
        if p.oc <= 8 {
            fwd_images::<__m256, 1, 12>(x, w, bias, y, p, img0)
        } else {
            fwd_images::<__m256, 2, 6>(x, w, bias, y, p, img0)
        }
    }

    /// Direct forward (no activation) of the images from `img0` on into `y` (whole images).
    pub fn forward(isa: Isa, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32], p: &Conv2dParams, img0: usize) {
        match isa {
            // SAFETY: `isa` (the only maker of an Isa) found AVX-512F, AVX2 and FMA on this CPU.
            Isa::Avx512 => unsafe { fwd_avx512(x, w, bias, y, p, img0) },
            // SAFETY: `isa` found AVX2 and FMA on this CPU.
            Isa::Avx2 => unsafe { fwd_avx2(x, w, bias, y, p, img0) },
        }
    }

    /// Kernel gradient of the Q kernel entries from `q0`, output channels `o0 .. o0 + NV * N`,
    /// over every output pixel of one image (gradient `gimg`, (oh * ow, ocp)), added into `gk`
    /// (kg, ocp). The whole image in one pass keeps the accumulators in registers for
    /// oh * ow pixels (a row at a time spent as much on loading and storing them as on the
    /// sums for LeNet's 14-pixel rows). Needs V's CPU feature.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    unsafe fn gw_block<V: Vf, const NV: usize, const Q: usize>(
        xp: &[f32],
        offs: &[usize],
        gimg: &[f32],
        gk: &mut [f32],
        p: &Conv2dParams,
        (q0, o0, ocp): (usize, usize, usize),
    ) {
        let l = NV * V::N;
        let (oh, ow) = p.out_hw();
        let step = p.stride_w * p.c;
        let row_step = p.stride_h * super::padded_w(p) * p.c;
        let offs: &[usize; Q] = offs[q0..q0 + Q].try_into().unwrap();
        let last_off = offs.iter().copied().max().unwrap_or(0);
        assert!(
            oh == 0
                || ow == 0
                || ((oh - 1) * row_step + (ow - 1) * step + last_off < xp.len() && (oh * ow - 1) * ocp + o0 + l <= gimg.len()),
            "gw_block: out of bounds"
        );
        let mut acc = [[V::splat(0.0); NV]; Q];
        for oy in 0..oh {
            let (x0, g0) = (xp.as_ptr().add(oy * row_step), gimg.as_ptr().add(oy * ow * ocp + o0));
            for ox in 0..ow {
                // SAFETY (reads): the assert above bounds the last pixel's gradient row and x offsets
                let g = g0.add(ox * ocp);
                let mut gv = [V::splat(0.0); NV];
                for j in 0..NV {
                    gv[j] = V::load(g.add(j * V::N));
                }
                let xo = x0.add(ox * step);
                for q in 0..Q {
                    let xv = V::splat(*xo.add(offs[q]));
                    for j in 0..NV {
                        acc[q][j] = V::fma(xv, gv[j], acc[q][j]);
                    }
                }
            }
        }
        for (q, a) in acc.iter().enumerate() {
            let at = (q0 + q) * ocp + o0;
            let dst = &mut gk[at..at + l];
            for (j, &v) in a.iter().enumerate() {
                let ptr = dst[j * V::N..].as_mut_ptr();
                V::store(ptr, V::add(V::load(ptr), v));
            }
        }
    }

    /// Bias gradient of `ow` output pixels (gradient `grow`, (ow, ocp)), channels `o0 .. o0 + NV * N`,
    /// added into `gbs` (ocp). Needs V's CPU feature.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    unsafe fn gb_row<V: Vf, const NV: usize>(grow: &[f32], gbs: &mut [f32], ow: usize, o0: usize, ocp: usize) {
        let l = NV * V::N;
        assert!(ow * ocp <= grow.len() && o0 + l <= gbs.len() && o0 + l <= ocp, "gb_row: out of bounds");
        let mut acc = [V::splat(0.0); NV];
        let g0 = grow.as_ptr().add(o0);
        for ox in 0..ow {
            // SAFETY (reads): pixel ox's channels o0 .. o0 + l lie below ow * ocp (assert above)
            for j in 0..NV {
                acc[j] = V::add(acc[j], V::load(g0.add(ox * ocp + j * V::N)));
            }
        }
        let b0 = gbs.as_mut_ptr().add(o0);
        for j in 0..NV {
            V::store(b0.add(j * V::N), V::add(V::load(b0.add(j * V::N)), acc[j]));
        }
    }

    /// Direct kernel gradient of images `img0 .. img0 + imgs`, added into `acc` (kg x oc, then
    /// oc for the bias when `want_gb`). Needs V's CPU feature.
    #[inline(always)]
    unsafe fn gw_images<V: Vf, const NV: usize, const Q: usize>(
        x: &[f32],
        gy: &[f32],
        acc: &mut [f32],
        p: &Conv2dParams,
        (img0, imgs): (usize, usize),
        want_gb: bool,
    ) {
        let (oh, ow) = p.out_hw();
        let (oc, kg, l) = (p.oc, p.kg(), NV * V::N);
        let ocp = oc.div_ceil(l) * l;
        let mut gk = vec![0.0f32; kg * ocp];
        let mut gbs = vec![0.0f32; ocp];
        let offs = tap_offsets(p);
        let mut xp = Vec::new();
        let pix = oh * ow;
        let mut padded = vec![0.0f32; if ocp == oc { 0 } else { pix * ocp }];
        for b in img0..img0 + imgs {
            pad_image(x, p, b, &mut xp);
            let r = b * pix * oc;
            let gimg = if ocp == oc {
                &gy[r..r + pix * oc]
            } else {
                for (d, s) in padded.chunks_exact_mut(ocp).zip(gy[r..r + pix * oc].chunks_exact(oc)) {
                    d[..oc].copy_from_slice(s);
                }
                &padded[..]
            };
            for o0 in (0..ocp).step_by(l) {
                let mut q0 = 0;
                while q0 < kg {
                    let q = Q.min(kg - q0);
                    macro_rules! go {
                        ($k:literal) => {
                            gw_block::<V, NV, $k>(&xp, &offs, gimg, &mut gk, p, (q0, o0, ocp))
                        };
                    }
                    upto12!(q, go);
                    q0 += q;
                }
                if want_gb {
                    gb_row::<V, NV>(gimg, &mut gbs, pix, o0, ocp);
                }
            }
        }
        let wl = kg * oc;
        for (d, s) in acc[..wl].chunks_exact_mut(oc).zip(gk.chunks_exact(ocp)) {
            for (a, &v) in d.iter_mut().zip(s) {
                *a += v;
            }
        }
        if want_gb {
            for (a, &v) in acc[wl..].iter_mut().zip(&gbs) {
                *a += v;
            }
        }
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn gw_avx512(x: &[f32], gy: &[f32], acc: &mut [f32], p: &Conv2dParams, job: (usize, usize), want_gb: bool) {
        if p.oc <= 16 {
            gw_images::<__m512, 1, 12>(x, gy, acc, p, job, want_gb)
        } else {
            gw_images::<__m512, 2, 12>(x, gy, acc, p, job, want_gb)
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn gw_avx2(x: &[f32], gy: &[f32], acc: &mut [f32], p: &Conv2dParams, job: (usize, usize), want_gb: bool) {
        if p.oc <= 8 {
            gw_images::<__m256, 1, 12>(x, gy, acc, p, job, want_gb)
        } else {
            gw_images::<__m256, 2, 6>(x, gy, acc, p, job, want_gb)
        }
    }

    /// Direct kernel (and bias) gradient of images `img0 .. img0 + imgs`, added into `acc`.
    pub fn backward_weight(isa: Isa, x: &[f32], gy: &[f32], acc: &mut [f32], p: &Conv2dParams, job: (usize, usize), want_gb: bool) {
        match isa {
            // SAFETY: `isa` (the only maker of an Isa) found AVX-512F, AVX2 and FMA on this CPU.
            Isa::Avx512 => unsafe { gw_avx512(x, gy, acc, p, job, want_gb) },
            // SAFETY: `isa` found AVX2 and FMA on this CPU.
            Isa::Avx2 => unsafe { gw_avx2(x, gy, acc, p, job, want_gb) },
        }
    }
}

/// The vector extension the direct kernels run with for this convolution and element type,
/// or None when they do not apply (then the patch path runs).
#[cfg(target_arch = "x86_64")]
fn direct_isa<T: 'static>(p: &Conv2dParams) -> Option<direct::Isa> {
    let f32 = std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>();
    if f32 && p.groups == 1 && p.c <= DIRECT_MAX_C && !p.is_pointwise() {
        direct::isa()
    } else {
        None
    }
}

/// Non-x86 targets: the patch path always.
#[cfg(not(target_arch = "x86_64"))]
fn direct_isa<T: 'static>(_p: &Conv2dParams) -> Option<()> {
    None
}

// ---- jobs ---------------------------------------------------------------------------------------

/// How the batch is cut: jobs of `imgs` whole images, each walked in tiles of `tile` patch rows.
struct Plan {
    imgs: usize,
    tile: usize,
    /// Whether jobs run side by side (each product on one thread) or one after the other.
    parallel: bool,
}

fn plan<T>(p: &Conv2dParams) -> Plan {
    let (oh, ow) = p.out_hw();
    let prow = (oh * ow).max(1);
    let budget_rows = (WORKSPACE_BYTES / std::mem::size_of::<T>() / p.patch_len().max(1)).max(1);
    let threads = parallel::num_threads();
    // whole images per job within the budget, but at least ~2 jobs per thread when the batch allows
    let mut imgs = (budget_rows / prow).max(1);
    if threads > 1 {
        imgs = imgs.min(p.n.div_ceil(2 * threads)).max(1);
    }
    let tile = budget_rows.min(imgs * prow).max(1);
    let work = p.rows() * p.patch_len() * p.ocg();
    Plan { imgs, tile, parallel: threads > 1 && p.n.div_ceil(imgs) >= 2 && work >= (1 << 18) }
}

/// Applies the activation to `y` in place, a few KiB at a time through a copy that stays in
/// cache (`activation_forward` reads one slice and writes another).
fn activate_in_place<T: Real>(y: &mut [T], ap: ActivationParams) -> Result<(), KernelError> {
    if ap.act == Activation::Linear || y.is_empty() {
        return Ok(());
    }
    let chunk = (4096 / ap.row).max(1) * ap.row;
    let mut z = vec![T::zero(); chunk.min(y.len())];
    for yc in y.chunks_mut(chunk) {
        let zc = &mut z[..yc.len()];
        zc.copy_from_slice(yc);
        activation_forward(zc, yc, ap)?;
    }
    Ok(())
}

fn act_params(act: Activation, alpha: f64, oc: usize) -> ActivationParams {
    ActivationParams { act, alpha, row: oc.max(1) }
}

/// Forward of one job: output rows `r0 .. r0 + y.len() / oc` into `y`, through `ws`.
#[allow(clippy::too_many_arguments)]
fn forward_job<T: Real>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    p: &Conv2dParams,
    r0: usize,
    tile: usize,
    ws: &mut Vec<T>,
    act: ActivationParams,
    threads: usize,
) -> Result<(), KernelError> {
    let (pl, kg, ocg, oc) = (p.patch_len(), p.kg(), p.ocg(), p.oc);
    let rows = y.len() / oc;
    ws.resize(tile * pl + if act.act == Activation::Linear { 0 } else { tile * oc }, T::zero());
    let (col, z) = ws.split_at_mut(tile * pl);
    for t0 in (0..rows).step_by(tile) {
        let m = tile.min(rows - t0);
        im2col_rows(x, col, p, r0 + t0, m);
        let yt = &mut y[t0 * oc..(t0 + m) * oc];
        for g in 0..p.groups {
            gemm_view(
                (m, ocg, kg),
                col,
                View { off: g * kg, rs: pl, cs: 1 },
                w,
                View { off: g * ocg, rs: oc, cs: 1 },
                yt,
                View { off: g * ocg, rs: oc, cs: 1 },
                false,
                threads,
            );
        }
        if let Some(b) = bias {
            // added while the tile is still in cache (a copy of the bias per row before the
            // product would be one call of memcpy per row)
            add_bias(yt, b);
        }
        if act.act != Activation::Linear {
            let zt = &mut z[..m * oc];
            zt.copy_from_slice(yt);
            activation_forward(zt, yt, act)?;
        }
    }
    Ok(())
}

/// Runs `f(first_image, images)` for every job, side by side when the plan says so;
/// `f` gets the number of threads its products may use. The first error is returned.
fn for_jobs<O: Send>(
    out: &mut [O],
    per_img: usize,
    pl: &Plan,
    f: impl Fn(usize, &mut [O], usize) -> Result<(), KernelError> + Sync + Send,
) -> Result<(), KernelError> {
    if out.is_empty() {
        return Ok(());
    }
    let job = pl.imgs * per_img;
    if pl.parallel {
        parallel::pool().install(|| out.par_chunks_mut(job).enumerate().try_for_each(|(i, o)| f(i * pl.imgs, o, 1)))
    } else {
        let threads = parallel::num_threads();
        out.chunks_mut(job).enumerate().try_for_each(|(i, o)| f(i * pl.imgs, o, threads))
    }
}

/// `y = act(conv(x, w) + bias)`: x (n, h, w, c), w (kh, kw, c / groups, oc), bias (oc) or
/// none, y (n, oh, ow, oc); `alpha` is the activation's parameter (leaky_relu, elu).
pub fn conv2d_forward<T: Real>(
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    p: &Conv2dParams,
    act: Activation,
    alpha: f64,
) -> Result<(), KernelError> {
    p.check_lens("conv2d_forward", &[("x", x.len(), p.x_len()), ("w", w.len(), p.w_len()), ("y", y.len(), p.y_len())])?;
    if let Some(b) = bias {
        p.check_lens("conv2d_forward", &[("bias", b.len(), p.oc)])?;
    }
    if act.is_rowwise() {
        return Err(KernelError(format!("conv2d_forward: the activation {} is not fused; apply it separately", act.name())));
    }
    let ap = act_params(act, alpha, p.oc);
    if p.is_pointwise() {
        let rows = p.n * p.h * p.w;
        match bias {
            Some(b) => y.chunks_exact_mut(p.oc).for_each(|r| r.copy_from_slice(b)),
            None => y.iter_mut().for_each(|v| *v = T::zero()),
        }
        matmul_into(x, w, y, MatmulParams { m: rows, n: p.oc, k: p.c, trans_a: false, trans_b: false }, true)?;
        return activate_in_place(y, ap);
    }
    let (oh, ow) = p.out_hw();
    let prow = oh * ow;
    if p.is_depthwise() {
        return for_jobs(y, prow * p.oc, &dw_plan(p), |img0, yj, _| {
            dw_forward(x, w, bias, yj, p, img0);
            activate_in_place(yj, ap)
        });
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(isa), Some(x), Some(w), Some(y)) = (direct_isa::<T>(p), f32_slice(x), f32_slice(w), f32_slice_mut(y)) {
        let bias = bias.map(|b| f32_slice(b).unwrap());
        return for_jobs(y, prow * p.oc, &dw_plan(p), |img0, yj, _| {
            direct::forward(isa, x, w, bias, yj, p, img0);
            activate_in_place(yj, ap)
        });
    }
    let pl = plan::<T>(p);
    for_jobs(y, prow * p.oc, &pl, |img0, yj, threads| {
        let mut ws = Vec::new();
        forward_job(x, w, bias, yj, p, img0 * prow, pl.tile, &mut ws, ap, threads)
    })
}

/// With stride 1 the gradient wrt x is itself a convolution: of gy, padded by the kernel's
/// extent less the forward padding on each side, with the kernel flipped in both directions
/// and its channel axes swapped (see [`flip_transpose`]). These are its parameters, or None
/// where that does not hold (strides, groups, padding wider than the kernel).
fn input_grad_as_forward(p: &Conv2dParams) -> Option<Conv2dParams> {
    let (eh, ew) = p.kernel_extent();
    let fits = p.pad_top < eh && p.pad_bottom < eh && p.pad_left < ew && p.pad_right < ew;
    if p.stride_h != 1 || p.stride_w != 1 || p.groups != 1 || !fits {
        return None;
    }
    let (oh, ow) = p.out_hw();
    Some(Conv2dParams {
        h: oh,
        w: ow,
        c: p.oc,
        oc: p.c,
        pad_top: eh - 1 - p.pad_top,
        pad_bottom: eh - 1 - p.pad_bottom,
        pad_left: ew - 1 - p.pad_left,
        pad_right: ew - 1 - p.pad_right,
        ..*p
    })
}

/// The kernel (kh, kw, c, oc) flipped along both spatial axes, as (kh, kw, oc, c).
fn flip_transpose<T: Copy + Default>(w: &[T], p: &Conv2dParams) -> Vec<T> {
    let (kh, kw, c, oc) = (p.kh, p.kw, p.c, p.oc);
    let mut wt = vec![T::default(); w.len()];
    for i in 0..kh {
        for j in 0..kw {
            let src = &w[((kh - 1 - i) * kw + (kw - 1 - j)) * c * oc..][..c * oc];
            let dst = &mut wt[(i * kw + j) * oc * c..][..oc * c];
            for (ci, row) in src.chunks_exact(oc).enumerate() {
                for (o, &v) in row.iter().enumerate() {
                    dst[o * c + ci] = v;
                }
            }
        }
    }
    wt
}

/// Gradient wrt x of the convolution (no activation): gx (n, h, w, c) from gy (n, oh, ow, oc)
/// and w. Each tile is `gy_tile @ w^T` (per group) put back by col2im.
pub fn conv2d_backward_input<T: Float>(gy: &[T], w: &[T], gx: &mut [T], p: &Conv2dParams) -> Result<(), KernelError> {
    p.check_lens("conv2d_backward_input", &[("gy", gy.len(), p.y_len()), ("w", w.len(), p.w_len()), ("gx", gx.len(), p.x_len())])?;
    let (oc, c) = (p.oc, p.c);
    if p.is_pointwise() {
        let rows = p.n * p.h * p.w;
        return matmul_into(gy, w, gx, MatmulParams { m: rows, n: c, k: oc, trans_a: false, trans_b: true }, false);
    }
    let (oh, ow) = p.out_hw();
    let prow = oh * ow;
    if p.is_depthwise() {
        return for_jobs(gx, p.h * p.w * c, &dw_plan(p), |img0, gxj, _| {
            dw_backward_input(gy, w, gxj, p, img0);
            Ok(())
        });
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(q) = input_grad_as_forward(p) {
        if let (Some(isa), Some(gy), Some(w), Some(gx)) = (direct_isa::<T>(&q), f32_slice(gy), f32_slice(w), f32_slice_mut(gx)) {
            let wt = flip_transpose(w, p);
            return for_jobs(gx, p.h * p.w * c, &dw_plan(&q), |img0, gxj, _| {
                direct::forward(isa, gy, &wt, None, gxj, &q, img0);
                Ok(())
            });
        }
    }
    let (pls, kg, ocg) = (p.patch_len(), p.kg(), p.ocg());
    let pl = plan::<T>(p);
    for_jobs(gx, p.h * p.w * c, &pl, |img0, gxj, threads| {
        gxj.iter_mut().for_each(|v| *v = T::zero());
        let rows = gxj.len() / (p.h * p.w * c).max(1) * prow;
        let r0 = img0 * prow;
        let mut col = vec![T::zero(); pl.tile.min(rows.max(1)) * pls];
        for t0 in (0..rows).step_by(pl.tile) {
            let m = pl.tile.min(rows - t0);
            let gyt = &gy[(r0 + t0) * oc..(r0 + t0 + m) * oc];
            for g in 0..p.groups {
                // dcol_g (m, kg) = gy_g (m, ocg) @ w_g^T, w_g (kg, ocg) at columns g * ocg
                gemm_view(
                    (m, kg, ocg),
                    gyt,
                    View { off: g * ocg, rs: oc, cs: 1 },
                    w,
                    View { off: g * ocg, rs: 1, cs: oc },
                    &mut col,
                    View { off: g * kg, rs: pls, cs: 1 },
                    false,
                    threads,
                );
            }
            col2im_rows(&col, gxj, p, r0 + t0, m, img0);
        }
        Ok(())
    })
}

/// Gradients wrt the kernel (gw, kh * kw * c / groups * oc) and, when asked, the bias
/// (gb, oc) from x and gy: `gw_g = col_g^T @ gy_g` summed over every tile of the batch.
pub fn conv2d_backward_weight<T: Float>(
    x: &[T],
    gy: &[T],
    gw: &mut [T],
    gb: Option<&mut [T]>,
    p: &Conv2dParams,
) -> Result<(), KernelError> {
    p.check_lens("conv2d_backward_weight", &[("x", x.len(), p.x_len()), ("gy", gy.len(), p.y_len()), ("gw", gw.len(), p.w_len())])?;
    let oc = p.oc;
    if let Some(gb) = &gb {
        p.check_lens("conv2d_backward_weight", &[("gb", gb.len(), oc)])?;
    }
    if p.is_pointwise() {
        if let Some(gb) = gb {
            gb.iter_mut().for_each(|v| *v = T::zero());
            add_rows(gy, gb);
        }
        let rows = p.n * p.h * p.w;
        return matmul_into(x, gy, gw, MatmulParams { m: p.c, n: oc, k: rows, trans_a: true, trans_b: false }, false);
    }
    let want_gb = gb.is_some();
    let (oh, ow) = p.out_hw();
    let prow = oh * ow;
    let (pls, kg, ocg) = (p.patch_len(), p.kg(), p.ocg());
    let direct = direct_isa::<T>(p);
    let pl = if p.is_depthwise() || direct.is_some() { dw_plan(p) } else { plan::<T>(p) };
    let wl = gw.len();
    // One job's contribution, added into `acc`: the kernel's (kg x oc, the kernel's layout),
    // then the bias' (oc) when it is wanted.
    let job = |img0: usize, imgs: usize, acc: &mut [T], col: &mut Vec<T>, threads: usize| {
        #[cfg(target_arch = "x86_64")]
        if let (Some(isa), Some(x), Some(gy)) = (direct, f32_slice(x), f32_slice(gy)) {
            let acc = f32_slice_mut(acc).expect("T is f32 where the direct path runs");
            return direct::backward_weight(isa, x, gy, acc, p, (img0, imgs), want_gb);
        }
        if want_gb {
            add_rows(&gy[img0 * prow * oc..(img0 + imgs) * prow * oc], &mut acc[wl..]);
        }
        let acc = &mut acc[..wl];
        if p.is_depthwise() {
            return dw_backward_weight(x, gy, acc, p, img0, imgs);
        }
        let rows = imgs * prow;
        let r0 = img0 * prow;
        col.resize(pl.tile.min(rows.max(1)) * pls, T::zero());
        for t0 in (0..rows).step_by(pl.tile) {
            let m = pl.tile.min(rows - t0);
            im2col_rows(x, col, p, r0 + t0, m);
            let gyt = &gy[(r0 + t0) * oc..(r0 + t0 + m) * oc];
            for g in 0..p.groups {
                // gw_g (kg, ocg) += col_g^T (kg, m) @ gy_g (m, ocg)
                gemm_view(
                    (kg, ocg, m),
                    col,
                    View { off: g * kg, rs: 1, cs: pls },
                    gyt,
                    View { off: g * ocg, rs: oc, cs: 1 },
                    acc,
                    View { off: g * ocg, rs: oc, cs: 1 },
                    true,
                    threads,
                );
            }
        }
    };
    // the kernel's and the bias' gradients side by side, so that jobs fill both in one pass
    let mut sums = vec![T::zero(); wl + if want_gb { oc } else { 0 }];
    let jobs = p.n.div_ceil(pl.imgs);
    if pl.parallel {
        // one partial sum per run of consecutive jobs (at most two runs per thread, so the
        // partials take at most 2 * threads kernels' worth of memory), added in order
        let runs = jobs.min(2 * parallel::num_threads());
        let parts: Vec<Vec<T>> = parallel::pool().install(|| {
            (0..runs)
                .into_par_iter()
                .map(|r| {
                    let mut acc = vec![T::zero(); sums.len()];
                    let mut col = Vec::new();
                    for j in (r * jobs / runs)..((r + 1) * jobs / runs) {
                        let (i0, i1) = (j * pl.imgs, ((j + 1) * pl.imgs).min(p.n));
                        job(i0, i1 - i0, &mut acc, &mut col, 1);
                    }
                    acc
                })
                .collect()
        });
        for part in parts {
            for (a, v) in sums.iter_mut().zip(part) {
                *a = *a + v;
            }
        }
    } else {
        let mut col = Vec::new();
        let threads = parallel::num_threads();
        for j in 0..jobs {
            let (i0, i1) = (j * pl.imgs, ((j + 1) * pl.imgs).min(p.n));
            job(i0, i1 - i0, &mut sums, &mut col, threads);
        }
    }
    gw.copy_from_slice(&sums[..wl]);
    if let Some(gb) = gb {
        gb.copy_from_slice(&sums[wl..]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn params(
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        oc: usize,
        k: (usize, usize),
        s: usize,
        pad: usize,
        d: usize,
        g: usize,
    ) -> Conv2dParams {
        Conv2dParams {
            n,
            h,
            w,
            c,
            oc,
            kh: k.0,
            kw: k.1,
            stride_h: s,
            stride_w: s,
            pad_top: pad,
            pad_bottom: pad,
            pad_left: pad,
            pad_right: pad,
            dil_h: d,
            dil_w: d,
            groups: g,
        }
    }

    /// Direct 7-loop convolution.
    fn naive(x: &[f64], w: &[f64], p: &Conv2dParams) -> Vec<f64> {
        let (oh, ow) = p.out_hw();
        let (cg, ocg) = (p.cg(), p.ocg());
        let mut y = vec![0.0; p.y_len()];
        for b in 0..p.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for o in 0..p.oc {
                        let g = o / ocg;
                        let mut s = 0.0;
                        for ky in 0..p.kh {
                            for kx in 0..p.kw {
                                let iy = (oy * p.stride_h + ky * p.dil_h) as isize - p.pad_top as isize;
                                let ix = (ox * p.stride_w + kx * p.dil_w) as isize - p.pad_left as isize;
                                if iy < 0 || ix < 0 || iy as usize >= p.h || ix as usize >= p.w {
                                    continue;
                                }
                                for ci in 0..cg {
                                    let xv = x[((b * p.h + iy as usize) * p.w + ix as usize) * p.c + g * cg + ci];
                                    s += xv * w[((ky * p.kw + kx) * cg + ci) * p.oc + o];
                                }
                            }
                        }
                        y[((b * oh + oy) * ow + ox) * p.oc + o] = s;
                    }
                }
            }
        }
        y
    }

    fn data(n: usize, f: f64) -> Vec<f64> {
        (0..n).map(|i| (i as f64 * f).sin()).collect()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn forward_and_adjoints_match_the_direct_loops() {
        let cases = [
            params(2, 5, 7, 3, 4, (3, 3), 1, 1, 1, 1),
            params(1, 1, 1, 2, 3, (1, 1), 1, 0, 1, 1),
            params(3, 6, 5, 4, 6, (2, 3), 2, 1, 2, 2),
            params(2, 4, 4, 3, 6, (3, 3), 1, 1, 1, 3),
            params(2, 4, 4, 5, 5, (1, 1), 1, 0, 1, 1),
            params(1, 9, 8, 2, 2, (5, 2), 3, 2, 1, 1),
            params(5, 7, 6, 4, 4, (3, 2), 2, 1, 2, 4), // depthwise, multiplier 1
            params(9, 5, 5, 3, 9, (3, 3), 1, 2, 1, 3), // depthwise, multiplier 3, several jobs
        ];
        for threads in [1, 2] {
            crate::parallel::set_num_threads(threads);
            for p in &cases {
                let x = data(p.x_len(), 0.37);
                let w = data(p.w_len(), 0.11);
                let mut y = vec![9.0; p.y_len()];
                conv2d_forward(&x, &w, None, &mut y, p, Activation::Linear, 0.0).unwrap();
                for (a, b) in y.iter().zip(naive(&x, &w, p)) {
                    assert!((a - b).abs() < 1e-9, "{p:?}: {a} vs {b}");
                }
                // adjoint identities: <conv(x), gy> == <x, gx> == <w, gw>
                let gy = data(p.y_len(), 0.23);
                let mut gx = vec![9.0; p.x_len()];
                conv2d_backward_input(&gy, &w, &mut gx, p).unwrap();
                let mut gw = vec![9.0; p.w_len()];
                let mut gb = vec![9.0; p.oc];
                conv2d_backward_weight(&x, &gy, &mut gw, Some(&mut gb), p).unwrap();
                let lhs = dot(&y, &gy);
                assert!((lhs - dot(&x, &gx)).abs() < 1e-8 * (1.0 + lhs.abs()), "{p:?} gx");
                assert!((lhs - dot(&w, &gw)).abs() < 1e-8 * (1.0 + lhs.abs()), "{p:?} gw");
                let sum: f64 = gy.iter().step_by(p.oc).sum();
                assert!((gb[0] - sum).abs() < 1e-9);
                // im2col / col2im are adjoint
                let mut col = vec![0.0; p.rows() * p.patch_len()];
                im2col(&x, &mut col, p).unwrap();
                let cy = data(col.len(), 0.71);
                let mut back = vec![0.0; p.x_len()];
                col2im(&cy, &mut back, p).unwrap();
                assert!((dot(&col, &cy) - dot(&x, &back)).abs() < 1e-8 * (1.0 + dot(&col, &cy).abs()));
            }
        }
    }

    /// Direct loops of the kernel and bias gradients.
    fn naive_gw(x: &[f64], gy: &[f64], p: &Conv2dParams) -> (Vec<f64>, Vec<f64>) {
        let (oh, ow) = p.out_hw();
        let mut gw = vec![0.0; p.w_len()];
        let mut gb = vec![0.0; p.oc];
        for b in 0..p.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    let g = &gy[((b * oh + oy) * ow + ox) * p.oc..][..p.oc];
                    for (s, &v) in gb.iter_mut().zip(g) {
                        *s += v;
                    }
                    for ky in 0..p.kh {
                        for kx in 0..p.kw {
                            let iy = (oy * p.stride_h + ky * p.dil_h) as isize - p.pad_top as isize;
                            let ix = (ox * p.stride_w + kx * p.dil_w) as isize - p.pad_left as isize;
                            if iy < 0 || ix < 0 || iy as usize >= p.h || ix as usize >= p.w {
                                continue;
                            }
                            for ci in 0..p.c {
                                let xv = x[((b * p.h + iy as usize) * p.w + ix as usize) * p.c + ci];
                                let row = &mut gw[((ky * p.kw + kx) * p.c + ci) * p.oc..][..p.oc];
                                for (s, &v) in row.iter_mut().zip(g) {
                                    *s += xv * v;
                                }
                            }
                        }
                    }
                }
            }
        }
        (gw, gb)
    }

    #[test]
    fn few_channels_f32_match_the_direct_loops() {
        // float32 with 1 to 4 input channels and one group: the direct kernels where the CPU
        // has AVX2 and FMA; output channels across the vector widths, rows across the blocks
        let mut cases = vec![
            params(2, 32, 32, 3, 32, (3, 3), 1, 1, 1, 1),
            params(1, 5, 7, 1, 1, (3, 3), 1, 1, 1, 1),
            params(1, 9, 29, 2, 17, (2, 3), 2, 1, 2, 1),
            params(3, 6, 13, 4, 33, (3, 1), 1, 0, 1, 1),
            params(2, 11, 25, 3, 70, (5, 5), 3, 2, 1, 1),
            params(1, 4, 4, 4, 8, (1, 1), 1, 1, 1, 1),
            params(1, 1, 1, 2, 16, (1, 1), 1, 0, 1, 1), // pointwise: the plain product
        ];
        let mut odd = params(2, 7, 19, 3, 48, (3, 2), 1, 0, 2, 1);
        (odd.pad_top, odd.pad_bottom, odd.pad_left, odd.pad_right, odd.stride_w) = (2, 0, 1, 3, 2);
        cases.push(odd);
        for threads in [1, 2] {
            crate::parallel::set_num_threads(threads);
            for p in &cases {
                let x = data(p.x_len(), 0.37);
                let w = data(p.w_len(), 0.11);
                let b = data(p.oc, 0.7);
                let gy = data(p.y_len(), 0.23);
                let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
                let mut y = vec![9.0f32; p.y_len()];
                conv2d_forward(&f(&x), &f(&w), Some(&f(&b)), &mut y, p, Activation::Linear, 0.0).unwrap();
                for (i, (a, z)) in y.iter().zip(naive(&x, &w, p)).enumerate() {
                    let want = z + b[i % p.oc];
                    assert!((*a as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "{p:?}: y[{i}] {a} vs {want}");
                }
                let mut gw = vec![9.0f32; p.w_len()];
                let mut gb = vec![9.0f32; p.oc];
                conv2d_backward_weight(&f(&x), &f(&gy), &mut gw, Some(&mut gb), p).unwrap();
                let (rw, rb) = naive_gw(&x, &gy, p);
                let scale = 1.0 + (p.rows() as f64).sqrt();
                for (i, (a, want)) in gw.iter().zip(&rw).chain(gb.iter().zip(&rb)).enumerate() {
                    assert!((*a as f64 - want).abs() < 1e-5 * scale * (1.0 + want.abs()), "{p:?}: g[{i}] {a} vs {want}");
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn direct_kernels_of_every_vector_extension_match_the_direct_loops() {
        // AVX2 as well as AVX-512 where the CPU has both (the dispatch picks only the best)
        let Some(best) = direct::isa() else { return };
        let isas = if best == direct::Isa::Avx512 { vec![direct::Isa::Avx512, direct::Isa::Avx2] } else { vec![best] };
        let mut odd = params(2, 7, 19, 3, 21, (3, 2), 1, 0, 2, 1);
        (odd.pad_top, odd.pad_bottom, odd.pad_left, odd.pad_right, odd.stride_w) = (2, 0, 1, 3, 2);
        let cases = [params(2, 9, 23, 3, 32, (3, 3), 1, 1, 1, 1), params(1, 6, 11, 1, 40, (2, 2), 1, 0, 1, 1), odd];
        for isa in isas {
            for p in &cases {
                let x = data(p.x_len(), 0.37);
                let w = data(p.w_len(), 0.11);
                let gy = data(p.y_len(), 0.23);
                let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
                let mut y = vec![9.0f32; p.y_len()];
                direct::forward(isa, &f(&x), &f(&w), None, &mut y, p, 0);
                for (a, want) in y.iter().zip(naive(&x, &w, p)) {
                    assert!((*a as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "{p:?}: {a} vs {want}");
                }
                let mut acc = vec![0.0f32; p.w_len() + p.oc];
                direct::backward_weight(isa, &f(&x), &f(&gy), &mut acc, p, (0, p.n), true);
                let (rw, rb) = naive_gw(&x, &gy, p);
                for (a, want) in acc.iter().zip(rw.iter().chain(&rb)) {
                    assert!((*a as f64 - want).abs() < 1e-4 * (1.0 + want.abs()), "{p:?}: {a} vs {want}");
                }
            }
        }
    }

    #[test]
    fn bad_geometry_is_an_error() {
        let mut p = params(1, 2, 2, 3, 4, (3, 3), 1, 0, 1, 1);
        assert!(p.check().is_err());
        p.pad_top = 1;
        p.pad_bottom = 1;
        p.pad_left = 1;
        p.pad_right = 1;
        assert!(p.check().is_ok());
        p.groups = 2;
        assert!(p.check().is_err());
        let mut y = vec![0.0f32; 3];
        assert!(conv2d_forward(
            &[0.0f32; 12],
            &[0.0; 108],
            None,
            &mut y,
            &params(1, 2, 2, 3, 4, (3, 3), 1, 1, 1, 1),
            Activation::Linear,
            0.0
        )
        .is_err());
    }

    #[test]
    fn fused_activation_and_bias() {
        let p = params(1, 3, 3, 1, 2, (2, 2), 1, 0, 1, 1);
        let x = data(p.x_len(), 0.5);
        let w = data(p.w_len(), 0.3);
        let b = [0.25, -5.0];
        let mut y = vec![0.0; p.y_len()];
        conv2d_forward(&x, &w, Some(&b), &mut y, &p, Activation::Relu, 0.0).unwrap();
        let want = naive(&x, &w, &p);
        for (i, (a, z)) in y.iter().zip(want).enumerate() {
            assert!((a - (z + b[i % 2]).max(0.0)).abs() < 1e-12);
        }
    }
}
