// Batched UDP for srvdns (lib/server/udp-batch.ts): one socket read with recvmmsg and
// written with sendmmsg, JavaScript called once per batch of up to BATCH queries. Node's
// dgram makes one recvmsg and one sendmsg per query and builds objects for each; this
// measured 1.8-3x the CPU efficiency on the hot path (bench/RESULTS.md, "Batching").
// Optional: srvdns falls back to dgram when this does not build or load.
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

#define BATCH 64
#define IN_SIZE 4096
#define OUT_SIZE 4096
#define PEER_SIZE 28 /* sizeof(struct sockaddr_in6) */
#define ROUNDS 16    /* batches read per readiness event before yielding to the loop */
#define QUEUE_BYTES (8 << 20) /* replies kept while the send buffer is full; beyond, dropped */

typedef struct {
  int fd;
  int closed;
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_ref in_ref, out_ref, lens_ref, peers_ref;
  napi_async_context async;
  uint8_t *in;
  uint8_t *out;
  int32_t *lens; /* [0, BATCH): query lengths (-1: truncated, ignore); [BATCH, 2 BATCH): reply lengths (0: none) */
  uint8_t *peers;
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec oiov[BATCH];
  struct mmsghdr omsgs[BATCH];
  struct queued *head, *tail; /* replies waiting for room in the send buffer, oldest first */
  size_t queued_bytes;
} ctx_t;

static void on_ready(uv_poll_t *handle, int status, int events);

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "EIO";
  napi_throw_error(env, code, msg);
  return NULL;
}

/* A reply waiting for room in the socket's send buffer. */
typedef struct queued {
  struct queued *next;
  socklen_t peerlen;
  uint8_t peer[PEER_SIZE];
  size_t len;
  uint8_t data[];
} queued_t;

static void enqueue(ctx_t *c, const struct msghdr *h) {
  size_t len = h->msg_iov[0].iov_len;
  if (c->queued_bytes + len > QUEUE_BYTES) return; /* beyond the bound: dropped, as a full socket buffer drops */
  queued_t *q = malloc(sizeof(queued_t) + len);
  if (!q) return;
  q->next = NULL;
  q->peerlen = h->msg_namelen;
  memcpy(q->peer, h->msg_name, h->msg_namelen);
  q->len = len;
  memcpy(q->data, h->msg_iov[0].iov_base, len);
  if (c->tail) c->tail->next = q;
  else c->head = q;
  c->tail = q;
  c->queued_bytes += len;
}

static int full(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }

/* send_batch sends omsgs[0, m); on a full send buffer the rest is queued (copied) and sent
   when the socket is writable, as libuv queues dgram's sends. Queries keep being read. */
static void send_batch(ctx_t *c, int m) {
  int sent = 0;
  while (sent < m && !c->head) {
    int r = sendmmsg(c->fd, c->omsgs + sent, (unsigned)(m - sent), 0);
    if (r > 0) sent += r;
    else if (r < 0 && errno == EINTR) continue;
    else if (r < 0 && full(errno)) break;
    else sent++; /* skip the datagram that failed (an unreachable peer), send the rest */
  }
  if (sent == m) return;
  for (; sent < m; sent++) enqueue(c, &c->omsgs[sent].msg_hdr);
  uv_poll_start(&c->poll, UV_READABLE | UV_WRITABLE, on_ready);
}

/* drain sends queued replies, a batch at a time, until the queue is empty or the buffer full. */
static void drain(ctx_t *c) {
  while (c->head) {
    int m = 0;
    for (queued_t *q = c->head; q && m < BATCH; q = q->next, m++) {
      c->oiov[m].iov_base = q->data;
      c->oiov[m].iov_len = q->len;
      memset(&c->omsgs[m].msg_hdr, 0, sizeof(struct msghdr));
      c->omsgs[m].msg_hdr.msg_iov = &c->oiov[m];
      c->omsgs[m].msg_hdr.msg_iovlen = 1;
      c->omsgs[m].msg_hdr.msg_name = q->peer;
      c->omsgs[m].msg_hdr.msg_namelen = q->peerlen;
    }
    int r = sendmmsg(c->fd, c->omsgs, (unsigned)m, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && full(errno)) return;
    if (r <= 0) r = 1; /* skip the datagram that failed */
    for (int i = 0; i < r; i++) {
      queued_t *q = c->head;
      c->head = q->next;
      c->queued_bytes -= q->len;
      free(q);
    }
  }
  c->tail = NULL;
  uv_poll_start(&c->poll, UV_READABLE, on_ready);
}

