// The BPF loader addon: loads agentcgroup's BPF objects (embedded bpftool skeletons) through
// the system libbpf, attaches them, and hands ring-buffer records to JavaScript in batches.
//
// Loader order per object (libbpf-bootstrap style): open -> rodata -> shared maps -> load ->
// attach. Each program loads on its own: when the kernel refuses one, the object is opened
// again without it, and the refusal is reported by program name. A poll thread samples the
// cgroup's counter files, drains the ring buffer and calls JavaScript through a
// Napi::ThreadSafeFunction about once a second (an AsyncWorker would hold one of libuv's few
// pool threads for the whole recording; each wakeup of Node's main thread costs ~160 µs of
// CPU on this VM, of a C thread ~50 µs).
//
// Surface (see ../native.d.ts): Session (start, programs, drops, stats, stop),
// probe(), clockSync(), layout(), libbpfVersion(); peerCredentials() (peercred.cc).
#include <napi.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "events.h"
}
#include "counters.h"
#include "loadgen.skel.h"
#include "oom.skel.h"
#include "probe.skel.h"
#include "proc.skel.h"
#include "reclaim.skel.h"
#include "rss.skel.h"

// peercred.cc
void RegisterPeerCredentials(Napi::Env env, Napi::Object exports);

namespace {

// ---- libbpf's log: captured (never printed) so refusals can be named and explained ----------

std::mutex g_log_mu;
std::string g_log;

int capture_print(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[2048];
  vsnprintf(buf, sizeof(buf), fmt, args);
  std::lock_guard<std::mutex> lock(g_log_mu);
  if (g_log.size() < (1u << 20)) g_log += buf;
  return 0;
}

std::string take_log() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::string out;
  out.swap(g_log);
  return out;
}

std::vector<std::string> split_lines(const std::string &text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// Why libbpf or the kernel refused program `name`, in one line: libbpf's message plus the
// verifier's last words when there is a verifier log.
std::string refusal_reason(const std::string &log, const std::string &name) {
  const std::string tag = "prog '" + name + "': ";
  std::string libbpf_msg, verifier_last;
  bool in_log = false, mine = false;
  for (const std::string &line : split_lines(log)) {
    size_t at = line.find(tag);
    if (at != std::string::npos) {
      std::string msg = line.substr(at + tag.size());
      if (msg.find("-- BEGIN PROG LOAD LOG --") != std::string::npos) {
        in_log = true;
        mine = true;
        continue;
      }
      if (libbpf_msg.empty() || msg.find("failed:") != std::string::npos) libbpf_msg = msg;
      continue;
    }
    if (line.find("-- END PROG LOAD LOG --") != std::string::npos) {
      in_log = false;
      continue;
    }
    if (in_log && mine && line.find("libbpf: ") != 0 && line.find("processed ") != 0 && line.find("verification time") == std::string::npos)
      verifier_last = line;
  }
  std::string out = libbpf_msg.empty() ? "refused" : libbpf_msg;
  if (!verifier_last.empty()) out += " (verifier: " + verifier_last + ")";
  return out;
}

std::string errno_text(int err) {
  if (err < 0) err = -err;
  return std::string(strerror(err));
}

// ---- objects -----------------------------------------------------------------------------------

struct Config {
  uint64_t target_cgid = 0;
  int32_t target_level = 0;
  bool use_dfl = false;
  uint64_t rss_threshold_bytes = 8ull << 20;
  bool rss_on = false;
  uint32_t page_shift = 12;
  uint64_t wakeup_bytes = 0;
  uint32_t loadgen_tgid = 0;
  int64_t loadgen_nr = -1;
  // proc.bpf.c: comm names of the agent's processes and of its tool shells
  std::vector<std::string> agent_comms, call_comms;
};

template <typename R>
void set_rodata(R *r, const Config &c) {
  r->target_cgid = c.target_cgid;
  r->target_level = c.target_level;
  r->use_dfl = c.use_dfl;
  r->rss_threshold_bytes = c.rss_threshold_bytes;
  r->rss_on = c.rss_on;
  r->page_shift = c.page_shift;
  r->wakeup_bytes = c.wakeup_bytes;
  r->loadgen_tgid = c.loadgen_tgid;
  r->loadgen_nr = c.loadgen_nr;
}

// copies names into a rodata char[N][AC_COMM_LEN] (cut to 15 bytes, as the kernel cuts comm)
template <size_t N>
void set_names(char (&dst)[N][AC_COMM_LEN], const std::vector<std::string> &names) {
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < AC_COMM_LEN; j++) dst[i][j] = i < names.size() && j < names[i].size() && j < AC_COMM_LEN - 1 ? names[i][j] : 0;
}

