/*
 * agentcgroup-notify: waits on the kernel's memory notifications and runs the controller's
 * fast path. One process, one epoll loop, so a notification is acted on without a round trip
 * through Node's event loop (the controller arms the actions; this only executes them).
 *
 * Commands on stdin, one per line (paths have no spaces: they are ours, under agentcgroup/):
 *   T <id> <memcg_dir> <bytes>          v1 usage threshold (cgroup.event_control on memory.usage_in_bytes)
 *   O <id> <memcg_dir>                  v1 oom_control (parks with oom_kill_disable, OOMs)
 *   L <id> <memcg_dir> <low|medium|critical>   v1 memory.pressure_level
 *   P <id> <pressure_file> <some|full> <stall_us> <window_us>   PSI trigger (cgroup2 memory.pressure)
 *   M <id> <file>                       modification of a file (v2 memory.events, cgroup.events), inotify
 *   A <id> park <memcg_dir> <slack>     on event <id> (upward for thresholds): limit = usage + slack
 *   A <id> write <path> <value>         on event <id> (upward for thresholds): write value
 *   C <id>                              clear the actions of <id>
 *   W <path> <value>                    write now; answers D <t_done_ns> <errno>
 *   Q                                   quit
 * Output lines:
 *   R <id>                              registered
 *   E <id> <count> <t_wake_ns> <t_done_ns> <usage_bytes|-1> <actions_done> <action_errno>
 *   X <message>                         an error (the command failed; the helper goes on)
 * Times are CLOCK_MONOTONIC ns, the clock of Node's process.hrtime.bigint().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_WATCH 4096
#define MAX_ACT 64

enum wkind { W_EVENTFD, W_PSI, W_INOTIFY };
struct action { int kind; int fd_usage; int fd_target; long long slack; char value[32]; };
struct watch {
	int used, id, kind, fd, usage_fd, wd;
	long long threshold;
	int nact;
	struct action act[MAX_ACT];
};

static struct watch w[MAX_WATCH];
static int ep, ino = -1;

static int64_t now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void out(const char *fmt, ...) {
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0 && write(1, buf, (size_t)n) < 0) _exit(3);
}

static struct watch *by_id(int id) {
	for (int i = 0; i < MAX_WATCH; i++) if (w[i].used && w[i].id == id) return &w[i];
	return NULL;
}

static struct watch *slot(int id) {
	/* threshold -1: no direction, every notification runs the armed actions */
	for (int i = 0; i < MAX_WATCH; i++) if (!w[i].used) { memset(&w[i], 0, sizeof w[i]); w[i].used = 1; w[i].id = id; w[i].usage_fd = -1; w[i].wd = -1; w[i].threshold = -1; return &w[i]; }
	return NULL;
}

static long long read_num(int fd) {
	char b[64];
	ssize_t n = pread(fd, b, sizeof b - 1, 0);
	if (n <= 0) return -1;
	b[n] = 0;
	return atoll(b);
}

static int write_str(int fd, const char *s) {
	return pwrite(fd, s, strlen(s), 0) < 0 ? errno : 0;
}

static int path_open(const char *dir, const char *file, int flags) {
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	return open(p, flags | O_CLOEXEC);
}

/* v1: eventfd + cgroup.event_control "<efd> <fd> [args]" */
static void reg_v1(int id, const char *dir, const char *file, const char *args, long long threshold) {
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int fd = path_open(dir, file, O_RDONLY);
	int ctl = path_open(dir, "cgroup.event_control", O_WRONLY);
	if (efd < 0 || fd < 0 || ctl < 0) { out("X %d cannot open %s/%s: %s\n", id, dir, file, strerror(errno)); goto fail; }
	char line[128];
	snprintf(line, sizeof line, "%d %d%s%s", efd, fd, args ? " " : "", args ? args : "");
	if (write(ctl, line, strlen(line)) < 0) { out("X %d cannot register on %s/%s: %s\n", id, dir, file, strerror(errno)); goto fail; }
	close(ctl);
	struct watch *s = slot(id);
	if (!s) { out("X %d too many watches\n", id); goto fail; }
	s->kind = W_EVENTFD;
	s->fd = efd;
	s->threshold = threshold;
	s->usage_fd = threshold >= 0 ? fd : -1;
	if (threshold < 0) close(fd);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(s - w)};
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	out("R %d\n", id);
	return;
