/*
 * check.h -- the pass/fail counting shared by the standalone C tests. Each test
 * prints "N passed, N failed" last (the line CI reads) and exits nonzero on a
 * failure; only the first 40 failures are printed, so a broken kernel does not
 * flood the log.
 */
#ifndef CBCE_TEST_CHECK_H
#define CBCE_TEST_CHECK_H

#include <stdio.h>

static long g_pass, g_fail;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (cond) {                                                                        \
            g_pass++;                                                                      \
        } else {                                                                           \
            g_fail++;                                                                      \
            if (g_fail <= 40) {                                                            \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                                \
                printf(__VA_ARGS__);                                                       \
                printf("\n");                                                              \
            }                                                                              \
        }                                                                                  \
    } while (0)

#endif
