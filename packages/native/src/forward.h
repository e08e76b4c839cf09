/*
 * The per-packet half of a subscriber's track, ported from the TypeScript router byte for byte
 * (router/Subscription.ts #send and #retransmit, rtp/RtpRewriter.ts, rtp/PictureIdRewriter.ts,
 * rtp/headerExtensions.ts): which packets go on (layer switches at keyframes, temporal layers),
 * the header rewrite, picture numbering, transport-wide numbering and the rollover counters of
 * what it protects. The decisions that change rarely (target layers, on or off) are set from
 * TypeScript; everything here runs per packet without allocating.
 */
#ifndef PARLOR_FORWARD_H
#define PARLOR_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { max_offset_changes = 64, picture_ring_size = 256, max_header_length = 256, twcc_history_size = 1 << 13 };

typedef struct {
  int64_t source;
  int64_t offset;
} offset_change;

/* RtpRewriter. */
typedef struct {
  uint32_t ssrc;
  double clock_rate;
  offset_change changes[max_offset_changes];
  int change_count;
  uint32_t timestamp_offset;
  int64_t segment_start;
  int64_t highest_source;
  int64_t last_out_sequence;
  int64_t last_out_extended;
  double skipped;
  uint32_t last_out_timestamp;
  double last_out_at_ms;
  bool new_segment;
} rewriter;

/* PictureIdRewriter, and the picture numbers it wrote by source sequence number, for resends. */
typedef struct {
  int32_t sequence; /* -1: empty */
  int16_t picture_id_offset;
  uint8_t picture_id_bits;
  int16_t tl0_offset;
  int32_t picture_id;
  int32_t tl0;
} rewritten_picture;

typedef struct {
  int32_t picture_id_delta, tl0_delta, last_picture_id, last_tl0, last_dropped_picture_id;
  int32_t picture_id, tl0;
  bool new_segment;
  rewritten_picture ring[picture_ring_size];
} picture_ids;

/* What the router read of a video packet (rtp/videoPayload.ts). */
typedef struct {
  bool keyframe, frame_start, layer_sync;
  int temporal_layer;
  int picture_id_offset, picture_id_bits, picture_id;
  int tl0_offset, tl0;
} video_info;

/* SrtpContext's per-SSRC send state. */
typedef struct {
  bool started;
  uint32_t roc;
  uint16_t highest;
} send_stream;

/* A subscription's transport-wide numbering: DownlinkEstimator's history, shared with it. */
typedef struct {
  uint8_t id; /* 0: not numbered */
  double *next;
  double *send_times;
  uint32_t *sizes;
  uint8_t *states;
} twcc;

typedef struct {
  bool enabled;
  int layer, target_layer; /* -1: none */
  int temporal_layer, target_temporal_layer;
  bool has_picture_ids;
  uint8_t payload_type;
  bool rtx;
  uint32_t rtx_ssrc;
  uint8_t rtx_payload_type;
  uint16_t rtx_sequence;
  rewriter rewriter;
  picture_ids pictures;
  twcc twcc;
  uint8_t kept_extensions[32]; /* bit per ID: the publisher's header extension elements kept */
  send_stream media_stream, rtx_stream;
  double packets_out, bytes_out, payload_octets_out, layer_switches;
} track_state;

/* Times of one forwarded packet, taken once for all its subscribers. */
typedef struct {
  double now_ms;       /* Date.now() */
  double abs_send_ms;  /* performance.timeOrigin + performance.now() */
  double perf_now_ms;  /* performance.now() */
} forward_times;

void track_init(track_state *track, uint32_t ssrc, double clock_rate, uint8_t payload_type, bool has_picture_ids,
                bool layered);
int rtp_header_length(const uint8_t *packet, size_t length);

/*
 * Decides whether the packet goes on for this track and, if so, writes its rewritten header into
 * header (max_header_length + 8 bytes) and, when the picture numbering changes, the payload with
 * it into payload_copy (the packet's length); returns the header's length, or -1 to send nothing.
 * *payload is the payload to encrypt (the packet's, or payload_copy).
 */
int track_forward(track_state *track, const uint8_t *packet, size_t length, int layer, const video_info *video,
                  int abs_send_time_offset, const forward_times *times, uint8_t *header, uint8_t *payload_copy,
                  const uint8_t **payload, int *source_header_length);

/* The source sequence number an outgoing one came from, or -1 (RtpRewriter.sourceSequenceOf). */
int track_source_sequence_of(const track_state *track, int out_sequence);

/*
 * A resend of packet (a source packet the track sent before): the header as it went, numbered
 * again for transport-wide feedback, on the RTX stream when there is one (written to out, which
 * takes length + max_header_length + 10 bytes). Returns the RTP packet's header length and sets
 * *out_length, *payload, *payload_length; -1 when the rewriter no longer maps it.
 */
int track_resend(track_state *track, const uint8_t *packet, size_t length, const forward_times *times, uint8_t *out,
                 uint8_t *payload_copy, const uint8_t **payload, size_t *payload_length);

/* The rollover counter to protect a packet of this stream with (SrtpContext.protectRtp). */
uint32_t send_stream_roc(send_stream *stream, uint16_t sequence);

uint32_t read32(const uint8_t *at);
uint16_t read16(const uint8_t *at);

#endif
