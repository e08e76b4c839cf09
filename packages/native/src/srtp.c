#include "srtp.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

enum { rtcp_header_length = 8, srtcp_index_length = 4, gcm_tag_length = 16, hmac_tag_length = 10 };

typedef struct {
  /* AES-128-GCM, or AES-128-CTR (the same context both ways), keyed once. */
  EVP_CIPHER_CTX *encrypt;
  EVP_CIPHER_CTX *decrypt;
  /* HMAC-SHA1, keyed once; NULL for AEAD. */
  EVP_MAC_CTX *mac;
  uint8_t salt[14];
} flow;

struct srtp_context {
  int aead;
  size_t tag_length;
  flow rtp;
  flow rtcp;
};

static void put32(uint8_t *at, uint32_t value) {
  at[0] = (uint8_t)(value >> 24);
  at[1] = (uint8_t)(value >> 16);
  at[2] = (uint8_t)(value >> 8);
  at[3] = (uint8_t)value;
}

static void flow_free(flow *f) {
  EVP_CIPHER_CTX_free(f->encrypt);
  if (f->decrypt != f->encrypt) EVP_CIPHER_CTX_free(f->decrypt);
  EVP_MAC_CTX_free(f->mac);
}

static int flow_init(flow *f, int aead, const srtp_flow_keys *keys) {
  memset(f, 0, sizeof(*f));
  memcpy(f->salt, keys->salt, aead ? 12 : 14);
  const EVP_CIPHER *cipher = aead ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
  f->encrypt = EVP_CIPHER_CTX_new();
  if (f->encrypt == NULL || EVP_EncryptInit_ex(f->encrypt, cipher, NULL, keys->encryption, NULL) != 1) return -1;
  if (!aead) {
    f->decrypt = f->encrypt;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac == NULL) return -1;
    f->mac = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac);
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (f->mac == NULL || EVP_MAC_init(f->mac, keys->authentication, 20, params) != 1) return -1;
    return 0;
  }
  f->decrypt = EVP_CIPHER_CTX_new();
  if (f->decrypt == NULL || EVP_DecryptInit_ex(f->decrypt, cipher, NULL, keys->encryption, NULL) != 1) return -1;
  return 0;
}

/* AEAD IV (RFC 7714 §8.1, §9.1): salt XOR (0x0000 ‖ SSRC ‖ high ‖ low). */
static void gcm_iv(const flow *f, uint8_t iv[12], uint32_t ssrc, uint32_t high, uint16_t low) {
  memset(iv, 0, 12);
  put32(iv + 2, ssrc);
  put32(iv + 6, high);
  iv[10] = (uint8_t)(low >> 8);
  iv[11] = (uint8_t)low;
  for (int i = 0; i < 12; i++) iv[i] ^= f->salt[i];
}

/* AES-CM IV (RFC 3711 §4.1.1): salt·2^16 XOR SSRC·2^64 XOR index·2^16, the index 48 bits. */
static void cm_iv(const flow *f, uint8_t iv[16], uint32_t ssrc, uint64_t index) {
  memset(iv, 0, 16);
  put32(iv + 4, ssrc);
  iv[8] = (uint8_t)(index >> 40);
  iv[9] = (uint8_t)(index >> 32);
  put32(iv + 10, (uint32_t)index);
  for (int i = 0; i < 14; i++) iv[i] ^= f->salt[i];
}

static int ctr(const flow *f, const uint8_t iv[16], const uint8_t *in, size_t length, uint8_t *out) {
  int written = 0;
  if (EVP_EncryptInit_ex(f->encrypt, NULL, NULL, NULL, iv) != 1) return -1;
  return length == 0 || EVP_EncryptUpdate(f->encrypt, out, &written, in, (int)length) == 1 ? 0 : -1;
}

