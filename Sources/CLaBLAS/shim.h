// Shim for OpenBLAS's CBLAS interface and LAPACKE (Debian: libopenblas-dev, liblapacke-dev).
// Debian's OpenBLAS does not contain LAPACKE, so the module map links both libraries.
#ifndef CLABLAS_SHIM_H
#define CLABLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
