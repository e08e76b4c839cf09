/*
 * FanOutGroup: the subscribers of one published track. forward() takes one received packet and,
 * for each subscriber's slot, rewrites it (forward.c), protects it with the subscriber's SRTP
 * context and queues it; the queue goes out with sendmmsg on the media worker's UDP socket, whose
 * descriptor the group borrows from node:dgram (libuv keeps reading it: STUN, DTLS and RTCP stay
 * in JavaScript; a UDP socket takes datagrams from two writers whole). A full socket buffer
 * drops what did not fit, as a congested path would.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fanout.h"
#include "forward.h"
#include "napi_util.h"
#include "srtp.h"

enum { batch_size = 64, max_datagram = 2048 + max_header_length + 32, max_slot_arguments = 10 };

typedef struct {
  bool used;
  track_state track;
  srtp_context *cipher;
  napi_ref cipher_ref;
  napi_ref feedback_refs[4];
  struct sockaddr_in to;
  bool has_to;
} slot;

struct fan_out_group {
  napi_env env;
  int fd;
  slot **slots;
  uint32_t slot_count;
  uint32_t queued;
  double send_failures;
  struct mmsghdr messages[batch_size];
  struct iovec vectors[batch_size];
  uint8_t datagrams[batch_size][max_datagram];
  uint8_t header[max_header_length + 16];
  uint8_t payload_copy[max_datagram];
};

typedef fan_out_group group;

/* The group, its arguments, and the slot named by the first (when want_slot). */
static group *arguments(napi_env env, napi_callback_info info, size_t expected, napi_value *values, bool want_slot,
                        slot **found) {
  size_t count = max_slot_arguments;
  group *g = unwrap_this(env, info, expected, &count, values, "bad call of a FanOutGroup method");
  if (g == NULL || !want_slot) return g;
  uint32_t id;
  if (napi_get_value_uint32(env, values[0], &id) != napi_ok || id >= g->slot_count || g->slots[id] == NULL ||
      !g->slots[id]->used) {
    type_error(env, "no such slot");
    return NULL;
  }
  *found = g->slots[id];
  return g;
}

static bool get_double(napi_env env, napi_value value, double *out) {
  return napi_get_value_double(env, value, out) == napi_ok;
}

static bool get_bool(napi_env env, napi_value value, bool *out) {
  return napi_get_value_bool(env, value, out) == napi_ok;
}

