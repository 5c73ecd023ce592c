/*
 * malloc_trim(3) for the agent: the one call that hands glibc's free heap memory back to the
 * kernel when it lies between live allocations. V8's compiler and parser zones come and go in
 * malloc's main arena; once they are freed their pages stay resident (an idle agent's arena held
 * 8.8 MB with 3.6 MB in use), and neither glibc's trim threshold (it trims only the top of the
 * heap) nor anything in Node returns them. src/core/malloc-trim.ts loads this and
 * src/core/idle-memory.ts calls it after its quiet-time collection.
 *
 * Node-API (ABI-stable), so the object does not depend on the exact Node.js build. Built by
 * scripts/build-native.ts into dist/core/malloc-trim.node.
 */
#define NAPI_VERSION 8
#include <malloc.h>
#include <node_api.h>

/* trim(): true when memory was given back (malloc_trim's own answer). */
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_get_boolean(env, malloc_trim(0) != 0, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
