/* kernels.h: the numeric kernels of netc, pure math on contiguous float32 tensors. Images
 * are channels-last: a batch of B images of C channels, H rows and W columns is (B,H,W,C),
 * element (n,c,y,x) at ((n*H + y)*W + x)*C + c. Weights keep PyTorch's layouts.
 *
 * Design choice: every kernel is a plain function on float* with its shapes passed in, the
 * output first (as in karpathy/llm.c); nothing here knows about the IR, prints, allocates in
 * the hot path or exits. Backward kernels OVERWRITE their outputs (din, dw, db) and accept
 * NULL for any gradient that is not needed (the convolution sums its weight gradients in its
 * scratch across calls; conv2d_grads writes them). Every kernel runs on the calling thread
 * and is safe to call from several threads at once on different outputs and scratches: the
 * runtime hands chunks of a batch to its threads and adds the chunks' weight gradients in
 * chunk order, so a result never depends on how threads were scheduled. */
#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many threads a caller should run kernels on: omp_get_max_threads(), or 1 without
 * OpenMP. */
int kernels_threads(void);

/* ---- matrix multiply ---- */

/* Row-major C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C, op(X) = X or X^T (ta, tb).
 * A is (M,K) with row stride lda, or (K,M) when ta; B is (K,N) with row stride ldb, or (N,K)
 * when tb; C is (M,N) with row stride ldc. When beta == 0, C is not read (NaN in C is fine).
 * Single-threaded; safe to call from several threads at once. Dispatches to OpenBLAS when the
 * build has it and it wins (large products, OpenBLAS running AVX-512 kernels), else to
 * sgemm_builtin. */
void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc);
/* The built-in blocked implementation (packed panels, register-tiled micro-kernel), same
 * contract as sgemm; always available. Uses a per-thread packing buffer of about 1.9 MB,
 * allocated on the thread's first call and freed when the thread exits. */
void sgemm_builtin(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);

/* ---- convolution ---- */

/* Geometry of a 2-d convolution, PyTorch semantics: input (B,H,W,C), weight (OC,C,KH,KW),
 * stride (SH,SW), zero padding (PH,PW), dilation (DH,DW), output (B,OH,OW,OC) with
 * OH = (H + 2*PH - DH*(KH-1) - 1)/SH + 1 (floor), same for OW. The caller fills OH and OW. */
typedef struct ConvGeom {
    int B, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW;
    int G; /* groups, for gconv2d (C and OC are the totals); the other kernels take 0 or 1 */
} ConvGeom;

/* The convolution keeps its weights repacked, and its gradient sums, in a scratch of
 * conv2d_scratch_floats(g) floats (which does not grow with B), so that a batch can be run
 * as several calls, one part at a time, while paying for the packing once:
 *   forward:  conv2d_pack_forward, then conv2d_forward for each part;
 *   backward: conv2d_pack_backward, then conv2d_backward for each part (in order), then
 *             conv2d_grads (which restarts the sums for the next group of parts).
 * Every call is single-threaded; one scratch serves one thread. */
size_t conv2d_scratch_floats(const ConvGeom *g);
/* Packs w (OC,C,KH,KW) and b (OC) or NULL for conv2d_forward. */
void conv2d_pack_forward(float *scratch, const float *w, const float *b, const ConvGeom *g);
/* out (B,OH,OW,OC) from in (B,H,W,C) and the packed weights. */
void conv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch);
/* out (B,OH/K,OW/K,OC) = MaxPool2d(K) (window = stride = K, no padding, floor) of the
 * convolution's output, which is never stored, with argmax (B,OH/K,OW/K,OC) or NULL as
 * maxpool2d_forward gives it: the same bits as conv2d_forward then maxpool2d_forward, with
 * one pass over memory fewer. K is 2 or 3. */
void conv2d_forward_pool(float *out, int32_t *argmax, const float *in, const ConvGeom *g, int K,
                         float *scratch);
/* Packs w (OC,C,KH,KW) for conv2d_backward and zeroes the gradient sums. */
void conv2d_pack_backward(float *scratch, const float *w, const ConvGeom *g);
/* din (B,H,W,C) = the input gradient of dout (B,OH,OW,OC), or NULL; when grads, adds the
 * weight and bias gradients of these B images (in order) to the sums, which need in
 * (B,H,W,C). */
void conv2d_backward(float *din, const float *dout, const float *in, bool grads, const ConvGeom *g,
                     float *scratch);
