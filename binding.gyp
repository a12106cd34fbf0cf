{
  "variables": {
    # GYP_DEFINES="universal=true" builds one addon for arm64 and x86_64 (the .pkg needs it).
    "universal%": "false"
  },
  "targets": [
    {
      "target_name": "trustguard",
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["OS=='mac'", {
          # Every source of the addon, found by file name (scripts/native-sources.mjs).
          "sources": ["<!@(node scripts/native-sources.mjs darwin)"],
          "link_settings": {
            "libraries": [
              "$(SDKROOT)/System/Library/Frameworks/Security.framework",
              "$(SDKROOT)/System/Library/Frameworks/CoreFoundation.framework"
            ]
          },
          "xcode_settings": {
            "MACOSX_DEPLOYMENT_TARGET": "12.0",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_CXX_LIBRARY": "libc++",
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "OTHER_CFLAGS": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
          },
          "conditions": [
            ["universal=='true'", { "xcode_settings": { "ARCHS": ["arm64", "x86_64"] } }]
          ]
        }],
        ["OS=='linux'", {
          # OpenSSL headers come from Node's own include directory; Node exports the symbols.
          "sources": ["<!@(node scripts/native-sources.mjs linux)"],
          "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
        }]
      ]
    }
  ]
}
