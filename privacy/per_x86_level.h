// ECPS_PER_X86_LEVEL before a function definition: GCC compiles the function once for each
// x86-64 level (baseline, v3 with AVX2, v4 with AVX-512) and the program picks the copy for
// its processor when it loads. A function marked so must give the same results in every copy:
// integer code, or floating point without fused multiply-adds (-ffp-contract=off on its file).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ECPS_PER_X86_LEVEL \
  __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define ECPS_PER_X86_LEVEL
#endif
