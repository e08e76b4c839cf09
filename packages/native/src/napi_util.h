/*
 * The N-API helpers every class of the addon uses: throwing a TypeError, numbers and booleans, unwrapping
 * `this` and type-tagged arguments, reading typed arrays, and defining a class on the exports.
 */
#ifndef PARLOR_NAPI_UTIL_H
#define PARLOR_NAPI_UTIL_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

/* Marks SrtpCipher objects, so that a FanOutGroup or an Ingress takes no other object for one. */
static const napi_type_tag srtp_cipher_tag = {0x7061726c6f720001ull, 0x5372747043697068ull};
/* Marks FanOutGroup objects, so that an Ingress takes no other object for one. */
static const napi_type_tag fan_out_group_tag = {0x7061726c6f720002ull, 0x46616e4f75744772ull};
/* Marks Ingress objects, so that a UdpReader takes no other object for one. */
static const napi_type_tag ingress_tag = {0x7061726c6f720003ull, 0x496e677265737321ull};

/* Throws a TypeError; NULL, for `return type_error(...)`. */
static inline napi_value type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static inline napi_value number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

static inline napi_value boolean(napi_env env, bool value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

static inline napi_value undefined(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

/*
 * The native object wrapped in `this`, with up to *count arguments read into values (*count
 * becomes how many were given); NULL, after throwing a TypeError with message, when there are
 * fewer than expected or `this` wraps nothing.
 */
static inline void *unwrap_this(napi_env env, napi_callback_info info, size_t expected, size_t *count,
                                napi_value *values, const char *message) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, count, values, &self, NULL) != napi_ok || *count < expected ||
      napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    type_error(env, message);
    return NULL;
  }
  return data;
}

/* The native object of value when value carries tag (made by that class); NULL otherwise. */
static inline void *unwrap_tagged(napi_env env, napi_value value, const napi_type_tag *tag) {
  bool tagged = false;
  void *data = NULL;
  if (napi_check_object_type_tag(env, value, tag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, value, &data) != napi_ok)
    return NULL;
  return data;
}

/* The data and element count of value when it is a typed array of that type. */
static inline bool typed_array_of(napi_env env, napi_value value, napi_typedarray_type type, void **data,
                                  size_t *length) {
  napi_typedarray_type actual;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, value, &actual, length, data, &buffer, &offset) == napi_ok && actual == type;
}

/* The data of value when it is a typed array of that type with at least minimum elements. */
static inline bool typed_array(napi_env env, napi_value value, napi_typedarray_type type, size_t minimum,
                               void **data) {
  size_t length;
  return typed_array_of(env, value, type, data, &length) && length >= minimum;
}

#define METHOD(name, callback) {name, NULL, callback, NULL, NULL, NULL, napi_default_method, NULL}

/* Defines class `name` with its methods on exports. */
static inline bool define_class(napi_env env, napi_value exports, const char *name, napi_callback constructor,
                                const napi_property_descriptor *methods, size_t method_count) {
  napi_value value;
  return napi_define_class(env, name, NAPI_AUTO_LENGTH, constructor, NULL, method_count, methods, &value) == napi_ok &&
         napi_set_named_property(env, exports, name, value) == napi_ok;
}

#endif
