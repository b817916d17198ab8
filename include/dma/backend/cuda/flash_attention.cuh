// dma/backend/cuda/flash_attention.cuh: fused causal multi-head attention for backend::Cuda in
// the style of FlashAttention-2 (Dao 2023, Alg. 1 forward, Alg. 2 backward): tiles of 64 queries
// against tiles of 64 keys, tiles above the causal diagonal skipped, no T x T matrix in memory.
// q, k, v are read straight from the qkv rows [Bn, T, 3C] (RoPE applied on load when tables are
// given, so the qkv buffer stays un-rotated and the rope kernels disappear); the forward saves the
// log-sum-exp per query; the backward recomputes the probabilities (one kernel per key tile for
// dK/dV, one per query tile for dQ: no atomics, bit-reproducible). Products run on tensor cores
// (wmma m16n16k8 TF32, FP32 accumulation); `precise` splits each operand into two TF32 halves
// (3 products, ~FP32 accuracy) for strict-FP32 runs. Tested against the CPU ops (rope + attention)
// over shape sweeps in tests/parity/cuda_flash.cu; timed by benchmarks/bench_proxy_cuda.cu.
// Over 400 lines: the forward and the two backward kernels share the tiling and the TF32 helpers.
#pragma once

#include <mma.h>

#include <cmath>
#include <cstddef>

#include "dma/backend/cuda/context.cuh"
#include "dma/backend/cuda/norm.cuh"
#include "dma/backend/tags.hpp"
#include "dma/core/error.hpp"

