/* SPDX-License-Identifier: MIT */
/*
 * Process lifecycle of the target cgroup subtree: exec (with argv), fork (processes, not
 * threads) and exit (exit status, CPU times, peak RSS) from the sched tracepoints.
 */
#include "common.bpf.h"

#define SIGNAL_GROUP_EXIT 0x00000004

/* exec events are too big for the BPF stack: built here, then copied to the ring buffer */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ac_exec);
} exec_scratch SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct ac_exec *e;
	struct mm_struct *mm;
	unsigned long start, end, len;
	__u64 cgid;

	if (!in_target(p, &cgid))
		return 0;
	e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;
	fill_hdr(&e->h, p, AC_EV_EXEC, cgid);
	e->start_ns = p->start_time;
	mm = p->mm;
	start = mm ? mm->arg_start : 0;
	end = mm ? mm->arg_end : 0;
	len = end > start ? end - start : 0;
	e->argv_truncated = len > AC_ARGV_MAX;
	if (len > AC_ARGV_MAX)
		len = AC_ARGV_MAX;
	/* the new stack's argument pages were just written by execve: present, no fault needed */
	if (len && bpf_probe_read_user(e->argv, len, (void *)start))
		len = 0;
	e->argv_len = len;
	/* a new image: its peak RSS starts over */
	bpf_map_delete_elem(&rss_state, &e->h.pid);
	if (bpf_ringbuf_output(&events, e, offsetof(struct ac_exec, argv) + len, submit_flags()))
		count_drop();
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct ac_fork *e;
	__u64 cgid;

	/* a new thread shares its process's tgid: only processes are reported */
	if (child->pid != child->tgid)
		return 0;
	if (!in_target(child, &cgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, child, AC_EV_FORK, cgid);
	e->start_ns = child->start_time;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct signal_struct *sig = p->signal;
	struct ac_rss_state *rss;
	struct mm_struct *mm;
	struct ac_exit *e;
	__u32 tgid;
	__u64 cgid;

	/* only the last thread of a process: signal->live dropped to 0 just before this tracepoint */
	if (!sig || sig->live.counter != 0)
		return 0;
	if (!in_target(p, &cgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, p, AC_EV_EXIT, cgid);
	e->start_ns = p->start_time;
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
	tgid = e->h.pid;
	rss = bpf_map_lookup_elem(&rss_state, &tgid);
	e->peak_rss_bytes = rss ? rss->peak_bytes : 0;
	e->_pad = 0;
	if (rss)
		bpf_map_delete_elem(&rss_state, &tgid);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}
