/*
 * UdpReader: reads a UDP socket's datagrams in batches with recvmmsg and hands each batch to one
 * JavaScript callback, instead of node:dgram's event, Buffer and address object per datagram.
 * The socket stays node:dgram's (it sends, binds and closes it); the caller stops dgram's reads
 * first, so that this reader alone reads. It polls a duplicate of the descriptor: libuv takes one
 * watcher per descriptor, and dgram's still waits on the original when a send must wait.
 *
 * The batch's datagrams sit in memory the reader reuses: the callback reads them through one
 * Buffer (32 slots of slot_size bytes) and must copy whatever it keeps after returning. Lengths,
 * IPv4 source addresses and ports are in typed arrays made once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "napi_util.h"
#include "reader.h"

enum {
  batch_size = 32,
  slot_size = 4096,
  /* Batches read per wakeup at most, so that a flood leaves the loop its timers and other work. */
  max_batches_per_wakeup = 8,
};

typedef struct {
  napi_env env;
  int fd; /* the duplicate, the reader's own */
  uv_poll_t poll;
  napi_ref self;
  napi_ref callback;
  napi_ref error_callback;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  bool closed;
  double truncated;
  uint8_t *data;        /* batch_size * slot_size, the Buffer's memory */
  uint32_t *lengths;    /* batch_size */
  uint32_t *addresses;  /* batch_size, IPv4 in host order */
  uint32_t *ports;      /* batch_size */
  struct mmsghdr messages[batch_size];
  struct iovec vectors[batch_size];
  struct sockaddr_in from[batch_size];
} reader;

static void stop(reader *r);

/*
 * Calls one of the callbacks with the batch's count (datagrams) or, when status is a libuv error,
 * an Error naming it; false when the reader closed meanwhile.
 */
static bool call_back(reader *r, napi_ref callback_ref, int count, int status) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value self, callback, argument, result;
  bool ok = napi_get_reference_value(env, r->self, &self) == napi_ok &&
            napi_get_reference_value(env, callback_ref, &callback) == napi_ok;
  if (ok && status < 0) {
    char text[160];
    snprintf(text, sizeof(text), "the socket cannot be read after an error: %s", uv_strerror(status));
    napi_value code, message;
    ok = napi_create_string_utf8(env, uv_err_name(status), NAPI_AUTO_LENGTH, &code) == napi_ok &&
         napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) == napi_ok &&
         napi_create_error(env, code, message, &argument) == napi_ok;
  } else if (ok) {
    ok = napi_create_uint32(env, (uint32_t)count, &argument) == napi_ok;
  }
  if (ok && napi_make_callback(env, r->async, self, callback, 1, &argument, &result) == napi_pending_exception) {
    /* A throwing callback is the process's uncaught exception, as an event listener's would be. */
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
  return !r->closed;
}

/*
 * A pending socket error (an ICMP error of an earlier send: a subscriber's port closed) makes
 * libuv stop the poll and report it: the error and its queue are read out, and reading goes on.
 */
static void clear_error(reader *r) {
  int error = 0;
  socklen_t length = sizeof(error);
  getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &error, &length);
  uint8_t discard[512];
  struct iovec vector = {.iov_base = discard, .iov_len = sizeof(discard)};
  uint8_t control[512];
  for (int i = 0; i < 64; i++) {
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control,
                             .msg_controllen = sizeof(control)};
    if (recvmsg(r->fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
  }
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  reader *r = poll->data;
  if (r->closed) return;
  if (status < 0) {
    clear_error(r);
    int restarted = uv_poll_start(&r->poll, UV_READABLE, on_readable);
    if (restarted != 0) {
      /* Reported, then stopped: the owner reads the socket another way. */
      if (call_back(r, r->error_callback, 0, restarted)) stop(r);
      return;
    }
    events = UV_READABLE;
  }
  if (!(events & UV_READABLE)) return;
  for (int batch = 0; batch < max_batches_per_wakeup; batch++) {
    for (int i = 0; i < batch_size; i++) {
      r->vectors[i].iov_base = r->data + (size_t)i * slot_size;
      r->vectors[i].iov_len = slot_size;
      memset(&r->messages[i].msg_hdr, 0, sizeof(r->messages[i].msg_hdr));
      r->messages[i].msg_hdr.msg_iov = &r->vectors[i];
      r->messages[i].msg_hdr.msg_iovlen = 1;
      r->messages[i].msg_hdr.msg_name = &r->from[i];
      r->messages[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
    }
    int received = recvmmsg(r->fd, r->messages, batch_size, MSG_DONTWAIT, NULL);
    if (received < 0 && errno == EINTR) continue;
    if (received <= 0) return;
    int kept = 0;
    for (int i = 0; i < received; i++) {
      const struct mmsghdr *message = &r->messages[i];
      if ((message->msg_hdr.msg_flags & MSG_TRUNC) || message->msg_hdr.msg_namelen != sizeof(struct sockaddr_in) ||
          r->from[i].sin_family != AF_INET) {
        r->truncated++;
        continue;
      }
      if (kept != i) memmove(r->data + (size_t)kept * slot_size, r->data + (size_t)i * slot_size, message->msg_len);
      r->lengths[kept] = message->msg_len;
      r->addresses[kept] = ntohl(r->from[i].sin_addr.s_addr);
      r->ports[kept] = ntohs(r->from[i].sin_port);
      kept++;
    }
    if (kept > 0 && !call_back(r, r->callback, kept, 0)) return;
    if (received < batch_size) return;
  }
}

static void free_reader(reader *r) {
  if (r->fd >= 0) close(r->fd);
  free(r->data);
  free(r->lengths);
  free(r->addresses);
  free(r->ports);
  free(r);
}

static void on_poll_closed(uv_handle_t *handle) {
  reader *r = handle->data;
  /* The socket stays bound until every descriptor of it is closed: the duplicate goes now. */
  close(r->fd);
  r->fd = -1;
  if (r->cleanup) napi_remove_async_cleanup_hook(r->cleanup);
  r->cleanup = NULL;
  /* The JavaScript object may still be alive: it frees the reader when collected. */
  if (r->self == NULL) free_reader(r);
}

/* Stops polling; the references go, so that the callback's closure can be collected. */
static void stop(reader *r) {
  if (r->closed) return;
  r->closed = true;
  uv_poll_stop(&r->poll);
  if (r->callback) napi_delete_reference(r->env, r->callback);
  r->callback = NULL;
  if (r->error_callback) napi_delete_reference(r->env, r->error_callback);
  r->error_callback = NULL;
  if (r->async) napi_async_destroy(r->env, r->async);
  r->async = NULL;
  uv_close((uv_handle_t *)&r->poll, on_poll_closed);
}

/* The environment (a worker thread, say) ends with the reader open. */
static void on_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  (void)handle;
  stop(data);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  reader *r = data;
  napi_delete_reference(env, r->self);
  r->self = NULL;
  if (!r->closed) stop(r);
  else if (r->cleanup == NULL) free_reader(r);
}

