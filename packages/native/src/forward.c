#include "forward.h"

#include <math.h>
#include <string.h>

enum { fixed_header_length = 12, twcc_room = 8 };

uint32_t read32(const uint8_t *at) {
  return ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) | at[3];
}
uint16_t read16(const uint8_t *at) { return (uint16_t)((at[0] << 8) | at[1]); }
static void write32(uint8_t *at, uint32_t value) {
  at[0] = (uint8_t)(value >> 24);
  at[1] = (uint8_t)(value >> 16);
  at[2] = (uint8_t)(value >> 8);
  at[3] = (uint8_t)value;
}
static void write16(uint8_t *at, uint32_t value) {
  at[0] = (uint8_t)(value >> 8);
  at[1] = (uint8_t)value;
}

int rtp_header_length(const uint8_t *packet, size_t length) {
  if (length < fixed_header_length || packet[0] >> 6 != 2) return -1;
  size_t header = fixed_header_length + (size_t)(packet[0] & 0x0f) * 4;
  if (packet[0] & 0x10) {
    if (length < header + 4) return -1;
    header += 4 + (size_t)read16(packet + header + 2) * 4;
  }
  return header <= length ? (int)header : -1;
}

/* JavaScript's Math.round. */
static double js_round(double value) { return floor(value + 0.5); }

static int64_t extend_sequence(int sequence, int64_t reference) {
  int64_t base = reference - (reference & 0xffff);
  int64_t candidate = base + sequence;
  if (candidate - reference > 0x8000)
    candidate -= 0x10000;
  else if (reference - candidate > 0x8000)
    candidate += 0x10000;
  return candidate;
}

/* ---- RtpRewriter ---- */

static void rewriter_init(rewriter *r, uint32_t ssrc, double clock_rate) {
  memset(r, 0, sizeof(*r));
  r->ssrc = ssrc;
  r->clock_rate = clock_rate;
  r->highest_source = -1;
  r->last_out_sequence = -1;
  r->last_out_extended = -1;
  r->new_segment = true;
}

static int64_t offset_at(const rewriter *r, int64_t extended) {
  for (int i = r->change_count - 1; i >= 0; i--)
    if (r->changes[i].source <= extended) return r->changes[i].offset;
  return r->changes[0].offset;
}

static void start_segment(rewriter *r, int sequence, uint32_t timestamp, double now_ms) {
  r->new_segment = false;
  r->last_out_extended = -1;
  r->segment_start = 0x10000 + sequence;
  r->highest_source = r->segment_start;
  r->change_count = 1;
  r->changes[0].source = r->segment_start;
  if (r->last_out_sequence < 0) {
    r->changes[0].offset = -0x10000;
    r->timestamp_offset = 0;
    return;
  }
  r->changes[0].offset = ((r->last_out_sequence + 1 - sequence) & 0xffff) - 0x10000;
  double elapsed = js_round(((now_ms - r->last_out_at_ms) * r->clock_rate) / 1000);
  if (elapsed < 1) elapsed = 1;
  r->timestamp_offset = (uint32_t)((int64_t)r->last_out_timestamp + (int64_t)elapsed - (int64_t)timestamp);
}

