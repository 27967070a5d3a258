/*
 * agentcgroup-tenant: follows one memory (and optionally CPU) trace with page precision.
 *
 * The runner writes the schedule on stdin, then commands; the tenant answers with 64-byte
 * records (tenant.h) on stdout:
 *   S <n> <hugepages 0|1> <cpu 0|1> <rss 0|1> <reserve_bytes>   header (reserve: at least the peak)
 *   <offset_ns> <target_bytes> <cpu_pct_x100>       n lines; offsets are already divided by speed
 *   P                                               touch step 0's target now (before the clock)
 *   W                                               touch the whole reserve now (the warm pool's warm-up)
 *   C <file>                                        a limit-hit counter (v1 memory.failcnt, v2 memory.events
 *                                                   "max") of the tenant's group or an ancestor, up to 4:
 *                                                   a step during which one rose is flagged FLAG_LIMIT
 *   I                                               the warm pool's mode for the run: releases on time, a
 *                                                   share on each CPU; takes memory back only with idle CPU
 *                                                   (SCHED_IDLE, in 16 MiB pieces, given up when the next
 *                                                   step is due)
 *   G <t0_ns>                                       run: step i is due at t0 + offset_i (CLOCK_MONOTONIC)
 * Memory is one reserved mapping: whole 2 MiB chunks in a MADV_HUGEPAGE region, the rest in a
 * 4 KiB region, so the amount held is exact to the page. Growth uses MADV_POPULATE_WRITE (one
 * call, no per-page trap); if the kernel refuses (a cgroup limit), the pages are touched one
 * by one so the kernel's own limit semantics apply (OOM kill, or parking with oom_kill_disable).
 * Shrinking is MADV_DONTNEED: the pages are freed and uncharged at once.
 * The schedule is absolute: a late step starts at once and is recorded late, never skipped.
 *
 * agentcgroup-tenant --measure <MiB> prints REC_MEASURE records of allocation throughput.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "tenant.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096UL
#define HUGE (2UL << 20)

struct step { int64_t off_ns; uint64_t target; uint32_t cpu_x100; };

static struct step *steps;
static uint32_t nsteps;
static int use_huge, use_cpu, use_rss;
static char *huge_base, *small_base; /* huge region (2 MiB aligned) and the 4 KiB tail region */
static uint64_t huge_cap, huge_held, small_held; /* bytes */
static int statm_fd = -1;
static int populate_ok = 1;
static uint32_t step_flags;
static int idle_takeback; /* the warm pool: take back with idle CPU only */
static int limit_fd[4];
static int nlimit;

/* Σ of the limit-hit counters: a plain number (v1 failcnt) or the "max" key (v2 memory.events) */
static long long limit_hits(void) {
	long long sum = 0;
	for (int k = 0; k < nlimit; k++) {
		char b[512];
		ssize_t n = pread(limit_fd[k], b, sizeof b - 1, 0);
		if (n <= 0) continue;
		b[n] = 0;
		if (b[0] >= '0' && b[0] <= '9') { sum += atoll(b); continue; }
		char *m = strncmp(b, "max ", 4) == 0 ? b : strstr(b, "\nmax ");
		if (m) sum += atoll(m + (m == b ? 4 : 5));
	}
	return sum;
}

static int64_t now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int64_t thread_cpu_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void emit(const struct tenant_rec *r) {
	const char *p = (const char *)r;
	size_t left = sizeof(*r);
	while (left > 0) {
		ssize_t n = write(1, p, left);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) _exit(3); /* the runner is gone */
		p += n;
		left -= (size_t)n;
	}
}

static void fail(uint32_t step, int err) {
	struct tenant_rec r = {.kind = REC_ERROR, .step = step, .err = (uint32_t)err};
	emit(&r);
	_exit(2);
}

/* Populate [p, p+len): one madvise call; on refusal, touch page by page (user faults). */
static void populate(char *p, uint64_t len) {
	if (len == 0) return;
	if (populate_ok) {
		if (madvise(p, len, MADV_POPULATE_WRITE) == 0) return;
		if (errno == EINVAL) populate_ok = 0; /* kernel < 5.14 */
		else step_flags |= FLAG_TOUCHED;
	}
	for (uint64_t i = 0; i < len; i += PAGE) p[i] = 1;
}

static void release(char *p, uint64_t len) {
	if (len > 0 && madvise(p, len, MADV_DONTNEED) != 0) fail(0, errno);
}