/* dw (OC,C,KH,KW) and db (OC), either may be NULL, = the sums since conv2d_pack_backward or
 * the last conv2d_grads, and restarts them from zero. */
void conv2d_grads(float *dw, float *db, const ConvGeom *g, float *scratch);

/* Grouped convolution (1 < G < C, G dividing C and OC): conv2d's contract and the same
 * calls, gconv2d_*, with w (OC, C/G, KH, KW); one ordinary convolution per group. */
size_t gconv2d_scratch_floats(const ConvGeom *g);
void gconv2d_pack_forward(float *scratch, const float *w, const float *b, const ConvGeom *g);
void gconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch);
void gconv2d_pack_backward(float *scratch, const float *w, const ConvGeom *g);
void gconv2d_backward(float *din, const float *dout, const float *in, bool grads, const ConvGeom *g,
                      float *scratch);
void gconv2d_grads(float *dw, float *db, const ConvGeom *g, float *scratch);

/* Depthwise convolution (groups == C): output channel oc = c*M + m (M = OC/C) reads input
 * channel c; weight (OC,1,KH,KW), bias (OC). Same geometry as conv2d and the same contract:
 * a scratch of dwconv2d_scratch_floats(g) floats per thread, dwconv2d_pack once per pass
 * (before the forward parts, and again before the backward parts: it restarts the gradient
 * sums), the parts in order, then dwconv2d_grads. */
size_t dwconv2d_scratch_floats(const ConvGeom *g);
void dwconv2d_pack(float *scratch, const float *w, const float *b, const ConvGeom *g);
/* out (B,OH,OW,OC) from in (B,H,W,C) */
void dwconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch);
/* din (B,H,W,C) or NULL from dout (B,OH,OW,OC); with grads, adds these B images' weight and
 * bias gradients (which need in (B,H,W,C)) to the sums */
void dwconv2d_backward(float *din, const float *dout, const float *in, bool grads,
                       const ConvGeom *g, float *scratch);
/* dw (OC,1,KH,KW), db (OC), either may be NULL, = the sums; restarts them */
void dwconv2d_grads(float *dw, float *db, const ConvGeom *g, float *scratch);

/* ---- fully connected ---- */

/* out (B,OUT) = in (B,IN) . w (OUT,IN)^T + b (OUT); b may be NULL */
void linear_forward(float *out, const float *in, const float *w, const float *b, int B, int IN,
                    int OUT);
/* din (B,IN) or NULL, dw (OUT,IN) or NULL, db (OUT) or NULL, dout (B,OUT), in (B,IN),
 * w (OUT,IN) */
void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int B, int IN, int OUT);
/* The same on the last dimension of channels-last images, as torch.nn.Linear on a CxHxW
 * input: in (S, IN, C) holds S rows (samples times H) of IN pixels of C channels each, and
 * out (S, OUT, C) = w (OUT,IN) . in_s + b (OUT) for each row s; b may be NULL. */
void linear_hwc_forward(float *out, const float *in, const float *w, const float *b, int S, int IN,
                        int OUT, int C);
/* din (S,IN,C) or NULL; dw (OUT,IN) or NULL and db (OUT) or NULL, summed over the S rows */
void linear_hwc_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int S, int IN, int OUT, int C);

/* ---- pooling ---- */

/* Geometry of 2-d pooling, PyTorch semantics: input (B,H,W,C), window (KH,KW), stride
 * (SH,SW), padding (PH,PW), output (B,OH,OW,C). The caller fills OH and OW: floor((H + 2*PH -
 * KH)/SH) + 1, or with ceil_mode the ceiling, less one when the last window would start in
 * the padding. Windows are clipped to the input. */
typedef struct PoolGeom {
    int B, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
    bool exclude_pad; /* average pooling with count_include_pad=False */
} PoolGeom;

/* out (B,OH,OW,C), argmax (B,OH,OW,C) or NULL, in (B,H,W,C). argmax receives the index
 * y*W + x within its image of each window's maximum (PyTorch's indices). Padding acts as
 * -inf; ties go to the first maximum in row-major window order; a NaN wins (the last one,
 * as in PyTorch). */
void maxpool2d_forward(float *out, int32_t *argmax, const float *in, const PoolGeom *g);
/* din (B,H,W,C), dout (B,OH,OW,C), argmax (B,OH,OW,C) from maxpool2d_forward */
void maxpool2d_backward(float *din, const float *dout, const int32_t *argmax, const PoolGeom *g);
/* out (B,OH,OW,C), in (B,H,W,C): each window's sum divided, as PyTorch divides it, by the
 * window clipped to the padded input (count_include_pad) or by the input pixels it covers
 * (exclude_pad) */