// only proc.bpf.c has the tool-call tunables
template <typename S>
void set_extra(S *, const Config &) {}
void set_extra(proc_bpf *s, const Config &c) {
  set_names(s->rodata->agent_comms, c.agent_comms);
  set_names(s->rodata->call_comms, c.call_comms);
}

struct ObjSpec {
  const char *name;
  // opens the skeleton and sets its tunables; returns the skeleton, its object in *obj
  std::function<void *(const Config &, bpf_object **)> open;
  std::function<void(void *)> destroy;
};

#define AC_SPEC(N)                                                         \
  ObjSpec {                                                                \
    #N,                                                                    \
        [](const Config &c, bpf_object **obj) -> void * {                  \
          N##_bpf *s = N##_bpf__open();                                    \
          if (!s) return nullptr;                                          \
          set_rodata(s->rodata, c);                                        \
          set_extra(s, c);                                                 \
          *obj = s->obj;                                                   \
          return s;                                                        \
        },                                                                 \
        [](void *s) { N##_bpf__destroy(static_cast<N##_bpf *>(s)); }       \
  }

const std::vector<ObjSpec> &all_specs() {
  static const std::vector<ObjSpec> specs = {AC_SPEC(proc), AC_SPEC(rss), AC_SPEC(oom), AC_SPEC(reclaim), AC_SPEC(loadgen)};
  return specs;
}

struct ProgStatus {
  std::string name;
  std::string object;
  bool ok = true;
  std::string stage;  // "", "open", "load", "attach"
  std::string error;
  int fd = -1;
};

struct LoadedObj {
  std::string name;
  void *skel = nullptr;
  std::function<void(void *)> destroy;
  std::vector<bpf_link *> links;
};

struct SharedMaps {
  int events = -1, drops = -1, rss = -1, procs = -1;
};

// Opens, loads and attaches one object. Programs the kernel refuses are left out (the object
// is opened again without them) and reported; `simulate` names programs to refuse on purpose:
// they are loaded as sleepable, which the kernel does not allow for tracepoint programs.
bool load_object(const ObjSpec &spec, const Config &cfg, const SharedMaps &maps, const std::set<std::string> &simulate,
                 LoadedObj &out, std::vector<ProgStatus> &statuses) {
  std::vector<ProgStatus> st;
  std::set<std::string> disabled;
  auto find = [&](const std::string &name) -> ProgStatus & {
    for (auto &s : st)
      if (s.name == name) return s;
    st.push_back(ProgStatus{name, spec.name});
    return st.back();
  };
  void *skel = nullptr;
  bpf_object *obj = nullptr;
  bool loaded = false;
  // open -> rodata (in spec.open) -> shared maps -> which programs, and how
  auto prepare = [&]() -> bool {
    take_log();
    skel = spec.open(cfg, &obj);
    if (!skel) return false;
    bpf_map *map;
    bpf_object__for_each_map(map, obj) {
      std::string n = bpf_map__name(map);
      int fd = n == "events" ? maps.events : n == "drops" ? maps.drops : n == "rss_state" ? maps.rss : n == "procs" ? maps.procs : -1;
      if (fd >= 0) bpf_map__reuse_fd(map, fd);
    }
    bpf_program *prog;
    bpf_object__for_each_program(prog, obj) {
      std::string n = bpf_program__name(prog);
      find(n);
      if (disabled.count(n)) bpf_program__set_autoload(prog, false);
      if (simulate.count(n)) bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_SLEEPABLE);
    }
    return true;
  };
  for (int attempt = 0; attempt < 16 && !loaded; attempt++) {
    if (!prepare()) {
      statuses.push_back(ProgStatus{spec.name, spec.name, false, "open", "cannot open: " + errno_text(errno)});
      return false;
    }
    int err = bpf_object__load(obj);
    // the verifier gives up with EAGAIN when a signal interrupts it (e.g. a profiler's SIGPROF)
    for (int again = 0; err == -EAGAIN && again < 3; again++) {
      spec.destroy(skel);
      if (!prepare()) {
        statuses.push_back(ProgStatus{spec.name, spec.name, false, "open", "cannot open: " + errno_text(errno)});
        return false;
      }
      err = bpf_object__load(obj);
    }
    if (err == 0) {
      loaded = true;
      break;
    }
    std::string log = take_log();
    std::vector<std::string> failed;
    for (auto &s : st)
      if (!disabled.count(s.name) && log.find("prog '" + s.name + "': failed to load") != std::string::npos) failed.push_back(s.name);
    if (failed.empty()) {
      // not a program's fault (a map, BTF, memlock): every program of the object is out
      std::string why = "load failed: " + errno_text(err);
      for (const std::string &line : split_lines(log))
        if (line.find("libbpf: ") == 0 && line.find("failed") != std::string::npos) {
          why = line.substr(8);
          break;
        }
      for (auto &s : st)
        if (!disabled.count(s.name)) {
          s.ok = false;
          s.stage = "load";
          s.error = why;
        }
      spec.destroy(skel);
      statuses.insert(statuses.end(), st.begin(), st.end());
      return false;
    }
    for (const std::string &n : failed) {
      ProgStatus &s = find(n);
      s.ok = false;
      s.stage = "load";
      s.error = refusal_reason(log, n) + (simulate.count(n) ? " [refusal simulated]" : "");
      disabled.insert(n);
    }
    spec.destroy(skel);
    skel = nullptr;
    if (disabled.size() >= st.size()) {
      statuses.insert(statuses.end(), st.begin(), st.end());
      return false;
    }
  }
  if (!loaded) {
    if (skel) spec.destroy(skel);
    statuses.insert(statuses.end(), st.begin(), st.end());
    return false;
  }
  out.name = spec.name;
  out.skel = skel;
  out.destroy = spec.destroy;
  bpf_program *prog;
  bpf_object__for_each_program(prog, obj) {
    std::string n = bpf_program__name(prog);
    if (disabled.count(n)) continue;
    ProgStatus &s = find(n);
    bpf_link *link = bpf_program__attach(prog);
    if (!link) {
      int err = errno;
      s.ok = false;
      s.stage = "attach";
      s.error = "attach failed: " + errno_text(err) + (simulate.count(n) ? " [refusal simulated]" : "");
      continue;
    }
    out.links.push_back(link);
    s.fd = bpf_program__fd(prog);
  }
  statuses.insert(statuses.end(), st.begin(), st.end());
  take_log();
  return true;
}

