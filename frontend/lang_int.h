/* frontend/lang_int.h — what the model-language files share (lex.c, parse.c, elab.c,
 * builtins.c, diag.c, model.c). Nothing outside frontend/ includes this.
 *
 * Pipeline of one load (all memory in one LArena, freed at once):
 *   sn_lang_load_file   read a .sn file into a Src (diag.c keeps the file table)
 *   sn_lang_lex         bytes → Tok array (NEWLINE tokens end statements outside ( and [)
 *   sn_lang_parse       Tok array → Items (blocks, fns, model) added to the Prog; `use` loads
 *                       further files
 *   sn_lang_check       static checks over every block/fn/model: unknown names, arity,
 *                       keywords — reports many errors before anything runs
 *   sn_lang_elab        runs the model: layer table, scale rules, blocks expanded into IR
 *
 * Limits (fuzzing safety): every loop and recursion below is bounded by one of the LANG_MAX_*
 * constants; every error is a status plus a diagnostic, never an abort.
 */
#ifndef SN_LANG_INT_H
#define SN_LANG_INT_H

#include "frontend/frontend.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- limits */

#define LANG_MAX_FILE_BYTES (1 << 20)      /* a .sn file */
#define LANG_MAX_FILES 32                  /* files per load (main + `use`d) */
#define LANG_MAX_ERRORS 20                 /* diagnostics before giving up */
#define LANG_MAX_PARSE_DEPTH 200           /* nested expressions / statements in the parser */
#define LANG_MAX_CALL_DEPTH 48             /* nested block / fn calls while elaborating */
#define LANG_MAX_EVAL_DEPTH 3000           /* C recursion while elaborating (expr + stmt) */
#define LANG_MAX_STEPS 10000000            /* evaluation steps (and list elements made) per load */
#define LANG_MAX_LIST 1000000              /* elements in one list */
#define LANG_MAX_NODES 400000              /* IR nodes per graph */
#define LANG_MAX_ARENA ((size_t)256 << 20) /* bytes of one load's arena */
#define LANG_MAX_DIM ((int64_t)1 << 24)    /* any tensor dimension */
#define LANG_MAX_LAYERS 1024
#define LANG_MAX_LIST_DEPTH 32            /* lists of lists of … */
#define LANG_MAX_NUMEL ((int64_t)1 << 42) /* elements of any tensor */

/* ---------------------------------------------------------------- arena */

typedef struct LArenaBlock LArenaBlock;
typedef struct LArena {
    LArenaBlock *head;
    size_t total; /* bytes allocated from the system */
    bool failed;  /* an allocation hit LANG_MAX_ARENA or malloc failed */
} LArena;

/* Zeroed memory, or NULL (and A->failed) past the limit. */
void *sn_lang_alloc(LArena *A, size_t n);
char *sn_lang_strdup(LArena *A, const char *s, size_t n);
char *sn_lang_fmt(LArena *A, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sn_lang_arena_free(LArena *A);

/* Growable array in the arena: elements are copied on growth (old storage is abandoned). */
bool sn_lang_grow(LArena *A, void **items, int *cap, int n, size_t elem);
#define LANG_PUSH(A, arr, n, cap, val)                                                             \
    (((n) < (cap) || sn_lang_grow((A), (void **)&(arr), &(cap), (n), sizeof *(arr)))               \
         ? ((arr)[(n)++] = (val), true)                                                            \
         : false)

/* ---------------------------------------------------------------- sources and diagnostics */

typedef struct Src {
    char *path; /* as opened; used in diagnostics */
    char *prov; /* short, location-independent name for provenance: "models/yolov8.sn" */
    char *text; /* NUL-terminated copy; may contain other NUL bytes */
    size_t len;
} Src;

typedef struct Loc {
    int file;      /* index into Diag.files; -1 = none */
    int line, col; /* 1-based; col counts bytes */
} Loc;

typedef struct Diag {
    FILE *out;
    Src *files[LANG_MAX_FILES];
    int nfiles;
    int nerr;
    bool capped; /* the "too many errors" line was printed */
} Diag;

/* "file:line:col: error: msg", the source line, a caret. Counts towards LANG_MAX_ERRORS. */
void sn_lang_error(Diag *D, Loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void sn_lang_verror(Diag *D, Loc loc, const char *kind, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 0)))
#endif
    ;
