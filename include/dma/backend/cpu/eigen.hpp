// dma/backend/cpu/eigen.hpp: how the CPU backend sees raw float buffers as Eigen matrices
// (row-major Maps, strided Maps for heads inside the qkv rows). Included by the CPU op headers;
// the GEMMs behind matmul and attention run through these maps. Tested with the ops
// (tests/unit/model_ops.cpp) and the allocation-free step test (tests/unit/model_train.cpp).
#pragma once

// Eigen's GEMM takes its packing blocks from the stack below this limit and from the heap above
// it; a training step must not allocate, so raise the limit when we are the first to include
// Eigen (blocks for our shapes stay well below 1 MiB; thread stacks are 8 MiB).
#if !defined(EIGEN_CORE_H) && !defined(EIGEN_STACK_ALLOCATION_LIMIT)
#define EIGEN_STACK_ALLOCATION_LIMIT (2 * 1024 * 1024)
#endif
#include <Eigen/Core>

namespace dma::backend::cpu {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapMat = Eigen::Map<RowMat, Eigen::Unaligned>;
using CMapMat = Eigen::Map<const RowMat, Eigen::Unaligned>;
using SMapMat = Eigen::Map<RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;
using CSMapMat = Eigen::Map<const RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;

inline auto as_mat(float* p, std::size_t rows, std::size_t cols) {
  return MapMat(p, Eigen::Index(rows), Eigen::Index(cols));
}
inline auto as_mat(const float* p, std::size_t rows, std::size_t cols) {
  return CMapMat(p, Eigen::Index(rows), Eigen::Index(cols));
}
// rows x cols with `stride` floats between row starts (a head's slice of the qkv rows).
inline auto as_mat(float* p, std::size_t rows, std::size_t cols, std::size_t stride) {
  return SMapMat(p, Eigen::Index(rows), Eigen::Index(cols), Eigen::OuterStride<>(Eigen::Index(stride)));
}
inline auto as_mat(const float* p, std::size_t rows, std::size_t cols, std::size_t stride) {
  return CSMapMat(p, Eigen::Index(rows), Eigen::Index(cols), Eigen::OuterStride<>(Eigen::Index(stride)));
}

// A contiguous run of n floats as an Eigen array (vectorized elementwise math: exp, etc.).
inline auto as_array(float* p, std::size_t n) {
  return Eigen::Map<Eigen::Array<float, Eigen::Dynamic, 1>, Eigen::Unaligned>(p, Eigen::Index(n));
}
inline auto as_array(const float* p, std::size_t n) {
  return Eigen::Map<const Eigen::Array<float, Eigen::Dynamic, 1>, Eigen::Unaligned>(p, Eigen::Index(n));
}

}  // namespace dma::backend::cpu
