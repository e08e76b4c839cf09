/* The Ingress class (ingress.c), registered beside SrtpCipher (addon.c). */
#ifndef PARLOR_INGRESS_H
#define PARLOR_INGRESS_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ingress ingress;

/*
 * A reader's datagram for the ingress, with the batch's clock readings (Date.now(),
 * performance.timeOrigin + performance.now(), performance.now()): received and forwarded as
 * receive() does, its record appended to the batch's (rejected ones too, their length -1). False,
 * nothing done, when JavaScript must have it: batches not accepted now, or an SSRC no stream's yet.
 */
bool ingress_receive_in_batch(ingress *in, const uint8_t *packet, size_t length, const double times[3]);

/* The count of the batch's records, which starts again from none. */
int ingress_take_batch(ingress *in);

bool ingress_register(napi_env env, napi_value exports);

#endif