void destroy_object(LoadedObj &o) {
  for (bpf_link *l : o.links) bpf_link__destroy(l);
  o.links.clear();
  if (o.skel) o.destroy(o.skel);
  o.skel = nullptr;
}

bool create_shared_maps(uint32_t ringbuf_bytes, SharedMaps &m, std::string &err) {
  m.events = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ac_events", 0, 0, ringbuf_bytes, nullptr);
  if (m.events < 0) {
    err = "cannot create the ring buffer: " + errno_text(errno);
    return false;
  }
  m.drops = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "ac_drops", 4, 8, 1, nullptr);
  if (m.drops < 0) {
    err = "cannot create the drop counter: " + errno_text(errno);
    return false;
  }
  m.rss = bpf_map_create(BPF_MAP_TYPE_HASH, "ac_rss_state", 4, sizeof(struct ac_rss_state), 32768, nullptr);
  if (m.rss < 0) {
    err = "cannot create the RSS map: " + errno_text(errno);
    return false;
  }
  // allocated as processes come: a session on a quiet cgroup costs next to nothing
  LIBBPF_OPTS(bpf_map_create_opts, no_prealloc, .map_flags = BPF_F_NO_PREALLOC);
  m.procs = bpf_map_create(BPF_MAP_TYPE_HASH, "ac_procs", 4, sizeof(struct ac_proc), AC_MAX_PROCS, &no_prealloc);
  if (m.procs < 0) {
    err = "cannot create the process map: " + errno_text(errno);
    return false;
  }
  return true;
}

void close_shared_maps(SharedMaps &m) {
  for (int *fd : {&m.events, &m.drops, &m.rss, &m.procs})
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
}

Napi::Object status_object(Napi::Env env, const ProgStatus &s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", s.name);
  o.Set("object", s.object);
  o.Set("ok", s.ok);
  if (!s.ok) {
    o.Set("stage", s.stage);
    o.Set("error", s.error);
  }
  return o;
}

uint64_t big_u64(const Napi::Value &v, const char *what) {
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (v.IsNumber()) return (uint64_t)v.As<Napi::Number>().Int64Value();
  throw Napi::TypeError::New(v.Env(), std::string("Usage: ") + what + " must be a bigint or number");
}