fail:
	if (efd >= 0) close(efd);
	if (fd >= 0) close(fd);
	if (ctl >= 0) close(ctl);
}

static void reg_psi(int id, const char *file, const char *trigger) {
	int fd = open(file, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) { out("X %d cannot open %s: %s\n", id, file, strerror(errno)); return; }
	if (write(fd, trigger, strlen(trigger) + 1) < 0) { out("X %d PSI trigger \"%s\" on %s: %s\n", id, trigger, file, strerror(errno)); close(fd); return; }
	struct watch *s = slot(id);
	if (!s) { close(fd); out("X %d too many watches\n", id); return; }
	s->kind = W_PSI;
	s->fd = fd;
	struct epoll_event ev = {.events = EPOLLPRI, .data.u64 = (uint64_t)(s - w)};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	out("R %d\n", id);
}

static void reg_inotify(int id, const char *file) {
	int wd = inotify_add_watch(ino, file, IN_MODIFY);
	if (wd < 0) { out("X %d cannot watch %s: %s\n", id, file, strerror(errno)); return; }
	struct watch *s = slot(id);
	if (!s) { out("X %d too many watches\n", id); return; }
	s->kind = W_INOTIFY;
	s->wd = wd;
	s->fd = -1;
	out("R %d\n", id);
}

/* Runs the armed actions of a watch; returns how many ran, and the first errno. */
static int run_actions(struct watch *s, int *err) {
	int done = 0;
	for (int i = 0; i < s->nact; i++) {
		struct action *a = &s->act[i];
		int e = 0;
		if (a->kind == 0) {
			long long u = read_num(a->fd_usage);
			char v[32];
			snprintf(v, sizeof v, "%lld", (u < 0 ? 0 : u) + a->slack);
			e = write_str(a->fd_target, v);
		} else {
			e = write_str(a->fd_target, a->value);
		}
		if (e && !*err) *err = e;
		if (!e) done++;
	}
	return done;
}

static void fire(struct watch *s, uint64_t count, int64_t wake) {
	long long usage = s->usage_fd >= 0 ? read_num(s->usage_fd) : -1;
	int up = s->threshold < 0 || usage >= s->threshold;
	int err = 0, done = 0;
	if (up && s->nact > 0) done = run_actions(s, &err);
	out("E %d %llu %lld %lld %lld %d %d\n", s->id, (unsigned long long)count, (long long)wake, (long long)now_ns(), usage, done, err);
}