/* Same shape with "note:"; does not count. */
void sn_lang_note(Diag *D, Loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Error without a location ("error: …"). */
void sn_lang_error_plain(Diag *D, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* True once an error past the limit was attempted (and "too many errors" printed). */
static inline bool sn_lang_too_many(const Diag *D) { return D->nerr > LANG_MAX_ERRORS; }

/* Reads a regular file (at most LANG_MAX_FILE_BYTES) into a new Src registered in D.
 * Returns its index, or -1 with *why set to a short reason ("No such file or directory"). */
int sn_lang_src_add(Diag *D, LArena *A, const char *path, const char **why);
/* Provenance text "models/yolov8.sn:12:5" (arena string). */
const char *sn_lang_loc_prov(Diag *D, LArena *A, Loc loc);

/* ---------------------------------------------------------------- tokens */

typedef enum TokKind {
    TK_EOF,
    TK_NEWLINE, /* end of a statement: '\n' outside ( and [, or ';' */
    TK_IDENT,
    TK_KEYWORD,
    TK_INT,
    TK_FLOAT,
    TK_STR,
    TK_PUNCT,
    TK_ERROR, /* a lexical error (already reported): the parser fails quietly on it */
} TokKind;

typedef struct Tok {
    TokKind kind;
    Loc loc;
    const char *text; /* IDENT/KEYWORD/PUNCT: interned spelling; STR: decoded value */
    int64_t ival;
    double fval;
} Tok;

/* Hash of an interned string's pointer (for pointer-keyed tables). */
static inline uint32_t sn_lang_ptr_hash(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* A hash set of strings (open addressing, in the arena). As the interner: equal spelling ⇔
 * equal pointer. Zero-initialised = empty. */
typedef struct Interner {
    const char **slots;
    int cap, count;
} Interner;
/* The one copy of s[0..n) in I (added, copied into A, when absent); NULL on out-of-memory. */
const char *sn_lang_intern(Interner *I, LArena *A, const char *s, size_t n);
/* Adds s itself (not a copy: it must live as long as I) to I. 0: added, 1: already there,
 * -1: out of memory. */
int sn_lang_set_add(Interner *I, LArena *A, const char *s);

/* Tokenizes src (file index `file`). Lexical errors are reported and skipped. Returns the
 * token array (ending in TK_EOF) and its length, or NULL on out-of-memory. */
Tok *sn_lang_lex(Diag *D, LArena *A, Interner *I, int file, int *ntok);

/* ---------------------------------------------------------------- syntax tree */

typedef struct Expr Expr;
typedef struct Stmt Stmt;
typedef struct Decl Decl;

typedef enum ExprKind {
    EX_INT,
    EX_FLOAT,
    EX_STR,
    EX_BOOL,
    EX_NONE,
    EX_NAME,
    EX_LIST,
    EX_NEG,
    EX_POS,
    EX_NOT,
    EX_BINARY, /* op: one of the BinOp values */
    EX_AND,
    EX_OR,
    EX_COND, /* a ? b : c */
    EX_CALL,
    EX_INDEX, /* a[b] */
} ExprKind;

typedef enum BinOp {
    BIN_ADD,
    BIN_SUB,
    BIN_MUL,
    BIN_DIV,
    BIN_FLOORDIV,
    BIN_MOD,
    BIN_POW,
    BIN_EQ,
    BIN_NE,
    BIN_LT,
    BIN_LE,
    BIN_GT,
    BIN_GE,
    BIN_IN,
    BIN_NOTIN,
} BinOp;

/* `as` path: a.b[expr].c — each segment is a name or an index expression. */
typedef struct PathSeg {
    const char *name; /* NULL for an index segment */
    Expr *index;
    Loc loc;
} PathSeg;

typedef struct Path {
    PathSeg *seg;
    int n;
    Loc loc;
} Path;

typedef struct Arg {
    const char *kw; /* keyword name, or NULL for a positional argument */
    Expr *value;
    Loc loc;
} Arg;

struct Expr {
    ExprKind kind;
    Loc loc;
    BinOp op;
    int64_t ival;     /* EX_INT, EX_BOOL */
    double fval;      /* EX_FLOAT */
    const char *name; /* EX_NAME, EX_CALL callee; EX_STR value */
    Expr *a, *b, *c;  /* operands */
    Expr **items;     /* EX_LIST */
    int nitems;
    Arg *args; /* EX_CALL */
    int nargs;
    Path *as;     /* EX_CALL: module instance name, or NULL */
    Decl *callee; /* EX_CALL: resolved by sn_lang_check */
};

typedef enum StmtKind {
    ST_ASSIGN, /* t1, t2 = value (ntargets >= 1) */
    ST_IF,
    ST_FOR,
    ST_RETURN,
    ST_EXPR, /* a call evaluated for its effect (assert) */
} StmtKind;

typedef struct StmtList {
    Stmt **items;
    int n;
} StmtList;

struct Stmt {
    StmtKind kind;
    Loc loc;
    const char **targets; /* ST_ASSIGN names; ST_FOR: targets[0] is the loop variable */
    Loc *target_locs;
    int ntargets;
    Expr *value;     /* ASSIGN value, IF condition, FOR iterable, RETURN value, EXPR */
    StmtList body;   /* IF then-part, FOR body */
    StmtList orelse; /* IF else-part (an `else if` is one nested ST_IF) */
};

typedef enum ParamRole { ROLE_NONE, ROLE_CH, ROLE_REP } ParamRole;

typedef struct Param {
    const char *name;
    ParamRole role;
    Expr *def; /* default value or NULL */
    Loc loc;
} Param;

typedef enum DeclKind { DECL_BLOCK, DECL_FN, DECL_BUILTIN } DeclKind;

struct Builtin;

struct Decl {
    DeclKind kind;
    const char *name;
    Loc loc;
    Param *params;
    int nparams;
    bool variadic;                 /* builtin `(...)`: positional only, any count */
    StmtList body;                 /* DECL_BLOCK */
    Expr *expr;                    /* DECL_FN */
    const struct Builtin *builtin; /* DECL_BUILTIN */
    Decl *next_same;               /* hash chain */
};

typedef struct ScaleRow {
    const char *name;
    Expr *value;
    Loc loc;
} ScaleRow;

typedef struct LayerLine {
    int index; /* as written */
    Loc loc;   /* of the index */
    Expr *from;
    Expr *repeats;
    Expr *call; /* EX_CALL */
} LayerLine;

typedef struct ModelDecl {
    const char *name;
    Loc loc;
    StmtList props; /* `name = expr` lines in order, `nc` among them */
    ScaleRow *scales;
    int nscales;
    Loc scales_loc;
    bool has_scales;
    LayerLine *layers;
    int nlayers;
    Loc layers_loc;
} ModelDecl;

/* The whole program of one load. */
typedef struct Prog {
    Diag *D;
    LArena *A;
    Interner I;
    Decl **decls; /* open hash by interned name (pointer hash), cap ndecls_cap */
    int decls_cap, ndecls;
    Decl **order; /* every Decl in definition order (builtins first) */
    int norder, order_cap;
    ModelDecl *model; /* of the main file */
    int main_file;
    int parse_depth;
    const char *kw[32]; /* interned keywords, see lex.c */
} Prog;

Decl *sn_lang_decl_find(Prog *P, const char *interned_name);
/* Adds a decl; reports a redefinition. */
bool sn_lang_decl_add(Prog *P, Decl *d);

/* Parses one file (already registered as D->files[file]) into P: items are added, `use`
 * files are loaded and parsed recursively. Returns false if any error was reported. */
bool sn_lang_parse_file(Prog *P, int file, bool is_main);
/* Parses the builtin prelude (builtins.c's signatures) into P. */
bool sn_lang_parse_prelude(Prog *P, const char *text);

/* Static checks (names, calls, arity). Returns false if any error was reported. */
bool sn_lang_check(Prog *P);

/* ---------------------------------------------------------------- values (elaboration) */

typedef enum ValKind {
    VAL_NONE,
    VAL_BOOL,
    VAL_INT,
    VAL_FLOAT,
    VAL_STR,
    VAL_LIST,
    VAL_TENSOR
} ValKind;

typedef struct VList VList;
typedef struct Value {
    ValKind k;
    union {
        bool b;
        int64_t i;
        double f;
        const char *s;
        VList *l;
        int32_t t; /* IR node index */
    } u;
} Value;

struct VList {
    int n;
    int depth; /* nesting: 1 + the deepest element list (bounded by LANG_MAX_LIST_DEPTH) */
    Value v[];
};

typedef struct Frame Frame;
typedef struct Elab Elab;

/* What a builtin sees of its call. */
typedef struct CallCtx {
    Elab *E;
    Frame *F;
    Loc loc;          /* of the call */
    const char *path; /* module path of the call: prefix + `as` path ("model.0.conv"), or
                         the enclosing prefix when there is no `as` */
    bool has_as;
    Loc argloc[16]; /* location of each bound parameter's argument (call loc if default) */
} CallCtx;

typedef int (*BuiltinFn)(CallCtx *c, Value *args, Value *out);

typedef struct Builtin {
    const char *name;
    BuiltinFn fn;
    bool makes_params; /* creates PARAMs (conv2d, batchnorm2d): `as` names a module */
} Builtin;

extern const Builtin sn_lang_builtins[];
extern const int sn_lang_nbuiltins;
extern const char sn_lang_prelude[];

struct Frame {
    Frame *caller;
    Decl *decl;         /* NULL for the model frame */
    Loc call_loc;       /* where this frame was called from */
    const char *prefix; /* module path of this frame ("model.2.m.0"), "" for the model frame */
    const char **names;
    Value *vals;
    int nvars, cap;
    int32_t *slots; /* open-addressing index over names (interned pointers): var + 1, 0 = empty */
    int nslots;
};

struct Elab {
    bool abort; /* a global limit was hit (steps, memory, nodes): stop everything */
    Prog *P;
    Diag *D;
    LArena *A;
    sn_ir_graph *g;
    int64_t steps;
    int call_depth, eval_depth;
    int batch, height, width;
    int nc;
    Interner pnames; /* the parameter names made so far: they must be unique */
};

/* Error at loc with the call stack of F as notes. Always returns -1. */
int sn_lang_eerr(Elab *E, Frame *F, Loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
const char *sn_lang_type_name(const Value *v);
/* Python-like repr into the arena ("[3, 16, 3, 2]", "True", "'nearest'"). */
const char *sn_lang_repr(LArena *A, const Value *v);
/* A new list of n elements (uninitialised values set to none); NULL after reporting. */
VList *sn_lang_list_new(Elab *E, Frame *F, Loc loc, int n);
/* Sets l->depth from its elements; -1 (reported) when nesting exceeds the limit. */
int sn_lang_list_seal(Elab *E, Frame *F, Loc loc, VList *l);
/* Number of elements of shape dims (n of them), or -1 if over LANG_MAX_NUMEL. */
int64_t sn_lang_numel(const int64_t *d, int n);

/* Node helpers for builtins (set the node's name to c->path; report IR errors at c's loc). */
int32_t sn_lang_node(CallCtx *c, sn_op op, const int32_t *in, int nin, const int64_t *ia, int nia,
                     const double *fa, int nfa, const sn_shape *shape);
int32_t sn_lang_param(CallCtx *c, const char *leaf, const sn_shape *shape, sn_ir_init init);
const sn_shape *sn_lang_shape(Elab *E, int32_t t);

/* Tensor arithmetic shared with the evaluator (x op y, either may be a scalar). */
int sn_lang_tensor_binary(CallCtx *c, sn_op op, const Value *x, const Value *y, Value *out);

/* Runs the model into a fresh graph. Fills m->layers. Returns SN_OK or SN_ERR_INVALID. */
sn_status sn_lang_elab(Prog *P, const sn_fe_options *o, const char *scale, sn_fe_model *m);

#endif /* SN_LANG_INT_H */
