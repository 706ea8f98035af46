// Shim for zlib (Debian: zlib1g-dev): gzip streams for the tokenizer vocabulary and IDX/TSV data files.
#ifndef CLAZLIB_SHIM_H
#define CLAZLIB_SHIM_H
#include <zlib.h>
#endif