static void command(char *line) {
	char op = line[0];
	int id = 0;
	char a[1024] = "", b[1024] = "", c[64] = "", d[64] = "", e[64] = "";
	if (op == 'T' && sscanf(line, "T %d %1023s %63s", &id, a, c) == 3) {
		reg_v1(id, a, "memory.usage_in_bytes", c, atoll(c));
	} else if (op == 'O' && sscanf(line, "O %d %1023s", &id, a) == 2) {
		reg_v1(id, a, "memory.oom_control", NULL, -1);
	} else if (op == 'L' && sscanf(line, "L %d %1023s %63s", &id, a, c) == 3) {
		reg_v1(id, a, "memory.pressure_level", c, -1);
	} else if (op == 'P' && sscanf(line, "P %d %1023s %63s %63s %63s", &id, a, c, d, e) == 5) {
		char trig[200];
		snprintf(trig, sizeof trig, "%s %s %s", c, d, e);
		reg_psi(id, a, trig);
	} else if (op == 'M' && sscanf(line, "M %d %1023s", &id, a) == 2) {
		reg_inotify(id, a);
	} else if (op == 'A' && sscanf(line, "A %d %63s %1023s %1023s", &id, c, a, b) == 4) {
		struct watch *s = by_id(id);
		if (!s || s->nact >= MAX_ACT) { out("X %d no such watch (or too many actions)\n", id); return; }
		struct action *x = &s->act[s->nact];
		memset(x, 0, sizeof *x);
		if (strcmp(c, "park") == 0) {
			x->kind = 0;
			x->slack = atoll(b);
			x->fd_usage = path_open(a, "memory.usage_in_bytes", O_RDONLY);
			x->fd_target = path_open(a, "memory.limit_in_bytes", O_WRONLY);
		} else {
			x->kind = 1;
			snprintf(x->value, sizeof x->value, "%s", b);
			x->fd_target = open(a, O_WRONLY | O_CLOEXEC);
			x->fd_usage = -1;
		}
		if (x->fd_target < 0 || (x->kind == 0 && x->fd_usage < 0)) { out("X %d cannot open action target %s: %s\n", id, a, strerror(errno)); return; }
		s->nact++;
		out("R %d\n", id);
	} else if (op == 'C' && sscanf(line, "C %d", &id) == 1) {
		struct watch *s = by_id(id);
		if (s) {
			for (int i = 0; i < s->nact; i++) { close(s->act[i].fd_target); if (s->act[i].fd_usage >= 0) close(s->act[i].fd_usage); }
			s->nact = 0;
		}
		out("R %d\n", id);
	} else if (op == 'W' && sscanf(line, "W %1023s %63s", a, c) == 2) {
		int fd = open(a, O_WRONLY | O_CLOEXEC);
		int err = fd < 0 ? errno : write_str(fd, c);
		if (fd >= 0) close(fd);
		out("D %lld %d\n", (long long)now_ns(), err);
	} else if (op == 'Q') {
		_exit(0);
	} else {
		out("X 0 bad command: %.200s\n", line);
	}
}

int main(void) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the fast path must run when notified, also with every core busy replaying: real-time
	 * priority where allowed (it sleeps in epoll otherwise), else the highest nice level */
	struct sched_param sp = {.sched_priority = 10};
	if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) setpriority(PRIO_PROCESS, 0, -10);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) != 0) {
		out("X 0 stdin must be a pipe from the runner\n");
		return 1;
	}
	struct epoll_event iev = {.events = EPOLLIN, .data.u64 = UINT64_MAX - 1};
	epoll_ctl(ep, EPOLL_CTL_ADD, ino, &iev);
	char buf[8192];
	size_t have = 0;
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR) continue;
		int64_t wake = now_ns();
		for (int k = 0; k < n; k++) {
			uint64_t tag = evs[k].data.u64;
			if (tag == UINT64_MAX) {
				ssize_t r = read(0, buf + have, sizeof buf - have - 1);
				if (r <= 0) _exit(0); /* the runner closed stdin or died */
				have += (size_t)r;
				buf[have] = 0;
				char *start = buf, *nl;
				while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
					*nl = 0;
					command(start);
					start = nl + 1;
				}
				have -= (size_t)(start - buf);
				memmove(buf, start, have);
			} else if (tag == UINT64_MAX - 1) {
				char ib[4096] __attribute__((aligned(8)));
				ssize_t r;
				while ((r = read(ino, ib, sizeof ib)) > 0) {
					for (char *p = ib; p < ib + r;) {
						struct inotify_event *ie = (struct inotify_event *)p;
						for (int i = 0; i < MAX_WATCH; i++) if (w[i].used && w[i].kind == W_INOTIFY && w[i].wd == ie->wd) fire(&w[i], 1, wake);
						p += sizeof *ie + ie->len;
					}
				}
			} else {
				struct watch *s = &w[tag];
				uint64_t count = 1;
				if (s->kind == W_EVENTFD) {
					if (read(s->fd, &count, sizeof count) != sizeof count) continue;
				}
				fire(s, count, wake);
			}
		}
	}
}
