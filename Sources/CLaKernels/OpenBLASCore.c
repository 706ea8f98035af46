// See include/CLaOpenBLASCore.h.
#define _GNU_SOURCE
#include "CLaOpenBLASCore.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

// How capable an OpenBLAS kernel family is: 3 AVX-512, 2 AVX2, 1 anything older (or unknown to this list).
static int core_rank(const char *name) {
    static const char *avx512[] = {"skylakex", "cooperlake", "sapphirerapids", "zen4", NULL};
    static const char *avx2[] = {"haswell", "zen", "excavator", "skylake", NULL};
    for (int i = 0; avx512[i]; i++) if (strcasecmp(name, avx512[i]) == 0) return 3;
    for (int i = 0; avx2[i]; i++) if (strcasecmp(name, avx2[i]) == 0) return 2;
    return 1;
}

const char *cla_openblas_better_core(const char *current, int has_avx512, int has_avx2_fma) {
    if (!current) return NULL;
    int rank = core_rank(current);
    if (has_avx512 && rank < 3) return "SkylakeX";
    if (has_avx2_fma && rank < 2) return "Haswell";
    return NULL;
}

int cla_openblas_select_core(char *before, char *after, size_t size) {
    typedef char *(*name_fn)(void);
    typedef void (*void_fn)(void);
    name_fn corename = (name_fn)dlsym(RTLD_DEFAULT, "openblas_get_corename");
    void_fn quit = (void_fn)dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void_fn init = (void_fn)dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    const char *now = corename ? corename() : "";
    if (before && size) snprintf(before, size, "%s", now ? now : "");
    if (after && size) snprintf(after, size, "%s", now ? now : "");
    if (getenv("OPENBLAS_CORETYPE")) return 0;
    const char *opt = getenv("LACLIP_OPENBLAS_AUTOSELECT");
    if (opt && strcmp(opt, "0") == 0) return 0;
    int avx512 = 0, avx2 = 0;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
    const char *target = cla_openblas_better_core(now, avx512, avx2);
    if (!target) return 0;
    if (!corename || !quit || !init) return -1;
    setenv("OPENBLAS_CORETYPE", target, 1);
    quit();
    init();
    unsetenv("OPENBLAS_CORETYPE");  // child processes make their own choice
    now = corename();
    if (after && size) snprintf(after, size, "%s", now ? now : "");
    return 1;
}
