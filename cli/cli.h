/* cli/cli.h — what the `sinter` command's files share. Not a library interface. */
#ifndef SN_CLI_H
#define SN_CLI_H

#include "engine/engine.h"
#include "frontend/frontend.h"

/* Common options of the model-taking commands. */
typedef struct sn_cli_opts {
    const char *model;
    const char *weights; /* "random", "random:SEED" or a path; NULL = random:0 */
    const char *input;   /* .npy */
    const char *output;  /* .npy */
    const char *backend; /* ref | cpu | cuda | NULL = best present */
    const char *dump_dir;
    const char *dtype; /* f32 | f16 | bf16 */
    const char *scale;
    int arch; /* sm_XX for cuda without a device; 0 = the device's */
    int nc;
    int batch;
    int height, width; /* 0 = default (640) */
    int threads;       /* 0 = cores */
    int iters;
    int eager;
    int fused; /* info --fused */
    int json;
    int check_finite; /* run: find the op that produced the first NaN/Inf */
    /* train-step */
    const char *images, *labels, *optimizer, *grads, *ema;
    int steps, accumulate;
    double lr, momentum, weight_decay; /* NAN = not given */
    /* detect */
    const char *source, *project, *name;
    double conf, iou; /* NAN = not given */
    int max_det, agnostic, save_txt, save_conf, nosave;
    int classes[64], nclasses;
    int workers; /* helper threads beside inference: 0, 1 (decode), 2 (and writing); -1 = 2 */
    /* val */
    const char *data, *split;
    int save_json, plots; /* plots: 1 (the default) or 0 with --no-plots */
} sn_cli_opts;

/* Parses "S" or "HxW" into *h, *w. Returns 0 on success. */
int sn_cli_parse_size(const char *s, int *h, int *w);
/* Prints help (to stdout) and returns 1 when argv holds --help or -h; else returns 0. */
int sn_cli_help(int argc, char **argv, const char *help);
/* Parses argv (after the command name) into o. `allowed` lists the option names the command
 * accepts ("--weights --input …"); positional: the model. Prints an error and returns
 * non-zero on a bad or unknown option. */
int sn_cli_parse(int argc, char **argv, const char *cmd, const char *allowed, sn_cli_opts *o);
/* Loads the model with the options' size/batch/nc/scale; prints diagnostics. */
sn_status sn_cli_load(const sn_cli_opts *o, sn_fe_model **m);
/* Refuses, with a message naming the model and its largest layer, a model whose shapes alone
 * need more memory than this machine has available (SINTER_MEMORY_LIMIT overrides: a size,
 * or "none"). copies = how many compiled copies the command holds at once. Call it after
 * sn_cli_load and before weights are generated or loaded. */
sn_status sn_cli_check_memory(const char *cmd, const sn_fe_model *m, int copies);
/* s escaped for the terminal (sn_escape), in one of four rotating static buffers: for up
 * to four user strings in one message. */
const char *sn_cli_show(const char *s);
/* "1,234,567" */
const char *sn_cli_commas(int64_t v, char *buf, size_t n);
/* sn_output_check with model names among the inputs resolved to their files (a zoo name's
 * model file is an input too). */
sn_status sn_cli_output_check(const char *out, const char *const *inputs, int n, char *err,
                              size_t errlen);
/* "cuda" when a GPU is present, else "cpu": the default --backend. */
const char *sn_cli_best_backend(void);
/* The build the options ask for: --backend (a row of the backend table; "ref" too when
 * allow_ref, which leaves b->backend NULL), --eager, --dtype (default f32; refused when the
 * backend does not offer it), --arch, --threads, --dump. Prints the error and returns 2 on a
 * bad choice, else 0. */
int sn_cli_build(const sn_cli_opts *o, const char *cmd, int allow_ref, sn_eng_build *b);
/* The process's start on sn_rt_now's clock (set first thing in main). */
extern double sn_cli_t0;

int sn_cmd_info(int argc, char **argv);
int sn_cmd_run(int argc, char **argv);
int sn_cmd_compile(int argc, char **argv);
int sn_cmd_bench(int argc, char **argv);
int sn_cmd_cache(int argc, char **argv);
int sn_cmd_weights(int argc, char **argv);
int sn_cmd_export(int argc, char **argv);
int sn_cmd_train_step(int argc, char **argv);
int sn_cmd_detect(int argc, char **argv);
int sn_cmd_val(int argc, char **argv);

#endif
