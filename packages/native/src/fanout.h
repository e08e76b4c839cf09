/* The FanOutGroup class (fanout.c), registered beside SrtpCipher (addon.c). */
#ifndef PARLOR_FANOUT_H
#define PARLOR_FANOUT_H

#include <node_api.h>
#include <stdbool.h>

/* Marks SrtpCipher objects, so that a FanOutGroup takes no other object for one. */
static const napi_type_tag srtp_cipher_tag = {0x7061726c6f720001ull, 0x5372747043697068ull};

bool fan_out_register(napi_env env, napi_value exports);

#endif
