/*
 * agentcgroup's tool shell: the agent's $SHELL (installed as `bash` and `zsh`). Each tool
 * call (`bash -c -l '<command>'`) first asks the broker (collector/domains/broker.ts, a Unix
 * socket named by $AGENTCGROUP_SOCK) to create the call's cgroup and move this process into
 * it, and only then runs the real shell, so everything the command charges lands in the
 * call's group. Linked -static: it runs inside containers with any libc (or none).
 *
 *   real shell: $AGENTCGROUP_REAL_SHELL, else /bin/<name>, else /usr/bin/<name>
 *               (<name> = basename of argv[0]; never this program itself)
 *   no $AGENTCGROUP_SOCK: exec the real shell, silently.
 *   broker unreachable or ERR: one line `agentcgroup: no tool-call cgroup (<reason>)` on
 *               stderr, then exec the real shell anyway.
 *   OK: fork; the child execs the real shell (argv[0] = <name>, same arguments, without
 *               $AGENTCGROUP_SOCK so nested shells do not open calls of their own); the parent
 *               forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT, waits, sends END <status>, prints the
 *               broker's note (if any) as `agentcgroup: <note>`, and ends like the child
 *               (same exit code, or the same signal).
 *
 * Wire protocol (collector/domains/protocol.ts): frames of [u32 big-endian length][payload].
 *   -> "RUN\0" then each argument followed by "\0"   (arguments cannot hold NUL)
 *   <- "OK <group>" | "ERR <reason>"
 *   -> "END <status>"                                   (exit code, or 128+signal)
 *   <- "DONE" | "DONE <note>"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FRAME (16u << 20)
#define REPLY_TIMEOUT_S 30

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
#define NFWD (int)(sizeof(forwarded) / sizeof(forwarded[0]))

static volatile pid_t g_child = 0;

static void forward(int sig) {
  int saved = errno;
  if (g_child > 0) kill(g_child, sig);
  errno = saved;
}

static int same_file_as_self(const char *path) {
  struct stat a, b;
  if (stat("/proc/self/exe", &a) != 0 || stat(path, &b) != 0) return 0;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The real shell for `name`, or NULL (with a message) when none is usable. */
static const char *real_shell(const char *name, char *buf, size_t len) {
  const char *env = getenv("AGENTCGROUP_REAL_SHELL");
  if (env && *env) {
    if (same_file_as_self(env)) {
      fprintf(stderr, "agentcgroup: AGENTCGROUP_REAL_SHELL=%s is this wrapper, not a shell\n", env);
      return NULL;
    }
    return env;
  }
  const char *dirs[] = {"/bin/", "/usr/bin/"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    snprintf(buf, len, "%s%s", dirs[i], name);
    if (access(buf, X_OK) == 0 && !same_file_as_self(buf)) return buf;
  }
  fprintf(stderr, "agentcgroup: no real %s (tried /bin/%s and /usr/bin/%s; set AGENTCGROUP_REAL_SHELL)\n", name, name, name);
  return NULL;
}

