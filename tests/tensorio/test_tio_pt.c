/* Ultralytics .pt checkpoints: files made by torch and Ultralytics (tests/tensorio/pt/gen_pt.py)
 * read back exactly (names and order as torch's state_dict(), shapes, every value, nc, names,
 * family, scale), bound to a graph by sn_io_weights_load, and hostile input refused with a
 * message naming the file and what is wrong: a global off the allow-list ('os.system'),
 * cycles, bad zips, every truncation, byte flips; and the unpickler alone on hand-written
 * pickles (bad opcodes, huge lengths, deep nesting, memo abuse, bad tensor views). */
#include "check.h"
#include "io/io_int.h"

#define PT SN_SOURCE_DIR "/tests/tensorio/pt/"

static char err[4096];

/* 0 when this build has no libzip: the zip-level checks are skipped (the unpickler's run) */
static int have_zip;

static const sn_io_tensor *find(const sn_io_tensors *ts, const char *name) {
    for (int i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0)
            return &ts->t[i];
    return NULL;
}

/* gen_pt.py's fill(): the float tensor at state_dict position pos */
static float filled(int64_t i, int pos) { return (float)((13 * i + 7 * pos) % 61 - 30) / 8.0f; }

/* ---------------------------------------------------------------- real files */

/* tiny_train.txt: "name d0,d1,…" per line, torch's state_dict order */
typedef struct expect {
    char name[128];
    sn_shape shape;
} expect;