static void flush(group *g) {
  uint32_t sent = 0;
  while (sent < g->queued) {
    int n = sendmmsg(g->fd, g->messages + sent, g->queued - sent, 0);
    if (n > 0) {
      sent += (uint32_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      g->send_failures += g->queued - sent;
      break;
    } else {
      /* This datagram cannot go (its destination refused, say): the others still do. */
      g->send_failures++;
      sent++;
    }
  }
  g->queued = 0;
}

/* Protects the packet whose header is at output (header_length bytes) and queues it for s. */
static void seal_and_queue(group *g, slot *s, send_stream *stream, uint8_t *output, int header_length,
                           const uint8_t *payload, size_t payload_length) {
  uint16_t sequence = read16(output + 2);
  uint32_t roc = send_stream_roc(stream, sequence);
  if (srtp_seal_rtp(s->cipher, output, (size_t)header_length, payload, payload_length, read32(output + 8), roc,
                    sequence) != 0) {
    g->send_failures++;
    return;
  }
  uint32_t i = g->queued++;
  g->vectors[i].iov_base = output;
  g->vectors[i].iov_len = (size_t)header_length + payload_length + srtp_tag_length(s->cipher);
  memset(&g->messages[i], 0, sizeof(g->messages[i]));
  g->messages[i].msg_hdr.msg_name = &s->to;
  g->messages[i].msg_hdr.msg_namelen = sizeof(s->to);
  g->messages[i].msg_hdr.msg_iov = &g->vectors[i];
  g->messages[i].msg_hdr.msg_iovlen = 1;
  if (g->queued == batch_size) flush(g);
}

static void release_slot(napi_env env, slot *s) {
  if (s->cipher_ref) napi_delete_reference(env, s->cipher_ref);
  for (int i = 0; i < 4; i++)
    if (s->feedback_refs[i]) napi_delete_reference(env, s->feedback_refs[i]);
  memset(s, 0, sizeof(*s));
}

/* addSlot(cipher, ssrc, clockRate, payloadType, pictureIds, layered, rtxSsrc, rtxPayloadType, rtxSequence,
 * keptExtensionIds): the slot's number; rtxSsrc 0 for none; the IDs (a Uint8Array) of the
 * publisher's header extension elements it keeps, the others removed. */
static napi_value add_slot(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  group *g = arguments(env, info, 10, v, false, NULL);
  if (g == NULL) return NULL;
  uint32_t ssrc, payload_type, rtx_ssrc, rtx_payload_type, rtx_sequence;
  uint8_t *kept_ids = NULL;
  size_t kept_count = 0;
  double clock_rate;
  bool picture_ids, layered;
  srtp_context *cipher = unwrap_tagged(env, v[0], &srtp_cipher_tag);
  if (cipher == NULL) return type_error(env, "expected a native SrtpCipher");
  if (napi_get_value_uint32(env, v[1], &ssrc) != napi_ok || !get_double(env, v[2], &clock_rate) ||
      napi_get_value_uint32(env, v[3], &payload_type) != napi_ok || !get_bool(env, v[4], &picture_ids) ||
      !get_bool(env, v[5], &layered) || napi_get_value_uint32(env, v[6], &rtx_ssrc) != napi_ok ||
      napi_get_value_uint32(env, v[7], &rtx_payload_type) != napi_ok ||
      napi_get_value_uint32(env, v[8], &rtx_sequence) != napi_ok ||
      !typed_array_of(env, v[9], napi_uint8_array, (void **)&kept_ids, &kept_count))
    return type_error(env, "bad slot settings");
  uint32_t id = 0;
  while (id < g->slot_count && g->slots[id] != NULL && g->slots[id]->used) id++;
  if (id == g->slot_count) {
    slot **grown = realloc(g->slots, sizeof(slot *) * (g->slot_count + 16));
    if (grown == NULL) return type_error(env, "out of memory");
    memset(grown + g->slot_count, 0, sizeof(slot *) * 16);
    g->slots = grown;
    g->slot_count += 16;
  }
  if (g->slots[id] == NULL && (g->slots[id] = calloc(1, sizeof(slot))) == NULL) return type_error(env, "out of memory");
  slot *s = g->slots[id];
  memset(s, 0, sizeof(*s));
  if (napi_create_reference(env, v[0], 1, &s->cipher_ref) != napi_ok) return type_error(env, "bad cipher");
  s->used = true;
  s->cipher = cipher;
  track_init(&s->track, ssrc, clock_rate, (uint8_t)payload_type, picture_ids, layered);
  s->track.rtx = rtx_ssrc != 0;
  s->track.rtx_ssrc = rtx_ssrc;
  s->track.rtx_payload_type = (uint8_t)rtx_payload_type;
  s->track.rtx_sequence = (uint16_t)rtx_sequence;
  for (size_t i = 0; i < kept_count; i++) s->track.kept_extensions[kept_ids[i] >> 3] |= (uint8_t)(1 << (kept_ids[i] & 7));
  return number(env, id);
}

/* setFeedback(slot, id, next, sendTimes, sizes, states): numbers what the slot sends for
 * transport-wide feedback into a DownlinkEstimator's history; id 0 stops. */
static napi_value set_feedback(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  if (arguments(env, info, 2, v, true, &s) == NULL) return NULL;
  uint32_t id;
  if (napi_get_value_uint32(env, v[1], &id) != napi_ok || id > 14) return type_error(env, "bad extension ID");
  for (int i = 0; i < 4; i++)
    if (s->feedback_refs[i]) {
      napi_delete_reference(env, s->feedback_refs[i]);
      s->feedback_refs[i] = NULL;
    }
  memset(&s->track.twcc, 0, sizeof(s->track.twcc));
  if (id == 0) return undefined(env);
  twcc t = {.id = (uint8_t)id};
  size_t argc = max_slot_arguments;
  napi_get_cb_info(env, info, &argc, v, NULL, NULL);
  if (argc < 6 || !typed_array(env, v[2], napi_float64_array, 1, (void **)&t.next) ||
      !typed_array(env, v[3], napi_float64_array, twcc_history_size, (void **)&t.send_times) ||
      !typed_array(env, v[4], napi_uint32_array, twcc_history_size, (void **)&t.sizes) ||
      !typed_array(env, v[5], napi_uint8_array, twcc_history_size, (void **)&t.states))
    return type_error(env, "expected a DownlinkEstimator's history");
  for (int i = 0; i < 4; i++) napi_create_reference(env, v[2 + i], 1, &s->feedback_refs[i]);
  s->track.twcc = t;
  return undefined(env);
}

/* setDestination(slot, ipv4, port) */
static napi_value set_destination(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  if (arguments(env, info, 3, v, true, &s) == NULL) return NULL;
  char address[64];
  size_t length;
  uint32_t port;
  if (napi_get_value_string_utf8(env, v[1], address, sizeof(address), &length) != napi_ok ||
      napi_get_value_uint32(env, v[2], &port) != napi_ok || port > 0xffff)
    return type_error(env, "expected an address and a port");
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, address, &to.sin_addr) != 1) return type_error(env, "not an IPv4 address");
  s->to = to;
  s->has_to = true;
  return undefined(env);
}

