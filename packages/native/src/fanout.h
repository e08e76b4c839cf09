/* The FanOutGroup class (fanout.c), registered beside SrtpCipher (addon.c). */
#ifndef PARLOR_FANOUT_H
#define PARLOR_FANOUT_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forward.h"

typedef struct fan_out_group fan_out_group;

/* Forwards one received packet to every slot of the group (FanOutGroup.forward without the
 * JavaScript call); returns how many datagrams it queued and sent. */
int fan_out_packet(fan_out_group *group, const uint8_t *packet, size_t length, int layer, const video_info *video,
                   int abs_send_time_offset, const forward_times *times);

bool fan_out_register(napi_env env, napi_value exports);

#endif
