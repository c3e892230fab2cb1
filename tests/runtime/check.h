/* tests/runtime/check.h — what the runtime tests share beyond tests/common: checked runtime
 * calls. */
#ifndef SN_TEST_RT_CHECK_H
#define SN_TEST_RT_CHECK_H

#include "runtime/runtime.h"
#include "tests/common/check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A runtime call that must succeed; prints err (a char array in scope) otherwise. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        err[0] = '\0';                                                                             \
        sn_status st_ = (call);                                                                    \
        CHECKF(st_ == SN_OK, "%s -> %d: %s", #call, (int)st_, err);                                \
    } while (0)

#endif
