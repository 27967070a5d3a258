/* SPDX-License-Identifier: MIT */
/*
 * Processes of the target cgroup subtree, one record each, assembled in the kernel: fork
 * creates the process's entry in `procs`, exec fills in its image (comm, argv), exit completes
 * it (exit status, CPU times, peak RSS) and sends it once. Per process that is one ring-buffer
 * record instead of three, and user space decodes each process once.
 *
 * Tool-call boundaries are marked here too: an image named in agent_comms that is not inside a
 * call is an agent; a call_comms image (the agent's shell, rg) exec'd by a child of an agent is
 * a call root, and every process forked below it carries the root's tgid in call_root. The
 * root's exec and exit are the call's start and end.
 */
#include "common.bpf.h"

#define SIGNAL_GROUP_EXIT 0x00000004
#define AC_AGENT_COMMS 4
#define AC_CALL_COMMS 8

/* set by the loader: comm names of the agent's process and of its tool shells ("" = unused) */
const volatile char agent_comms[AC_AGENT_COMMS][AC_COMM_LEN] = {};
const volatile char call_comms[AC_CALL_COMMS][AC_COMM_LEN] = {};

/* an entry under construction, before it goes into `procs` (too big for the BPF stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ac_proc);
} proc_scratch SEC(".maps");

/* the processes alive in the subtree (user space creates it, reads what is left at the end) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AC_MAX_PROCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct ac_proc);
} procs SEC(".maps");

static __always_inline bool comm_is(const char *comm, const volatile char *pat)
{
	int i;

	if (!pat[0])
		return false;
	for (i = 0; i < AC_COMM_LEN; i++) {
		if (comm[i] != pat[i])
			return false;
		if (!comm[i])
			return true;
	}
	return true;
}

/* is comm one of the n names of list? (n is a constant: the loop unrolls) */
static __always_inline bool comm_in(const char *comm, const volatile char (*list)[AC_COMM_LEN], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (comm_is(comm, list[i]))
			return true;
	return false;
}

