/*
 * Ingress: the receiving half of a publisher's media, one call per SRTP packet. It finds the
 * packet's stream by SSRC, checks replays and authenticates and decrypts it (SrtpContext's
 * rollover counter and replay window, per SSRC), reads what the router needs of it (sequence,
 * timestamp, transport-wide number, abs-send-time's place, and for video what
 * rtp/videoPayload.ts reads) into a record JavaScript shares, and, when asked, forwards it to its
 * track's FanOutGroup in the same call. It keeps the last packets of each stream for NACK
 * answers, as rtp/RetransmissionBuffer.ts does on the TypeScript plane. JavaScript keeps the
 * decisions and the bookkeeping (Publication.ts) and reads the record: nothing is allocated per
 * packet, in JavaScript or here, unless JavaScript asks for a copy (its `rtp` listeners).
 *
 * A UdpReader (reader.c) may also hand it a batch's packets from the publisher's consented
 * addresses, without JavaScript, while JavaScript lets it (`acceptBatches`): each packet's record
 * then goes in a ring of batch_ring_size records (`records`), which JavaScript reads once per
 * batch.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "forward.h"
#include "ingress.h"
#include "napi_util.h"
#include "srtp.h"

enum {
  max_streams = 32,
  /* Bytes per packet kept for NACK answers: an SRTP packet of a 1500-byte MTU fits. */
  kept_size = 1536,
  max_tracks = 16,
  replay_window = 1024,
  record_length = 32,
  /* Records kept of one batch's packets: a reader's batch is no longer. */
  batch_ring_size = 32,
  /* Results of receive(). */
  dropped = -1,
  unknown_stream = -2,
};

/* Where ingress writes in the record (Publication.ts's `ingressRecord`): 0–11 as FanOutGroup's
 * info, 12–14 the times JavaScript writes, then these. */
enum {
  at_stream = 16,
  at_sequence = 17,
  at_timestamp = 18,
  at_transport_wide = 19,
  at_width = 20,
  at_height = 21,
  at_forwarded = 22,
  /* Only in the batch's records: receive()'s result, the RTP packet's length or `dropped`. */
  at_length = 15,
};

typedef enum { codec_none = 0, codec_vp8 = 1, codec_vp9 = 2, codec_h264 = 3 } codec;

typedef struct {
  bool used;
  uint32_t ssrc;
  int stream, track, layer;
  codec codec;
  uint8_t abs_send_time_id; /* 0: none */
  /* SrtpContext's receive state for this SSRC: rollover counter, highest sequence, replays. */
  bool started;
  uint32_t roc;
  uint16_t highest;
  int64_t highest_index;
  uint8_t seen[replay_window / 8];
  /* The last `capacity` packets by sequence number, decrypted, for NACK answers
   * (rtp/RetransmissionBuffer.ts): kept_size bytes each. */
  uint32_t capacity;
  uint8_t *kept;
  uint16_t *kept_lengths;
  int32_t *kept_sequences; /* -1: empty */
} stream_state;

struct ingress {
  srtp_context *cipher;
  napi_ref cipher_ref;
  double *record;
  napi_ref record_ref;
  uint8_t transport_wide_id; /* 0: none */
  stream_state streams[max_streams];
  fan_out_group *groups[max_tracks];
  napi_ref group_refs[max_tracks];
  /* The records of the packets a reader handed over in its current batch (`records`). */
  double *batch_records;
  napi_ref batch_records_ref;
  int batch_count;
  bool accepts_batches;
  uint8_t scratch[65536]; /* a packet too long to keep (not answered by NACK) is decrypted here */
};

/* ---- what rtp/videoPayload.ts reads ---- */

typedef struct {
  video_info video;
  int width, height;
} parsed_video;

/* A byte of the packet; past its end 0, as JavaScript's undefined reads in bit operations. */
static int byte_at(const uint8_t *packet, size_t length, int position) {
  return position >= 0 && (size_t)position < length ? packet[position] : 0;
}

static int read_picture_id(const uint8_t *p, size_t length, int position, video_info *info) {
  int first = byte_at(p, length, position);
  info->picture_id_offset = position;
  if (first & 0x80) {
    info->picture_id_bits = 15;
    info->picture_id = ((first & 0x7f) << 8) | byte_at(p, length, position + 1);
    return position + 2;
  }
  info->picture_id_bits = 7;
  info->picture_id = first & 0x7f;
  return position + 1;
}

