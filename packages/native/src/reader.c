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
 *
 * It also routes a publisher's RTP in C: JavaScript registers the addresses a peer's ICE checks
 * authenticated, while its consent is fresh, with the peer's Ingress (ingress.c) and a sink number
 * of its own (`route`). An RTP datagram (RFC 7983 and RFC 5761: first byte 128–191, second not an
 * RTCP packet type) from such an address goes to the ingress within the batch and is marked
 * `consumed`; the callback learns which sinks received how many records, and reads the rest as
 * before. Anything the ingress does not take (an SSRC it does not know yet) stays for JavaScript.
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
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "ingress.h"
#include "napi_util.h"
#include "reader.h"

enum {
  batch_size = 32,
  slot_size = 4096,
  /* Batches read per wakeup at most, so that a flood leaves the loop its timers and other work. */
  max_batches_per_wakeup = 8,
  /* The route table: open addressing, at most half full. */
  route_slots = 4096,
  max_routes = route_slots / 2,
};

/* A remote address and port whose RTP goes to an ingress. */
typedef struct {
  bool used;
  uint16_t port;
  uint32_t address; /* IPv4, host order */
  uint32_t sink;    /* JavaScript's number for the ingress's receiver */
  ingress *in;
  napi_ref ref; /* keeps the Ingress alive while routed to */
} route;

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
  uint8_t *data;          /* batch_size * slot_size, the Buffer's memory */
  uint32_t *lengths;      /* batch_size */
  uint32_t *addresses;    /* batch_size, IPv4 in host order */
  uint32_t *ports;        /* batch_size */
  uint8_t *consumed;      /* batch_size: 1 for a datagram an ingress took */
  uint32_t *sinks;        /* batch_size: the sinks that received records in the batch */
  uint32_t *sink_records; /* batch_size: how many each */
  route *routes;          /* route_slots */
  int route_count;
  double performance_origin_ms; /* uv_hrtime() in ms when performance.now() read 0 */
  struct mmsghdr messages[batch_size];
  struct iovec vectors[batch_size];
  struct sockaddr_in from[batch_size];
} reader;

static void stop(reader *r);

/*
 * Calls one of the callbacks with the batch's count (datagrams) and its sinks' count or, when
 * status is a libuv error, an Error naming it; false when the reader closed meanwhile.
 */
static bool call_back(reader *r, napi_ref callback_ref, int count, int sinks, int status) {
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return false;
  napi_value self, callback, arguments[2], result;
  size_t argument_count = 1;
  bool ok = napi_get_reference_value(env, r->self, &self) == napi_ok &&
            napi_get_reference_value(env, callback_ref, &callback) == napi_ok;
  if (ok && status < 0) {
    char text[160];
    snprintf(text, sizeof(text), "the socket cannot be read after an error: %s", uv_strerror(status));
    napi_value code, message;
    ok = napi_create_string_utf8(env, uv_err_name(status), NAPI_AUTO_LENGTH, &code) == napi_ok &&
         napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) == napi_ok &&
         napi_create_error(env, code, message, &arguments[0]) == napi_ok;
  } else if (ok) {
    argument_count = 2;
    ok = napi_create_uint32(env, (uint32_t)count, &arguments[0]) == napi_ok &&
         napi_create_uint32(env, (uint32_t)sinks, &arguments[1]) == napi_ok;
  }
  if (ok && napi_make_callback(env, r->async, self, callback, argument_count, arguments, &result) ==
                napi_pending_exception) {
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

/* ---- routes ---- */

static uint32_t route_hash(uint32_t address, uint16_t port) {
  uint32_t h = address * 0x9e3779b1u ^ (uint32_t)port * 0x85ebca6bu;
  return (h ^ (h >> 15)) & (route_slots - 1);
}

static route *find_route(reader *r, uint32_t address, uint16_t port) {
  for (uint32_t i = route_hash(address, port);; i = (i + 1) & (route_slots - 1)) {
    route *candidate = &r->routes[i];
    if (!candidate->used) return NULL;
    if (candidate->address == address && candidate->port == port) return candidate;
  }
}

/* Empties a slot, moving later entries of its probe chain back (no tombstones). */
static void remove_route(reader *r, route *gone) {
  napi_delete_reference(r->env, gone->ref);
  uint32_t hole = (uint32_t)(gone - r->routes);
  r->routes[hole].used = false;
  r->route_count--;
  for (uint32_t next = (hole + 1) & (route_slots - 1); r->routes[next].used;
       next = (next + 1) & (route_slots - 1)) {
    uint32_t home = route_hash(r->routes[next].address, r->routes[next].port);
    /* It stays where it is when its home lies cyclically in (hole, next]. */
    bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (stays) continue;
    r->routes[hole] = r->routes[next];
    r->routes[next].used = false;
    hole = next;
  }
}

static void clear_routes(reader *r) {
  for (int i = 0; i < route_slots && r->route_count > 0; i++)
    if (r->routes[i].used) {
      napi_delete_reference(r->env, r->routes[i].ref);
      r->routes[i].used = false;
      r->route_count--;
    }
}

/* Date.now(), performance.timeOrigin + performance.now() and performance.now(), for the batch. */
static void batch_times(reader *r, double times[3]) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  double real_ms = (double)now.tv_sec * 1000 + (double)now.tv_nsec / 1e6;
  times[0] = (double)((int64_t)real_ms);
  times[1] = real_ms;
  times[2] = (double)uv_hrtime() / 1e6 - r->performance_origin_ms;
}