static reader *unwrap(napi_env env, napi_callback_info info) {
  size_t count = 0;
  return unwrap_this(env, info, 0, &count, NULL, "bad call of a UdpReader method");
}

/* close(): stops reading; the descriptor stays open (dgram closes it). */
static napi_value close_reader(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  if (r != NULL) stop(r);
  return NULL;
}

/* dropped(): datagrams dropped because they were longer than a slot or not from IPv4. */
static napi_value dropped(napi_env env, napi_callback_info info) {
  reader *r = unwrap(env, info);
  return r == NULL ? NULL : number(env, r->truncated);
}

static bool expose(napi_env env, napi_value self, const char *name, napi_typedarray_type type, void *data,
                   size_t bytes, size_t length) {
  napi_value buffer, view;
  if (type == napi_uint8_array) {
    return napi_create_external_buffer(env, bytes, data, NULL, NULL, &view) == napi_ok &&
           napi_set_named_property(env, self, name, view) == napi_ok;
  }
  return napi_create_external_arraybuffer(env, data, bytes, NULL, NULL, &buffer) == napi_ok &&
         napi_create_typedarray(env, type, length, buffer, 0, &view) == napi_ok &&
         napi_set_named_property(env, self, name, view) == napi_ok;
}

/*
 * new UdpReader(fd, onBatch, onError): reads at once; this.data, this.lengths, this.addresses,
 * this.ports. onError(error) when it can read no more (a poll that libuv stopped on a socket
 * error and that would not start again), after which it is closed.
 */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t count = 3;
  napi_value values[3], self;
  int32_t fd;
  napi_valuetype kind, error_kind;
  if (napi_get_cb_info(env, info, &count, values, &self, NULL) != napi_ok || count < 3 ||
      napi_get_value_int32(env, values[0], &fd) != napi_ok || fd < 0 || napi_typeof(env, values[1], &kind) != napi_ok ||
      kind != napi_function || napi_typeof(env, values[2], &error_kind) != napi_ok || error_kind != napi_function)
    return type_error(env, "expected a socket's file descriptor and two callbacks");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return type_error(env, "no event loop");
  reader *r = calloc(1, sizeof(reader));
  if (r == NULL) return type_error(env, "out of memory");
  r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  r->data = malloc((size_t)batch_size * slot_size);
  r->lengths = calloc(batch_size, sizeof(uint32_t));
  r->addresses = calloc(batch_size, sizeof(uint32_t));
  r->ports = calloc(batch_size, sizeof(uint32_t));
  if (r->fd < 0 || r->data == NULL || r->lengths == NULL || r->addresses == NULL || r->ports == NULL) {
    free_reader(r);
    return type_error(env, "cannot read the socket");
  }
  r->env = env;
  napi_value name;
  if (!expose(env, self, "data", napi_uint8_array, r->data, (size_t)batch_size * slot_size, 0) ||
      !expose(env, self, "lengths", napi_uint32_array, r->lengths, batch_size * sizeof(uint32_t), batch_size) ||
      !expose(env, self, "addresses", napi_uint32_array, r->addresses, batch_size * sizeof(uint32_t), batch_size) ||
      !expose(env, self, "ports", napi_uint32_array, r->ports, batch_size * sizeof(uint32_t), batch_size) ||
      napi_create_string_utf8(env, "UdpReader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &r->async) != napi_ok ||
      napi_create_reference(env, values[1], 1, &r->callback) != napi_ok ||
      napi_create_reference(env, values[2], 1, &r->error_callback) != napi_ok ||
      uv_poll_init(loop, &r->poll, r->fd) != 0) {
    if (r->async) napi_async_destroy(env, r->async);
    if (r->callback) napi_delete_reference(env, r->callback);
    if (r->error_callback) napi_delete_reference(env, r->error_callback);
    free_reader(r);
    return type_error(env, "cannot read the socket");
  }
  r->poll.data = r;
  if (napi_wrap(env, self, r, finalize, NULL, &r->self) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_cleanup, r, &r->cleanup) != napi_ok ||
      uv_poll_start(&r->poll, UV_READABLE, on_readable) != 0) {
    stop(r);
    return type_error(env, "cannot read the socket");
  }
  return self;
}

bool udp_reader_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      METHOD("close", close_reader),
      METHOD("dropped", dropped),
  };
  return define_class(env, exports, "UdpReader", construct, methods, sizeof(methods) / sizeof(methods[0]));
}