static bool rewrite(rewriter *r, uint8_t *header, uint8_t payload_type, double now_ms, bool first_time) {
  int sequence = read16(header + 2);
  uint32_t timestamp = read32(header + 4);
  int64_t extended;
  if (r->new_segment) {
    start_segment(r, sequence, timestamp, now_ms);
    extended = r->segment_start;
  } else {
    extended = extend_sequence(sequence, r->highest_source);
    if (extended < r->segment_start) return false;
    if (extended > r->highest_source) r->highest_source = extended;
  }
  int64_t out_extended = extended + offset_at(r, extended);
  int out_sequence = (int)(out_extended & 0xffff);
  uint32_t out_timestamp = timestamp + r->timestamp_offset;
  write32(header + 8, r->ssrc);
  write16(header + 2, (uint32_t)out_sequence);
  write32(header + 4, out_timestamp);
  header[1] = (uint8_t)((header[1] & 0x80) | (payload_type & 0x7f));
  if (first_time && r->last_out_extended >= 0) {
    if (out_extended > r->last_out_extended + 1)
      r->skipped += (double)(out_extended - r->last_out_extended - 1);
    else if (out_extended < r->last_out_extended && r->skipped > 0)
      r->skipped--;
  }
  if (out_extended > r->last_out_extended) {
    r->last_out_extended = out_extended;
    r->last_out_sequence = out_sequence;
    r->last_out_timestamp = out_timestamp;
    r->last_out_at_ms = now_ms;
  }
  return true;
}

static void rewriter_drop(rewriter *r, int sequence) {
  if (r->new_segment) return;
  int64_t extended = extend_sequence(sequence, r->highest_source);
  if (extended <= r->highest_source) return;
  r->highest_source = extended;
  offset_change *last = &r->changes[r->change_count - 1];
  if (last->source == extended) {
    last->source = extended + 1;
    last->offset = last->offset - 1;
    return;
  }
  offset_change next = {extended + 1, last->offset - 1};
  if (r->change_count == max_offset_changes) {
    memmove(r->changes, r->changes + 1, sizeof(offset_change) * (max_offset_changes - 1));
    r->change_count--;
  }
  r->changes[r->change_count++] = next;
}

int track_source_sequence_of(const track_state *track, int out_sequence) {
  const rewriter *r = &track->rewriter;
  if (r->last_out_extended < 0) return -1;
  int64_t behind = (r->last_out_extended - out_sequence) & 0xffff;
  if (behind >= 0x8000) return -1;
  int64_t out = r->last_out_extended - behind;
  for (int i = r->change_count - 1; i >= 0; i--) {
    const offset_change *change = &r->changes[i];
    if (change->source + change->offset > out) continue;
    int64_t source = out - change->offset;
    return source >= r->segment_start ? (int)(source & 0xffff) : -1;
  }
  return -1;
}

/* ---- PictureIdRewriter ---- */

static int32_t modulo(int32_t value, int32_t modulus) { return ((value % modulus) + modulus) % modulus; }

static bool is_ahead(int32_t a, int32_t b, int32_t modulus) {
  int32_t difference = modulo(a - b, modulus);
  return difference != 0 && difference < modulus / 2;
}

static void pictures_init(picture_ids *p) {
  memset(p, 0, sizeof(*p));
  p->last_picture_id = -1;
  p->last_tl0 = -1;
  p->last_dropped_picture_id = -1;
  p->new_segment = true;
  for (int i = 0; i < picture_ring_size; i++) p->ring[i].sequence = -1;
}

static void pictures_drop(picture_ids *p, const video_info *info) {
  if (info->picture_id_offset < 0 || p->new_segment || info->picture_id == p->last_dropped_picture_id) return;
  p->last_dropped_picture_id = info->picture_id;
  p->picture_id_delta--;
}

static bool pictures_map(picture_ids *p, const video_info *info) {
  if (info->picture_id_offset < 0) return false;
  int32_t modulus = info->picture_id_bits == 15 ? 0x8000 : 0x80;
  if (p->new_segment) {
    p->new_segment = false;
    p->last_dropped_picture_id = -1;
    p->picture_id_delta = p->last_picture_id < 0 ? 0 : p->last_picture_id + 1 - info->picture_id;
    p->tl0_delta = p->last_tl0 < 0 || info->tl0_offset < 0 ? 0 : p->last_tl0 + 1 - info->tl0;
  }
  p->picture_id = modulo(info->picture_id + p->picture_id_delta, modulus);
  if (p->last_picture_id < 0 || is_ahead(p->picture_id, p->last_picture_id, modulus))
    p->last_picture_id = p->picture_id;
  bool changed = p->picture_id != info->picture_id;
  if (info->tl0_offset >= 0) {
    p->tl0 = modulo(info->tl0 + p->tl0_delta, 0x100);
    if (p->last_tl0 < 0 || is_ahead(p->tl0, p->last_tl0, 0x100)) p->last_tl0 = p->tl0;
    changed = changed || p->tl0 != info->tl0;
  }
  return changed;
}