static void free_queue(ctx_t *c) {
  while (c->head) {
    queued_t *q = c->head;
    c->head = q->next;
    free(q);
  }
  c->tail = NULL;
  c->queued_bytes = 0;
}

static void on_ready(uv_poll_t *handle, int status, int events) {
  ctx_t *c = handle->data;
  if (status < 0 || c->closed) return;
  if (events & UV_WRITABLE) drain(c);
  if (!(events & UV_READABLE)) return;
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, arg, result;
  napi_get_reference_value(env, c->cb, &cb);
  napi_get_global(env, &global);
  for (int round = 0; round < ROUNDS && !c->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      c->iov[i].iov_base = c->in + (size_t)i * IN_SIZE;
      c->iov[i].iov_len = IN_SIZE;
      memset(&c->msgs[i].msg_hdr, 0, sizeof(struct msghdr));
      c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
      c->msgs[i].msg_hdr.msg_iovlen = 1;
      c->msgs[i].msg_hdr.msg_name = c->peers + (size_t)i * PEER_SIZE;
      c->msgs[i].msg_hdr.msg_namelen = PEER_SIZE;
      c->lens[BATCH + i] = 0;
    }
    int n = recvmmsg(c->fd, c->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) break; /* EAGAIN: drained; other errors (ICMP reports) are per datagram */
    for (int i = 0; i < n; i++) {
      c->lens[i] = (c->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)c->msgs[i].msg_len;
    }
    napi_create_int32(env, n, &arg);
    if (napi_make_callback(env, c->async, global, cb, 1, &arg, &result) == napi_pending_exception) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored); /* the JS side catches its own; never crash here */
    }
    if (c->closed) break;
    int m = 0;
    for (int i = 0; i < n; i++) {
      int32_t len = c->lens[BATCH + i];
      if (len <= 0 || len > OUT_SIZE) continue;
      c->oiov[m].iov_base = c->out + (size_t)i * OUT_SIZE;
      c->oiov[m].iov_len = (size_t)len;
      memset(&c->omsgs[m].msg_hdr, 0, sizeof(struct msghdr));
      c->omsgs[m].msg_hdr.msg_iov = &c->oiov[m];
      c->omsgs[m].msg_hdr.msg_iovlen = 1;
      c->omsgs[m].msg_hdr.msg_name = c->peers + (size_t)i * PEER_SIZE;
      c->omsgs[m].msg_hdr.msg_namelen = c->msgs[i].msg_hdr.msg_namelen;
      m++;
    }
    send_batch(c, m);
    if (n < BATCH) break; /* drained */
  }
  napi_close_handle_scope(env, scope);
}

