// tests/parity/env/host_impl.cu: the one .cu file of the parity_cuda_env program. It compiles the
// definitions behind dma/backend/cuda/host.hpp; the tests themselves (cuda_env.cpp) are host code
// compiled by g++, as a user's experiment would be.
#include <dma/backend/cuda/host_impl.cuh>