static void read_vp8(const uint8_t *p, size_t length, int start, int end, parsed_video *out) {
  video_info *info = &out->video;
  int first = p[start];
  int position = start + 1;
  if (first & 0x80) {
    int extension = byte_at(p, length, position++);
    if (extension & 0x80) position = read_picture_id(p, length, position, info);
    if (extension & 0x40) {
      info->tl0_offset = position;
      info->tl0 = byte_at(p, length, position++);
    }
    if (extension & 0x30) {
      int layer = byte_at(p, length, position++);
      if (extension & 0x20) {
        info->temporal_layer = layer >> 6;
        info->layer_sync = (layer & 0x20) != 0;
      }
    }
  }
  if (position >= end) return;
  info->frame_start = (first & 0x10) != 0 && (first & 0x07) == 0;
  if (!info->frame_start) return;
  /* The VP8 payload header (RFC 6386 §9.1): P clear for a keyframe, then its start code and size. */
  info->keyframe = (p[position] & 0x01) == 0;
  if (info->temporal_layer == 0 && info->keyframe) info->layer_sync = true;
  if (info->keyframe && position + 10 <= end && p[position + 3] == 0x9d) {
    out->width = ((p[position + 7] << 8) | p[position + 6]) & 0x3fff;
    out->height = ((p[position + 9] << 8) | p[position + 8]) & 0x3fff;
  }
}

static void read_vp9(const uint8_t *p, size_t length, int start, int end, parsed_video *out) {
  video_info *info = &out->video;
  int first = p[start];
  bool inter_picture = (first & 0x40) != 0, flexible = (first & 0x10) != 0, begins_frame = (first & 0x08) != 0;
  int position = start + 1;
  if (first & 0x80) position = read_picture_id(p, length, position, info);
  int spatial_layer = 0;
  if (first & 0x20) {
    int layer = byte_at(p, length, position++);
    info->temporal_layer = layer >> 5;
    info->layer_sync = (layer & 0x10) != 0;
    spatial_layer = (layer >> 1) & 0x07;
    if (!flexible) {
      info->tl0_offset = position;
      info->tl0 = byte_at(p, length, position++);
    }
  }
  if (flexible && inter_picture) {
    /* Reference differences: one byte each, N set while another follows (at most three). */
    for (int i = 0; i < 3 && position < end; i++)
      if ((byte_at(p, length, position++) & 0x01) == 0) break;
  }
  if ((first & 0x02) && position < end) {
    /* The scalability structure: the size of each spatial layer, when Y is set. */
    int structure = byte_at(p, length, position++);
    int layers = (structure >> 5) + 1;
    if ((structure & 0x10) && position + layers * 4 <= end) {
      int last = position + (layers - 1) * 4;
      out->width = (p[last] << 8) | p[last + 1];
      out->height = (p[last + 2] << 8) | p[last + 3];
    }
  }
  info->frame_start = begins_frame && spatial_layer == 0;
  info->keyframe = info->frame_start && !inter_picture;
  if (info->keyframe) info->layer_sync = true;
}

static void read_h264(const uint8_t *p, size_t length, int start, int end, parsed_video *out) {
  enum { nal_idr = 5, nal_sps = 7, nal_stap_a = 24, nal_fu_a = 28 };
  video_info *info = &out->video;
  int type = p[start] & 0x1f;
  if (type == nal_stap_a) {
    for (int position = start + 1; position + 2 < end;) {
      int size = (p[position] << 8) | p[position + 1];
      int unit = p[position + 2] & 0x1f;
      if (unit == nal_sps || unit == nal_idr) info->keyframe = true;
      position += 2 + size;
    }
  } else if (type == nal_fu_a) {
    int header = byte_at(p, length, start + 1);
    info->keyframe = (header & 0x80) != 0 && (header & 0x1f) == nal_idr;
  } else {
    info->keyframe = type == nal_sps || type == nal_idr;
  }
  info->frame_start = info->keyframe;
  info->layer_sync = info->keyframe;
}

/* readVideoPacket(codec, packet, start, payloadEnd(packet)). */
static void read_video(codec codec, const uint8_t *p, size_t length, int start, parsed_video *out) {
  memset(out, 0, sizeof(*out));
  out->video.picture_id_offset = -1;
  out->video.tl0_offset = -1;
  int end = (p[0] & 0x20) == 0 ? (int)length : (int)length - p[length - 1];
  if (end <= start) return;
  if (codec == codec_vp8) read_vp8(p, length, start, end, out);
  else if (codec == codec_vp9) read_vp9(p, length, start, end, out);
  else read_h264(p, length, start, end, out);
}