namespace dma::backend::cuda {

namespace flash {
namespace wmma = nvcuda::wmma;

inline constexpr int kTile = 64;     // queries per block (4 warps x 16 rows) = keys per tile
inline constexpr int kWarps = 4;
inline constexpr int kBlockThreads = 32 * kWarps;

// Row stride (floats) of every shared tile: wide enough for a 64-column score tile and an HS-wide
// q/k/v tile (HS <= 64); +4 floats staggers the banks and keeps 16-row steps 32-byte aligned.
template <int HS>
inline constexpr int kLd = 64 + 4;

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;

// Loads an operand fragment; rounds it to TF32 unless Precise (then mma() splits it) or the
// shared tile was rounded when it was filled (Rounded: q/k/v/dO tiles, see load_tile).
template <bool Precise, bool Rounded = false, class Frag>
__device__ __forceinline__ void load(Frag& f, const float* p, unsigned ld) {
  wmma::load_matrix_sync(f, p, ld);
  if constexpr (!Precise && !Rounded)
    for (int i = 0; i < f.num_elements; ++i) f.x[i] = wmma::__float_to_tf32(f.x[i]);
}
__device__ __forceinline__ float4 tf32x4(float4 v) {
  return make_float4(wmma::__float_to_tf32(v.x), wmma::__float_to_tf32(v.y), wmma::__float_to_tf32(v.z),
                     wmma::__float_to_tf32(v.w));
}
template <class Frag>
__device__ __forceinline__ void split(const Frag& f, Frag& hi, Frag& lo) {
  for (int i = 0; i < f.num_elements; ++i) {
    const float h = wmma::__float_to_tf32(f.x[i]);
    hi.x[i] = h;
    lo.x[i] = wmma::__float_to_tf32(f.x[i] - h);
  }
}
// c += a b. Precise: a b ~ a_hi b_hi + a_hi b_lo + a_lo b_hi (the "3xTF32" split; the dropped
// a_lo b_lo term is ~2^-22 relative), small terms first.
template <bool Precise, class FB>
__device__ __forceinline__ void mma(FragC& c, const FragA& a, const FB& b) {
  if constexpr (!Precise) {
    wmma::mma_sync(c, a, b, c);
  } else {
    FragA ah, al;
    FB bh, bl;
    split(a, ah, al);
    split(b, bh, bl);
    wmma::mma_sync(c, al, bh, c);
    wmma::mma_sync(c, ah, bl, c);
    wmma::mma_sync(c, ah, bh, c);
  }
}

// Loads rows t0..t0+63 of one head's HS-wide slice of a row-major [Bn*T, stride] array into a
// shared tile (row stride kLd), zero rows beyond T. With rope tables, rotates each (i, i + HS/2)
// pair by the position's angle (sign +1: RoPE, as backend/cuda/rope.cuh). Round: store the values
// rounded to TF32 (once per tile instead of once per fragment load in every warp).
template <int HS, bool Round>
__device__ __forceinline__ void load_tile(float* dst, const float* src, std::size_t row0,
                                          std::size_t stride, int t0, int T, const float* cos_t,
                                          const float* sin_t) {
  constexpr int LD = kLd<HS>, H2 = HS / 2;
  if (cos_t) {
    constexpr int Q4 = H2 / 4;
    for (int i = threadIdx.x; i < kTile * Q4; i += kBlockThreads) {
      const int r = i / Q4, j = (i - r * Q4) * 4, t = t0 + r;
      float4 y1 = make_float4(0.f, 0.f, 0.f, 0.f), y2 = y1;
      if (t < T) {
        const float* s = src + (row0 + std::size_t(t)) * stride;
        const float4 x1 = *reinterpret_cast<const float4*>(s + j);
        const float4 x2 = *reinterpret_cast<const float4*>(s + j + H2);
        const float4 c = *reinterpret_cast<const float4*>(cos_t + std::size_t(t) * H2 + j);
        const float4 n = *reinterpret_cast<const float4*>(sin_t + std::size_t(t) * H2 + j);
        y1 = make_float4(x1.x * c.x - x2.x * n.x, x1.y * c.y - x2.y * n.y, x1.z * c.z - x2.z * n.z,
                         x1.w * c.w - x2.w * n.w);
        y2 = make_float4(x2.x * c.x + x1.x * n.x, x2.y * c.y + x1.y * n.y, x2.z * c.z + x1.z * n.z,
                         x2.w * c.w + x1.w * n.w);
      }
      if constexpr (Round) {
        y1 = tf32x4(y1);
        y2 = tf32x4(y2);
      }
      *reinterpret_cast<float4*>(dst + r * LD + j) = y1;
      *reinterpret_cast<float4*>(dst + r * LD + j + H2) = y2;
    }
  } else {
    constexpr int R4 = HS / 4;
    for (int i = threadIdx.x; i < kTile * R4; i += kBlockThreads) {
      const int r = i / R4, j = (i - r * R4) * 4, t = t0 + r;
      float4 y = make_float4(0.f, 0.f, 0.f, 0.f);
      if (t < T) y = *reinterpret_cast<const float4*>(src + (row0 + std::size_t(t)) * stride + j);
      if constexpr (Round) y = tf32x4(y);
      *reinterpret_cast<float4*>(dst + r * LD + j) = y;
    }
  }
}

// One warp writes its 16 rows (t0..t0+15, those < T) of an HS-wide shared tile to a row-major
// [Bn*T, stride] array. With rope tables, applies the inverse rotation (sign -1: the gradient
// with respect to the un-rotated q or k).
template <int HS>
__device__ __forceinline__ void store_rows(float* dst, std::size_t row0, std::size_t stride,
                                           const float* src, int t0, int T, const float* cos_t,
                                           const float* sin_t, unsigned lane) {
  constexpr int LD = kLd<HS>, H2 = HS / 2;
  if (cos_t) {
    constexpr int Q4 = H2 / 4;
    for (int i = lane; i < 16 * Q4; i += 32) {
      const int r = i / Q4, j = (i - r * Q4) * 4, t = t0 + r;
      if (t >= T) continue;
      const float4 x1 = *reinterpret_cast<const float4*>(src + r * LD + j);
      const float4 x2 = *reinterpret_cast<const float4*>(src + r * LD + j + H2);
      const float4 c = *reinterpret_cast<const float4*>(cos_t + std::size_t(t) * H2 + j);
      const float4 n = *reinterpret_cast<const float4*>(sin_t + std::size_t(t) * H2 + j);
      float* d = dst + (row0 + std::size_t(t)) * stride;
      *reinterpret_cast<float4*>(d + j) = make_float4(x1.x * c.x + x2.x * n.x, x1.y * c.y + x2.y * n.y,
                                                      x1.z * c.z + x2.z * n.z, x1.w * c.w + x2.w * n.w);
      *reinterpret_cast<float4*>(d + j + H2) = make_float4(
          x2.x * c.x - x1.x * n.x, x2.y * c.y - x1.y * n.y, x2.z * c.z - x1.z * n.z, x2.w * c.w - x1.w * n.w);
    }
  } else {
    constexpr int R4 = HS / 4;
    for (int i = lane; i < 16 * R4; i += 32) {
      const int r = i / R4, j = (i - r * R4) * 4, t = t0 + r;
      if (t < T)
        *reinterpret_cast<float4*>(dst + (row0 + std::size_t(t)) * stride + j) =
            *reinterpret_cast<const float4*>(src + r * LD + j);
    }
  }
}

// out[16 x 64] (row stride kLd) = a[16 x HS] (register fragments) . B^T where B is a 64 x HS
// shared tile: the scores of 16 rows against 64 keys (or dP = dO V^T). Only the 16-column chunks
// n_begin <= n < n_end are computed (the others are wholly masked for this warp's rows: causal
// skipping inside the diagonal tile; their contents are stale and must not be read unmasked).
template <int HS, bool Precise>
__device__ __forceinline__ void rows_times_tile_t(float* out, const FragA (&a)[HS / 8], const float* B,
                                                  int n_begin, int n_end) {
  constexpr int LD = kLd<HS>;
#pragma unroll
  for (int n = 0; n < kTile / 16; ++n) {
    if (n < n_begin || n >= n_end) continue;  // warp-uniform
    FragC acc;
    wmma::fill_fragment(acc, 0.f);
#pragma unroll
    for (int kk = 0; kk < HS / 8; ++kk) {
      FragBCol b;  // b[k][j] = B[n*16 + j][kk*8 + k]
      load<Precise, true>(b, B + n * 16 * LD + kk * 8, LD);
      mma<Precise>(acc, a[kk], b);
    }
    wmma::store_matrix_sync(out + n * 16, acc, LD, wmma::mem_row_major);
  }
}

// acc[16 x HS] += P[16 x 64] (shared, row stride kLd) . B[64 x HS] (shared tile), over the
// 8-wide chunks kk_begin <= kk < kk_end of P's columns (the others are zero for this warp).
template <int HS, bool Precise>
__device__ __forceinline__ void accumulate_p_times_tile(FragC (&acc)[HS / 16], const float* P, const float* B,
                                                        int kk_begin, int kk_end) {
  constexpr int LD = kLd<HS>;
#pragma unroll
  for (int kk = 0; kk < kTile / 8; ++kk) {
    if (kk < kk_begin || kk >= kk_end) continue;  // warp-uniform
    FragA a;
    load<Precise>(a, P + kk * 8, LD);
#pragma unroll
    for (int n = 0; n < HS / 16; ++n) {
      FragBRow b;
      load<Precise, true>(b, B + kk * 8 * LD + n * 16, LD);
      mma<Precise>(acc[n], a, b);
    }
  }
}

// ---- forward: grid (query tiles, Bn*NH), 128 threads --------------------------------------------
// Pass 1 finds each row's max and sum over the unmasked keys (online, Milakov & Gimelshein 2018),
// pass 2 accumulates O = softmax(S) V with the final normaliser, so no rescaling of O is needed.
template <int HS, bool Precise>
__global__ void __launch_bounds__(kBlockThreads) forward(float* out, float* lse, const float* qkv,
                                                         const float* cos_t, const float* sin_t,
                                                         int T, int C, int NH, float scale) {
  constexpr int LD = kLd<HS>;
  extern __shared__ __align__(128) float smem[];
  float* Qs = smem;  // rows 16w..16w+15: warp w's queries, later its score tile
  float* Ks = smem + kTile * LD;
  float* Vs = smem + 2 * kTile * LD;
  const int bh = blockIdx.y, b = bh / NH, h = bh - b * NH;
  const int qt = int(gridDim.x) - 1 - int(blockIdx.x);  // longest rows first
  const int q0 = qt * kTile;
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const std::size_t row0 = std::size_t(b) * T, stride = 3 * std::size_t(C);
  const float* qbase = qkv + std::size_t(h) * HS;

  load_tile<HS, !Precise>(Qs, qbase, row0, stride, q0, T, cos_t, sin_t);
  __syncthreads();
  float* Sw = Qs + warp * 16 * LD;
  FragA qf[HS / 8];
#pragma unroll
  for (int kk = 0; kk < HS / 8; ++kk) load<Precise, true>(qf[kk], Sw + kk * 8, LD);
  __syncwarp();

  // lane: row r = lane / 2 of the warp's 16, columns par, par + 2, ..., par + 62
  const int r = int(lane >> 1), par = int(lane & 1), q = q0 + int(warp) * 16 + r;
  const bool row_ok = q < T;
  const int q_hi = q0 + int(warp) * 16 + 15;  // the warp's last row: key chunks past it are masked
  auto n_end = [q_hi](int k0) { return min(kTile / 16, (q_hi - k0) / 16 + 1); };
  float m = -INFINITY, l = 0.f;
  for (int j = 0; j <= qt; ++j) {
    const int k0 = j * kTile;
    __syncthreads();
    load_tile<HS, !Precise>(Ks, qbase + C, row0, stride, k0, T, cos_t, sin_t);
    __syncthreads();
    rows_times_tile_t<HS, Precise>(Sw, qf, Ks, 0, n_end(k0));
    __syncwarp();
    float mt = -INFINITY;
    for (int c = par; c < kTile; c += 2)
      if (row_ok && k0 + c <= q) mt = fmaxf(mt, Sw[r * LD + c] * scale);
    mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
    const float mn = fmaxf(m, mt);
    const bool any = mn != -INFINITY;  // same for both lanes of a row; the shuffle stays uniform
    float s = 0.f;
    if (any)
      for (int c = par; c < kTile; c += 2)
        if (row_ok && k0 + c <= q) s += expf(Sw[r * LD + c] * scale - mn);
    s += __shfl_xor_sync(0xffffffffu, s, 1);
    if (any) {
      l = l * expf(m - mn) + s;  // exp(-inf) = 0 on the first unmasked tile
      m = mn;
    }
    __syncwarp();
  }
  const float L = row_ok ? m + logf(l) : 0.f;
  if (row_ok && par == 0) lse[std::size_t(bh) * T + q] = L;

  FragC acc[HS / 16];
#pragma unroll
  for (int n = 0; n < HS / 16; ++n) wmma::fill_fragment(acc[n], 0.f);
  for (int j = 0; j <= qt; ++j) {
    const int k0 = j * kTile;
    __syncthreads();
    load_tile<HS, !Precise>(Ks, qbase + C, row0, stride, k0, T, cos_t, sin_t);
    load_tile<HS, !Precise>(Vs, qbase + 2 * C, row0, stride, k0, T, nullptr, nullptr);
    __syncthreads();
    const int ne = n_end(k0);
    rows_times_tile_t<HS, Precise>(Sw, qf, Ks, 0, ne);
    __syncwarp();
    for (int c = par; c < kTile; c += 2) {
      float& s = Sw[r * LD + c];
      s = (row_ok && k0 + c <= q) ? expf(s * scale - L) : 0.f;
    }
    __syncwarp();
    accumulate_p_times_tile<HS, Precise>(acc, Sw, Vs, 0, 2 * ne);
    __syncwarp();
  }
#pragma unroll
  for (int n = 0; n < HS / 16; ++n) wmma::store_matrix_sync(Sw + n * 16, acc[n], LD, wmma::mem_row_major);
  __syncwarp();
  store_rows<HS>(out + std::size_t(h) * HS, row0, C, Sw, q0 + int(warp) * 16, T, nullptr, nullptr, lane);
}

// D[bh, t] = sum_d dO[b, t, h, d] O[b, t, h, d] (the softmax backward's row term; FA2 Alg. 2 l.19).
DMA_KERNEL void row_dot(float* D, const float* dout, const float* out, unsigned rows, unsigned T,
                        unsigned C, unsigned NH) {
  const unsigned w = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (w >= rows) return;  // w = (b*T + t)*NH + h
  const unsigned bt = w / NH, h = w - bt * NH, hs = C / NH, b = bt / T, t = bt - b * T;
  const float* a = dout + std::size_t(bt) * C + h * hs;
  const float* o = out + std::size_t(bt) * C + h * hs;
  float s = 0.f;
  for (unsigned d = lane; d < hs; d += 32) s += a[d] * o[d];
  s = warp_sum(s);
  if (lane == 0) D[(std::size_t(b) * NH + h) * T + t] = s;
}

// ---- backward, keys: grid (key tiles, Bn*NH); warp w owns keys k0+16w..+15 and accumulates
// dV = P^T dO and dK = dS^T Q over the query tiles on and below the diagonal.
template <int HS, bool Precise>
__global__ void __launch_bounds__(kBlockThreads) backward_kv(float* dqkv, const float* dout, const float* qkv,
                                                             const float* lse, const float* D,
                                                             const float* cos_t, const float* sin_t,
                                                             int T, int C, int NH, float scale) {
  constexpr int LD = kLd<HS>;
  extern __shared__ __align__(128) float smem[];
  float* Qs = smem;
  float* dOs = smem + kTile * LD;
  float* R = smem + 2 * kTile * LD;  // K tile then V tile; later each warp's P^T and dS^T rows
  float* lse_s = smem + 4 * kTile * LD;
  float* D_s = lse_s + kTile;
  const int bh = blockIdx.y, b = bh / NH, h = bh - b * NH;
  const int kt = int(blockIdx.x), k0 = kt * kTile, ntiles = int(gridDim.x);
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const std::size_t row0 = std::size_t(b) * T, stride = 3 * std::size_t(C);
  const float* qbase = qkv + std::size_t(h) * HS;

  load_tile<HS, !Precise>(R, qbase + C, row0, stride, k0, T, cos_t, sin_t);
  load_tile<HS, !Precise>(R + kTile * LD, qbase + 2 * C, row0, stride, k0, T, nullptr, nullptr);
  __syncthreads();
  float* Pt = R + warp * 16 * LD;             // this warp's K rows, then P^T
  float* dSt = R + (kTile + warp * 16) * LD;  // this warp's V rows, then dS^T
  FragA kf[HS / 8], vf[HS / 8];
#pragma unroll
  for (int kk = 0; kk < HS / 8; ++kk) {
    load<Precise, true>(kf[kk], Pt + kk * 8, LD);
    load<Precise, true>(vf[kk], dSt + kk * 8, LD);
  }
  __syncwarp();
  FragC dk[HS / 16], dv[HS / 16];
#pragma unroll
  for (int n = 0; n < HS / 16; ++n) {
    wmma::fill_fragment(dk[n], 0.f);
    wmma::fill_fragment(dv[n], 0.f);
  }
  const int r = int(lane >> 1), par = int(lane & 1), key = k0 + int(warp) * 16 + r;
  for (int it = kt; it < ntiles; ++it) {
    const int q0 = it * kTile;
    __syncthreads();
    load_tile<HS, !Precise>(Qs, qbase, row0, stride, q0, T, cos_t, sin_t);
    load_tile<HS, !Precise>(dOs, dout + std::size_t(h) * HS, row0, C, q0, T, nullptr, nullptr);
    for (int i = threadIdx.x; i < kTile; i += kBlockThreads) {
      const int q = q0 + i;
      lse_s[i] = q < T ? lse[std::size_t(bh) * T + q] : 0.f;
      D_s[i] = q < T ? D[std::size_t(bh) * T + q] : 0.f;
    }
    __syncthreads();
    // on the diagonal tile, query chunks below this warp's first key are wholly masked
    const int nb = q0 == k0 ? int(warp) : 0;
    rows_times_tile_t<HS, Precise>(Pt, kf, Qs, nb, kTile / 16);    // S^T = K Q^T
    rows_times_tile_t<HS, Precise>(dSt, vf, dOs, nb, kTile / 16);  // dP^T = V dO^T
    __syncwarp();
    for (int c = par; c < kTile; c += 2) {
      const int q = q0 + c;
      const bool ok = q < T && q >= key;
      const float p = ok ? expf(Pt[r * LD + c] * scale - lse_s[c]) : 0.f;
      dSt[r * LD + c] = ok ? p * (dSt[r * LD + c] - D_s[c]) * scale : 0.f;  // select: skipped chunks are stale
      Pt[r * LD + c] = p;
    }
    __syncwarp();
    accumulate_p_times_tile<HS, Precise>(dv, Pt, dOs, 2 * nb, kTile / 8);  // dV += P^T dO
    accumulate_p_times_tile<HS, Precise>(dk, dSt, Qs, 2 * nb, kTile / 8);  // dK += dS^T Q
    __syncwarp();
  }
#pragma unroll
  for (int n = 0; n < HS / 16; ++n) {
    wmma::store_matrix_sync(Pt + n * 16, dk[n], LD, wmma::mem_row_major);
    wmma::store_matrix_sync(dSt + n * 16, dv[n], LD, wmma::mem_row_major);
  }
  __syncwarp();
  const int t0 = k0 + int(warp) * 16;
  store_rows<HS>(dqkv + C + std::size_t(h) * HS, row0, stride, Pt, t0, T, cos_t, sin_t, lane);
  store_rows<HS>(dqkv + 2 * C + std::size_t(h) * HS, row0, stride, dSt, t0, T, nullptr, nullptr, lane);
}

// ---- backward, queries: grid (query tiles, Bn*NH); warp w owns queries q0+16w..+15 and
// accumulates dQ = dS K over the key tiles on and below the diagonal.
template <int HS, bool Precise>
__global__ void __launch_bounds__(kBlockThreads) backward_q(float* dqkv, const float* dout, const float* qkv,
                                                            const float* lse, const float* D,
                                                            const float* cos_t, const float* sin_t,
                                                            int T, int C, int NH, float scale) {
  constexpr int LD = kLd<HS>;
  extern __shared__ __align__(128) float smem[];
  float* Ks = smem;
  float* Vs = smem + kTile * LD;
  float* R = smem + 2 * kTile * LD;  // Q tile then dO tile; later each warp's S and dS rows
  const int bh = blockIdx.y, b = bh / NH, h = bh - b * NH;
  const int qt = int(gridDim.x) - 1 - int(blockIdx.x), q0 = qt * kTile;
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const std::size_t row0 = std::size_t(b) * T, stride = 3 * std::size_t(C);
  const float* qbase = qkv + std::size_t(h) * HS;

  load_tile<HS, !Precise>(R, qbase, row0, stride, q0, T, cos_t, sin_t);
  load_tile<HS, !Precise>(R + kTile * LD, dout + std::size_t(h) * HS, row0, C, q0, T, nullptr, nullptr);
  __syncthreads();
  float* Sw = R + warp * 16 * LD;
  float* dSw = R + (kTile + warp * 16) * LD;
  FragA qf[HS / 8], of[HS / 8];
#pragma unroll
  for (int kk = 0; kk < HS / 8; ++kk) {
    load<Precise, true>(qf[kk], Sw + kk * 8, LD);
    load<Precise, true>(of[kk], dSw + kk * 8, LD);
  }
  __syncwarp();
  FragC dq[HS / 16];
#pragma unroll
  for (int n = 0; n < HS / 16; ++n) wmma::fill_fragment(dq[n], 0.f);
  const int r = int(lane >> 1), par = int(lane & 1), q = q0 + int(warp) * 16 + r;
  const bool row_ok = q < T;
  const float Lq = row_ok ? lse[std::size_t(bh) * T + q] : 0.f;
  const float Dq = row_ok ? D[std::size_t(bh) * T + q] : 0.f;
  const int q_hi = q0 + int(warp) * 16 + 15;
  for (int j = 0; j <= qt; ++j) {
    const int k0 = j * kTile;
    __syncthreads();
    load_tile<HS, !Precise>(Ks, qbase + C, row0, stride, k0, T, cos_t, sin_t);
    load_tile<HS, !Precise>(Vs, qbase + 2 * C, row0, stride, k0, T, nullptr, nullptr);
    __syncthreads();
    const int ne = min(kTile / 16, (q_hi - k0) / 16 + 1);  // key chunks past the warp's last row: masked
    rows_times_tile_t<HS, Precise>(Sw, qf, Ks, 0, ne);   // S = Q K^T
    rows_times_tile_t<HS, Precise>(dSw, of, Vs, 0, ne);  // dP = dO V^T
    __syncwarp();
    for (int c = par; c < kTile; c += 2) {
      const bool ok = row_ok && k0 + c <= q;
      const float p = ok ? expf(Sw[r * LD + c] * scale - Lq) : 0.f;
      dSw[r * LD + c] = ok ? p * (dSw[r * LD + c] - Dq) * scale : 0.f;  // select: skipped chunks are stale
    }
    __syncwarp();
    accumulate_p_times_tile<HS, Precise>(dq, dSw, Ks, 0, 2 * ne);  // dQ += dS K
    __syncwarp();
  }
#pragma unroll
  for (int n = 0; n < HS / 16; ++n) wmma::store_matrix_sync(Sw + n * 16, dq[n], LD, wmma::mem_row_major);
  __syncwarp();
  store_rows<HS>(dqkv + std::size_t(h) * HS, row0, stride, Sw, q0 + int(warp) * 16, T, cos_t, sin_t, lane);
}

template <int HS>
inline constexpr std::size_t kForwardSmem = 3 * kTile * kLd<HS> * sizeof(float);
template <int HS>
inline constexpr std::size_t kBackwardSmem = (4 * kTile * kLd<HS> + 2 * kTile) * sizeof(float);

// Opts a kernel into more than 48 KB of dynamic shared memory (once per instantiation).
template <class Kernel>
inline void allow_smem(Kernel k, std::size_t bytes) {
  DMA_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

template <int HS, bool Precise>
inline void launch_forward(float* out, float* lse, const float* qkv, const float* cos_t, const float* sin_t,
                           std::size_t Bn, std::size_t T, std::size_t C, std::size_t NH) {
  static const bool ready = (allow_smem(forward<HS, Precise>, kForwardSmem<HS>), true);
  (void)ready;
  const dim3 grid(unsigned((T + kTile - 1) / kTile), unsigned(Bn * NH));
  const std::size_t smem = kForwardSmem<HS>;
  forward<HS, Precise><<<grid, kBlockThreads, smem>>>(out, lse, qkv, cos_t, sin_t, int(T), int(C),
                                                                 int(NH), 1.0f / std::sqrt(float(HS)));
  DMA_CUDA_LAUNCH_CHECK();
}

template <int HS, bool Precise>
inline void launch_backward(float* dqkv, const float* dout, const float* qkv, const float* lse, const float* D,
                            const float* cos_t, const float* sin_t, std::size_t Bn, std::size_t T,
                            std::size_t C, std::size_t NH) {
  static const bool ready = (allow_smem(backward_kv<HS, Precise>, kBackwardSmem<HS>),
                             allow_smem(backward_q<HS, Precise>, kBackwardSmem<HS>), true);
  (void)ready;
  const dim3 grid(unsigned((T + kTile - 1) / kTile), unsigned(Bn * NH));
  const float scale = 1.0f / std::sqrt(float(HS));
  const std::size_t smem = kBackwardSmem<HS>;
  backward_kv<HS, Precise><<<grid, kBlockThreads, smem>>>(dqkv, dout, qkv, lse, D, cos_t, sin_t,
                                                                       int(T), int(C), int(NH), scale);
  DMA_CUDA_LAUNCH_CHECK();
  backward_q<HS, Precise><<<grid, kBlockThreads, smem>>>(dqkv, dout, qkv, lse, D, cos_t, sin_t,
                                                                      int(T), int(C), int(NH), scale);
  DMA_CUDA_LAUNCH_CHECK();
}
}  // namespace flash

// Head sizes with a compiled kernel (multiples of the 16-wide wmma fragment; 128 is left out to
// bound compile time and registers: the proxy's presets use 32 and 64).
inline bool flash_attention_supported(std::size_t head_size) noexcept {
  return head_size == 16 || head_size == 32 || head_size == 64;
}

// out[Bn, T, C] = causal softmax(q k^T / sqrt(hs)) v per head; lse[Bn, NH, T] = log-sum-exp of
// each query's scaled scores (kept for the backward). qkv [Bn, T, 3C] is read, never written; with
// cos_t/sin_t ([T, hs/2], rope.cuh's tables) q and k are rotated on load (RoPE fused), with null
// tables qkv is taken as already rotated. precise: ~FP32 products (3xTF32) instead of TF32.
inline void flash_attention_forward(float* out, float* lse, const float* qkv, const float* cos_t,
                                    const float* sin_t, std::size_t Bn, std::size_t T, std::size_t C,
                                    std::size_t NH, bool precise) {
  if (Bn * T == 0) return;
  const std::size_t hs = C / NH;
  if (!flash_attention_supported(hs))
    dma::fail("flash_attention_forward: head size ", hs, " has no kernel (expected 16, 32 or 64)");
  if (Bn * NH > 65535) dma::fail("flash_attention_forward: Bn*NH = ", Bn * NH, " exceeds the grid limit 65535");
  auto go = [&]<int HS>() {
    if (precise) flash::launch_forward<HS, true>(out, lse, qkv, cos_t, sin_t, Bn, T, C, NH);
    else flash::launch_forward<HS, false>(out, lse, qkv, cos_t, sin_t, Bn, T, C, NH);
  };
  if (hs == 16) go.template operator()<16>();
  else if (hs == 32) go.template operator()<32>();
  else go.template operator()<64>();
}

// dqkv [Bn, T, 3C] is OVERWRITTEN with the gradient with respect to qkv (un-rotated when tables
// are given); dout and out [Bn, T, C] are the forward output's gradient and the output itself, lse
// the forward's; D [Bn*NH*T] is scratch.
inline void flash_attention_backward(float* dqkv, float* D, const float* dout, const float* out,
                                     const float* qkv, const float* lse, const float* cos_t,
                                     const float* sin_t, std::size_t Bn, std::size_t T, std::size_t C,
                                     std::size_t NH, bool precise) {
  if (Bn * T == 0) return;
  const std::size_t hs = C / NH;
  if (!flash_attention_supported(hs))
    dma::fail("flash_attention_backward: head size ", hs, " has no kernel (expected 16, 32 or 64)");
  if (Bn * NH > 65535) dma::fail("flash_attention_backward: Bn*NH = ", Bn * NH, " exceeds the grid limit 65535");
  check_index_range(Bn * T * 3 * C, "flash_attention_backward");
  const std::size_t rows = Bn * T * NH;
  flash::row_dot<<<grid_rows(rows), 32 * kWarpsPerBlock>>>(D, dout, out, unsigned(rows), unsigned(T),
                                                           unsigned(C), unsigned(NH));
  DMA_CUDA_LAUNCH_CHECK();
  auto go = [&]<int HS>() {
    if (precise) flash::launch_backward<HS, true>(dqkv, dout, qkv, lse, D, cos_t, sin_t, Bn, T, C, NH);
    else flash::launch_backward<HS, false>(dqkv, dout, qkv, lse, D, cos_t, sin_t, Bn, T, C, NH);
  };
  if (hs == 16) go.template operator()<16>();
  else if (hs == 32) go.template operator()<32>();
  else go.template operator()<64>();
}

}  // namespace dma::backend::cuda