/* setDecision(slot, enabled, targetLayer, targetTemporalLayer, leaveLayer): what TypeScript
 * decided; leaveLayer forgets the layer forwarded now (video off: it restarts at a keyframe). */
static napi_value set_decision(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  if (arguments(env, info, 5, v, true, &s) == NULL) return NULL;
  bool enabled, leave;
  int32_t target, temporal;
  if (!get_bool(env, v[1], &enabled) || napi_get_value_int32(env, v[2], &target) != napi_ok ||
      napi_get_value_int32(env, v[3], &temporal) != napi_ok || !get_bool(env, v[4], &leave))
    return type_error(env, "bad decision");
  s->track.enabled = enabled && s->has_to;
  s->track.target_layer = target;
  s->track.target_temporal_layer = temporal;
  if (leave) s->track.layer = -1;
  return undefined(env);
}

static napi_value remove_slot(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  if (arguments(env, info, 1, v, true, &s) == NULL) return NULL;
  release_slot(env, s);
  return undefined(env);
}

/* state(slot, out): layer, temporal layer, packets, bytes, payload octets, layer switches,
 * skipped, timestamp offset. */
static napi_value state(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  double *out;
  if (arguments(env, info, 2, v, true, &s) == NULL) return NULL;
  if (!typed_array(env, v[1], napi_float64_array, 8, (void **)&out)) return type_error(env, "expected a Float64Array");
  const track_state *t = &s->track;
  out[0] = t->layer;
  out[1] = t->temporal_layer;
  out[2] = t->packets_out;
  out[3] = t->bytes_out;
  out[4] = t->payload_octets_out;
  out[5] = t->layer_switches;
  out[6] = t->rewriter.skipped;
  out[7] = t->rewriter.timestamp_offset;
  return undefined(env);
}

static napi_value source_sequence_of(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  uint32_t out_sequence;
  if (arguments(env, info, 2, v, true, &s) == NULL) return NULL;
  if (napi_get_value_uint32(env, v[1], &out_sequence) != napi_ok) return type_error(env, "expected a number");
  return number(env, track_source_sequence_of(&s->track, (int)(out_sequence & 0xffff)));
}

static bool read_times(napi_env env, napi_value value, forward_times *times, double **info) {
  if (!typed_array(env, value, napi_float64_array, 16, (void **)info)) return false;
  times->now_ms = (*info)[12];
  times->abs_send_ms = (*info)[13];
  times->perf_now_ms = (*info)[14];
  return true;
}

/* resend(slot, packet, info): sends again a packet the slot sent before; whether it went. */
static napi_value resend(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  slot *s = NULL;
  group *g = arguments(env, info, 3, v, true, &s);
  if (g == NULL) return NULL;
  uint8_t *packet;
  size_t length;
  double *fields;
  forward_times times;
  if (napi_get_buffer_info(env, v[1], (void **)&packet, &length) != napi_ok || !read_times(env, v[2], &times, &fields))
    return type_error(env, "expected a Buffer and the forward info");
  bool sent = false;
  if (s->has_to && length + max_header_length + 32 <= max_datagram) {
    const uint8_t *payload;
    size_t payload_length;
    uint8_t *output = g->datagrams[g->queued];
    int header_length = track_resend(&s->track, packet, length, &times, output, g->payload_copy, &payload, &payload_length);
    if (header_length > 0) {
      seal_and_queue(g, s, s->track.rtx ? &s->track.rtx_stream : &s->track.media_stream, output, header_length, payload,
                     payload_length);
      flush(g);
      sent = true;
    }
  }
  return boolean(env, sent);
}

