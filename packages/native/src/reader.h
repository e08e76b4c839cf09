/* The UdpReader class (reader.c), registered beside SrtpCipher (addon.c). */
#ifndef PARLOR_READER_H
#define PARLOR_READER_H

#include <node_api.h>
#include <stdbool.h>

bool udp_reader_register(napi_env env, napi_value exports);

#endif