static int read_expect(expect *e, int cap) {
    size_t len;
    char *txt = read_file(PT "tiny_train.txt", &len);
    if (!txt) {
        perror(PT "tiny_train.txt");
        exit(2);
    }
    int n = 0;
    for (char *line = txt; *line && n < cap;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char dims[64] = "";
        if (sscanf(line, "%127s %63s", e[n].name, dims) >= 1) {
            e[n].shape.ndim = 0;
            for (char *d = dims; *d;) {
                e[n].shape.d[e[n].shape.ndim++] = strtoll(d, &d, 10);
                if (*d == ',')
                    d++;
            }
            n++;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(txt);
    return n;
}

static void tiny_checkpoint(const char *file, const char *source) {
    expect ex[128];
    int ne = read_expect(ex, 128);
    CHECK(ne == 50);
    sn_io_tensors ts;
    sn_io_pt_meta m;
    sn_status s = sn_io_pt_read(file, &ts, &m, err, sizeof err);
    CHECKF(s == SN_OK, "%s: %s", file, err);
    if (s != SN_OK)
        return;
    CHECKF(ts.n == ne, "%s: %d tensors, expected %d", file, ts.n, ne);
    for (int i = 0; i < ts.n && i < ne; i++) {
        const sn_io_tensor *t = &ts.t[i];
        CHECKF(strcmp(t->name, ex[i].name) == 0, "%s: tensor %d is %s, torch says %s", file, i,
               t->name, ex[i].name);
        CHECKF(sn_shape_eq(&t->shape, &ex[i].shape), "%s: %s: shape", file, t->name);
        CHECK(t->dtype == SN_DTYPE_F32);
        const float *d = t->data;
        int bad = 0;
        for (int64_t k = 0; k < sn_shape_numel(&t->shape); k++)
            bad += d[k] != filled(k, i);
        CHECKF(!bad, "%s: %s: %d values differ from gen_pt.py's fill()", file, t->name, bad);
    }
    CHECK(m.nc == 2);
    CHECK(m.nnames == 2);
    if (m.nnames == 2) {
        CHECK(strcmp(m.names[0], "cat") == 0);
        CHECK(strcmp(m.names[1], "d\xc3\xb6g") == 0);
    }
    CHECKF(strcmp(m.family, "yolov8") == 0, "family '%s' (from the yaml's C2f)", m.family);
    CHECK(strcmp(m.scale, "n") == 0);
    CHECK(m.yaml_file[0] == '\0');
    CHECKF(strcmp(m.source, source) == 0, "%s: source %s", file, m.source);
    sn_io_pt_meta_free(&m);
    CHECK(m.names == NULL && m.nnames == 0);
    sn_io_tensors_free(&ts);

    /* metadata only */
    s = sn_io_pt_read(file, NULL, &m, err, sizeof err);
    CHECK(s == SN_OK && m.nc == 2);
    sn_io_pt_meta_free(&m);

    /* bound to a graph with the same parameters, in another order; then one missing */
    sn_ir_graph *g = sn_ir_graph_new();
    for (int i = ne - 1; i >= 0; i--)
        CHECK(sn_ir_param(g, ex[i].name, &ex[i].shape, SN_IR_INIT_CONV_WEIGHT) >= 0);
    s = sn_io_weights_load(g, file, err, sizeof err);
    CHECKF(s == SN_OK, "weights_load %s: %s", file, err);
    for (int i = 0; s == SN_OK && i < ne; i++) {
        const sn_ir_node *nd = &g->nodes[sn_ir_find_param(g, ex[i].name)];
        const float *d = nd->data;
        int bad = !d;
        for (int64_t k = 0; d && k < sn_shape_numel(&nd->shape); k++)
            bad += d[k] != filled(k, i);
        CHECKF(!bad, "weights_load %s: %s", file, ex[i].name);
    }
    sn_ir_graph_free(g);
    g = sn_ir_graph_new();
    for (int i = 1; i < ne; i++)
        sn_ir_param(g, ex[i].name, &ex[i].shape, SN_IR_INIT_CONV_WEIGHT);
    s = sn_io_weights_load(g, file, err, sizeof err);
    CHECK(s == SN_ERR_INVALID);
    CHECK_HAS(err, "1 extra");
    CHECK_HAS(err, ex[0].name);
    sn_ir_graph_free(g);
}

static void state_dict_file(const char *file) {
    sn_io_tensors ts;
    sn_io_pt_meta m;
    sn_status s = sn_io_pt_read(file, &ts, &m, err, sizeof err);
    CHECKF(s == SN_OK, "%s", err);
    if (s != SN_OK)
        return;
    static const char *order[] = {"weight",   "bias",         "b.f16",      "c.bf16",
                                  "d.f64",    "e.transposed", "f.shared_a", "f.shared_b",
                                  "g.scalar", "h.empty"};
    CHECK(ts.n == 10);
    for (int i = 0; i < ts.n && i < 10; i++)
        CHECKF(strcmp(ts.t[i].name, order[i]) == 0, "tensor %d: %s", i, ts.t[i].name);
    CHECK(!find(&ts, "bn.num_batches_tracked"));
    struct {
        const char *name;
        sn_shape shape;
        float v[8];
    } want[] = {
        {"weight", {2, {2, 2}}, {1, 2, 3, 4}},
        {"bias", {1, {2}}, {0.5f, -0.5f}},
        {"b.f16", {1, {4}}, {1, -2, 0.5f, 65504}},
        {"c.bf16", {2, {2, 2}}, {1, -1, 3.5f, 0.125f}},
        {"d.f64", {1, {3}}, {(float)0.1, INFINITY, 2.5f}},
        {"e.transposed", {2, {3, 2}}, {0, 3, 1, 4, 2, 5}},
        {"f.shared_a", {1, {2}}, {1, 2}},
        {"f.shared_b", {1, {5}}, {0, 1, 2, 3, 4}},
        {"g.scalar", {0, {0}}, {7}},
        {"h.empty", {2, {0, 3}}, {0}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const sn_io_tensor *t = find(&ts, want[i].name);
        CHECKF(t, "%s missing", want[i].name);
        if (!t)
            continue;
        CHECKF(sn_shape_eq(&t->shape, &want[i].shape), "%s: shape", want[i].name);
        const float *d = t->data;
        for (int64_t k = 0; k < sn_shape_numel(&t->shape); k++)
            CHECKF(d[k] == want[i].v[k], "%s[%lld] = %g, want %g", want[i].name, (long long)k, d[k],
                   want[i].v[k]);
    }
    CHECK(m.nc == 0 && m.nnames == 0 && !m.names && !m.family[0] && !m.scale[0]);
    CHECK(strcmp(m.source, "state_dict") == 0);
    sn_io_pt_meta_free(&m);
    sn_io_tensors_free(&ts);
}

static void module_file(void) {
    sn_io_tensors ts;
    sn_io_pt_meta m;
    sn_status s = sn_io_pt_read(PT "module.pt", &ts, &m, err, sizeof err);
    CHECKF(s == SN_OK, "%s", err);
    if (s != SN_OK)
        return;
    static const char *names[] = {"0.weight", "0.bias",         "1.weight",
                                  "1.bias",   "1.running_mean", "1.running_var"};
    CHECK(ts.n == 6);
    for (int i = 0; i < ts.n && i < 6; i++) {
        CHECKF(strcmp(ts.t[i].name, names[i]) == 0, "tensor %d: %s", i, ts.t[i].name);
        const float *d = ts.t[i].data;
        for (int64_t k = 0; k < sn_shape_numel(&ts.t[i].shape); k++)
            CHECK(d[k] == filled(k, i));
    }
    CHECK(strcmp(m.source, "module") == 0);
    sn_io_pt_meta_free(&m);
    sn_io_tensors_free(&ts);
}

/* Everything else a checkpoint may hold beside its model (datetime, bytes, numpy, Path,
 * Namespace, torch.device, set, a big int, torch.Size) is allowed and left alone. */
static void extras_file(void) {
    sn_io_tensors ts;
    sn_io_pt_meta m;
    sn_status s = sn_io_pt_read(PT "extras.pt", &ts, &m, err, sizeof err);
    CHECKF(s == SN_OK, "%s", err);
    if (s != SN_OK)
        return;
    CHECK(ts.n == 2 && strcmp(ts.t[0].name, "0.weight") == 0 &&
          strcmp(ts.t[1].name, "0.bias") == 0);
    for (int i = 0; i < ts.n; i++)
        CHECK(((const float *)ts.t[i].data)[0] == filled(0, i));
    CHECK(strcmp(m.source, "model") == 0);
    sn_io_pt_meta_free(&m);
    sn_io_tensors_free(&ts);
}

/* ---------------------------------------------------------------- refusals */

static void refused(const char *file, sn_status want, const char *sub) {
    sn_io_tensors ts = {(sn_io_tensor *)1, 1};
    sn_io_pt_meta m;
    m.nnames = 7;
    err[0] = '\0';
    sn_status s = sn_io_pt_read(file, &ts, &m, err, sizeof err);
    CHECKF(s == want, "%s: status %s (%s)", file, sn_status_str(s), err);
    CHECK_HAS(err, file);
    CHECK_HAS(err, sub);
    CHECK(ts.n == 0 && ts.t == NULL);
    CHECK(m.nnames == 0 && m.names == NULL);
}

static void refusals(void) {
    refused(PT "os_system.pt", SN_ERR_INVALID, "refusing the global 'os.system'");
    refused(PT "cycle.pt", SN_ERR_INVALID, "nested deeper than");
    refused(PT "no_pkl.pt", SN_ERR_INVALID, "data.pkl");
    refused(PT "deflated.pt", SN_ERR_INVALID, "compressed");
    refused(PT "big_endian.pt", SN_ERR_UNSUPPORTED, "byte order 'big'");
    refused(PT "short_storage.pt", SN_ERR_INVALID, "which holds 3");
    refused(PT "legacy.pt", SN_ERR_UNSUPPORTED, "legacy (non-zip)");
    refused(PT "torchscript.pt", SN_ERR_INVALID, "TorchScript");
    refused(PT "int_weight.pt", SN_ERR_INVALID, "tensor 'x' holds LongStorage");
    refused(PT "tiny_train.txt", SN_ERR_INVALID, "not a .pt checkpoint");
    refused(PT "nonexistent.pt", SN_ERR_IO, "nonexistent.pt");

    /* --weights with a refused .pt: the graph keeps its data, the message is the reader's */
    sn_ir_graph *g = sn_ir_graph_new();
    sn_ir_param(g, "x", &(sn_shape){1, {3}}, SN_IR_INIT_CONV_WEIGHT);
    CHECK(sn_io_weights_load(g, PT "os_system.pt", err, sizeof err) == SN_ERR_INVALID);
    CHECK_HAS(err, "'os.system'");
    CHECK(sn_io_weights_load(g, PT "legacy.pt", err, sizeof err) == SN_ERR_UNSUPPORTED);
    CHECK_HAS(err, "legacy");
    CHECK(g->nodes[sn_ir_find_param(g, "x")].data == NULL);
    sn_ir_graph_free(g);
}

/* A refused parse leaves nothing and names the source; an accepted one is sane. */
static void parse_sane(const uint8_t *b, size_t n, int *accepted) {
    sn_io_tensors ts;
    sn_io_pt_meta m;
    err[0] = '\0';
    sn_status s = sn_io_pt_parse(b, n, "fuzzed", &ts, &m, err, sizeof err);
    if (s != SN_OK) {
        CHECKF(strncmp(err, "fuzzed", 6) == 0, "message '%s'", err);
        CHECK(ts.n == 0 && !ts.t && !m.names);
        return;
    }
    (*accepted)++;
    for (int i = 0; i < ts.n; i++) {
        CHECK(ts.t[i].name && ts.t[i].data && ts.t[i].shape.ndim <= SN_MAX_DIMS);
        volatile float sink = 0; /* touch every element (ASan) */
        for (int64_t k = 0; k < sn_shape_numel(&ts.t[i].shape); k++)
            sink += ((const float *)ts.t[i].data)[k];
        (void)sink;
    }
    for (int i = 0; i < m.nnames; i++)
        CHECK(m.names[i] != NULL);
    sn_io_pt_meta_free(&m);
    sn_io_tensors_free(&ts);
}

static void damaged(const char *file, size_t prefix_step) {
    size_t n;
    uint8_t *b = (uint8_t *)read_file(file, &n);
    CHECKF(b, "%s", file);
    if (!b)
        return;
    int accepted = 0;
    for (size_t k = 0; k < n; k += prefix_step) { /* truncations */
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, b, k);
        parse_sane(cut, k, &accepted);
        free(cut);
    }
    CHECKF(accepted == 0, "%s: a truncated file was accepted", file);
    for (size_t k = 0; k < n; k += prefix_step) { /* one byte flipped */
        uint8_t *m = malloc(n);
        memcpy(m, b, n);
        m[k] ^= (uint8_t)(0x5a ^ k);
        parse_sane(m, n, &accepted);
        free(m);
    }
    free(b);
}

/* ---------------------------------------------------------------- the unpickler alone */

static sn_status unpickle(const void *b, size_t n) {
    sn_io_pickle *p;
    const sn_io_pkv *root;
    err[0] = '\0';
    sn_status s = sn_io_pickle_load(b, n, "t.pkl", &p, &root, err, sizeof err);
    if (s == SN_OK)
        CHECK(p && root);
    else
        CHECK(!p && !root && strncmp(err, "t.pkl: pickle byte ", 19) == 0);
    sn_io_pickle_free(p);
    return s;
}

#define PKL(s) (s), sizeof(s) - 1

static void pickle_refusals(void) {
    /* globals off the allow-list, both ways of naming them */
    CHECK(unpickle(PKL("\x80\x02\x63os\nsystem\nX\x02\x00\x00\x00ls\x85R.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "'os.system'");
    CHECK(unpickle(PKL("\x80\x04\x8c\x08\x62uiltins\x8c\x04\x65val\x93.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "'builtins.eval'");
    CHECK(unpickle(PKL("\x80\x02\x63posix\nsystem\n.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "'posix.system'");
    CHECK(unpickle(PKL("\x80\x02\x63__builtin__\ngetattr\n.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "'__builtin__.getattr'");
    CHECK(unpickle(PKL("\x80\x02\x63torch.nn.modulesX\nFoo\n.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "'torch.nn.modulesX.Foo'");
    CHECK(unpickle(PKL("\x80\x02\x63torch.nn\nmodules\n.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x63subprocess\nPopen\n.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x63torch\nload\n.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "'torch.load'");
    /* a GLOBAL name with a control character or no end */
    CHECK(unpickle(PKL("\x80\x02\x63os\x01\nsystem\n.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x63os")) == SN_ERR_INVALID);

    /* opcodes */
    CHECK(unpickle(PKL("\x80\x02\xff.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "unknown opcode 0xff");
    CHECK(unpickle(PKL("\x80\x02I01\n.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "INT");
    CHECK(unpickle(PKL("\x80\x02\x82\x01.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "EXT1");
    CHECK(unpickle(PKL("\x80\x06N.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "protocol 6");
    CHECK(unpickle(PKL("")) == SN_ERR_INVALID);
    CHECK_HAS(err, "truncated");
    CHECK(unpickle(PKL("\x80\x02N")) == SN_ERR_INVALID); /* no STOP */

    /* huge lengths: never allocated, refused as truncated */
    CHECK(unpickle(PKL("\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "truncated");
    CHECK(unpickle(PKL("\x80\x02X\xff\xff\xff\xff"
                       "ab.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x8b\xff\xff\xff\x7f.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN.")) == SN_ERR_INVALID);

    /* stack and memo misuse */
    CHECK(unpickle(PKL("\x80\x02.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02NN.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x61.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02N\x61.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02t.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "MARK");
    CHECK(unpickle(PKL("\x80\x02(N.")) == SN_ERR_INVALID); /* a mark left */
    CHECK(unpickle(PKL("\x80\x02(Ns.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x80\x02NNs.")) == SN_ERR_INVALID); /* SETITEM on None */
    CHECK(unpickle(PKL("\x80\x02](NNu.")) == SN_ERR_INVALID);       /* SETITEMS on a list */
    CHECK(unpickle(PKL("\x80\x02}(Nu.")) == SN_ERR_INVALID);        /* odd SETITEMS */
    CHECK(unpickle(PKL("\x80\x02j\x07\x00\x00\x00.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "memo entry 7");
    CHECK(unpickle(PKL("\x80\x02Nr\xff\xff\xff\xff\x30j\xff\xff\xff\xff.")) == SN_OK);

    /* REDUCE / NEWOBJ / BUILD / BINPERSID on the wrong things */
    CHECK(unpickle(PKL("\x80\x02N)R.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02\x63torch._utils\n_rebuild_tensor_v2\n)\x81.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "is not a class");
    CHECK(unpickle(PKL("\x80\x02\x63torch\nFloatStorage\n)R.")) == SN_ERR_INVALID);
    CHECK(unpickle(PKL("\x80\x02X\x01\x00\x00\x00xQ.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "persistent id");
    CHECK(unpickle(PKL("\x80\x02\x63torch._utils\n_rebuild_tensor_v2\n)R.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "at least 4 arguments");
    CHECK(unpickle(PKL("\x80\x02NN\x62.")) == SN_OK); /* BUILD on a non-record: dropped */

    /* protocol 2's bytes: _codecs.encode(text, 'latin1') */
    sn_io_pickle *p;
    const sn_io_pkv *r;
    CHECK(sn_io_pickle_load(PKL("\x80\x02\x63_codecs\nencode\nX\x03\x00\x00\x00\xc3\xbf"
                                "aX\x06\x00\x00\x00latin1\x86R."),
                            "t.pkl", &p, &r, err, sizeof err) == SN_OK);
    if (p) {
        CHECK(r->kind == SN_IO_PK_BYTES && r->u.s.n == 2 && memcmp(r->u.s.p, "\xff\x61", 2) == 0);
        sn_io_pickle_free(p);
    }
    CHECK(unpickle(PKL("\x80\x02\x63_codecs\nencode\nX\x02\x00\x00\x00\xc4\x80X\x06\x00\x00"
                       "\x00latin1\x86R.")) == SN_ERR_INVALID);
    CHECK_HAS(err, "not latin-1");
    CHECK(unpickle(PKL("\x80\x02\x63_codecs\nencode\nX\x01\x00\x00\x00\x61X\x05\x00\x00"
                       "\x00utf-8\x86R.")) == SN_ERR_INVALID);
}

/* A storage of 4 floats (persistent id) and _rebuild_tensor_v2(storage, offset, size, stride,
 * False, OrderedDict()) with the view's numbers (pickle bytes, NULs included) spliced in. */
typedef struct bytes {
    const char *p;
    size_t n;
} bytes;
#define B(s) ((bytes){(s), sizeof(s) - 1})

static sn_status tensor_view(bytes offset, bytes size, bytes stride) {
    static const char head[] = "\x80\x02\x63torch._utils\n_rebuild_tensor_v2\n("
                               "(X\x07\x00\x00\x00storage\x63torch\nFloatStorage\n"
                               "X\x01\x00\x00\x00"
                               "0X\x03\x00\x00\x00\x63puK\x04tQ";
    static const char tail[] = "\x89\x63\x63ollections\nOrderedDict\n)RtR.";
    char b[1024];
    size_t n = 0;
    bytes parts[] = {B(head), offset, size, stride, B(tail)};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        memcpy(b + n, parts[i].p, parts[i].n);
        n += parts[i].n;
    }
    return unpickle(b, n);
}

static void pickle_tensors(void) {
    /* in bounds: 2x2 at offset 0 (the last element is 3) */
    CHECK(tensor_view(B("K\x00"), B("K\x02K\x02\x86"), B("K\x02K\x01\x86")) == SN_OK);
    /* one element too far */
    CHECK(tensor_view(B("K\x01"), B("K\x02K\x02\x86"), B("K\x02K\x01\x86")) == SN_ERR_INVALID);
    CHECK_HAS(err, "reaches element 4");
    /* a transposed view of the same 4 */
    CHECK(tensor_view(B("K\x00"), B("K\x02K\x02\x86"), B("K\x01K\x02\x86")) == SN_OK);
    /* empty tensors fit anywhere */
    CHECK(tensor_view(B("K\x09"), B("K\x00K\x02\x86"), B("K\x02K\x01\x86")) == SN_OK);
    /* sizes whose product overflows */
    CHECK(tensor_view(B("K\x00"),
                      B("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x40\x8a\x08\x00\x00\x00\x00\x00"
                        "\x00\x00\x40\x86"),
                      B("K\x01K\x01\x86")) == SN_ERR_INVALID);
    CHECK_HAS(err, "overflows");
    /* negative sizes and mismatched strides */
    CHECK(tensor_view(B("K\x00"), B("J\xff\xff\xff\xff\x85"), B("K\x01\x85")) == SN_ERR_INVALID);
    CHECK(tensor_view(B("K\x00"), B("K\x02\x85"), B("K\x01K\x01\x86")) == SN_ERR_INVALID);
    CHECK_HAS(err, "1 sizes but 2 strides");
}

static void pickle_shapes(void) {
    /* deep nesting: 200000 lists, each appended into the one below (no recursion anywhere) */
    enum { N = 200000 };
    size_t n = 0;
    char *b = malloc(3 * (size_t)N + 8);
    b[n++] = '\x80';
    b[n++] = 2;
    for (int i = 0; i < N; i++)
        b[n++] = ']';
    for (int i = 1; i < N; i++)
        b[n++] = 'a';
    b[n++] = '.';
    CHECK(unpickle(b, n) == SN_OK);
    /* 200000 marks left open */
    n = 2;
    for (int i = 0; i < N; i++)
        b[n++] = '(';
    b[n++] = '.';
    CHECK(unpickle(b, n) == SN_ERR_INVALID);
    free(b);
    /* a list holding itself, a dict holding itself: loaded, freed without recursion */
    CHECK(unpickle(PKL("\x80\x02]q\x00h\x00\x61.")) == SN_OK);
    CHECK(unpickle(PKL("\x80\x02}q\x00h\x00h\x00s.")) == SN_OK);
    /* numbers */
    sn_io_pickle *p;
    const sn_io_pkv *r;
    CHECK(sn_io_pickle_load(PKL("\x80\x02(\x8a\x01\xff\x8a\x02\x00\x80\x8a\x00J\xfe\xff\xff\xff"
                                "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                                "G\x3f\xf8\x00\x00\x00\x00\x00\x00t."),
                            "t.pkl", &p, &r, err, sizeof err) == SN_OK);
    if (p) {
        CHECK(r->kind == SN_IO_PK_TUPLE && r->u.c.n == 6);
        CHECK(r->u.c.v[0]->u.i == -1);
        CHECK(r->u.c.v[1]->u.i == -32768);
        CHECK(r->u.c.v[2]->u.i == 0);
        CHECK(r->u.c.v[3]->u.i == -2);
        CHECK(r->u.c.v[4]->kind == SN_IO_PK_BIGINT);
        CHECK(r->u.c.v[5]->kind == SN_IO_PK_FLOAT && r->u.c.v[5]->u.f == 1.5);
        sn_io_pickle_free(p);
    }
    /* every prefix of a valid pickle is refused, never a crash */
    static const char ok[] = "\x80\x02\x63\x63ollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00"
                             "\x00\x61K\x01X\x01\x00\x00\x00\x62]q\x02(K\x01K\x02\x65u.";
    CHECK(unpickle(ok, sizeof ok - 1) == SN_OK);
    for (size_t k = 0; k + 1 < sizeof ok - 1; k++)
        CHECK(unpickle(ok, k) == SN_ERR_INVALID);
}

int main(void) {
    sn_io_tensors probe;
    sn_status s = sn_io_pt_read(PT "state_dict.pt", &probe, NULL, err, sizeof err);
    have_zip = s != SN_ERR_UNSUPPORTED;
    if (s == SN_OK)
        sn_io_tensors_free(&probe);
    if (have_zip) {
        tiny_checkpoint(PT "tiny_train.pt", "ema");
        tiny_checkpoint(PT "tiny_stripped.pt", "model");
        state_dict_file(PT "state_dict.pt");
        state_dict_file(PT "state_dict_p4.pt");
        module_file();
        extras_file();
        refusals();
        damaged(PT "state_dict.pt", 1);
        damaged(PT "module.pt", 1);
        damaged(PT "tiny_stripped.pt", 97);
    } else {
        printf("tio_pt: built without libzip: checking the unpickler only (%s)\n", err);
    }
    pickle_refusals();
    pickle_tensors();
    pickle_shapes();
    return check_report("tio_pt");
}