Config config_from(const Napi::Object &o) {
  Config c;
  if (o.Has("targetCgid")) c.target_cgid = big_u64(o.Get("targetCgid"), "targetCgid");
  if (o.Has("targetLevel")) c.target_level = o.Get("targetLevel").As<Napi::Number>().Int32Value();
  if (o.Has("useDfl")) c.use_dfl = o.Get("useDfl").ToBoolean();
  if (o.Has("rssThresholdBytes")) c.rss_threshold_bytes = big_u64(o.Get("rssThresholdBytes"), "rssThresholdBytes");
  if (o.Has("wakeupBytes")) c.wakeup_bytes = big_u64(o.Get("wakeupBytes"), "wakeupBytes");
  if (o.Has("loadgenTgid")) c.loadgen_tgid = o.Get("loadgenTgid").As<Napi::Number>().Uint32Value();
  if (o.Has("loadgenNr")) c.loadgen_nr = o.Get("loadgenNr").As<Napi::Number>().Int64Value();
  for (const char *key : {"agentComms", "callComms"}) {
    if (!o.Has(key) || !o.Get(key).IsArray()) continue;
    Napi::Array a = o.Get(key).As<Napi::Array>();
    std::vector<std::string> &dst = std::string(key) == "agentComms" ? c.agent_comms : c.call_comms;
    for (uint32_t i = 0; i < a.Length(); i++) dst.push_back(a.Get(i).ToString().Utf8Value());
  }
  long page = sysconf(_SC_PAGESIZE);
  c.page_shift = 0;
  while ((1L << c.page_shift) < page) c.page_shift++;
  return c;
}

std::set<std::string> string_set(const Napi::Object &o, const char *key) {
  std::set<std::string> out;
  if (!o.Has(key) || !o.Get(key).IsArray()) return out;
  Napi::Array a = o.Get(key).As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.insert(a.Get(i).ToString().Utf8Value());
  return out;
}

void ensure_libbpf_setup() {
  static bool done = false;
  if (done) return;
  done = true;
  libbpf_set_print(capture_print);
  // libbpf 1.x needs no RLIMIT_MEMLOCK bump on memcg-accounted kernels (5.11+); older ones
  // would fail map creation with EPERM, reported as such
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
}

// ---- Session -------------------------------------------------------------------------------------