/* findHeaderExtension: the offset of element id's data (and its length), or -1. */
static int find_extension(const uint8_t *p, size_t length, int id, int *data_length) {
  if ((p[0] & 0x10) == 0) return -1;
  size_t start = 12 + (size_t)(p[0] & 0x0f) * 4;
  if (length < start + 4) return -1;
  uint16_t profile = read16(p + start);
  size_t end = start + 4 + (size_t)read16(p + start + 2) * 4;
  if (end > length) return -1;
  bool one_byte = profile == 0xbede;
  if (!one_byte && (profile & 0xfff0) != 0x1000) return -1;
  size_t position = start + 4;
  while (position < end) {
    uint8_t byte = p[position];
    if (byte == 0) {
      position++;
      continue;
    }
    int element_id, element_length;
    if (one_byte) {
      element_id = byte >> 4;
      element_length = (byte & 0x0f) + 1;
      if (element_id == 15) return -1;
      position += 1;
    } else {
      if (position + 1 >= end) return -1;
      element_id = byte;
      element_length = p[position + 1];
      position += 2;
    }
    if (position + (size_t)element_length > end) return -1;
    if (element_id == id) {
      *data_length = element_length;
      return (int)position;
    }
    position += (size_t)element_length;
  }
  return -1;
}

/* ---- SRTP's receive state (SrtpContext.unprotectRtp, ReplayWindow) ---- */

static uint32_t estimate_roc(const stream_state *s, uint16_t sequence) {
  if (s->highest < 0x8000) return (int)sequence - (int)s->highest > 0x8000 && s->roc > 0 ? s->roc - 1 : s->roc;
  return (int)s->highest - 0x8000 > (int)sequence ? s->roc + 1 : s->roc;
}

static bool replay_check(const stream_state *s, int64_t index) {
  if (index > s->highest_index) return true;
  if (s->highest_index - index >= replay_window) return false;
  int64_t slot = index % replay_window;
  return ((s->seen[slot >> 3] >> (slot & 7)) & 1) == 0;
}

static void replay_accept(stream_state *s, int64_t index) {
  if (index > s->highest_index) {
    int64_t gap = s->highest_index < 0 ? replay_window
                                       : (index - s->highest_index < replay_window ? index - s->highest_index
                                                                                   : replay_window);
    for (int64_t i = 1; i <= gap; i++) {
      int64_t slot = (index - gap + i + replay_window) % replay_window;
      s->seen[slot >> 3] &= (uint8_t) ~(1 << (slot & 7));
    }
    s->highest_index = index;
  }
  int64_t slot = index % replay_window;
  s->seen[slot >> 3] |= (uint8_t)(1 << (slot & 7));
}

/* ---- N-API ---- */

static ingress *unwrap(napi_env env, napi_callback_info info, size_t expected, size_t *count, napi_value *values) {
  return unwrap_this(env, info, expected, count, values, "bad call of an Ingress method");
}

static stream_state *find_stream(ingress *in, uint32_t ssrc) {
  for (int i = 0; i < max_streams; i++)
    if (in->streams[i].used && in->streams[i].ssrc == ssrc) return &in->streams[i];
  return NULL;
}

static void free_kept(stream_state *s) {
  free(s->kept);
  free(s->kept_lengths);
  free(s->kept_sequences);
  s->kept = NULL;
  s->kept_lengths = NULL;
  s->kept_sequences = NULL;
}

/* setStream(ssrc, stream, track, layer, codec, absSendTimeId, capacity): packets of this SSRC are
 * the publisher's stream number `stream` (JavaScript's), of track `track` (< 16), simulcast layer
 * `layer`; codec 0 none, 1 VP8, 2 VP9, 3 H.264; absSendTimeId 0 for none; the last `capacity`
 * packets (a power of two) kept for NACK answers. */
