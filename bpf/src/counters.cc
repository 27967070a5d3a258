// See counters.h.
#include "counters.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace {

// parses a decimal integer at p (after optional spaces); false when there is none
bool parse_int(const char *p, const char *end, int64_t *out) {
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  if (p >= end) return false;
  bool neg = false;
  if (*p == '-') {
    neg = true;
    p++;
  }
  if (p >= end || *p < '0' || *p > '9') return false;
  int64_t v = 0;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
  *out = neg ? -v : v;
  return true;
}

// the value of `key` in text (rules in counters.h)
bool parse_counter(const char *text, size_t n, const std::string &key, int64_t *out) {
  const char *end = text + n;
  if (key.empty()) return parse_int(text, end, out);
  size_t colon = key.find(':');
  std::string head = colon == std::string::npos ? key : key.substr(0, colon);
  const char *line = text;
  while (line < end) {
    const char *nl = static_cast<const char *>(memchr(line, '\n', end - line));
    const char *lend = nl ? nl : end;
    if ((size_t)(lend - line) > head.size() && memcmp(line, head.data(), head.size()) == 0 && line[head.size()] == ' ') {
      const char *rest = line + head.size() + 1;
      if (colon == std::string::npos) return parse_int(rest, lend, out);
      std::string field = key.substr(colon + 1) + "=";
      for (const char *q = rest; q + field.size() <= lend; q++)
        if (memcmp(q, field.data(), field.size()) == 0 && (q == rest || q[-1] == ' ')) return parse_int(q + field.size(), lend, out);
      return false;
    }
    line = lend + 1;
  }
  return false;
}

}  // namespace

void CounterSet::add(const std::string &path, const std::string &key) {
  CounterProbe p;
  p.path = path;
  p.key = key;
  probes_.push_back(p);
}

uint32_t CounterSet::read(long long *values) {
  uint32_t present = 0;
  for (size_t i = 0; i < probes_.size() && i < 32; i++) {
    CounterProbe &p = probes_[i];
    values[i] = 0;
    if (p.failed) continue;
    if (p.fd < 0) {
      p.fd = open(p.path.c_str(), O_RDONLY | O_CLOEXEC);
      if (p.fd < 0) {
        p.failed = true;
        continue;
      }
    }
    ssize_t n = pread(p.fd, buf_.data(), buf_.size() - 1, 0);
    // the group went away (e.g. a container exited): absent from now on
    if (n < 0) {
      ::close(p.fd);
      p.fd = -1;
      p.failed = true;
      continue;
    }
    int64_t v;
    if (parse_counter(buf_.data(), (size_t)n, p.key, &v)) {
      values[i] = v;
      present |= 1u << i;
    }
  }
  return present;
}

void CounterSet::close_all() {
  for (CounterProbe &p : probes_)
    if (p.fd >= 0) {
      ::close(p.fd);
      p.fd = -1;
    }
}
