/* SPDX-License-Identifier: MIT */
/*
 * Benchmark only (scripts/bench-sampler.ts): one event per entry of one syscall by one
 * process, to measure how many events per second the ring buffer path carries.
 */
#include "common.bpf.h"

SEC("tp_btf/sys_enter")
int BPF_PROG(handle_loadgen, struct pt_regs *regs, long id)
{
	struct task_struct *t;
	struct ac_loadgen *e;
	static __u64 seq;

	if (id != loadgen_nr || (bpf_get_current_pid_tgid() >> 32) != loadgen_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	t = bpf_get_current_task_btf();
	fill_hdr(&e->h, t, AC_EV_LOADGEN, 0);
	e->seq = __sync_fetch_and_add(&seq, 1);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}
