// Counter files of a cgroup, read by the addon's poll thread at each sampling tick: the files
// stay open and are re-read with pread at offset 0 (kernfs regenerates them on each read).
// What to read comes from TypeScript (collector/samplers/cgroupfs.ts counterProbes), parsed
// by the same rules as its JavaScript reader:
//   key ""           the file is one number ("max" or anything else unparsable: absent)
//   key "name"       the line "name <number>" (memory.stat, cpu.stat, memory.events)
//   key "some:total" the line starting "some " and its "total=<number>" (PSI)
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

struct CounterProbe {
  std::string path;
  std::string key;
  int fd = -1;
  bool failed = false;  // could not be opened: absent from then on
};

class CounterSet {
 public:
  void add(const std::string &path, const std::string &key);
  size_t size() const { return probes_.size(); }
  // Reads every probe; values[i] is set and bit i of the result is 1 when probe i was read.
  uint32_t read(long long *values);
  void close_all();
  ~CounterSet() { close_all(); }

 private:
  std::vector<CounterProbe> probes_;
  std::vector<char> buf_ = std::vector<char>(16 * 1024);
};
