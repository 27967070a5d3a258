#include "stats.h"

int64_t stats_sum(const int32_t *v, size_t n)
{
	int32_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i];
	return total;
}

double stats_mean(const int32_t *v, size_t n)
{
	if (n == 0)
		return 0.0;
	return (double)stats_sum(v, n) / (double)n;
}