static napi_value set_stream(napi_env env, napi_callback_info info) {
  size_t count = 7;
  napi_value v[7];
  ingress *in = unwrap(env, info, 7, &count, v);
  if (in == NULL) return NULL;
  uint32_t ssrc, stream, track, layer, codec_number, abs_id, capacity;
  if (napi_get_value_uint32(env, v[0], &ssrc) != napi_ok || napi_get_value_uint32(env, v[1], &stream) != napi_ok ||
      napi_get_value_uint32(env, v[2], &track) != napi_ok || napi_get_value_uint32(env, v[3], &layer) != napi_ok ||
      napi_get_value_uint32(env, v[4], &codec_number) != napi_ok ||
      napi_get_value_uint32(env, v[5], &abs_id) != napi_ok ||
      napi_get_value_uint32(env, v[6], &capacity) != napi_ok || track >= max_tracks || codec_number > codec_h264 ||
      abs_id > 255 || capacity == 0 || capacity > 4096 || (capacity & (capacity - 1)) != 0)
    return type_error(env, "bad stream settings");
  stream_state *s = find_stream(in, ssrc);
  for (int i = 0; s == NULL && i < max_streams; i++)
    if (!in->streams[i].used) s = &in->streams[i];
  if (s == NULL) return type_error(env, "too many streams");
  if (!s->used) {
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
    s->highest_index = -1;
  }
  if (s->capacity != capacity) {
    free_kept(s);
    s->kept = malloc((size_t)capacity * kept_size);
    s->kept_lengths = calloc(capacity, sizeof(uint16_t));
    s->kept_sequences = malloc(capacity * sizeof(int32_t));
    if (s->kept == NULL || s->kept_lengths == NULL || s->kept_sequences == NULL) {
      free_kept(s);
      s->used = false;
      return type_error(env, "out of memory");
    }
    for (uint32_t i = 0; i < capacity; i++) s->kept_sequences[i] = -1;
    s->capacity = capacity;
  }
  s->used = true;
  s->stream = (int)stream;
  s->track = (int)track;
  s->layer = (int)layer;
  s->codec = (codec)codec_number;
  s->abs_send_time_id = (uint8_t)abs_id;
  return NULL;
}

/* setFanOut(track, group): the FanOutGroup that forwards the track's packets, null for none. */
static napi_value set_fan_out(napi_env env, napi_callback_info info) {
  size_t count = 2;
  napi_value v[2];
  ingress *in = unwrap(env, info, 2, &count, v);
  if (in == NULL) return NULL;
  uint32_t track;
  if (napi_get_value_uint32(env, v[0], &track) != napi_ok || track >= max_tracks) return type_error(env, "bad track");
  napi_valuetype kind;
  napi_typeof(env, v[1], &kind);
  fan_out_group *group = NULL;
  if (kind != napi_null && (group = unwrap_tagged(env, v[1], &fan_out_group_tag)) == NULL)
    return type_error(env, "expected a FanOutGroup");
  if (in->group_refs[track]) napi_delete_reference(env, in->group_refs[track]);
  in->group_refs[track] = NULL;
  in->groups[track] = group;
  if (group != NULL && napi_create_reference(env, v[1], 1, &in->group_refs[track]) != napi_ok) {
    in->groups[track] = NULL;
    return type_error(env, "bad FanOutGroup");
  }
  return NULL;
}

/*
 * receive(packet, output, forward), as receive_packet: packet an SRTP packet; output null, or a
 * Buffer of its length less the tag to copy the RTP packet into. Decrypts and keeps it (for NACK
 * answers, `packet`) and fills the record; with forward, its track's FanOutGroup forwards it.
 * Returns the RTP packet's length, -1 when it is malformed, not authentic or a replay (or
 * output's length is wrong), -2 when its SSRC is no stream's yet (nothing read: learn it and call
 * again).
 */
