// Shared by the libFuzzer harnesses: a property check that aborts (so libFuzzer saves the input) with a reason.
#pragma once
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                   \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "property violated at %s:%d: %s\n", __FILE__, __LINE__, what); \
      abort();                                                                   \
    }                                                                            \
  } while (0)
