// glibc allocator statistics for the block benchmark's memory check, and malloc_trim for TrainStepRatios' RSS
// baselines (Swift's Glibc module does not export <malloc.h>). Elsewhere the functions report -1.
#ifndef CMALLOCSTATS_H
#define CMALLOCSTATS_H
#include <stddef.h>

/// Bytes handed out by malloc and not yet freed, over all arenas and mmapped chunks
/// (mallinfo2: uordblks + hblkhd), or -1 where unavailable.
long long cla_malloc_in_use_bytes(void);

/// Bytes malloc holds from the system (mallinfo2: arena + hblkhd), or -1 where unavailable.
long long cla_malloc_system_bytes(void);

/// Returns the free pages of every malloc arena to the system (glibc `malloc_trim(0)`), so the next
/// RSS reading holds only memory in use. 1 when memory was released, 0 when none was, -1 where unavailable.
int cla_malloc_trim(void);

#endif
