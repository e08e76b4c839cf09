{
  "targets": [
    {
      "target_name": "parlor_native",
      "sources": ["src/addon.c", "src/fanout.c", "src/forward.c", "src/ingress.c", "src/reader.c", "src/srtp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
