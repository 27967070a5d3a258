/* SPDX-License-Identifier: MIT */
/*
 * Shared by every agentcgroup *.bpf.c: the tunables (set by the loader between open and load),
 * the maps that all objects share (user space creates them once and hands the same fd to each
 * object), and the filter that keeps only tasks of the target cgroup subtree.
 */
#ifndef AGENTCGROUP_COMMON_BPF_H
#define AGENTCGROUP_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

char LICENSE[] SEC("license") = "GPL";

/* kernfs id of the target memory cgroup; 0 = every task */
const volatile __u64 target_cgid = 0;
/* its depth below the hierarchy root, so a descendant is matched with one array read */
const volatile __s32 target_level = 0;
/* cgroup v2: the task's default-hierarchy cgroup; v1: its memory controller cgroup */
const volatile bool use_dfl = false;
/* rss.bpf.c is loaded: proc.bpf.c keeps rss_state in step (else it skips the map on every exec/exit) */
const volatile bool rss_on = false;
/* an AC_EV_RSS event each time a process's peak RSS grew by this much */
const volatile __u64 rss_threshold_bytes = 8 << 20;
const volatile __u32 page_shift = 12;
/* wake the reader only when this much data waits (0: always); it drains on a timer anyway */
const volatile __u64 wakeup_bytes = 0;
/* benchmark only: the process and syscall whose entries loadgen.bpf.c turns into events */
const volatile __u32 loadgen_tgid = 0;
const volatile __s64 loadgen_nr = -1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* reserve or output failed: the ring buffer was full (read and stored by user space) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct ac_rss_state);
} rss_state SEC(".maps");

/* before 6.1 struct cgroup had ancestor_ids[] instead of ancestors[] */
struct cgroup___old {
	__u64 ancestor_ids[0];
} __attribute__((preserve_access_index));

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1;
}

static __always_inline __u64 submit_flags(void)
{
	if (!wakeup_bytes)
		return 0;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* before 6.2 the mm counters were atomics in struct mm_rss_stat, not per-CPU counters */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/*
 * The helpers below read kernel memory by direct (CO-RE relocated) loads: tp_btf arguments
 * are BTF pointers, and the verifier turns loads through them into fault-safe loads, several
 * times cheaper than bpf_probe_read_kernel(). rss_stat runs on every page fault of the machine.
 */

/* pages in one mm counter (MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES, ...) */
static __always_inline __s64 mm_counter(struct mm_struct *mm, int member)
{
	if (bpf_core_type_exists(struct mm_rss_stat___old)) {
		struct mm_struct___old *old = (void *)mm;

		return BPF_CORE_READ(old, rss_stat.count[member].counter);
	}
	/* the global part of the per-CPU counter: off by at most a batch per CPU */
	return mm->rss_stat[member].count;
}

static __always_inline struct cgroup *memcg_cgroup(struct task_struct *t)
{
	struct css_set *cset = t->cgroups;
	struct cgroup_subsys_state *css;

	if (!cset)
		return NULL;
	if (use_dfl)
		return cset->dfl_cgrp;
	css = cset->subsys[bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id)];
	return css ? css->cgroup : NULL;
}

/* Is t in the target cgroup or below it? Sets *cgid to the kernfs id of t's memory cgroup. */
static __always_inline bool in_target(struct task_struct *t, __u64 *cgid)
{
	struct cgroup *cg = memcg_cgroup(t);
	struct cgroup *anc;

	if (!cg)
		return false;
	*cgid = cg->kn->id;
	if (!target_cgid || *cgid == target_cgid)
		return true;
	if (target_level < 0 || target_level > 64 || cg->level <= target_level)
		return false;
	if (bpf_core_field_exists(cg->ancestors)) {
		anc = NULL;
		bpf_core_read(&anc, sizeof(anc), &cg->ancestors[target_level]);
		return anc && BPF_CORE_READ(anc, kn, id) == target_cgid;
	} else {
		__u64 id = 0;

		bpf_core_read(&id, sizeof(id), &((struct cgroup___old *)cg)->ancestor_ids[target_level]);
		return id == target_cgid;
	}
}

static __always_inline void fill_hdr(struct ac_hdr *h, struct task_struct *t, __u32 kind, __u64 cgid)
{
	h->ts_ns = bpf_ktime_get_ns();
	h->cgid = cgid;
	h->kind = kind;
	h->pid = t->tgid;
	h->tid = t->pid;
	h->ppid = t->real_parent ? t->real_parent->tgid : 0;
	bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), t->comm);
}

#endif /* AGENTCGROUP_COMMON_BPF_H */