static void write_picture(uint8_t *packet, int picture_id_offset, int bits, int32_t picture_id, int tl0_offset,
                          int32_t tl0) {
  if (bits == 15) {
    packet[picture_id_offset] = (uint8_t)(0x80 | (picture_id >> 8));
    packet[picture_id_offset + 1] = (uint8_t)(picture_id & 0xff);
  } else {
    packet[picture_id_offset] = (uint8_t)picture_id;
  }
  if (tl0_offset >= 0) packet[tl0_offset] = (uint8_t)tl0;
}

/* ---- transport-wide numbering (headerExtensions.ts, DownlinkEstimator.onSend) ---- */

static int append_twcc(uint8_t *header, uint8_t id, uint16_t sequence) {
  uint8_t first = header[0];
  int start = fixed_header_length + (first & 0x0f) * 4;
  if ((first & 0x10) == 0) {
    write32(header + start, 0xbede0001u);
    header[start + 4] = (uint8_t)((id << 4) | 1);
    write16(header + start + 5, sequence);
    header[start + 7] = 0;
    header[0] = first | 0x10;
    return start + 8;
  }
  uint16_t profile = read16(header + start);
  uint16_t words = read16(header + start + 2);
  int end = start + 4 + words * 4;
  if (profile == 0xbede) {
    header[end] = (uint8_t)((id << 4) | 1);
    write16(header + end + 1, sequence);
    header[end + 3] = 0;
  } else if ((profile & 0xfff0) == 0x1000) {
    header[end] = id;
    header[end + 1] = 2;
    write16(header + end + 2, sequence);
  } else {
    return -1;
  }
  write16(header + start + 2, (uint32_t)words + 1);
  return end + 4;
}

static bool keeps(const uint8_t *kept, int id) { return (kept[id >> 3] >> (id & 7)) & 1; }

/* stripHeaderExtensions: the elements whose ID is not in kept leave the header, the block
 * shrinks; the new length. */
static int strip_extensions(uint8_t *header, const uint8_t *kept) {
  uint8_t first = header[0];
  int start = fixed_header_length + (first & 0x0f) * 4;
  if ((first & 0x10) == 0) return start;
  uint16_t profile = read16(header + start);
  int end = start + 4 + read16(header + start + 2) * 4;
  bool one_byte = profile == 0xbede;
  if (!one_byte && (profile & 0xfff0) != 0x1000) return end;
  bool removed = false;
  int write = start + 4;
  int kept_end = start + 4;
  int position = start + 4;
  while (position < end) {
    uint8_t byte = header[position];
    if (byte == 0) {
      header[write++] = 0;
      position++;
      continue;
    }
    int element_id = one_byte ? byte >> 4 : byte;
    int data = one_byte ? position + 1 : position + 2;
    int length = one_byte ? (byte & 0x0f) + 1 : (data > end ? 0 : header[position + 1]);
    if ((one_byte && element_id == 15) || data > end || data + length > end) {
      memmove(header + write, header + position, (size_t)(end - position));
      write += end - position;
      kept_end = write;
      break;
    }
    if (keeps(kept, element_id)) {
      memmove(header + write, header + position, (size_t)(data + length - position));
      write += data + length - position;
      kept_end = write;
    } else {
      removed = true;
    }
    position = data + length;
  }
  if (!removed) return end;
  int words = (kept_end - start - 4 + 3) / 4;
  if (words == 0) {
    header[0] = (uint8_t)(first & ~0x10);
    return start;
  }
  int new_end = start + 4 + words * 4;
  memset(header + kept_end, 0, (size_t)(new_end - kept_end));
  write16(header + start + 2, (uint16_t)words);
  return new_end;
}