static double receive_packet(ingress *in, const uint8_t *packet, size_t length, uint8_t *copy, size_t copy_length,
                             bool forward) {
  size_t tag = srtp_tag_length(in->cipher);
  int header_length = rtp_header_length(packet, length);
  if (header_length < 0 || length < (size_t)header_length + tag || (copy != NULL && copy_length != length - tag))
    return dropped;
  size_t output_length = length - tag;
  stream_state *s = find_stream(in, read32(packet + 8));
  if (s == NULL) return unknown_stream;
  uint16_t sequence = read16(packet + 2);
  if (!s->started) {
    s->started = true;
    s->highest = sequence;
  }
  uint32_t roc = estimate_roc(s, sequence);
  int64_t index = (int64_t)roc * 0x10000 + sequence;
  if (!replay_check(s, index)) return dropped;
  uint32_t slot = sequence & (s->capacity - 1);
  bool keep = output_length <= kept_size;
  uint8_t *output = keep ? s->kept + (size_t)slot * kept_size : in->scratch;
  if (keep) s->kept_sequences[slot] = -1;
  if (srtp_open_rtp(in->cipher, packet, length, (size_t)header_length, output, s->ssrc, roc, sequence) != 0)
    return dropped;
  if (keep) {
    s->kept_sequences[slot] = sequence;
    s->kept_lengths[slot] = (uint16_t)output_length;
  }
  if (copy != NULL) memcpy(copy, output, output_length);
  replay_accept(s, index);
  if (roc > s->roc || (roc == s->roc && sequence > s->highest)) {
    s->roc = roc;
    s->highest = sequence;
  }

  double *r = in->record;
  int data_length;
  int transport_wide =
      in->transport_wide_id == 0 ? -1 : find_extension(output, output_length, in->transport_wide_id, &data_length);
  r[at_transport_wide] = transport_wide >= 0 && data_length == 2 ? read16(output + transport_wide) : -1;
  r[at_stream] = s->stream;
  r[at_sequence] = sequence;
  r[at_timestamp] = read32(output + 4);
  r[0] = s->layer;
  parsed_video parsed;
  bool video = s->codec != codec_none && header_length > 0;
  if (video) read_video(s->codec, output, output_length, header_length, &parsed);
  else memset(&parsed, 0, sizeof(parsed));
  r[1] = video;
  r[2] = parsed.video.keyframe;
  r[3] = parsed.video.frame_start;
  r[4] = parsed.video.temporal_layer;
  r[5] = parsed.video.layer_sync;
  r[6] = video ? parsed.video.picture_id_offset : -1;
  r[7] = parsed.video.picture_id_bits;
  r[8] = parsed.video.picture_id;
  r[9] = video ? parsed.video.tl0_offset : -1;
  r[10] = parsed.video.tl0;
  r[at_width] = parsed.width;
  r[at_height] = parsed.height;
  int abs_send_time =
      s->abs_send_time_id == 0 ? -1 : find_extension(output, output_length, s->abs_send_time_id, &data_length);
  r[11] = abs_send_time;
  r[at_forwarded] = -1;
  fan_out_group *group = in->groups[s->track];
  if (forward && group != NULL) {
    forward_times times = {.now_ms = r[12], .abs_send_ms = r[13], .perf_now_ms = r[14]};
    r[at_forwarded] =
        fan_out_packet(group, output, output_length, s->layer, video ? &parsed.video : NULL, abs_send_time, &times);
  }
  return (double)output_length;
}

static napi_value receive(napi_env env, napi_callback_info info) {
  size_t count = 3;
  napi_value v[3];
  ingress *in = unwrap(env, info, 3, &count, v);
  if (in == NULL) return NULL;
  uint8_t *packet, *copy = NULL;
  size_t length, copy_length = 0;
  bool forward;
  napi_valuetype output_type;
  if (napi_get_buffer_info(env, v[0], (void **)&packet, &length) != napi_ok ||
      napi_typeof(env, v[1], &output_type) != napi_ok ||
      (output_type != napi_null && napi_get_buffer_info(env, v[1], (void **)&copy, &copy_length) != napi_ok) ||
      napi_get_value_bool(env, v[2], &forward) != napi_ok)
    return type_error(env, "expected a Buffer, a Buffer or null, and a boolean");
  return number(env, receive_packet(in, packet, length, copy, copy_length, forward));
}

bool ingress_receive_in_batch(ingress *in, const uint8_t *packet, size_t length, const double times[3]) {
  if (!in->accepts_batches || in->batch_count >= batch_ring_size) return false;
  double *r = in->record;
  r[12] = times[0];
  r[13] = times[1];
  r[14] = times[2];
  double result = receive_packet(in, packet, length, NULL, 0, true);
  if (result == unknown_stream) return false;
  r[at_length] = result;
  memcpy(in->batch_records + (size_t)in->batch_count * record_length, r, record_length * sizeof(double));
  in->batch_count++;
  return true;
}

int ingress_take_batch(ingress *in) {
  int count = in->batch_count;
  in->batch_count = 0;
  return count;
}

/* acceptBatches(on): whether a UdpReader may hand packets over (JavaScript then reads `records`). */
static napi_value accept_batches(napi_env env, napi_callback_info info) {
  size_t count = 1;
  napi_value v[1];
  ingress *in = unwrap(env, info, 1, &count, v);
  if (in == NULL) return NULL;
  bool on;
  if (napi_get_value_bool(env, v[0], &on) != napi_ok) return type_error(env, "expected a boolean");
  in->accepts_batches = on;
  return NULL;
}

