/* ir/ir_int.h — what the ir module's own files share. Nothing outside ir/ includes this. */
#ifndef SN_IR_INT_H
#define SN_IR_INT_H

#include "ir/ir.h"

#include <stdarg.h>

/* The graph's private part (graph->arena): a bump arena for node input arrays, and a hash
 * table over the string pool so interning is O(1). Node data (PARAM/CONST values) is not in
 * the arena: it is malloc'ed per node so compaction can free dropped weights. */
typedef struct sn_ir_block {
    struct sn_ir_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
} sn_ir_block;

typedef struct sn_ir_priv {
    sn_ir_block *blocks;
    uint32_t *strtab; /* open addressing; 0 = empty slot, else a pool offset */
    uint32_t strtab_cap, strtab_count;
} sn_ir_priv;

/* Arena allocation (zeroed), freed with the graph. NULL on out-of-memory. */
void *sn_ir_arena_alloc(sn_ir_graph *g, size_t n);

/* The op's attribute names, parsed from the op table's "a,b,c*;f" string. */
typedef struct sn_ir_attrs {
    int nint; /* fixed int attrs (for a variadic op: including the list name) */
    int nfloat;
    int variadic; /* the last int name ends in '*' */
    char ints[SN_IR_MAX_IA][24];
    char floats[2][24];
} sn_ir_attrs;
void sn_ir_op_attrs(sn_op op, sn_ir_attrs *out);

/* Shape/dtype inference without writing the node: the core of sn_ir_infer and of the
 * verifier's invariant 3. Error text starts with the op name ("conv2d: …"). */
sn_status sn_ir_infer_node(const sn_ir_graph *g, const sn_ir_node *n, sn_shape *shape,
                           sn_dtype *dtype, char *err, size_t errlen);

/* Row-major element strides of s (entries past ndim are 0), and whether a node's strides
 * are exactly those (the printer leaves contiguous strides out). */
int sn_ir_strides_contiguous(const sn_ir_node *n);

/* Value rounding to a storage dtype (f16/bf16 round-to-nearest-even, i32 truncation). */
float sn_ir_round_dtype(float v, sn_dtype t);

#endif /* SN_IR_INT_H */
