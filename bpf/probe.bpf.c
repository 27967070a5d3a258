/* SPDX-License-Identifier: MIT */
/*
 * Empty programs of each attach type, loaded and attached one at a time by `doctor` to show
 * which program types this kernel accepts. They do nothing and are detached at once.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_process_free")
int BPF_PROG(probe_tp_btf, struct task_struct *p) { return 0; }

SEC("raw_tp/sched_process_free")
int probe_raw_tp(void *ctx) { return 0; }

SEC("tp/sched/sched_process_free")
int probe_tracepoint(void *ctx) { return 0; }

SEC("fentry/do_exit")
int BPF_PROG(probe_fentry, long code) { return 0; }

SEC("kprobe/do_exit")
int BPF_KPROBE(probe_kprobe) { return 0; }

SEC("lsm/bpf")
int BPF_PROG(probe_lsm, int cmd, union bpf_attr *attr, unsigned int size) { return 0; }

SEC("iter/task")
int probe_iter_task(struct bpf_iter__task *ctx) { return 0; }
