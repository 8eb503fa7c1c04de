// Prototype for bench/batching.ts: a UDP socket read with recvmmsg and written with
// sendmmsg (or, with batch 1, recvmsg/sendmsg one datagram at a time through the same
// code), calling JavaScript once per batch. Not part of srvdns: a measurement.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_BATCH 64
#define IN_SIZE 512
#define OUT_SIZE 1232

typedef struct {
  int fd;
  int batch;
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_async_context async;
  uint8_t *in;
  uint8_t *out;
  int32_t *lens; /* [0, MAX_BATCH): query lengths; [MAX_BATCH, 2*MAX_BATCH): reply lengths, 0 for none */
  struct sockaddr_in peers[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec oiov[MAX_BATCH];
  struct mmsghdr omsgs[MAX_BATCH];
} ctx_t;

static void on_readable(uv_poll_t *poll, int status, int events) {
  ctx_t *c = poll->data;
  if (status < 0) return;
  napi_env env = c->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, arg, result;
  napi_get_reference_value(env, c->cb, &cb);
  napi_get_global(env, &global);
  for (int rounds = 0; rounds < 16; rounds++) {
    for (int i = 0; i < c->batch; i++) {
      c->iov[i].iov_base = c->in + i * IN_SIZE;
      c->iov[i].iov_len = IN_SIZE;
      memset(&c->msgs[i].msg_hdr, 0, sizeof(struct msghdr));
      c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
      c->msgs[i].msg_hdr.msg_iovlen = 1;
      c->msgs[i].msg_hdr.msg_name = &c->peers[i];
      c->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }
    int n;
    if (c->batch > 1) {
      n = recvmmsg(c->fd, c->msgs, c->batch, MSG_DONTWAIT, NULL);
    } else {
      ssize_t r = recvmsg(c->fd, &c->msgs[0].msg_hdr, MSG_DONTWAIT);
      if (r >= 0) c->msgs[0].msg_len = (unsigned)r;
      n = r < 0 ? -1 : 1;
    }
    if (n <= 0) break;
    for (int i = 0; i < n; i++) c->lens[i] = (int32_t)c->msgs[i].msg_len;
    napi_create_int32(env, n, &arg);
    napi_make_callback(env, c->async, global, cb, 1, &arg, &result);
    int m = 0;
    for (int i = 0; i < n; i++) {
      int32_t len = c->lens[MAX_BATCH + i];
      if (len <= 0 || len > OUT_SIZE) continue;
      c->oiov[m].iov_base = c->out + i * OUT_SIZE;
      c->oiov[m].iov_len = (size_t)len;
      memset(&c->omsgs[m].msg_hdr, 0, sizeof(struct msghdr));
      c->omsgs[m].msg_hdr.msg_iov = &c->oiov[m];
      c->omsgs[m].msg_hdr.msg_iovlen = 1;
      c->omsgs[m].msg_hdr.msg_name = &c->peers[i];
      c->omsgs[m].msg_hdr.msg_namelen = c->msgs[i].msg_hdr.msg_namelen;
      m++;
    }
    if (c->batch > 1) {
      if (m > 0) sendmmsg(c->fd, c->omsgs, m, 0);
    } else {
      for (int i = 0; i < m; i++) sendmsg(c->fd, &c->omsgs[i].msg_hdr, 0);
    }
    if (n < c->batch) break; /* drained */
  }
  napi_close_handle_scope(env, scope);
}

/* open(port, batch, onBatch) -> { port, in, out, lens } */
static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], obj, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t port, batch;
  napi_get_value_int32(env, argv[0], &port);
  napi_get_value_int32(env, argv[1], &batch);
  if (batch < 1) batch = 1;
  if (batch > MAX_BATCH) batch = MAX_BATCH;
  ctx_t *c = calloc(1, sizeof(ctx_t));
  c->env = env;
  c->batch = batch;
  c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int size = 4 << 20;
  setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  socklen_t alen = sizeof a;
  getsockname(c->fd, (struct sockaddr *)&a, &alen);
  napi_create_reference(env, argv[2], 1, &c->cb);
  napi_value name;
  napi_create_string_utf8(env, "mmsg", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &c->async);
  napi_create_object(env, &obj);
  void *data;
  napi_create_buffer(env, MAX_BATCH * IN_SIZE, &data, &v);
  c->in = data;
  napi_set_named_property(env, obj, "in", v);
  napi_create_buffer(env, MAX_BATCH * OUT_SIZE, &data, &v);
  c->out = data;
  napi_set_named_property(env, obj, "out", v);
  napi_value ab;
  napi_create_arraybuffer(env, 2 * MAX_BATCH * sizeof(int32_t), &data, &ab);
  c->lens = data;
  napi_create_typedarray(env, napi_int32_array, 2 * MAX_BATCH, ab, 0, &v);
  napi_set_named_property(env, obj, "lens", v);
  napi_create_int32(env, ntohs(a.sin_port), &v);
  napi_set_named_property(env, obj, "port", v);
  /* The buffers stay referenced by the returned object, which the caller keeps. */
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &c->poll, c->fd);
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE, on_readable);
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_socket, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