using Batch = std::vector<uint8_t>;

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {InstanceMethod("programs", &Session::Programs), InstanceMethod("drops", &Session::Drops),
                        InstanceMethod("stats", &Session::Stats), InstanceMethod("stop", &Session::Stop)});
  }

  // TS: new Session(opts: SessionOptions, onBatch: (buf: Buffer) => void, onClose: () => void)
  Session(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction())
      throw Napi::TypeError::New(env, "Usage: new Session(options, onBatch, onClose)");
    ensure_libbpf_setup();
    Napi::Object opts = info[0].As<Napi::Object>();
    Config cfg = config_from(opts);
    std::set<std::string> objects = string_set(opts, "objects");
    cfg.rss_on = objects.count("rss") > 0;
    std::set<std::string> simulate = string_set(opts, "simulateRefused");
    uint32_t rb_bytes = opts.Has("ringbufBytes") ? opts.Get("ringbufBytes").As<Napi::Number>().Uint32Value() : (8u << 20);
    deliver_ms_ = opts.Has("deliverMs") ? opts.Get("deliverMs").As<Napi::Number>().Int32Value() : 50;
    sample_ms_ = opts.Has("sampleMs") ? opts.Get("sampleMs").As<Napi::Number>().Int32Value() : 0;
    if (opts.Has("counters") && opts.Get("counters").IsArray()) {
      Napi::Array a = opts.Get("counters").As<Napi::Array>();
      if (a.Length() > AC_MAX_COUNTERS) throw Napi::TypeError::New(env, "Usage: at most " + std::to_string(AC_MAX_COUNTERS) + " counters");
      for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Object c = a.Get(i).As<Napi::Object>();
        counters_.add(c.Get("path").ToString().Utf8Value(), c.Get("key").ToString().Utf8Value());
      }
    }

    std::string err;
    if (!create_shared_maps(rb_bytes, maps_, err)) {
      close_shared_maps(maps_);
      throw Napi::Error::New(env, err);
    }
    // per-program run time for the overhead figure (kernel.bpf_stats_enabled while this fd is open)
    stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd_ < 0) stats_error_ = errno_text(errno);

    for (const ObjSpec &spec : all_specs()) {
      if (!objects.count(spec.name)) continue;
      LoadedObj o;
      if (load_object(spec, cfg, maps_, simulate, o, statuses_)) loaded_.push_back(std::move(o));
    }
    rb_ = ring_buffer__new(maps_.events, &Session::OnRecord, this, nullptr);
    if (!rb_) {
      int e = errno;
      Cleanup();
      throw Napi::Error::New(env, "cannot open the ring buffer: " + errno_text(e));
    }
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    on_close_ = Napi::Persistent(info[2].As<Napi::Function>());
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "agentcgroup-bpf-events", 0, 1, this,
                                          [](Napi::Env env, Session *self) {
                                            // every queued batch was delivered: tell JavaScript
                                            if (!self->on_close_.IsEmpty()) self->on_close_.Call({});
                                          });
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }

  ~Session() override {
    if (running_) {
      DetachAll();
      StopThread();
      // raw call: during environment teardown the wrapper would throw from a destructor
      napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
    }
    Cleanup();
  }

 private:
  static int OnRecord(void *ctx, void *data, size_t size) {
    Session *self = static_cast<Session *>(ctx);
    Batch &b = self->batch_;
    uint32_t hdr[2] = {(uint32_t)size, 0};
    size_t padded = (size + 7) & ~size_t(7);
    size_t at = b.size();
    b.resize(at + sizeof(hdr) + padded);
    memcpy(b.data() + at, hdr, sizeof(hdr));
    memcpy(b.data() + at + sizeof(hdr), data, size);
    if (padded > size) memset(b.data() + at + sizeof(hdr) + size, 0, padded - size);
    self->records_++;
    if (b.size() >= (4u << 20)) self->Flush();
    return 0;
  }

  // Hands the current batch to JavaScript (format: [u32 size][u32 0][record, padded to 8]...).
  void Flush() {
    if (batch_.empty()) return;
    Batch *b = new Batch(std::move(batch_));
    batch_ = Batch();
    batch_.reserve(64 * 1024);
    batches_++;
    napi_status s = tsfn_.NonBlockingCall(b, [](Napi::Env env, Napi::Function cb, Batch *b) {
      // handed over without a copy: the Buffer frees the batch when it is collected
      Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::New(env, b->data(), b->size(), [](Napi::Env, uint8_t *, Batch *b) { delete b; }, b);
      cb.Call({buf});
    });
    if (s != napi_ok) delete b;
  }

  static uint64_t mono_ns() {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
  }

  // One sample of the counter files, as a record of the batch (same clock as the BPF events).
  void TakeSample() {
    if (counters_.size() == 0) return;
    ac_sample rec{};
    rec.h.kind = AC_EV_SAMPLE;
    rec.h.ts_ns = mono_ns();
    rec.count = (uint32_t)counters_.size();
    rec.present = counters_.read(rec.values);
    OnRecord(this, &rec, sizeof(rec));
  }

  // Processes still alive: their entries, completed from /proc (peak RSS so far), as records.
  void DumpAlive() {
    if (maps_.procs < 0) return;
    uint32_t key, next;
    uint32_t *prev = nullptr;
    std::vector<uint8_t> value(sizeof(ac_proc));
    for (int guard = 0; guard < AC_MAX_PROCS && bpf_map_get_next_key(maps_.procs, prev, &next) == 0; guard++) {
      key = next;
      prev = &key;
      if (bpf_map_lookup_elem(maps_.procs, &key, value.data())) continue;
      ac_proc *p = reinterpret_cast<ac_proc *>(value.data());
      p->h.ts_ns = 0;
      p->hiwater_bytes = vm_hwm_bytes(key);
      ac_rss_state st{};
      if (maps_.rss >= 0 && bpf_map_lookup_elem(maps_.rss, &key, &st) == 0) p->peak_rss_bytes = st.peak_bytes;
      uint32_t len = p->argv_len > AC_ARGV_MAX ? AC_ARGV_MAX : p->argv_len;
      OnRecord(this, p, offsetof(ac_proc, argv) + len);
    }
  }

  // VmHWM of a live process (the kernel's high-water RSS of its image), bytes; 0 if unknown
  static uint64_t vm_hwm_bytes(uint32_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%u/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    const char *at = strstr(buf, "\nVmHWM:");
    return at ? strtoull(at + 7, nullptr, 10) * 1024 : 0;
  }

  // The poll thread: samples the counter files on a timerfd (absolute ticks: a late tick does
  // not shift the next), drains the ring buffer each time it wakes, and hands a batch to
  // JavaScript every deliver_ms. Records are submitted without wakeups unless a quarter of the
  // buffer fills, so a quiet session wakes this thread once per tick and JavaScript once per
  // delivery.
  void Run() {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb_), &ev);
    ev.data.u32 = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd_, &ev);
    int tfd = -1;
    if (sample_ms_ > 0 && counters_.size() > 0) {
      tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
      itimerspec its{};
      its.it_interval.tv_sec = sample_ms_ / 1000;
      its.it_interval.tv_nsec = (long)(sample_ms_ % 1000) * 1000000L;
      its.it_value = its.it_interval;
      if (tfd >= 0 && timerfd_settime(tfd, 0, &its, nullptr) == 0) {
        ev.data.u32 = 2;
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
      }
    }
    batch_.reserve(64 * 1024);
    TakeSample();
    uint64_t next_deliver = mono_ns() + (uint64_t)deliver_ms_ * 1000000ull;
    while (!stopping_.load()) {
      uint64_t now = mono_ns();
      int timeout = now >= next_deliver ? 0 : (int)((next_deliver - now) / 1000000ull) + 1;
      epoll_event out[3];
      int n = epoll_wait(ep, out, 3, timeout);
      for (int i = 0; i < n; i++) {
        if (out[i].data.u32 != 2) continue;
        uint64_t ticks;
        if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks)) TakeSample();
      }
      ring_buffer__consume(rb_);
      now = mono_ns();
      if (now >= next_deliver || batch_.size() >= (1u << 20)) {
        Flush();
        next_deliver = now + (uint64_t)deliver_ms_ * 1000000ull;
      }
    }
    // the programs are detached by now (Stop): what is left in the buffer is complete
    ring_buffer__consume(rb_);
    TakeSample();
    DumpAlive();
    Flush();
    if (tfd >= 0) close(tfd);
    close(ep);
  }

  void StopThread() {
    stopping_ = true;
    uint64_t one = 1;
    if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof(one)) < 0) {
      // the thread still ends within deliver_ms
    }
    if (thread_.joinable()) thread_.join();
    running_ = false;
  }

  void DetachAll() {
    for (LoadedObj &o : loaded_) {
      for (bpf_link *l : o.links) bpf_link__destroy(l);
      o.links.clear();
    }
  }

  void Cleanup() {
    for (LoadedObj &o : loaded_) destroy_object(o);
    loaded_.clear();
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
    close_shared_maps(maps_);
    if (stats_fd_ >= 0) close(stats_fd_);
    stats_fd_ = -1;
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
  }

  // TS: programs(): ProgramStatus[]
  Napi::Value Programs(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env, statuses_.size());
    for (size_t i = 0; i < statuses_.size(); i++) a.Set(i, status_object(env, statuses_[i]));
    return a;
  }

  uint64_t ReadDrops() {
    if (maps_.drops < 0) return final_drops_;
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return 0;
    std::vector<uint64_t> vals(ncpu, 0);
    uint32_t key = 0;
    if (bpf_map_lookup_elem(maps_.drops, &key, vals.data())) return 0;
    uint64_t sum = 0;
    for (uint64_t v : vals) sum += v;
    return sum;
  }

  // TS: drops(): bigint (records the programs could not reserve: the ring buffer was full)
  Napi::Value Drops(const Napi::CallbackInfo &info) { return Napi::BigInt::New(info.Env(), ReadDrops()); }

  Napi::Value StatsValue(Napi::Env env) {
    if (!stats_.IsEmpty()) return stats_.Value();
    Napi::Object o = Napi::Object::New(env);
    Napi::Array progs = Napi::Array::New(env);
    uint32_t i = 0;
    for (const ProgStatus &s : statuses_) {
      if (!s.ok || s.fd < 0) continue;
      bpf_prog_info pi{};
      uint32_t len = sizeof(pi);
      Napi::Object p = Napi::Object::New(env);
      p.Set("name", s.name);
      if (bpf_obj_get_info_by_fd(s.fd, &pi, &len) == 0) {
        p.Set("runTimeNs", Napi::BigInt::New(env, (uint64_t)pi.run_time_ns));
        p.Set("runCount", Napi::BigInt::New(env, (uint64_t)pi.run_cnt));
      }
      progs.Set(i++, p);
    }
    o.Set("programs", progs);
    o.Set("records", Napi::BigInt::New(env, records_.load()));
    o.Set("batches", Napi::BigInt::New(env, batches_.load()));
    o.Set("drops", Napi::BigInt::New(env, ReadDrops()));
    if (stats_fd_ < 0) o.Set("runTimeUnavailable", stats_error_);
    return o;
  }

  // TS: stats(): SessionStats (per-program run time and count, records delivered, drops)
  Napi::Value Stats(const Napi::CallbackInfo &info) { return StatsValue(info.Env()); }

  // TS: stop(): SessionStats. Detaches everything; the last batches arrive before onClose.
  Napi::Value Stop(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!running_) return StatsValue(env);
    // no new records, then the last drain (run times survive detaching: the programs stay loaded)
    DetachAll();
    StopThread();
    Napi::Value stats = StatsValue(env);
    final_drops_ = ReadDrops();
    stats_ = Napi::Persistent(stats.As<Napi::Object>());
    Cleanup();
    tsfn_.Release();
    return stats;
  }

  SharedMaps maps_;
  std::vector<LoadedObj> loaded_;
  std::vector<ProgStatus> statuses_;
  ring_buffer *rb_ = nullptr;
  int stats_fd_ = -1;
  std::string stats_error_;
  int wake_fd_ = -1;
  int deliver_ms_ = 50;
  int sample_ms_ = 0;
  CounterSet counters_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool running_ = false;
  Batch batch_;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> batches_{0};
  uint64_t final_drops_ = 0;
  Napi::ThreadSafeFunction tsfn_;
  Napi::FunctionReference on_close_;
  Napi::ObjectReference stats_;
};