/* HMAC-SHA1 of two pieces, the second possibly empty; the full 20-byte digest. */
static int hmac(const flow *f, const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length,
                uint8_t digest[20]) {
  size_t written = 0;
  /* No key: the one given at creation is reused, without a new context. */
  if (EVP_MAC_init(f->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(f->mac, a, a_length) != 1) return -1;
  if (b_length > 0 && EVP_MAC_update(f->mac, b, b_length) != 1) return -1;
  return EVP_MAC_final(f->mac, digest, &written, 20) == 1 ? 0 : -1;
}

static int gcm_seal(const flow *f, const uint8_t iv[12], const uint8_t *aad1, size_t aad1_length,
                    const uint8_t *aad2, size_t aad2_length, const uint8_t *in, size_t length, uint8_t *out,
                    uint8_t *tag) {
  EVP_CIPHER_CTX *c = f->encrypt;
  int written = 0;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_EncryptUpdate(c, NULL, &written, aad1, (int)aad1_length) != 1) return -1;
  if (aad2_length > 0 && EVP_EncryptUpdate(c, NULL, &written, aad2, (int)aad2_length) != 1) return -1;
  if (length > 0 && EVP_EncryptUpdate(c, out, &written, in, (int)length) != 1) return -1;
  if (EVP_EncryptFinal_ex(c, out + written, &written) != 1) return -1;
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, gcm_tag_length, tag) == 1 ? 0 : -1;
}

static int gcm_open(const flow *f, const uint8_t iv[12], const uint8_t *aad1, size_t aad1_length,
                    const uint8_t *aad2, size_t aad2_length, const uint8_t *in, size_t length, uint8_t *out,
                    const uint8_t *tag) {
  EVP_CIPHER_CTX *c = f->decrypt;
  uint8_t expected[gcm_tag_length];
  int written = 0;
  memcpy(expected, tag, gcm_tag_length);
  if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, gcm_tag_length, expected) != 1) return -1;
  if (EVP_DecryptUpdate(c, NULL, &written, aad1, (int)aad1_length) != 1) return -1;
  if (aad2_length > 0 && EVP_DecryptUpdate(c, NULL, &written, aad2, (int)aad2_length) != 1) return -1;
  if (length > 0 && EVP_DecryptUpdate(c, out, &written, in, (int)length) != 1) return -1;
  return EVP_DecryptFinal_ex(c, out + written, &written) == 1 ? 0 : -1;
}

srtp_context *srtp_context_new(int aead, const srtp_flow_keys *rtp, const srtp_flow_keys *rtcp) {
  srtp_context *context = calloc(1, sizeof(*context));
  if (context == NULL) return NULL;
  context->aead = aead;
  context->tag_length = aead ? gcm_tag_length : hmac_tag_length;
  if (flow_init(&context->rtp, aead, rtp) != 0 || flow_init(&context->rtcp, aead, rtcp) != 0) {
    srtp_context_free(context);
    return NULL;
  }
  return context;
}

void srtp_context_free(srtp_context *context) {
  if (context == NULL) return;
  flow_free(&context->rtp);
  flow_free(&context->rtcp);
  free(context);
}

size_t srtp_tag_length(const srtp_context *context) { return context->tag_length; }

int srtp_seal_rtp(srtp_context *context, uint8_t *output, size_t header_length, const uint8_t *payload,
                  size_t payload_length, uint32_t ssrc, uint32_t roc, uint16_t sequence) {
  const flow *f = &context->rtp;
  uint8_t *tag = output + header_length + payload_length;
  if (context->aead) {
    uint8_t iv[12];
    gcm_iv(f, iv, ssrc, roc, sequence);
    return gcm_seal(f, iv, output, header_length, NULL, 0, payload, payload_length, output + header_length, tag);
  }
  uint8_t iv[16], digest[20], roc_bytes[4];
  cm_iv(f, iv, ssrc, ((uint64_t)roc << 16) | sequence);
  if (ctr(f, iv, payload, payload_length, output + header_length) != 0) return -1;
  put32(roc_bytes, roc);
  if (hmac(f, output, header_length + payload_length, roc_bytes, 4, digest) != 0) return -1;
  memcpy(tag, digest, hmac_tag_length);
  return 0;
}

