/* SPDX-License-Identifier: MIT */
/* OOM kills: the victim the OOM killer marks (mark_victim), with its memory cgroup and sizes. */
#include "common.bpf.h"

SEC("tp_btf/mark_victim")
int BPF_PROG(handle_mark_victim, struct task_struct *task, uid_t uid)
{
	struct mm_struct *mm;
	struct ac_oom *e;
	__u64 cgid;

	if (!in_target(task, &cgid))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_hdr(&e->h, task, AC_EV_OOM, cgid);
	mm = task->mm;
	if (!mm) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->total_vm_bytes = (__u64)mm->total_vm << page_shift;
	e->anon_rss_bytes = (__u64)mm_counter(mm, MM_ANONPAGES) << page_shift;
	e->file_rss_bytes = (__u64)mm_counter(mm, MM_FILEPAGES) << page_shift;
	e->shmem_rss_bytes = (__u64)mm_counter(mm, MM_SHMEMPAGES) << page_shift;
	e->uid = uid;
	e->oom_score_adj = task->signal->oom_score_adj;
	/* rare and important: wake the reader now */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