// ---- probe (doctor) ------------------------------------------------------------------------

// TS: probe({simulateRefused?}): {programs: ProgramStatus[], types: ProgramStatus[], ringbuf}
// Loads and attaches every program of ours (filtering on a cgroup id no task has) and one
// empty program per attach type, then detaches them all.
Napi::Value Probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  ensure_libbpf_setup();
  Napi::Object opts = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  std::set<std::string> simulate = string_set(opts, "simulateRefused");
  Napi::Object out = Napi::Object::New(env);

  int rb_ok = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
  Napi::Object rb = Napi::Object::New(env);
  rb.Set("ok", rb_ok == 1);
  if (rb_ok != 1) rb.Set("error", rb_ok == 0 ? "not supported by this kernel" : errno_text(rb_ok));
  out.Set("ringbuf", rb);

  std::vector<ProgStatus> statuses;
  SharedMaps maps;
  std::string err;
  if (create_shared_maps(1u << 16, maps, err)) {
    Config cfg;
    cfg.target_cgid = ~0ull;  // no cgroup has this id: nothing is reported while attached
    long page = sysconf(_SC_PAGESIZE);
    cfg.page_shift = 0;
    while ((1L << cfg.page_shift) < page) cfg.page_shift++;
    for (const ObjSpec &spec : all_specs()) {
      if (std::string(spec.name) == "loadgen") continue;
      LoadedObj o;
      if (load_object(spec, cfg, maps, simulate, o, statuses)) destroy_object(o);
    }
  } else {
    statuses.push_back(ProgStatus{"maps", "shared", false, "open", err});
  }
  close_shared_maps(maps);
  Napi::Array progs = Napi::Array::New(env, statuses.size());
  for (size_t i = 0; i < statuses.size(); i++) progs.Set(i, status_object(env, statuses[i]));
  out.Set("programs", progs);

  // one empty program per attach type, each on its own object
  std::vector<ProgStatus> types;
  {
    probe_bpf *names = probe_bpf__open();
    std::vector<std::string> all;
    if (names) {
      bpf_program *p;
      bpf_object__for_each_program(p, names->obj) all.push_back(bpf_program__name(p));
      probe_bpf__destroy(names);
    }
    for (const std::string &want : all) {
      take_log();
      probe_bpf *s = probe_bpf__open();
      ProgStatus st{want, "probe"};
      if (!s) {
        st.ok = false;
        st.stage = "open";
        st.error = errno_text(errno);
        types.push_back(st);
        continue;
      }
      bpf_program *p;
      bpf_object__for_each_program(p, s->obj) bpf_program__set_autoload(p, want == bpf_program__name(p));
      int e = probe_bpf__load(s);
      if (e) {
        st.ok = false;
        st.stage = "load";
        st.error = refusal_reason(take_log(), want);
      } else {
        bpf_object__for_each_program(p, s->obj) {
          if (want != bpf_program__name(p)) continue;
          bpf_link *l = bpf_program__attach(p);
          if (!l) {
            st.ok = false;
            st.stage = "attach";
            st.error = "attach failed: " + errno_text(errno);
          } else {
            bpf_link__destroy(l);
          }
        }
      }
      probe_bpf__destroy(s);
      types.push_back(st);
    }
  }
  Napi::Array t = Napi::Array::New(env, types.size());
  for (size_t i = 0; i < types.size(); i++) t.Set(i, status_object(env, types[i]));
  out.Set("types", t);
  take_log();
  return out;
}

