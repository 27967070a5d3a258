/*
 * The tenant's report record: the single source of truth for the binary format that
 * replayer/tenant.ts decodes. 64 bytes, little-endian, fixed-width fields; times are
 * CLOCK_MONOTONIC nanoseconds (Node's process.hrtime.bigint() reads the same clock).
 */
#ifndef AGENTCGROUP_TENANT_H
#define AGENTCGROUP_TENANT_H
#include <stdint.h>

#define REC_READY 1      /* schedule parsed, nothing allocated yet */
#define REC_PREFAULTED 2 /* step 0's target touched before the clock starts */
#define REC_STEP 3       /* one trace step done */
#define REC_DONE 4       /* last step done; the tenant exits next */
#define REC_ERROR 5      /* err holds errno; the tenant exits 2 */
#define REC_MEASURE 6    /* --measure: target = bytes, start/end = the timed pass, step = method */

#define FLAG_TOUCHED 1   /* MADV_POPULATE_WRITE was refused (limit hit): pages were touched one by one */
#define FLAG_HUGE 2      /* transparent huge pages were requested for whole 2 MiB chunks */
#define FLAG_LIMIT 4     /* a cgroup limit was hit during the step (a limit-hit counter given by C rose):
                            the kernel reclaimed, parked or OOM-killed before charging */

struct tenant_rec {
	uint32_t kind;
	uint32_t step;
	uint64_t target;   /* bytes the trace asks for (page-rounded) */
	uint64_t achieved; /* bytes mapped and touched after the step */
	int64_t sched_ns;  /* when the step was due */
	int64_t start_ns;  /* when it started (late steps start late, none is skipped) */
	int64_t end_ns;    /* when the memory operation finished */
	uint64_t rss_anon; /* resident minus shared pages from /proc/self/statm, bytes (0: not read) */
	uint32_t err;
	uint32_t flags;
};

_Static_assert(sizeof(struct tenant_rec) == 64, "tenant_rec must stay 64 bytes");
#endif
