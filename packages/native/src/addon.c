/*
 * The N-API face of srtp.c: a class SrtpCipher whose methods read and write caller-provided
 * Buffers, so that JavaScript allocates nothing per packet but its output buffer. Every length
 * is checked here before the C code sees a pointer.
 */
#include <limits.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#include "fanout.h"
#include "ingress.h"
#include "napi_util.h"
#include "reader.h"
#include "srtp.h"

#define MAX_ARGS 7

typedef struct {
  napi_env env;
  size_t count;
  napi_value values[MAX_ARGS];
  srtp_context *context;
  bool failed;
} call;

static bool fail(call *c, const char *message) {
  if (!c->failed) napi_throw_type_error(c->env, NULL, message);
  c->failed = true;
  return false;
}

/* Reads the call's arguments and `this`'s context; false, having thrown, when it cannot. */
static bool begin(napi_env env, napi_callback_info info, size_t expected, call *c) {
  c->env = env;
  c->count = MAX_ARGS;
  c->context = unwrap_this(env, info, expected, &c->count, c->values, "bad call of an SrtpCipher method");
  c->failed = c->context == NULL;
  return !c->failed;
}

static bool buffer(call *c, size_t i, uint8_t **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(c->env, c->values[i], &is_buffer) != napi_ok || !is_buffer) return fail(c, "expected a Buffer");
  if (napi_get_buffer_info(c->env, c->values[i], (void **)data, length) != napi_ok) return fail(c, "expected a Buffer");
  /* OpenSSL's update functions take int lengths; a datagram is far shorter. */
  return *length <= INT_MAX || fail(c, "Buffer too long");
}

static bool u32(call *c, size_t i, uint32_t *value) {
  return napi_get_value_uint32(c->env, c->values[i], value) == napi_ok || fail(c, "expected a number");
}

static napi_value crypto_failed(napi_env env) {
  napi_throw_error(env, NULL, "OpenSSL failed");
  return NULL;
}

/* sealRtp(output, headerLength, packet, payloadStart, ssrc, roc, sequence) */
static napi_value seal_rtp(napi_env env, napi_callback_info info) {
  call c;
  uint8_t *output, *packet;
  size_t output_length, packet_length;
  uint32_t header_length, payload_start, ssrc, roc, sequence;
  if (!begin(env, info, 7, &c) || !buffer(&c, 0, &output, &output_length) || !u32(&c, 1, &header_length) ||
      !buffer(&c, 2, &packet, &packet_length) || !u32(&c, 3, &payload_start) || !u32(&c, 4, &ssrc) ||
      !u32(&c, 5, &roc) || !u32(&c, 6, &sequence))
    return NULL;
  if (payload_start > packet_length ||
      output_length != header_length + (packet_length - payload_start) + srtp_tag_length(c.context))
    return fail(&c, "buffer lengths do not match"), NULL;
  if (srtp_seal_rtp(c.context, output, header_length, packet + payload_start, packet_length - payload_start, ssrc,
                    roc, (uint16_t)sequence) != 0)
    return crypto_failed(env);
  return NULL;
}

/* openRtp(packet, headerLength, output, ssrc, roc, sequence): whether it is authentic. */
static napi_value open_rtp(napi_env env, napi_callback_info info) {
  call c;
  uint8_t *output, *packet;
  size_t output_length, packet_length;
  uint32_t header_length, ssrc, roc, sequence;
  if (!begin(env, info, 6, &c) || !buffer(&c, 0, &packet, &packet_length) || !u32(&c, 1, &header_length) ||
      !buffer(&c, 2, &output, &output_length) || !u32(&c, 3, &ssrc) || !u32(&c, 4, &roc) ||
      !u32(&c, 5, &sequence))
    return NULL;
  size_t tag = srtp_tag_length(c.context);
  if (packet_length < header_length + tag || output_length != packet_length - tag)
    return fail(&c, "buffer lengths do not match"), NULL;
  return boolean(env, srtp_open_rtp(c.context, packet, packet_length, header_length, output, ssrc, roc,
                                    (uint16_t)sequence) == 0);
}