/* Holds exactly `target` bytes (a multiple of 4 KiB); returns what is held. */
static uint64_t set_target(uint64_t target) {
	uint64_t want_huge = use_huge ? target / HUGE * HUGE : 0;
	if (want_huge > huge_cap) want_huge = huge_cap;
	uint64_t want_small = target - want_huge;
	/* shrink first, so a tenant moving memory between regions never holds both */
	if (want_small < small_held) release(small_base + want_small, small_held - want_small);
	if (want_huge < huge_held) release(huge_base + want_huge, huge_held - want_huge);
	if (want_small < small_held) small_held = want_small;
	if (want_huge < huge_held) huge_held = want_huge;
	if (want_huge > huge_held) {
		populate(huge_base + huge_held, want_huge - huge_held);
		huge_held = want_huge;
	}
	if (want_small > small_held) {
		populate(small_base + small_held, want_small - small_held);
		small_held = want_small;
	}
	return huge_held + small_held;
}

static uint64_t rss_anon(void) {
	if (statm_fd < 0) return 0;
	char buf[128];
	ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) return 0;
	buf[n] = 0;
	unsigned long size, resident, shared;
	if (sscanf(buf, "%lu %lu %lu", &size, &resident, &shared) != 3) return 0;
	return (uint64_t)(resident - shared) * PAGE;
}

static char *reserve(uint64_t len, int huge) {
	/* over-reserve by 2 MiB so the region can start on a huge-page boundary */
	char *m = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) fail(0, errno);
	char *a = (char *)(((uintptr_t)m + HUGE - 1) & ~(HUGE - 1));
	madvise(a, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return a;
}

static void burn(int64_t cpu_ns, int64_t until_ns) {
	int64_t c0 = thread_cpu_ns();
	volatile uint64_t x = 0;
	while (thread_cpu_ns() - c0 < cpu_ns && now_ns() < until_ns)
		for (int i = 0; i < 2000; i++) x += (uint64_t)i;
}

static int read_line(char *buf, size_t cap) {
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(0, buf + n, 1);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) return -1;
		if (buf[n] == '\n') break;
		n++;
	}
	buf[n] = 0;
	return (int)n;
}

/*
 * The warm pool's step: a release (the tenants grow next) happens at once; taking memory back
 * (the tenants freed it) only keeps it from going cold, so it must not take CPU from them:
 * the process runs SCHED_IDLE and grows in 16 MiB pieces, stopping when the next step is due.
 */
static uint64_t set_target_idle(uint64_t target, int64_t next_due) {
	const uint64_t piece = 16UL << 20;
	uint64_t held = huge_held + small_held;
	if (target < held && held - target >= 4 * HUGE) {
		/* free a share on each CPU: freed huge pages first sit on the freeing CPU's page lists,
		 * and the tenants that grow next may run on any CPU */
		cpu_set_t all, one;
		if (sched_getaffinity(0, sizeof all, &all) == 0 && CPU_COUNT(&all) > 1) {
			int n = CPU_COUNT(&all), k = 0;
			uint64_t from = held;
			for (int c = 0; c < CPU_SETSIZE && k < n; c++) {
				if (!CPU_ISSET(c, &all)) continue;
				k++;
				CPU_ZERO(&one);
				CPU_SET(c, &one);
				sched_setaffinity(0, sizeof one, &one);
				uint64_t to = k == n ? target : from - (held - target) / n / HUGE * HUGE;
				set_target(to);
				from = to;
			}
			sched_setaffinity(0, sizeof all, &all);
			return huge_held + small_held;
		}
	}
	if (target <= held) return set_target(target);
	struct sched_param sp = {.sched_priority = 0};
	sched_setscheduler(0, SCHED_IDLE, &sp);
	while (held < target && now_ns() < next_due) held = set_target(target - held > piece ? held + piece : target);
	sched_setscheduler(0, SCHED_OTHER, &sp);
	return held;
}