// TS: clockSync(): {monoNs: bigint, wallNs: bigint, uncertaintyNs: bigint}
// CLOCK_MONOTONIC (the BPF clock) and CLOCK_REALTIME read together; the narrowest of a few
// tries bounds the error.
Napi::Value ClockSync(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto ns = [](const timespec &t) { return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec; };
  uint64_t best = ~0ull, mono = 0, wall = 0;
  for (int i = 0; i < 7; i++) {
    timespec a, w, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_REALTIME, &w);
    clock_gettime(CLOCK_MONOTONIC, &b);
    uint64_t d = ns(b) - ns(a);
    if (d < best) {
      best = d;
      mono = ns(a) + d / 2;
      wall = ns(w);
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("monoNs", Napi::BigInt::New(env, mono));
  o.Set("wallNs", Napi::BigInt::New(env, wall));
  o.Set("uncertaintyNs", Napi::BigInt::New(env, best));
  return o;
}

// TS: layout(): EventLayout (sizes and field offsets of events.h, from the compiler)
Napi::Value Layout(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  auto obj = [&](std::initializer_list<std::pair<const char *, size_t>> fields) {
    Napi::Object f = Napi::Object::New(env);
    for (auto &kv : fields) f.Set(kv.first, (double)kv.second);
    return f;
  };
  o.Set("hdr", obj({{"size", sizeof(ac_hdr)}, {"ts_ns", offsetof(ac_hdr, ts_ns)}, {"cgid", offsetof(ac_hdr, cgid)},
                    {"kind", offsetof(ac_hdr, kind)}, {"pid", offsetof(ac_hdr, pid)}, {"tid", offsetof(ac_hdr, tid)},
                    {"ppid", offsetof(ac_hdr, ppid)}, {"comm", offsetof(ac_hdr, comm)}}));
  o.Set("proc", obj({{"size", sizeof(ac_proc)}, {"start_ns", offsetof(ac_proc, start_ns)}, {"exec_ns", offsetof(ac_proc, exec_ns)},
                     {"utime_ns", offsetof(ac_proc, utime_ns)}, {"stime_ns", offsetof(ac_proc, stime_ns)},
                     {"maxrss_bytes", offsetof(ac_proc, maxrss_bytes)}, {"hiwater_bytes", offsetof(ac_proc, hiwater_bytes)},
                     {"peak_rss_bytes", offsetof(ac_proc, peak_rss_bytes)}, {"exit_code", offsetof(ac_proc, exit_code)},
                     {"call_root", offsetof(ac_proc, call_root)}, {"flags", offsetof(ac_proc, flags)},
                     {"argv_len", offsetof(ac_proc, argv_len)}, {"argv", offsetof(ac_proc, argv)}}));
  o.Set("sample", obj({{"size", sizeof(ac_sample)}, {"count", offsetof(ac_sample, count)}, {"present", offsetof(ac_sample, present)},
                       {"values", offsetof(ac_sample, values)}}));
  o.Set("procFlags", obj({{"forked", AC_PF_FORKED}, {"execed", AC_PF_EXECED}, {"exited", AC_PF_EXITED},
                          {"argvTruncated", AC_PF_ARGV_TRUNCATED}, {"agent", AC_PF_AGENT}, {"callRoot", AC_PF_CALL_ROOT}}));
  o.Set("rss", obj({{"size", sizeof(ac_rss)}, {"rss_bytes", offsetof(ac_rss, rss_bytes)}, {"peak_bytes", offsetof(ac_rss, peak_bytes)}}));
  o.Set("oom", obj({{"size", sizeof(ac_oom)}, {"total_vm_bytes", offsetof(ac_oom, total_vm_bytes)},
                    {"anon_rss_bytes", offsetof(ac_oom, anon_rss_bytes)}, {"file_rss_bytes", offsetof(ac_oom, file_rss_bytes)},
                    {"shmem_rss_bytes", offsetof(ac_oom, shmem_rss_bytes)}, {"uid", offsetof(ac_oom, uid)},
                    {"oom_score_adj", offsetof(ac_oom, oom_score_adj)}}));
  o.Set("reclaim", obj({{"size", sizeof(ac_reclaim)}, {"start_ns", offsetof(ac_reclaim, start_ns)},
                        {"nr_reclaimed", offsetof(ac_reclaim, nr_reclaimed)}}));
  o.Set("loadgen", obj({{"size", sizeof(ac_loadgen)}, {"seq", offsetof(ac_loadgen, seq)}}));
  o.Set("kinds", obj({{"proc", AC_EV_PROC}, {"rss", AC_EV_RSS}, {"oom", AC_EV_OOM}, {"reclaim", AC_EV_RECLAIM},
                      {"loadgen", AC_EV_LOADGEN}, {"sample", AC_EV_SAMPLE}}));
  o.Set("commLen", (double)AC_COMM_LEN);
  o.Set("argvMax", (double)AC_ARGV_MAX);
  o.Set("maxCounters", (double)AC_MAX_COUNTERS);
  return o;
}

// TS: libbpfVersion(): string
Napi::Value LibbpfVersion(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Session", Session::Define(env));
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("clockSync", Napi::Function::New(env, ClockSync));
  exports.Set("layout", Napi::Function::New(env, Layout));
  exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion));
  RegisterPeerCredentials(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(bpf_addon, Init)