/* a fresh entry in the per-CPU scratch: header fields from t, nothing else known yet */
static __always_inline struct ac_proc *scratch_entry(struct task_struct *t, __u64 cgid)
{
	__u32 zero = 0;
	struct ac_proc *e = bpf_map_lookup_elem(&proc_scratch, &zero);

	if (!e)
		return NULL;
	__builtin_memset(e, 0, offsetof(struct ac_proc, argv));
	e->h.kind = AC_EV_PROC;
	e->h.cgid = cgid;
	e->h.pid = t->tgid;
	e->h.tid = t->pid;
	e->h.ppid = t->real_parent ? t->real_parent->tgid : 0;
	bpf_probe_read_kernel_str(e->h.comm, sizeof(e->h.comm), t->comm);
	e->start_ns = t->start_time;
	return e;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ac_proc *e, *pe;
	__u32 ptgid;
	__u64 cgid;

	/* a new thread shares its process's tgid: only processes get an entry */
	if (child->pid != child->tgid)
		return 0;
	if (!in_target(child, &cgid))
		return 0;
	e = scratch_entry(child, cgid);
	if (!e)
		return 0;
	/* the forking process, even when CLONE_PARENT gave the child another real_parent */
	e->h.ppid = parent->tgid;
	e->flags = AC_PF_FORKED;
	ptgid = parent->tgid;
	pe = bpf_map_lookup_elem(&procs, &ptgid);
	if (pe)
		e->call_root = pe->call_root;
	if (bpf_map_update_elem(&procs, &e->h.pid, e, BPF_ANY))
		count_drop();
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	unsigned long start, end, len;
	struct ac_proc *e, *pe;
	struct mm_struct *mm;
	__u32 tgid, ppid;
	__u64 cgid;

	if (!in_target(p, &cgid))
		return 0;
	tgid = p->tgid;
	e = bpf_map_lookup_elem(&procs, &tgid);
	if (!e) {
		/* forked outside the subtree and moved in before exec (the recorded command itself) */
		e = scratch_entry(p, cgid);
		if (!e)
			return 0;
		if (bpf_map_update_elem(&procs, &tgid, e, BPF_NOEXIST)) {
			count_drop();
			return 0;
		}
		e = bpf_map_lookup_elem(&procs, &tgid);
		if (!e)
			return 0;
	}
	e->h.cgid = cgid;
	e->h.tid = p->pid;
	bpf_probe_read_kernel_str(e->h.comm, sizeof(e->h.comm), p->comm);
	e->exec_ns = bpf_ktime_get_ns();
	e->flags |= AC_PF_EXECED;
	mm = p->mm;
	start = mm ? mm->arg_start : 0;
	end = mm ? mm->arg_end : 0;
	len = end > start ? end - start : 0;
	if (len > AC_ARGV_MAX) {
		e->flags |= AC_PF_ARGV_TRUNCATED;
		len = AC_ARGV_MAX;
	} else {
		e->flags &= ~AC_PF_ARGV_TRUNCATED;
	}
	/* the new stack's argument pages were just written by execve: present, no fault needed */
	if (len && bpf_probe_read_user(e->argv, len, (void *)start))
		len = 0;
	e->argv_len = len;
	/* a new image: its rss_stat peak starts over */
	if (rss_on)
		bpf_map_delete_elem(&rss_state, &tgid);

	/* tool-call boundaries: a call root is a shell the agent's own child exec'd */
	if (e->call_root)
		return 0;
	if (comm_in(e->h.comm, call_comms, AC_CALL_COMMS)) {
		ppid = e->h.ppid;
		pe = bpf_map_lookup_elem(&procs, &ppid);
		if (pe && (pe->flags & AC_PF_AGENT)) {
			e->call_root = tgid;
			e->flags |= AC_PF_CALL_ROOT;
			e->flags &= ~AC_PF_AGENT;
			return 0;
		}
	}
	if (comm_in(e->h.comm, agent_comms, AC_AGENT_COMMS))
		e->flags |= AC_PF_AGENT;
	else
		e->flags &= ~AC_PF_AGENT;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct signal_struct *sig = p->signal;
	struct ac_rss_state *rss;
	struct mm_struct *mm;
	struct ac_proc *e;
	bool tracked = true;
	__u32 tgid, len;
	__u64 cgid;

	/* only the last thread of a process: signal->live dropped to 0 just before this tracepoint */
	if (!sig || sig->live.counter != 0)
		return 0;
	tgid = p->tgid;
	/* an entry means the process is ours, even if it left the subtree since */
	e = bpf_map_lookup_elem(&procs, &tgid);
	if (!e) {
		/* there before the session started: its record is made now, without argv */
		if (!in_target(p, &cgid))
			return 0;
		e = scratch_entry(p, cgid);
		if (!e)
			return 0;
		tracked = false;
	}
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.tid = p->pid;
	/* CPU of the threads that exited before plus this last one */
	e->utime_ns = sig->utime + p->utime;
	e->stime_ns = sig->stime + p->stime;
	e->maxrss_bytes = sig->maxrss << page_shift;
	/* the image's own peak, as get_mm_hiwater_rss(): hiwater_rss is only updated on unmap */
	mm = p->mm;
	if (mm) {
		__s64 now = mm_counter(mm, MM_FILEPAGES) + mm_counter(mm, MM_ANONPAGES) + mm_counter(mm, MM_SHMEMPAGES);
		__u64 hw = mm->hiwater_rss;

		e->hiwater_bytes = (now > 0 && (__u64)now > hw ? (__u64)now : hw) << page_shift;
	} else {
		e->hiwater_bytes = 0;
	}
	/* exit_group() and fatal signals set the group's code before do_exit() */
	if (sig->flags & SIGNAL_GROUP_EXIT)
		e->exit_code = sig->group_exit_code;
	else
		e->exit_code = p->exit_code;
	e->flags |= AC_PF_EXITED;
	rss = rss_on ? bpf_map_lookup_elem(&rss_state, &tgid) : NULL;
	if (rss) {
		e->peak_rss_bytes = rss->peak_bytes;
		bpf_map_delete_elem(&rss_state, &tgid);
	}
	len = e->argv_len;
	if (len > AC_ARGV_MAX)
		len = AC_ARGV_MAX;
	if (bpf_ringbuf_output(&events, e, offsetof(struct ac_proc, argv) + len, submit_flags()))
		count_drop();
	if (tracked)
		bpf_map_delete_elem(&procs, &tgid);
	return 0;
}