int srtp_open_rtp(srtp_context *context, const uint8_t *packet, size_t packet_length, size_t header_length,
                  uint8_t *output, uint32_t ssrc, uint32_t roc, uint16_t sequence) {
  const flow *f = &context->rtp;
  size_t end = packet_length - context->tag_length;
  memcpy(output, packet, header_length);
  if (context->aead) {
    uint8_t iv[12];
    gcm_iv(f, iv, ssrc, roc, sequence);
    return gcm_open(f, iv, packet, header_length, NULL, 0, packet + header_length, end - header_length,
                    output + header_length, packet + end);
  }
  uint8_t iv[16], digest[20], roc_bytes[4];
  put32(roc_bytes, roc);
  if (hmac(f, packet, end, roc_bytes, 4, digest) != 0) return -1;
  if (CRYPTO_memcmp(digest, packet + end, hmac_tag_length) != 0) return -1;
  cm_iv(f, iv, ssrc, ((uint64_t)roc << 16) | sequence);
  return ctr(f, iv, packet + header_length, end - header_length, output + header_length);
}

int srtp_seal_rtcp(srtp_context *context, const uint8_t *packet, size_t packet_length, uint8_t *output,
                   uint32_t ssrc, uint32_t index) {
  const flow *f = &context->rtcp;
  const uint8_t *body = packet + rtcp_header_length;
  size_t body_length = packet_length - rtcp_header_length;
  uint8_t e_index[4];
  put32(e_index, 0x80000000u | index);
  memcpy(output, packet, rtcp_header_length);
  if (context->aead) {
    /* The AAD is the header and the E flag with the index, which follows the tag (RFC 7714 §9.2). */
    uint8_t iv[12];
    memcpy(output + packet_length + gcm_tag_length, e_index, 4);
    gcm_iv(f, iv, ssrc, index >> 16, (uint16_t)index);
    return gcm_seal(f, iv, output, rtcp_header_length, e_index, 4, body, body_length,
                    output + rtcp_header_length, output + packet_length);
  }
  uint8_t iv[16], digest[20];
  cm_iv(f, iv, ssrc, index);
  if (ctr(f, iv, body, body_length, output + rtcp_header_length) != 0) return -1;
  memcpy(output + packet_length, e_index, 4);
  if (hmac(f, output, packet_length + srtcp_index_length, NULL, 0, digest) != 0) return -1;
  memcpy(output + packet_length + srtcp_index_length, digest, hmac_tag_length);
  return 0;
}

int srtp_open_rtcp(srtp_context *context, const uint8_t *packet, size_t packet_length, uint8_t *output,
                   uint32_t ssrc, uint32_t index, int encrypted) {
  const flow *f = &context->rtcp;
  size_t end = packet_length - context->tag_length - srtcp_index_length;
  const uint8_t *body = packet + rtcp_header_length;
  size_t body_length = end - rtcp_header_length;
  memcpy(output, packet, rtcp_header_length);
  if (context->aead) {
    uint8_t iv[12];
    gcm_iv(f, iv, ssrc, index >> 16, (uint16_t)index);
    return gcm_open(f, iv, packet, rtcp_header_length, packet + packet_length - srtcp_index_length,
                    srtcp_index_length, body, body_length, output + rtcp_header_length, packet + end);
  }
  uint8_t iv[16], digest[20];
  if (hmac(f, packet, end + srtcp_index_length, NULL, 0, digest) != 0) return -1;
  if (CRYPTO_memcmp(digest, packet + end + srtcp_index_length, hmac_tag_length) != 0) return -1;
  if (!encrypted) {
    memcpy(output + rtcp_header_length, body, body_length);
    return 0;
  }
  cm_iv(f, iv, ssrc, index);
  return ctr(f, iv, body, body_length, output + rtcp_header_length);
}