void avgpool2d_forward(float *out, const float *in, const PoolGeom *g);
/* din (B,H,W,C), dout (B,OH,OW,C) */
void avgpool2d_backward(float *din, const float *dout, const PoolGeom *g);
/* out (B,OH,OW,C), in (B,H,W,C): AdaptiveAvgPool2d((OH, OW)); output row i averages input
 * rows [floor(i*H/OH), ceil((i+1)*H/OH)), and columns likewise (sum / kh / kw, as PyTorch) */
void adaptive_avgpool2d_forward(float *out, const float *in, int B, int C, int H, int W, int OH,
                                int OW);
/* din (B,H,W,C), dout (B,OH,OW,C) */
void adaptive_avgpool2d_backward(float *din, const float *dout, int B, int C, int H, int W, int OH,
                                 int OW);

/* ---- elementwise activations (n elements; out may alias in, din may alias dout) ---- */

/* out = in <= 0 ? 0 : in (a NaN stays NaN, as torch.relu) */
void relu_forward(float *out, const float *in, size_t n);
/* din = out <= 0 ? 0 : dout (a NaN output passes the gradient, as in PyTorch) */
void relu_backward(float *din, const float *dout, const float *out, size_t n);
/* out = in > 0 ? in : slope * in */
void leaky_relu_forward(float *out, const float *in, size_t n, float slope);
void leaky_relu_backward(float *din, const float *dout, const float *in, size_t n, float slope);
void sigmoid_forward(float *out, const float *in, size_t n);
/* din = dout * out * (1 - out) */
void sigmoid_backward(float *din, const float *dout, const float *out, size_t n);
void tanh_forward(float *out, const float *in, size_t n);
/* din = dout * (1 - out^2) */
void tanh_backward(float *din, const float *dout, const float *out, size_t n);
/* GELU, as torch.nn.GELU(approximate='tanh' if tanh_approx else 'none'), with PyTorch's
 * constants (the code generator writes the same ones) */
#define GELU_ALPHA 0.70710678118654752f /* 1 / sqrt 2 */
#define GELU_PDF 0.39894228040143268f   /* 1 / sqrt(2 pi) */
#define GELU_BETA 0.79788456080286536f  /* sqrt(2 / pi) */
#define GELU_KAPPA 0.044715f
void gelu_forward(float *out, const float *in, size_t n, bool tanh_approx);
/* din = dout * GELU'(in) */
void gelu_backward(float *din, const float *dout, const float *in, size_t n, bool tanh_approx);
/* SiLU, as torch.nn.SiLU: out = in * sigmoid(in) */
void silu_forward(float *out, const float *in, size_t n);
/* din = dout * SiLU'(in) */
void silu_backward(float *din, const float *dout, const float *in, size_t n);
/* ReLU6, as torch.nn.ReLU6: out = min(max(in, 0), 6) (NaN stays NaN) */
void relu6_forward(float *out, const float *in, size_t n);
/* din = 0 < out < 6 ? dout : 0 (a NaN output passes the gradient) */
void relu6_backward(float *din, const float *dout, const float *out, size_t n);
/* ELU, as torch.nn.ELU: out = in > 0 ? in : (exp(in) - 1) * alpha */
void elu_forward(float *out, const float *in, size_t n, float alpha);
/* din = in > 0 ? dout : dout * alpha * exp(in) */
void elu_backward(float *din, const float *dout, const float *in, size_t n, float alpha);
/* out = in * mask; mask holds 0 or 1/(1-p), drawn by the caller's RNG */
void dropout_forward(float *out, const float *in, const float *mask, size_t n);
void dropout_backward(float *din, const float *dout, const float *mask, size_t n);

/* ---- batch normalisation, on rows of C channels (channels last) ----
 * The batch statistics need every part of a batch: each part adds its partial sums, the
 * caller adds the parts' in a fixed order and derives per-channel factors, and each part
 * then applies them (PyTorch's forms: alpha = invstd * weight, beta = bias - mean * alpha;
 * k = sum(dy * (x - mean)) * invstd^2 / N, scale = invstd * weight). */
/* sum (C) += sum of x (rows, C) over the rows; sumsq (C) += sum of x^2 (in double) */
void batchnorm_stats(double *sum, double *sumsq, const float *x, size_t rows, int C);
/* out (rows, C) = x * alpha (C) + beta (C), then with relu max(0, that) as relu_forward;
 * out may alias x */
