/* SPDX-License-Identifier: MIT */
/*
 * Memory cgroup reclaim stalls: a task of the target subtree charged past its limit (or
 * memory.high) reclaims directly; begin and end are paired per thread.
 */
#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} reclaim_start SEC(".maps");

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(handle_reclaim_begin, int order, gfp_t gfp_flags)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tid = t->pid;
	__u64 now, cgid;

	if (!in_target(t, &cgid))
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&reclaim_start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(handle_reclaim_end, unsigned long nr_reclaimed)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tid = t->pid;
	struct ac_reclaim *e;
	__u64 *start, cgid;

	start = bpf_map_lookup_elem(&reclaim_start, &tid);
	if (!start)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&reclaim_start, &tid);
		return 0;
	}
	in_target(t, &cgid);
	fill_hdr(&e->h, t, AC_EV_RECLAIM, cgid);
	e->start_ns = *start;
	e->nr_reclaimed = nr_reclaimed;
	bpf_map_delete_elem(&reclaim_start, &tid);
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}
