// examples/cuda/host_impl.cu: the one .cu file of collect_cuda (examples/collect.cpp built with
// DMA_COLLECT_CUDA) and of bench_env_cuda (benchmarks/cuda_env/): the definitions behind
// dma/backend/cuda/host.hpp.
#include <dma/backend/cuda/host_impl.cuh>