static void run_shell(const char *path, char **argv) {
  execv(path, argv);
  fprintf(stderr, "agentcgroup: cannot run %s: %s\n", path, strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = ECONNRESET;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static int send_frame(int fd, const char *payload, size_t n) {
  unsigned char hdr[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  return write_all(fd, hdr, 4) == 0 && write_all(fd, payload, n) == 0 ? 0 : -1;
}

/* Reads one frame into a NUL-terminated malloc'd string (*len = payload length). */
static char *recv_frame(int fd, size_t *len) {
  unsigned char hdr[4];
  if (read_all(fd, hdr, 4) != 0) return NULL;
  uint32_t n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
  if (n > MAX_FRAME) {
    errno = EMSGSIZE;
    return NULL;
  }
  char *buf = malloc((size_t)n + 1);
  if (!buf) return NULL;
  if (read_all(fd, buf, n) != 0) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

/* Connects and sends RUN; returns the fd with the reply OK read, or -1 with *why set. */
static int open_call(const char *sock, int argc, char **argv, char *why, size_t whylen) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(sock) >= sizeof(addr.sun_path)) {
    snprintf(why, whylen, "socket path too long: %s", sock);
    return -1;
  }
  strcpy(addr.sun_path, sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, whylen, "socket: %s", strerror(errno));
    return -1;
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    snprintf(why, whylen, "cannot reach the broker at %s: %s", sock, strerror(errno));
    close(fd);
    return -1;
  }
  struct timeval tv = {REPLY_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  size_t n = 4;
  for (int i = 1; i < argc; i++) n += strlen(argv[i]) + 1;
  char *req = malloc(n);
  if (!req) {
    snprintf(why, whylen, "out of memory");
    close(fd);
    return -1;
  }
  memcpy(req, "RUN", 4);
  size_t at = 4;
  for (int i = 1; i < argc; i++) {
    size_t l = strlen(argv[i]) + 1;
    memcpy(req + at, argv[i], l);
    at += l;
  }
  int sent = n > MAX_FRAME ? -1 : send_frame(fd, req, n);
  free(req);
  if (sent != 0) {
    if (n > MAX_FRAME) snprintf(why, whylen, "arguments too long for the broker");
    else snprintf(why, whylen, "broker closed the connection: %s", strerror(errno));
    close(fd);
    return -1;
  }
  char *reply = recv_frame(fd, NULL);
  if (!reply) {
    snprintf(why, whylen, "no answer from the broker: %s", errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
    close(fd);
    return -1;
  }
  if (strncmp(reply, "OK ", 3) != 0) {
    snprintf(why, whylen, "%s", strncmp(reply, "ERR ", 4) == 0 ? reply + 4 : reply);
    free(reply);
    close(fd);
    return -1;
  }
  free(reply);
  return fd;
}

/* Ends like the child: the same signal (without a core file of ours), or its exit code. */
static void exit_like(int status) {
  fflush(stderr);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int main(int argc, char **argv) {
  const char *arg0 = argc > 0 && argv[0] ? argv[0] : "bash";
  const char *slash = strrchr(arg0, '/');
  const char *base = slash ? slash + 1 : arg0;
  int login_dash = base[0] == '-';
  const char *name = login_dash ? base + 1 : base;
  if (!*name) name = "bash";

  char pathbuf[4096];
  const char *real = real_shell(name, pathbuf, sizeof(pathbuf));
  if (!real) return 127;

  /* argv for the real shell: argv[0] = "<name>" (or "-<name>" for a login shell) */
  char **args = calloc((size_t)(argc > 0 ? argc : 1) + 1, sizeof(char *));
  if (!args) return 126;
  args[0] = (char *)(login_dash ? base : name);
  for (int i = 1; i < argc; i++) args[i] = argv[i];

  const char *sock = getenv("AGENTCGROUP_SOCK");
  if (!sock || !*sock) run_shell(real, args);
  char sockpath[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
  snprintf(sockpath, sizeof(sockpath), "%s", sock);
  /* one tool call is one group: shells the command starts do not open calls of their own */
  unsetenv("AGENTCGROUP_SOCK");

  char why[512];
  int fd = open_call(sockpath, argc, argv, why, sizeof(why));
  if (fd < 0) {
    fprintf(stderr, "agentcgroup: no tool-call cgroup (%s)\n", why);
    run_shell(real, args);
  }

  /* signals are blocked across fork so none is lost before the handlers exist */
  sigset_t block, old_mask;
  sigemptyset(&block);
  for (int i = 0; i < NFWD; i++) sigaddset(&block, forwarded[i]);
  sigprocmask(SIG_BLOCK, &block, &old_mask);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "agentcgroup: fork: %s\n", strerror(errno));
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    close(fd);
    run_shell(real, args);
  }
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    run_shell(real, args); /* the socket is CLOEXEC: it does not reach the command */
  }
  g_child = pid;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < NFWD; i++) {
    struct sigaction prev;
    /* a signal the caller ignored stays ignored (the child inherited that too) */
    if (sigaction(forwarded[i], NULL, &prev) == 0 && prev.sa_handler == SIG_IGN) continue;
    sigaction(forwarded[i], &sa, NULL);
  }
  sigprocmask(SIG_SETMASK, &old_mask, NULL);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      status = 1 << 8;
      break;
    }
  }
  g_child = 0;
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WIFEXITED(status) ? WEXITSTATUS(status) : 1;

  char end[32];
  int n = snprintf(end, sizeof(end), "END %d", code);
  if (send_frame(fd, end, (size_t)n) == 0) {
    size_t len = 0;
    char *reply = recv_frame(fd, &len);
    if (reply && len > 5 && strncmp(reply, "DONE ", 5) == 0) {
      /* the note, as one block ending in a newline */
      fputs("agentcgroup: ", stderr);
      fwrite(reply + 5, 1, len - 5, stderr);
      if (reply[len - 1] != '\n') fputc('\n', stderr);
    }
    free(reply);
  }
  close(fd);
  exit_like(status);
  return 1;
}
