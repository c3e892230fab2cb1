/* sinter_status.h — sn_status, the one status type of Sinter: its API (sinter.h) and every
 * module inside (base/base.h) return it. */
#ifndef SINTER_STATUS_H
#define SINTER_STATUS_H

typedef enum sn_status {
    SN_OK = 0,
    SN_ERR_INVALID, /* bad input: model file, shapes, weights, options, arguments */
    SN_ERR_IO,      /* a file could not be read or written */
    SN_ERR_NOMEM,   /* an allocation failed */
    SN_ERR_COMPILE, /* a generated kernel failed to compile */
    SN_ERR_DEVICE,  /* a device / vendor library call failed */
    SN_ERR_UNSUPPORTED
} sn_status;

#endif
