// peerCredentials(fd): the credentials of the process at the other end of a connected Unix
// socket (getsockopt SO_PEERCRED), as the kernel recorded them at connect(). The pid is in
// the caller's PID namespace: a client inside a container appears with its host pid. Used by
// the tool-call broker (collector/domains/broker.ts), which has no other trustworthy way to
// learn who is calling (the client's own idea of its pid is namespaced).
#include <napi.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <string>

namespace {

// TS: peerCredentials(fd: number): {pid: number; uid: number; gid: number}
Napi::Value PeerCredentials(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "Usage: peerCredentials(fd: number)");
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    int e = errno;
    throw Napi::Error::New(env, std::string("getsockopt(SO_PEERCRED) on fd ") + std::to_string(fd) + ": " + strerror(e));
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", (double)cred.pid);
  o.Set("uid", (double)cred.uid);
  o.Set("gid", (double)cred.gid);
  return o;
}

}  // namespace

void RegisterPeerCredentials(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
}
