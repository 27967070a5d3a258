#ifndef CSTATS_STATS_H
#define CSTATS_STATS_H
#include <stddef.h>
#include <stdint.h>

/* Sum of n values; exact for any n up to 2^32 (64-bit accumulator). */
int64_t stats_sum(const int32_t *v, size_t n);
/* Arithmetic mean; 0 for n == 0. */
double stats_mean(const int32_t *v, size_t n);
int32_t stats_min(const int32_t *v, size_t n);
int32_t stats_max(const int32_t *v, size_t n);

#endif
