{
  # The BPF loader addon: libbpf from the system, the compiled BPF objects embedded as bpftool
  # skeletons (bpf/.output/*.skel.h, made by scripts/build-bpf.sh before node-gyp runs).
  'target_defaults': {
    'cflags_cc': ['-std=c++17', '-Wall', '-Wno-missing-field-initializers', '-fexceptions'],
    'cflags_cc!': ['-fno-exceptions'],
    'include_dirs': ['.', '.output'],
  },
  'targets': [
    {
      'target_name': 'bpf_addon',
      'sources': ['src/addon.cc', 'src/counters.cc', 'src/peercred.cc'],
      'libraries': ['-lbpf', '-lelf', '-lz'],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
    },
  ],
}
