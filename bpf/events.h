/* SPDX-License-Identifier: MIT */
/*
 * bpf/events.h: the single source of truth for what agentcgroup's BPF programs send to user
 * space through the ring buffer, included by every *.bpf.c and by src/addon.cc (which hands
 * the field offsets to TypeScript through layout(), so no offset is written twice).
 *
 * Every event starts with struct ac_hdr. Fixed-width types only, little-endian, naturally
 * aligned, sizes a multiple of 8. Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns and
 * task->start_time); user space converts them to UTC once, with one offset per run. `pid` is
 * the thread-group id (what user space calls a process id), `tid` the thread id. `cgid` is the
 * kernfs id (= directory inode) of the task's memory cgroup: on cgroup v1 the memory
 * hierarchy's cgroup, on v2 the default hierarchy's. Sizes are bytes.
 */
#ifndef AGENTCGROUP_EVENTS_H
#define AGENTCGROUP_EVENTS_H

#define AC_COMM_LEN 16
/* bytes of the NUL-separated argument block kept per exec; longer ones are cut and flagged */
#define AC_ARGV_MAX 1024
/* processes alive at once in one session's subtree (its `procs` map, allocated as used) */
#define AC_MAX_PROCS 65536

enum ac_event_kind {
	AC_EV_PROC = 1,    /* struct ac_proc: one process, sent once, at its exit (or still alive at the end) */
	AC_EV_RSS = 4,     /* struct ac_rss: a process's peak RSS grew by the threshold (opt-in object) */
	AC_EV_OOM = 5,     /* struct ac_oom: the OOM killer chose a victim */
	AC_EV_RECLAIM = 6, /* struct ac_reclaim: a task stalled in memcg direct reclaim */
	AC_EV_LOADGEN = 7, /* struct ac_loadgen: benchmark-only synthetic event */
	AC_EV_SAMPLE = 8,  /* struct ac_sample: the cgroup's counter files, read by the addon's thread */
};

struct ac_hdr {
	__u64 ts_ns; /* when the event happened */
	__u64 cgid;  /* memory cgroup kernfs id of the task */
	__u32 kind;  /* enum ac_event_kind */
	__u32 pid;   /* thread-group id */
	__u32 tid;   /* thread id */
	__u32 ppid;  /* parent's thread-group id (real_parent) */
	char comm[AC_COMM_LEN];
}; /* 48 bytes */

enum ac_proc_flags {
	AC_PF_FORKED = 1,         /* its fork was seen: start is the fork, ppid the forking process */
	AC_PF_EXECED = 2,         /* it called execve in the subtree: comm and argv are its last image's */
	AC_PF_EXITED = 4,         /* it exited (else it was alive when the session ended) */
	AC_PF_ARGV_TRUNCATED = 8, /* the command line was longer than AC_ARGV_MAX */
	AC_PF_AGENT = 16,         /* an agent process: an agent_comms image outside any tool call */
	AC_PF_CALL_ROOT = 32,     /* a tool call's root: a call_comms image exec'd by an agent's child */
};

/*
 * One process, assembled in the kernel: created at its fork (or its first exec or exit we see),
 * kept in the `procs` map (key: tgid) while it lives, completed and sent once at its exit. The
 * map value and the ring-buffer record are the same struct; only argv_len bytes of argv are sent.
 * Processes still alive at the end are read from the map by user space (flags without EXITED).
 */
struct ac_proc {
	struct ac_hdr h;      /* ts_ns: the exit (0 while alive); cgid: at its last exec (else fork);
			       * ppid: the process that forked it; tid: the last thread */
	__u64 start_ns;       /* the task's fork time */
	__u64 exec_ns;        /* its last exec (0: none seen) */
	__u64 utime_ns;       /* user CPU of all threads of the process */
	__u64 stime_ns;       /* system CPU of all threads */
	__u64 maxrss_bytes;   /* getrusage's maxrss (signal->maxrss): includes images before exec */
	__u64 hiwater_bytes;  /* high-water RSS of the last image (the kernel's own mark, at exit) */
	__u64 peak_rss_bytes; /* highest RSS rss_stat saw since the last exec (0: not loaded) */
	__u32 exit_code;      /* raw wait status: (code << 8) | signal */
	__u32 call_root;      /* tgid of the tool call's root process it belongs to (0: none) */
	__u32 flags;          /* enum ac_proc_flags */
	__u32 argv_len;       /* bytes of argv[] that are valid */
	char argv[AC_ARGV_MAX]; /* argv strings of the last exec, each NUL-terminated */
};

/* counter values the addon's thread read at one tick (user space only, never from BPF) */
#define AC_MAX_COUNTERS 16
struct ac_sample {
	struct ac_hdr h;      /* ts_ns: when the files were read; the rest zero */
	__u32 count;          /* counters asked for */
	__u32 present;        /* bit i set: values[i] was read and parsed */
	__s64 values[AC_MAX_COUNTERS];
};

struct ac_rss {
	struct ac_hdr h;
	__u64 rss_bytes;      /* RSS now (file + anon + shmem pages) */
	__u64 peak_bytes;     /* highest RSS so far */
};

struct ac_oom {
	struct ac_hdr h;      /* the victim */
	__u64 total_vm_bytes;
	__u64 anon_rss_bytes;
	__u64 file_rss_bytes;
	__u64 shmem_rss_bytes;
	__u32 uid;
	__s32 oom_score_adj;
};

struct ac_reclaim {
	struct ac_hdr h;      /* ts_ns = end of the stall */
	__u64 start_ns;
	__u64 nr_reclaimed;   /* pages */
};

struct ac_loadgen {
	struct ac_hdr h;
	__u64 seq;
	__u64 _pad[5];        /* the size of an exit event: a realistic record */
};

/* Per-process RSS state kept in the shared rss_state map (key: tgid). */
struct ac_rss_state {
	__u64 cur_bytes;
	__u64 peak_bytes;
	__u64 reported_bytes; /* peak at the last AC_EV_RSS event */
};

#endif /* AGENTCGROUP_EVENTS_H */
