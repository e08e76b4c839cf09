/* The Ingress class (ingress.c), registered beside SrtpCipher (addon.c). */
#ifndef PARLOR_INGRESS_H
#define PARLOR_INGRESS_H

#include <node_api.h>
#include <stdbool.h>

bool ingress_register(napi_env env, napi_value exports);

#endif