/* Numbers the header for transport-wide feedback (when negotiated), without the publisher's
 * elements the subscriber was not offered; returns its length. */
static int number_for_feedback(track_state *track, uint8_t *header, int header_length, size_t payload_length,
                               double perf_now_ms) {
  twcc *t = &track->twcc;
  header_length = strip_extensions(header, track->kept_extensions);
  if (t->id == 0) return header_length;
  double next = *t->next;
  int length = append_twcc(header, t->id, (uint16_t)((int64_t)next & 0xffff));
  if (length <= 0) return header_length;
  size_t slot = (size_t)((int64_t)next % twcc_history_size);
  t->send_times[slot] = perf_now_ms;
  t->sizes[slot] = (uint32_t)(length + payload_length);
  t->states[slot] = 1;
  *t->next = next + 1;
  return length;
}

/* ---- the track ---- */

void track_init(track_state *track, uint32_t ssrc, double clock_rate, uint8_t payload_type, bool has_picture_ids,
                bool layered) {
  memset(track, 0, sizeof(*track));
  rewriter_init(&track->rewriter, ssrc, clock_rate);
  pictures_init(&track->pictures);
  track->payload_type = payload_type;
  track->has_picture_ids = has_picture_ids;
  track->layer = layered ? -1 : 0;
  track->target_layer = layered ? -1 : 0;
  track->temporal_layer = 3;
  track->target_temporal_layer = 3;
}

/* Subscription's #admitsTemporalLayer. */
static bool admits_temporal_layer(track_state *track, const video_info *video) {
  if (video->frame_start) {
    if (video->keyframe || track->target_temporal_layer < track->temporal_layer) {
      track->temporal_layer = track->target_temporal_layer;
    } else if (video->temporal_layer == track->temporal_layer + 1 &&
               video->temporal_layer <= track->target_temporal_layer && video->layer_sync) {
      track->temporal_layer = video->temporal_layer;
    }
  }
  return video->temporal_layer <= track->temporal_layer;
}

static void write_abs_send_time(uint8_t *packet, int offset, double now_ms) {
  uint32_t value = (uint32_t)(int64_t)js_round(now_ms * 262.144) & 0xffffff;
  packet[offset] = (uint8_t)(value >> 16);
  packet[offset + 1] = (uint8_t)(value >> 8);
  packet[offset + 2] = (uint8_t)value;
}

int track_forward(track_state *track, const uint8_t *packet, size_t length, int layer, const video_info *video,
                  int abs_send_time_offset, const forward_times *times, uint8_t *header, uint8_t *payload_copy,
                  const uint8_t **payload, int *source_header_length) {
  if (!track->enabled) return -1;
  if (layer != track->layer) {
    /* Simulcast: a subscriber starts, and changes layer, at a keyframe of the layer it moves to. */
    if (layer != track->target_layer || video == NULL || !video->keyframe) return -1;
    if (track->layer >= 0) track->layer_switches++;
    track->layer = layer;
    track->rewriter.new_segment = true;
    track->pictures.new_segment = true;
  }
  int sequence = read16(packet + 2);
  if (video != NULL && !admits_temporal_layer(track, video)) {
    rewriter_drop(&track->rewriter, sequence);
    if (track->has_picture_ids) pictures_drop(&track->pictures, video);
    return -1;
  }
  int packet_header_length = rtp_header_length(packet, length);
  if (packet_header_length < 0 || packet_header_length + twcc_room > max_header_length) return -1;
  *payload = packet + packet_header_length;
  *source_header_length = packet_header_length;
  if (video != NULL && track->has_picture_ids && pictures_map(&track->pictures, video)) {
    picture_ids *p = &track->pictures;
    memcpy(payload_copy, packet, length);
    write_picture(payload_copy, video->picture_id_offset, video->picture_id_bits, p->picture_id, video->tl0_offset,
                  p->tl0);
    rewritten_picture *kept = &p->ring[sequence & (picture_ring_size - 1)];
    kept->sequence = sequence;
    kept->picture_id_offset = (int16_t)video->picture_id_offset;
    kept->picture_id_bits = (uint8_t)video->picture_id_bits;
    kept->tl0_offset = (int16_t)video->tl0_offset;
    kept->picture_id = p->picture_id;
    kept->tl0 = p->tl0;
    *payload = payload_copy + packet_header_length;
  }
  memcpy(header, packet, (size_t)packet_header_length);
  if (!rewrite(&track->rewriter, header, track->payload_type, times->now_ms, true)) return -1;
  if (abs_send_time_offset >= 0) write_abs_send_time(header, abs_send_time_offset, times->abs_send_ms);
  int header_length = number_for_feedback(track, header, packet_header_length, length - packet_header_length,
                                          times->perf_now_ms);
  track->packets_out++;
  track->bytes_out += (double)length;
  track->payload_octets_out += (double)(length - packet_header_length);
  return header_length;
}

