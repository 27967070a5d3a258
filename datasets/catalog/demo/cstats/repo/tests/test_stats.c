#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "stats.h"

static int failures;

#define CHECK(cond) do { if (!(cond)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

int main(void)
{
	int32_t small[] = {3, -1, 4, 1, -5, 9};
	CHECK(stats_sum(small, 6) == 11);
	CHECK(stats_min(small, 6) == -5);
	CHECK(stats_max(small, 6) == 9);
	CHECK(stats_mean(NULL, 0) == 0.0);

	size_t n = 1000000;
	int32_t *big = malloc(n * sizeof *big);
	if (!big)
		return 2;
	for (size_t i = 0; i < n; i++)
		big[i] = 5000;
	CHECK(stats_sum(big, n) == INT64_C(5000000000));
	CHECK(stats_mean(big, n) == 5000.0);

	int32_t edge[] = {INT32_MAX, INT32_MAX, INT32_MAX};
	CHECK(stats_sum(edge, 3) == INT64_C(3) * INT32_MAX);
	free(big);

	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