/*
 * Hands the batch's RTP from routed addresses to their ingresses, marking what they took in
 * `consumed`; returns how many sinks received records (`sinks`, `sink_records`).
 */
static int route_batch(reader *r, int count) {
  memset(r->consumed, 0, batch_size);
  if (r->route_count == 0) return 0;
  ingress *touched[batch_size];
  int sinks = 0;
  bool timed = false;
  double times[3];
  for (int i = 0; i < count; i++) {
    const uint8_t *datagram = r->data + (size_t)i * slot_size;
    uint32_t length = r->lengths[i];
    bool rtp = length >= 2 && datagram[0] >= 128 && datagram[0] <= 191 && (datagram[1] < 192 || datagram[1] > 223);
    if (!rtp) continue;
    route *to = find_route(r, r->addresses[i], (uint16_t)r->ports[i]);
    if (to == NULL) continue;
    if (!timed) batch_times(r, times);
    timed = true;
    if (!ingress_receive_in_batch(to->in, datagram, length, times)) continue;
    r->consumed[i] = 1;
    int known = 0;
    while (known < sinks && touched[known] != to->in) known++;
    if (known == sinks) {
      touched[sinks] = to->in;
      r->sinks[sinks++] = to->sink;
    }
  }
  for (int i = 0; i < sinks; i++) r->sink_records[i] = (uint32_t)ingress_take_batch(touched[i]);
  return sinks;
}

/*
 * route(address, port, ingress, sink): RTP from the IPv4 address (a number) and port goes to
 * ingress, its records told as sink's; ingress null removes the route. False when the table is
 * full (the datagrams then stay for JavaScript).
 */
