/*
 * SRTP and SRTCP packet protection (RFC 3711, RFC 7714) with OpenSSL's EVP: the ciphers and the
 * HMAC are keyed once per context and only given a new IV per packet, so a packet costs no
 * allocation. Rollover counters, SRTCP indexes and replay windows are the caller's; these
 * functions take them as arguments and produce the bytes of Parlor's TypeScript SrtpContext.
 */
#ifndef PARLOR_SRTP_H
#define PARLOR_SRTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct srtp_context srtp_context;

/* One of SRTP's two flows: encryption key (16 bytes), salt (12 for AEAD, 14 for AES-CM) and,
 * for AES-CM, the 20-byte HMAC-SHA1 key (NULL for AEAD). */
typedef struct {
  const uint8_t *encryption;
  const uint8_t *salt;
  const uint8_t *authentication;
} srtp_flow_keys;

/* NULL when OpenSSL refuses a key (or is out of memory). */
srtp_context *srtp_context_new(int aead, const srtp_flow_keys *rtp, const srtp_flow_keys *rtcp);
void srtp_context_free(srtp_context *context);
size_t srtp_tag_length(const srtp_context *context);

/* Encrypts payload into output + header_length (the header is already there) and appends the
 * tag: output holds header_length + payload_length + tag length bytes. 0 on success. */
int srtp_seal_rtp(srtp_context *context, uint8_t *output, size_t header_length, const uint8_t *payload,
                  size_t payload_length, uint32_t ssrc, uint32_t roc, uint16_t sequence);

/* Authenticates an SRTP packet and decrypts it into output (packet_length - tag length bytes,
 * header included). 0 when authentic. */
int srtp_open_rtp(srtp_context *context, const uint8_t *packet, size_t packet_length, size_t header_length,
                  uint8_t *output, uint32_t ssrc, uint32_t roc, uint16_t sequence);

/* Protects an RTCP packet into output (packet_length + tag length + 4 bytes). 0 on success. */
int srtp_seal_rtcp(srtp_context *context, const uint8_t *packet, size_t packet_length, uint8_t *output,
                   uint32_t ssrc, uint32_t index);

/* Authenticates an SRTCP packet and decrypts it into output (packet_length - tag length - 4
 * bytes). 0 when authentic. */
int srtp_open_rtcp(srtp_context *context, const uint8_t *packet, size_t packet_length, uint8_t *output,
                   uint32_t ssrc, uint32_t index, int encrypted);

#endif
