/* SPDX-License-Identifier: MIT */
/*
 * Per-process RSS from the rss_stat tracepoint (every change of an mm counter): current and
 * peak per tgid in rss_state, and an event each time the peak grew by rss_threshold_bytes.
 */
#include "common.bpf.h"

static __always_inline __u64 mm_rss_bytes(struct mm_struct *mm)
{
	__s64 pages = mm_counter(mm, MM_FILEPAGES) + mm_counter(mm, MM_ANONPAGES) + mm_counter(mm, MM_SHMEMPAGES);

	return pages > 0 ? (__u64)pages << page_shift : 0;
}

/* the last mm and RSS seen on this CPU: most calls repeat them (the global part of the per-CPU
 * counters moves once per batch of pages), and those return before any other work */
struct last_seen {
	struct mm_struct *mm;
	__u64 rss;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct last_seen);
} last SEC(".maps");

SEC("tp_btf/rss_stat")
int BPF_PROG(handle_rss_stat, struct mm_struct *mm, int member)
{
	struct ac_rss_state *s, init = {};
	struct task_struct *owner;
	struct ac_rss *e;
	__u64 rss, old, cgid;
	__u32 tgid;
	int i;

	__u32 zero = 0;
	struct last_seen *l = bpf_map_lookup_elem(&last, &zero);

	rss = mm_rss_bytes(mm);
	if (!l)
		return 0;
	if (l->mm == mm && l->rss == rss)
		return 0;
	l->mm = mm;
	l->rss = rss;
	/* the mm may not be current's (fork copies, reclaim): attribute it to its owner */
	owner = mm->owner;
	if (!owner || !in_target(owner, &cgid))
		return 0;
	tgid = owner->tgid;
	s = bpf_map_lookup_elem(&rss_state, &tgid);
	if (!s) {
		bpf_map_update_elem(&rss_state, &tgid, &init, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&rss_state, &tgid);
		if (!s)
			return 0;
	}
	s->cur_bytes = rss;
	/* threads fault on several CPUs at once: raise the peak atomically */
	for (i = 0; i < 4; i++) {
		old = s->peak_bytes;
		if (rss <= old)
			return 0;
		if (__sync_val_compare_and_swap(&s->peak_bytes, old, rss) == old)
			break;
	}
	if (rss < s->reported_bytes + rss_threshold_bytes)
		return 0;
	s->reported_bytes = rss;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, owner, AC_EV_RSS, cgid);
	e->rss_bytes = rss;
	e->peak_bytes = rss;
	bpf_ringbuf_submit(e, submit_flags());
	return 0;
}