static napi_value set_route(napi_env env, napi_callback_info info) {
  size_t count = 4;
  napi_value v[4];
  reader *r = unwrap_this(env, info, 4, &count, v, "bad call of a UdpReader method");
  if (r == NULL) return NULL;
  uint32_t address, port, sink;
  napi_valuetype kind;
  if (napi_get_value_uint32(env, v[0], &address) != napi_ok || napi_get_value_uint32(env, v[1], &port) != napi_ok ||
      port > 0xffff || napi_typeof(env, v[2], &kind) != napi_ok || napi_get_value_uint32(env, v[3], &sink) != napi_ok)
    return type_error(env, "expected an address, a port, an Ingress or null, and a sink number");
  ingress *in = NULL;
  if (kind != napi_null && (in = unwrap_tagged(env, v[2], &ingress_tag)) == NULL)
    return type_error(env, "expected an Ingress");
  route *existing = find_route(r, address, (uint16_t)port);
  if (existing != NULL) remove_route(r, existing);
  if (in == NULL || r->closed) return boolean(env, in == NULL);
  if (r->route_count >= max_routes) return boolean(env, false);
  uint32_t i = route_hash(address, (uint16_t)port);
  while (r->routes[i].used) i = (i + 1) & (route_slots - 1);
  route *slot = &r->routes[i];
  if (napi_create_reference(env, v[2], 1, &slot->ref) != napi_ok) return type_error(env, "bad Ingress");
  slot->used = true;
  slot->address = address;
  slot->port = (uint16_t)port;
  slot->sink = sink;
  slot->in = in;
  r->route_count++;
  return boolean(env, true);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  reader *r = poll->data;
  if (r->closed) return;
  if (status < 0) {
    clear_error(r);
    int restarted = uv_poll_start(&r->poll, UV_READABLE, on_readable);
    if (restarted != 0) {
      /* Reported, then stopped: the owner reads the socket another way. */
      if (call_back(r, r->error_callback, 0, 0, restarted)) stop(r);
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
    int sinks = route_batch(r, kept);
    if (kept > 0 && !call_back(r, r->callback, kept, sinks, 0)) return;
    if (received < batch_size) return;
  }
}

static void free_reader(reader *r) {
  if (r->fd >= 0) close(r->fd);
  free(r->data);
  free(r->lengths);
  free(r->addresses);
  free(r->ports);
  free(r->consumed);
  free(r->sinks);
  free(r->sink_records);
  free(r->routes);
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
  clear_routes(r);
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
 * new UdpReader(fd, onBatch, onError, performanceOriginMs): reads at once; this.data,
 * this.lengths, this.addresses, this.ports, this.consumed, this.sinks, this.sinkRecords;
 * onBatch(count, sinks). onError(error) when it can read no more (a poll that libuv stopped on a
 * socket error and that would not start again), after which it is closed. performanceOriginMs:
 * process.hrtime() in ms when performance.now() read 0, for the clock readings an ingress
 * forwards with.
 */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t count = 4;
  napi_value values[4], self;
  int32_t fd;
  double performance_origin_ms;
  napi_valuetype kind, error_kind;
  if (napi_get_cb_info(env, info, &count, values, &self, NULL) != napi_ok || count < 4 ||
      napi_get_value_double(env, values[3], &performance_origin_ms) != napi_ok ||
      napi_get_value_int32(env, values[0], &fd) != napi_ok || fd < 0 || napi_typeof(env, values[1], &kind) != napi_ok ||
      kind != napi_function || napi_typeof(env, values[2], &error_kind) != napi_ok || error_kind != napi_function)
    return type_error(env, "expected a socket's file descriptor, two callbacks and a clock origin");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return type_error(env, "no event loop");
  reader *r = calloc(1, sizeof(reader));
  if (r == NULL) return type_error(env, "out of memory");
  r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  r->data = malloc((size_t)batch_size * slot_size);
  r->lengths = calloc(batch_size, sizeof(uint32_t));
  r->addresses = calloc(batch_size, sizeof(uint32_t));
  r->ports = calloc(batch_size, sizeof(uint32_t));
  r->consumed = calloc(batch_size, 1);
  r->sinks = calloc(batch_size, sizeof(uint32_t));
  r->sink_records = calloc(batch_size, sizeof(uint32_t));
  r->routes = calloc(route_slots, sizeof(route));
  r->performance_origin_ms = performance_origin_ms;
  if (r->fd < 0 || r->data == NULL || r->lengths == NULL || r->addresses == NULL || r->ports == NULL ||
      r->consumed == NULL || r->sinks == NULL || r->sink_records == NULL || r->routes == NULL) {
    free_reader(r);
    return type_error(env, "cannot read the socket");
  }
  r->env = env;
  napi_value name;
  if (!expose(env, self, "data", napi_uint8_array, r->data, (size_t)batch_size * slot_size, 0) ||
      !expose(env, self, "lengths", napi_uint32_array, r->lengths, batch_size * sizeof(uint32_t), batch_size) ||
      !expose(env, self, "addresses", napi_uint32_array, r->addresses, batch_size * sizeof(uint32_t), batch_size) ||
      !expose(env, self, "ports", napi_uint32_array, r->ports, batch_size * sizeof(uint32_t), batch_size) ||
      !expose(env, self, "consumed", napi_uint8_array, r->consumed, batch_size, 0) ||
      !expose(env, self, "sinks", napi_uint32_array, r->sinks, batch_size * sizeof(uint32_t), batch_size) ||
      !expose(env, self, "sinkRecords", napi_uint32_array, r->sink_records, batch_size * sizeof(uint32_t),
              batch_size) ||
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
      METHOD("route", set_route),
  };
  return define_class(env, exports, "UdpReader", construct, methods, sizeof(methods) / sizeof(methods[0]));
}
