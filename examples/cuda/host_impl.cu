// examples/cuda/host_impl.cu: the one .cu file a program needs when its host code uses
// backend::Cuda (env::Cpt<backend::Cuda>, ...): it compiles the definitions behind
// dma/backend/cuda/host.hpp. Ours (collect_cuda, bench_env_cuda, parity_cuda_env) share one
// compiled copy of it (CMake: dma_cuda_host).
#include <dma/backend/cuda/host_impl.cuh>
