/*
 * Workloads for the sampler's tests and benchmark (compiled statically by them, so an exec
 * costs no dynamic loading and the binary runs in an empty container too).
 *
 *   sampler-workload alloc MIB HOLD_MS AFTER_MS   map and touch MIB MiB, hold, unmap, wait, exit 0
 *   sampler-workload bench SECONDS EXECS_PER_S ALLOC_MIB PERIOD_MS
 *       execs itself (`child`) EXECS_PER_S times a second and, in a second thread, maps and
 *       touches ALLOC_MIB MiB, holds it half of PERIOD_MS and unmaps it, every PERIOD_MS;
 *       prints one JSON line with what it achieved
 *   sampler-workload syscalls SECONDS RATE     getppid() RATE times a second (0: flat out); JSON
 *   sampler-workload child                     exits 0 at once
 *   sampler-workload spin CPU_MS               burns CPU_MS of CPU time (a test run's load), exit 0
 *   sampler-workload turns N CPU_MS GAP_MS     N times: burn CPU_MS of CPU, then sleep GAP_MS (an
 *       agent's turns between tool calls); prints one JSON line with each turn's wall time, ms
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now_s();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* maps and touches one byte per page, so every page is charged and counted in RSS */
static char *touch_alloc(size_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	for (i = 0; i < bytes; i += 4096)
		p[i] = 1;
	return p;
}

struct alloc_args {
	double end;
	size_t bytes;
	double period;
	long cycles;
};

static void *alloc_loop(void *arg)
{
	struct alloc_args *a = arg;
	double t = now_s();

	while (t < a->end) {
		char *p = touch_alloc(a->bytes);

		sleep_until(t + a->period / 2);
		munmap(p, a->bytes);
		a->cycles++;
		t += a->period;
		sleep_until(t);
	}
	return NULL;
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* burns `ms` of this thread's CPU time (not wall time: contention makes it take longer) */
static void burn(double ms)
{
	double end = cpu_s() + ms / 1000.0;
	volatile unsigned long x = 1;
	while (cpu_s() < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005UL + 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "spin")) {
		burn(atof(argv[2]));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "turns")) {
		long n = atol(argv[2]), i;
		double work = atof(argv[3]), gap = atof(argv[4]);
		printf("{\"turn_ms\":[");
		for (i = 0; i < n; i++) {
			double t = now_s();
			burn(work);
			printf("%s%.3f", i ? "," : "", (now_s() - t) * 1000.0);
			usleep((useconds_t)(gap * 1000));
		}
		printf("]}\n");
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "child"))
		return 0;
	if (argc == 5 && !strcmp(argv[1], "alloc")) {
		size_t bytes = (size_t)atol(argv[2]) << 20;
		char *p = touch_alloc(bytes);

		usleep(atol(argv[3]) * 1000);
		munmap(p, bytes);
		usleep(atol(argv[4]) * 1000);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "bench")) {
		double seconds = atof(argv[2]), rate = atof(argv[3]);
		double start = now_s(), end = start + seconds, t = start;
		struct alloc_args a = {end, (size_t)atol(argv[4]) << 20, atof(argv[5]) / 1000.0, 0};
		char *child_argv[] = {argv[0], "child", NULL};
		pthread_t th;
		long execs = 0, failed = 0;

		if (a.bytes > 0)
			pthread_create(&th, NULL, alloc_loop, &a);
		while (t < end) {
			pid_t pid;
			int st;

			if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ) == 0) {
				waitpid(pid, &st, 0);
				execs++;
			} else {
				failed++;
			}
			t += 1.0 / rate;
			sleep_until(t);
		}
		if (a.bytes > 0)
			pthread_join(th, NULL);
		printf("{\"seconds\":%.3f,\"execs\":%ld,\"exec_failures\":%ld,\"alloc_cycles\":%ld}\n", now_s() - start, execs, failed, a.cycles);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "syscalls")) {
		double seconds = atof(argv[2]), rate = atof(argv[3]);
		double start = now_s(), end = start + seconds;
		long calls = 0;

		while (now_s() < end) {
			/* catch up with the calls due so far, then sleep a little: pacing by the clock */
			double due = rate > 0 ? rate * (now_s() - start) : calls + 1000;

			while (calls < due) {
				syscall(SYS_getppid);
				calls++;
			}
			if (rate > 0)
				usleep(200);
		}
		printf("{\"seconds\":%.3f,\"calls\":%ld,\"syscall_nr\":%d}\n", now_s() - start, calls, (int)SYS_getppid);
		return 0;
	}
	fprintf(stderr, "usage: %s alloc MIB HOLD_MS AFTER_MS | bench SECONDS EXECS_PER_S ALLOC_MIB PERIOD_MS | syscalls SECONDS RATE | child\n", argv[0]);
	return 2;
}