void batchnorm_apply(float *out, const float *x, const float *alpha, const float *beta, size_t rows,
                     int C, bool relu);
/* A ReLU fused after the normalisation (ra, rb: its forward's alpha and beta; NULL: none): dy
 * is then the gradient of max(0, z), z = x * ra + rb, which the backward kernels take as 0
 * where z <= 0, as relu_backward does, with z recomputed exactly as batchnorm_apply made it. */
/* sum_dy (C) += sum of dy (rows, C); sum_dy_xmu (C) += sum of dy * (x - mean) (in double) */
void batchnorm_backward_stats(double *sum_dy, double *sum_dy_xmu, const float *dy, const float *x,
                              const float *mean, size_t rows, int C, const float *ra,
                              const float *rb);
/* dx (rows, C) = (dy - mean_dy - (x - mean) * k) * scale, per channel; dx may alias dy */
void batchnorm_backward_dx(float *dx, const float *dy, const float *x, const float *mean,
                           const float *mean_dy, const float *k, const float *scale, size_t rows,
                           int C, const float *ra, const float *rb);

/* ---- joins ---- */

/* out (n) = ins[0] + ins[1] + ... + ins[k-1] (n each), added left to right; out may alias
 * ins[0] */
void add_forward(float *out, const float *const *ins, int k, size_t n);
/* out (rows, sum of chans) = the k tensors (rows, chans[j]) side by side in each row */
void concat_forward(float *out, const float *const *ins, const int *chans, int k, size_t rows);
/* dins[j] (rows, chans[j]) or NULL = its columns of dout (rows, sum of chans) */
void concat_backward(float *const *dins, const float *dout, const int *chans, int k, size_t rows);

/* ---- softmax and losses ---- */

/* out (B,N,inner) = softmax of in (B,N,inner) over N, for each of the inner positions (1 for
 * a flat tensor; an image's channels-last dimensions after the one normalised otherwise);
 * out may alias in */
void softmax_forward(float *out, const float *in, int B, int N, int inner);
/* din (B,N,inner) = out * (dout - sum_j dout_j * out_j) over N, dout and out (B,N,inner) */
void softmax_backward(float *din, const float *dout, const float *out, int B, int N, int inner);
/* out (B,N,inner) = log_softmax of in over N (x - max - log(sum exp(x - max))); may alias in */
void logsoftmax_forward(float *out, const float *in, int B, int N, int inner);
/* din = dout - exp(out) * sum_j dout_j over N, from logsoftmax_forward's out */
void logsoftmax_backward(float *din, const float *dout, const float *out, int B, int N, int inner);
/* Returns the mean over the batch of -log_softmax(logits)[label], as
 * torch.nn.CrossEntropyLoss(label_smoothing=e): with e > 0 the target is (1 - e) on the label
 * and e/N on every class, so the loss is (1 - e) nll + e mean_j(-log_softmax_j).
 * dlogits (B,N) = (softmax(logits) - target) / B, or NULL, with entries below FLT_MIN
 * (denormals) written as 0; logits (B,N); labels (B), each in [0,N) (the caller checks);
 * e in [0, 1] (0: the plain loss, the same bits as without smoothing). */
float cross_entropy_forward(float *dlogits, const float *logits, const int32_t *labels,
                            double label_smoothing, int B, int N);
/* Returns the mean over all B*N elements of (pred - target)^2.
 * dpred (B,N) = 2 (pred - target) / (B*N), or NULL; pred (B,N), target (B,N). */
float mse_forward(float *dpred, const float *pred, const float *target, int B, int N);
/* The same for rows [b0, b1) of a batch of B (one process's share of it): each row's loss
 * (its sum over classes: the mean's numerator) in row_loss[b], its gradient, still over the
 * whole batch, in dlogits or dpred. The means above are these rows' sums, added in row order,
 * over B (cross-entropy) or B*N (MSE). */
void cross_entropy_rows(float *dlogits, const float *logits, const int32_t *labels,
                        double label_smoothing, int B, int N, int b0, int b1, double *row_loss);
/* torch.nn.NLLLoss on log-probabilities logp (B,N): row b's loss -logp[b][label] (the mean's
 * numerator, over B), its gradient -1/B at the label and 0 elsewhere. */
void nll_rows(float *dlogp, const float *logp, const int32_t *labels, int B, int N, int b0, int b1,
              double *row_loss);
void mse_rows(float *dpred, const float *pred, const float *target, int B, int N, int b0, int b1,
              double *row_loss);

#endif