static void run(int64_t t0) {
	for (uint32_t i = 0; i < nsteps; i++) {
		int64_t due = t0 + steps[i].off_ns;
		struct timespec ts = {.tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL};
		while (now_ns() < due && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
		struct tenant_rec r = {.kind = REC_STEP, .step = i, .target = steps[i].target, .sched_ns = due};
		step_flags = use_huge ? FLAG_HUGE : 0;
		/* growth only: did it run into a cgroup limit (the kernel reclaiming, parking, killing)? */
		int grows = nlimit > 0 && steps[i].target > huge_held + small_held;
		long long hits = grows ? limit_hits() : 0;
		r.start_ns = now_ns();
		if (idle_takeback) r.achieved = set_target_idle(steps[i].target, i + 1 < nsteps ? t0 + steps[i + 1].off_ns : INT64_MAX);
		else r.achieved = set_target(steps[i].target);
		r.end_ns = now_ns();
		if (grows && limit_hits() > hits) step_flags |= FLAG_LIMIT;
		r.flags = step_flags;
		if (use_rss) r.rss_anon = rss_anon();
		if (use_cpu && steps[i].cpu_x100 > 0 && i + 1 < nsteps) {
			int64_t next = t0 + steps[i + 1].off_ns;
			int64_t span = steps[i + 1].off_ns - steps[i].off_ns;
			burn(span * (int64_t)steps[i].cpu_x100 / 10000, next);
		}
		emit(&r);
	}
	struct tenant_rec d = {.kind = REC_DONE, .step = nsteps, .end_ns = now_ns()};
	emit(&d);
}

/* Allocation throughput, for doctor, every replay's report and bench:replay. */
static void measure(uint64_t mib) {
	uint64_t len = mib << 20;
	struct { int method; int huge; int memset_fill; int passes; } plan[] = {
		{0, 0, 1, 1}, /* plain memset on a fresh mmap (4 KiB pages) */
		{1, 0, 0, 1}, /* the tenant's path, 4 KiB pages */
		{2, 1, 0, 2}, /* the tenant's path with huge pages: first pass, then a second pass */
	};
	for (size_t k = 0; k < sizeof(plan) / sizeof(plan[0]); k++) {
		for (int pass = 0; pass < plan[k].passes; pass++) {
			char *a = reserve(len, plan[k].huge);
			struct tenant_rec r = {.kind = REC_MEASURE, .step = (uint32_t)(plan[k].method * 10 + pass), .target = len};
			r.start_ns = now_ns();
			if (plan[k].memset_fill) memset(a, 1, len);
			else populate(a, len);
			r.end_ns = now_ns();
			r.achieved = len;
			emit(&r);
			munmap(a - 0, len); /* the alignment slack stays reserved; it was never touched */
		}
	}
}

int main(int argc, char **argv) {
	/* die with the runner: a SIGKILLed replay leaves no tenant behind */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1) _exit(4);
	/* 1 ns timer slack: wake-ups on schedule, not up to 50 us late */
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (argc == 3 && strcmp(argv[1], "--measure") == 0) {
		measure(strtoull(argv[2], NULL, 10));
		return 0;
	}
	char line[256];
	if (read_line(line, sizeof line) < 0) return 1;
	unsigned long long reserve_bytes = 0;
	if (sscanf(line, "S %u %d %d %d %llu", &nsteps, &use_huge, &use_cpu, &use_rss, &reserve_bytes) < 4 || nsteps == 0) fail(0, EINVAL);
	steps = calloc(nsteps, sizeof(*steps));
	if (!steps) fail(0, ENOMEM);
	uint64_t peak = 0;
	for (uint32_t i = 0; i < nsteps; i++) {
		long long off;
		unsigned long long target;
		unsigned cpu;
		if (read_line(line, sizeof line) < 0 || sscanf(line, "%lld %llu %u", &off, &target, &cpu) != 3) fail(i, EINVAL);
		steps[i] = (struct step){.off_ns = off, .target = target / PAGE * PAGE, .cpu_x100 = cpu};
		if (steps[i].target > peak) peak = steps[i].target;
	}
	reserve_bytes = reserve_bytes / PAGE * PAGE;
	if (reserve_bytes > peak) peak = reserve_bytes;
	huge_cap = use_huge ? (peak + HUGE - 1) / HUGE * HUGE : 0;
	if (use_huge) huge_base = reserve(huge_cap, 1);
	small_base = reserve(use_huge ? HUGE : peak + PAGE, 0);
	if (use_rss) statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	struct tenant_rec ready = {.kind = REC_READY, .step = nsteps, .target = peak};
	emit(&ready);
	for (;;) {
		if (read_line(line, sizeof line) < 0) return 0;
		if (line[0] == 'P') {
			struct tenant_rec r = {.kind = REC_PREFAULTED, .target = steps[0].target};
			r.start_ns = now_ns();
			r.achieved = set_target(steps[0].target);
			r.end_ns = now_ns();
			r.rss_anon = rss_anon();
			emit(&r);
		} else if (line[0] == 'W') {
			struct tenant_rec r = {.kind = REC_PREFAULTED, .target = peak};
			r.start_ns = now_ns();
			r.achieved = set_target(peak);
			r.end_ns = now_ns();
			emit(&r);
		} else if (line[0] == 'C') {
			char path[400];
			if (sscanf(line, "C %399s", path) != 1 || nlimit >= 4) fail(0, EINVAL);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) fail(0, errno);
			limit_fd[nlimit++] = fd;
		} else if (line[0] == 'I') {
			idle_takeback = 1;
		} else if (line[0] == 'G') {
			long long t0;
			if (sscanf(line, "G %lld", &t0) != 1) fail(0, EINVAL);
			run(t0);
			return 0;
		} else if (line[0] == 'Q') {
			return 0;
		}
	}
}
