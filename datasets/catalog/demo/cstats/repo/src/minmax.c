#include "stats.h"

int32_t stats_min(const int32_t *v, size_t n)
{
	int32_t m = n ? v[0] : 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

int32_t stats_max(const int32_t *v, size_t n)
{
	int32_t m = n ? v[0] : 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}