int fan_out_packet(fan_out_group *g, const uint8_t *packet, size_t length, int layer, const video_info *video,
                   int abs_send_time_offset, const forward_times *times) {
  if (length < 12 || length + max_header_length + 32 > max_datagram) return 0;
  int forwarded = 0;
  for (uint32_t i = 0; i < g->slot_count; i++) {
    slot *s = g->slots[i];
    if (s == NULL || !s->used || !s->track.enabled) continue;
    uint8_t *output = g->datagrams[g->queued];
    const uint8_t *payload;
    int header_length_of_source;
    int header_length = track_forward(&s->track, packet, length, layer, video, abs_send_time_offset, times, output,
                                      g->payload_copy, &payload, &header_length_of_source);
    if (header_length < 0) continue;
    size_t payload_length = length - (size_t)header_length_of_source;
    seal_and_queue(g, s, &s->track.media_stream, output, header_length, payload, payload_length);
    forwarded++;
  }
  flush(g);
  return forwarded;
}

/* forward(packet, info): info as FanOutGroup.ts writes it; the number of datagrams queued. */
static napi_value forward(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  group *g = arguments(env, info, 2, v, false, NULL);
  if (g == NULL) return NULL;
  uint8_t *packet;
  size_t length;
  double *f;
  forward_times times;
  if (napi_get_buffer_info(env, v[0], (void **)&packet, &length) != napi_ok || !read_times(env, v[1], &times, &f))
    return type_error(env, "expected a Buffer and the forward info");
  video_info video = {
      .keyframe = f[2] != 0,
      .frame_start = f[3] != 0,
      .temporal_layer = (int)f[4],
      .layer_sync = f[5] != 0,
      .picture_id_offset = (int)f[6],
      .picture_id_bits = (int)f[7],
      .picture_id = (int)f[8],
      .tl0_offset = (int)f[9],
      .tl0 = (int)f[10],
  };
  return number(env, fan_out_packet(g, packet, length, (int)f[0], f[1] != 0 ? &video : NULL, (int)f[11], &times));
}

/* sendFailures(): datagrams dropped because the socket would not take them. */
static napi_value send_failures(napi_env env, napi_callback_info info) {
  napi_value v[max_slot_arguments];
  group *g = arguments(env, info, 0, v, false, NULL);
  return g == NULL ? NULL : number(env, g->send_failures);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  group *g = data;
  for (uint32_t i = 0; i < g->slot_count; i++)
    if (g->slots[i]) {
      if (g->slots[i]->used) release_slot(env, g->slots[i]);
      free(g->slots[i]);
    }
  free(g->slots);
  free(g);
}

/* new FanOutGroup(fd) */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t count = 1;
  napi_value value, self;
  int32_t fd;
  if (napi_get_cb_info(env, info, &count, &value, &self, NULL) != napi_ok || count < 1 ||
      napi_get_value_int32(env, value, &fd) != napi_ok || fd < 0)
    return type_error(env, "expected a socket's file descriptor");
  group *g = calloc(1, sizeof(group));
  if (g == NULL) return type_error(env, "out of memory");
  g->env = env;
  g->fd = fd;
  if (napi_wrap(env, self, g, finalize, NULL, NULL) != napi_ok) {
    free(g);
    return type_error(env, "cannot wrap");
  }
  if (napi_type_tag_object(env, self, &fan_out_group_tag) != napi_ok) return type_error(env, "cannot tag");
  return self;
}

bool fan_out_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      METHOD("addSlot", add_slot),
      METHOD("removeSlot", remove_slot),
      METHOD("setFeedback", set_feedback),
      METHOD("setDestination", set_destination),
      METHOD("setDecision", set_decision),
      METHOD("state", state),
      METHOD("sourceSequenceOf", source_sequence_of),
      METHOD("forward", forward),
      METHOD("resend", resend),
      METHOD("sendFailures", send_failures),
  };
  return define_class(env, exports, "FanOutGroup", construct, methods, sizeof(methods) / sizeof(methods[0]));
}