int track_resend(track_state *track, const uint8_t *packet, size_t length, const forward_times *times, uint8_t *out,
                 uint8_t *payload_copy, const uint8_t **payload, size_t *payload_length) {
  int packet_header_length = rtp_header_length(packet, length);
  if (packet_header_length < 0 || packet_header_length + twcc_room > max_header_length) return -1;
  const uint8_t *source = packet;
  int sequence = read16(packet + 2);
  const rewritten_picture *kept = &track->pictures.ring[sequence & (picture_ring_size - 1)];
  if (track->has_picture_ids && kept->sequence == sequence) {
    /* Sent with its picture numbering rewritten: again so. */
    memcpy(payload_copy, packet, length);
    write_picture(payload_copy, kept->picture_id_offset, kept->picture_id_bits, kept->picture_id, kept->tl0_offset,
                  kept->tl0);
    source = payload_copy;
  }
  memcpy(out, source, (size_t)packet_header_length);
  if (!rewrite(&track->rewriter, out, track->payload_type, times->now_ms, false)) return -1;
  size_t body = length - (size_t)packet_header_length;
  int header_length = number_for_feedback(track, out, packet_header_length, body, times->perf_now_ms);
  if (!track->rtx) {
    *payload = source + packet_header_length;
    *payload_length = body;
    return header_length;
  }
  /* RFC 4588: the original sequence number, then the original payload, on the RTX stream. */
  uint8_t *rtx_payload = out + header_length;
  write16(rtx_payload, read16(out + 2));
  memcpy(rtx_payload + 2, source + packet_header_length, body);
  write32(out + 8, track->rtx_ssrc);
  out[1] = (uint8_t)((out[1] & 0x80) | (track->rtx_payload_type & 0x7f));
  write16(out + 2, track->rtx_sequence);
  track->rtx_sequence = (uint16_t)(track->rtx_sequence + 1);
  *payload = rtx_payload;
  *payload_length = body + 2;
  return header_length;
}

uint32_t send_stream_roc(send_stream *stream, uint16_t sequence) {
  if (!stream->started) {
    stream->started = true;
    stream->roc = 0;
    stream->highest = sequence;
  }
  uint32_t roc = stream->roc;
  uint16_t highest = stream->highest;
  uint32_t estimate;
  if (highest < 0x8000)
    estimate = (int)sequence - (int)highest > 0x8000 && roc > 0 ? roc - 1 : roc;
  else
    estimate = (int)highest - 0x8000 > (int)sequence ? roc + 1 : roc;
  if (estimate > roc || (estimate == roc && sequence > highest)) {
    stream->roc = estimate;
    stream->highest = sequence;
  }
  return estimate;
}