/* packet(ssrc, sequence): a copy of the kept RTP packet, or undefined. */
static napi_value kept_packet(napi_env env, napi_callback_info info) {
  size_t count = 2;
  napi_value v[2];
  ingress *in = unwrap(env, info, 2, &count, v);
  if (in == NULL) return NULL;
  uint32_t ssrc, sequence;
  if (napi_get_value_uint32(env, v[0], &ssrc) != napi_ok || napi_get_value_uint32(env, v[1], &sequence) != napi_ok)
    return type_error(env, "expected an SSRC and a sequence number");
  stream_state *s = find_stream(in, ssrc);
  if (s == NULL || sequence > 0xffff) return NULL;
  uint32_t slot = sequence & (s->capacity - 1);
  if (s->kept_sequences[slot] != (int32_t)sequence) return NULL;
  napi_value result;
  void *data;
  const uint8_t *kept = s->kept + (size_t)slot * kept_size;
  if (napi_create_buffer_copy(env, s->kept_lengths[slot], kept, &data, &result) != napi_ok) return NULL;
  return result;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  ingress *in = data;
  for (int i = 0; i < max_streams; i++) free_kept(&in->streams[i]);
  if (in->cipher_ref) napi_delete_reference(env, in->cipher_ref);
  if (in->record_ref) napi_delete_reference(env, in->record_ref);
  if (in->batch_records_ref) napi_delete_reference(env, in->batch_records_ref);
  for (int i = 0; i < max_tracks; i++)
    if (in->group_refs[i]) napi_delete_reference(env, in->group_refs[i]);
  free(in);
}

/* new Ingress(cipher, record, transportWideCcId, records): record a Float64Array of 32, records one
 * of 32 × 32 (a batch's records); the ID 0 for none. */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t count = 4;
  napi_value v[4], self;
  if (napi_get_cb_info(env, info, &count, v, &self, NULL) != napi_ok || count < 4)
    return type_error(env, "expected a cipher, a record, an extension ID and a batch's records");
  void *record = NULL, *records = NULL;
  uint32_t transport_wide_id;
  srtp_context *cipher = unwrap_tagged(env, v[0], &srtp_cipher_tag);
  if (cipher == NULL) return type_error(env, "expected a native SrtpCipher");
  if (!typed_array(env, v[1], napi_float64_array, record_length, &record))
    return type_error(env, "expected a Float64Array of 32");
  if (napi_get_value_uint32(env, v[2], &transport_wide_id) != napi_ok || transport_wide_id > 255)
    return type_error(env, "bad extension ID");
  if (!typed_array(env, v[3], napi_float64_array, (size_t)batch_ring_size * record_length, &records))
    return type_error(env, "expected a Float64Array of 32 records");
  ingress *in = calloc(1, sizeof(ingress));
  if (in == NULL) return type_error(env, "out of memory");
  in->cipher = cipher;
  in->record = record;
  in->batch_records = records;
  in->transport_wide_id = (uint8_t)transport_wide_id;
  if (napi_create_reference(env, v[0], 1, &in->cipher_ref) != napi_ok ||
      napi_create_reference(env, v[1], 1, &in->record_ref) != napi_ok ||
      napi_create_reference(env, v[3], 1, &in->batch_records_ref) != napi_ok ||
      napi_wrap(env, self, in, finalize, NULL, NULL) != napi_ok) {
    if (in->cipher_ref) napi_delete_reference(env, in->cipher_ref);
    if (in->record_ref) napi_delete_reference(env, in->record_ref);
    if (in->batch_records_ref) napi_delete_reference(env, in->batch_records_ref);
    free(in);
    return type_error(env, "cannot wrap");
  }
  if (napi_type_tag_object(env, self, &ingress_tag) != napi_ok) return type_error(env, "cannot tag");
  return self;
}

bool ingress_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      METHOD("setStream", set_stream),
      METHOD("setFanOut", set_fan_out),
      METHOD("receive", receive),
      METHOD("packet", kept_packet),
      METHOD("acceptBatches", accept_batches),
  };
  return define_class(env, exports, "Ingress", construct, methods, sizeof(methods) / sizeof(methods[0]));
}