static ctx_t *unwrap(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static void *buffer_ref(napi_env env, size_t size, napi_ref *ref, napi_value *out) {
  void *data;
  napi_create_buffer(env, size, &data, out);
  napi_create_reference(env, *out, 1, ref);
  return data;
}

/* open(host, port, ipv6, onBatch) -> { handle, port, in, out, lens, peers } */
static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[64];
  size_t hostlen;
  int32_t port;
  bool ipv6;
  if (argc < 4 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hostlen) != napi_ok || napi_get_value_int32(env, argv[1], &port) != napi_ok ||
      napi_get_value_bool(env, argv[2], &ipv6) != napi_ok || port < 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "open(host, port, ipv6, onBatch)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof ss);
  if (ipv6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, EINVAL, "udp: not an IPv6 address");
    sslen = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, EINVAL, "udp: not an IPv4 address");
    sslen = sizeof *a;
  }
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "udp: socket");
  int one = 1;
  if (ipv6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "udp: bind");
  }
  getsockname(fd, (struct sockaddr *)&ss, &sslen);
  int bound = ntohs(ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);

  ctx_t *c = calloc(1, sizeof(ctx_t));
  if (!c) {
    close(fd);
    return throw_errno(env, ENOMEM, "udp: out of memory");
  }
  c->fd = fd;
  c->env = env;
  napi_value obj, v, ab;
  napi_create_object(env, &obj);
  c->in = buffer_ref(env, (size_t)BATCH * IN_SIZE, &c->in_ref, &v);
  napi_set_named_property(env, obj, "in", v);
  c->out = buffer_ref(env, (size_t)BATCH * OUT_SIZE, &c->out_ref, &v);
  napi_set_named_property(env, obj, "out", v);
  c->peers = buffer_ref(env, (size_t)BATCH * PEER_SIZE, &c->peers_ref, &v);
  napi_set_named_property(env, obj, "peers", v);
  void *data;
  napi_create_arraybuffer(env, 2 * BATCH * sizeof(int32_t), &data, &ab);
  c->lens = data;
  napi_create_typedarray(env, napi_int32_array, 2 * BATCH, ab, 0, &v);
  napi_create_reference(env, v, 1, &c->lens_ref);
  napi_set_named_property(env, obj, "lens", v);
  napi_create_int32(env, bound, &v);
  napi_set_named_property(env, obj, "port", v);
  napi_create_int32(env, BATCH, &v);
  napi_set_named_property(env, obj, "batch", v);
  napi_create_external(env, c, NULL, NULL, &v);
  napi_set_named_property(env, obj, "handle", v);
  napi_create_reference(env, argv[3], 1, &c->cb);
  napi_value name;
  napi_create_string_utf8(env, "srvdns.udp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &c->async);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &c->poll, fd);
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE, on_ready);
  return obj;
}

/* send(handle, reply, peer) -> bytes sent or queued, or -errno: a reply that was not ready in its batch */
static napi_value send_one(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ctx_t *c = argc == 3 ? unwrap(env, argv[0]) : NULL;
  void *reply, *peer;
  size_t reply_len, peer_len;
  if (!c || napi_get_buffer_info(env, argv[1], &reply, &reply_len) != napi_ok || napi_get_buffer_info(env, argv[2], &peer, &peer_len) != napi_ok || peer_len < sizeof(struct sockaddr_in)) {
    napi_throw_type_error(env, NULL, "send(handle, reply, peer)");
    return NULL;
  }
  ssize_t r = -EBADF;
  if (!c->closed) {
    socklen_t len = ((struct sockaddr *)peer)->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (peer_len < len) len = (socklen_t)peer_len;
    int queue = c->head != NULL; /* behind queued replies: keep the order */
    if (!queue) {
      r = sendto(c->fd, reply, reply_len, 0, (struct sockaddr *)peer, len);
      if (r < 0) r = -errno;
      queue = r < 0 && full((int)-r); /* no room: queue it */
    }
    if (queue) {
      struct iovec iov = {.iov_base = reply, .iov_len = reply_len};
      struct msghdr h = {.msg_name = peer, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
      enqueue(c, &h);
      uv_poll_start(&c->poll, UV_READABLE | UV_WRITABLE, on_ready);
      r = (ssize_t)reply_len;
    }
  }
  napi_create_int64(env, (int64_t)r, &result);
  return result;
}

static void on_closed(uv_handle_t *h) {
  ctx_t *c = h->data;
  free_queue(c);
  close(c->fd);
  free(c);
}

/* close(handle): stop reading, close the socket; the handle must not be used after. */
static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ctx_t *c = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (!c || c->closed) return NULL;
  c->closed = 1;
  uv_poll_stop(&c->poll);
  napi_delete_reference(env, c->cb);
  napi_delete_reference(env, c->in_ref);
  napi_delete_reference(env, c->out_ref);
  napi_delete_reference(env, c->lens_ref);
  napi_delete_reference(env, c->peers_ref);
  napi_async_destroy(env, c->async);
  uv_close((uv_handle_t *)&c->poll, on_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_socket, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_one, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, close_socket, NULL, &fn);
  napi_set_named_property(env, exports, "close", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