/* sealRtcp(packet, output, ssrc, index) */
static napi_value seal_rtcp(napi_env env, napi_callback_info info) {
  call c;
  uint8_t *output, *packet;
  size_t output_length, packet_length;
  uint32_t ssrc, index;
  if (!begin(env, info, 4, &c) || !buffer(&c, 0, &packet, &packet_length) ||
      !buffer(&c, 1, &output, &output_length) || !u32(&c, 2, &ssrc) || !u32(&c, 3, &index))
    return NULL;
  if (packet_length < 8 || output_length != packet_length + srtp_tag_length(c.context) + 4)
    return fail(&c, "buffer lengths do not match"), NULL;
  if (srtp_seal_rtcp(c.context, packet, packet_length, output, ssrc, index & 0x7fffffffu) != 0)
    return crypto_failed(env);
  return NULL;
}

/* openRtcp(packet, output, ssrc, index, encrypted): whether it is authentic. */
static napi_value open_rtcp(napi_env env, napi_callback_info info) {
  call c;
  uint8_t *output, *packet;
  size_t output_length, packet_length;
  uint32_t ssrc, index;
  bool encrypted = false;
  if (!begin(env, info, 5, &c) || !buffer(&c, 0, &packet, &packet_length) ||
      !buffer(&c, 1, &output, &output_length) || !u32(&c, 2, &ssrc) || !u32(&c, 3, &index))
    return NULL;
  if (napi_get_value_bool(env, c.values[4], &encrypted) != napi_ok) return fail(&c, "expected a boolean"), NULL;
  size_t trailer = srtp_tag_length(c.context) + 4;
  if (packet_length < 8 + trailer || output_length != packet_length - trailer)
    return fail(&c, "buffer lengths do not match"), NULL;
  return boolean(env, srtp_open_rtcp(c.context, packet, packet_length, output, ssrc, index & 0x7fffffffu,
                                     encrypted) == 0);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  srtp_context_free(data);
}

/* Reads a flow's keys from arguments first..first+2: encryption key, salt, HMAC key or null. */
static bool flow_keys(call *c, size_t first, bool aead, srtp_flow_keys *keys) {
  uint8_t *encryption, *salt, *authentication = NULL;
  size_t encryption_length, salt_length, authentication_length = 0;
  if (!buffer(c, first, &encryption, &encryption_length) || !buffer(c, first + 1, &salt, &salt_length)) return false;
  if (!aead && !buffer(c, first + 2, &authentication, &authentication_length)) return false;
  if (encryption_length != 16 || salt_length != (aead ? 12u : 14u) || (!aead && authentication_length != 20))
    return fail(c, "keys of the wrong length for the profile");
  keys->encryption = encryption;
  keys->salt = salt;
  keys->authentication = authentication;
  return true;
}

/* new SrtpCipher(aead, rtpKey, rtpSalt, rtpAuth, rtcpKey, rtcpSalt, rtcpAuth) */
static napi_value construct(napi_env env, napi_callback_info info) {
  call c = {.env = env, .count = MAX_ARGS};
  napi_value self;
  bool aead = false;
  srtp_flow_keys rtp, rtcp;
  if (napi_get_cb_info(env, info, &c.count, c.values, &self, NULL) != napi_ok || c.count < MAX_ARGS)
    return fail(&c, "expected a profile and six keys"), NULL;
  if (napi_get_value_bool(env, c.values[0], &aead) != napi_ok) return fail(&c, "expected a boolean"), NULL;
  if (!flow_keys(&c, 1, aead, &rtp) || !flow_keys(&c, 4, aead, &rtcp)) return NULL;
  srtp_context *context = srtp_context_new(aead, &rtp, &rtcp);
  if (context == NULL) return crypto_failed(env);
  if (napi_wrap(env, self, context, finalize, NULL, NULL) != napi_ok ||
      napi_type_tag_object(env, self, &srtp_cipher_tag) != napi_ok) {
    srtp_context_free(context);
    return crypto_failed(env);
  }
  return self;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      METHOD("sealRtp", seal_rtp),
      METHOD("openRtp", open_rtp),
      METHOD("sealRtcp", seal_rtcp),
      METHOD("openRtcp", open_rtcp),
  };
  if (!define_class(env, exports, "SrtpCipher", construct, methods, sizeof(methods) / sizeof(methods[0])) ||
      !fan_out_register(env, exports) || !ingress_register(env, exports) || !udp_reader_register(env, exports))
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
