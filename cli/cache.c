/* cli/cache.c — `sinter cache stats|clear|path`. */
#include "cli/cli.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

static const char cache_help[] =
    "usage: sinter cache stats|clear|path\n"
    "\n"
    "The kernel cache holds compiled kernels keyed by XXH3-128 of their source, the compiler\n"
    "and its version, the target and Sinter's version. Its directory is $SINTER_CACHE_DIR,\n"
    "else $XDG_CACHE_HOME/sinter, else ~/.cache/sinter.\n"
    "  stats  entries and bytes on disk, and temp files of writes in flight\n"
    "  clear  removes every entry and temp file\n"
    "  path   prints the directory\n"
    "Opening the cache removes temp files that killed writers left (an hour old, or a\n"
    "minute old with the writer gone).\n";

int sn_cmd_cache(int argc, char **argv) {
    if (argc != 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        fputs(cache_help, argc == 1 ? stdout : stderr);
        return argc == 1 ? 0 : 2;
    }
    const char *what = argv[0];
    if (strcmp(what, "stats") && strcmp(what, "clear") && strcmp(what, "path")) {
        fprintf(stderr, "sinter cache: error: unknown action '%s'\n%s", sn_cli_show(what),
                cache_help);
        return 2;
    }
    char err[1024];
    sn_rt_cache *c = NULL;
    if (sn_rt_cache_open(NULL, &c, err, sizeof err) != SN_OK) {
        fprintf(stderr, "sinter cache: error: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (!strcmp(what, "path")) {
        printf("%s\n", sn_rt_cache_dir(c));
    } else if (!strcmp(what, "stats")) {
        sn_rt_cache_stats st;
        if (sn_rt_cache_scan(c, &st) != SN_OK) {
            fprintf(stderr, "sinter cache: error: cannot read %s\n", sn_rt_cache_dir(c));
            rc = 1;
        } else {
            char b[32];
            printf("%s: %lld entries, %s bytes", sn_rt_cache_dir(c), (long long)st.entries,
                   sn_cli_commas(st.bytes, b, sizeof b));
            if (st.temps)
                printf(", %lld temp files", (long long)st.temps);
            if (st.temps_removed)
                printf("; removed %lld stale temp files of killed writers",
                       (long long)st.temps_removed);
            printf("\n");
        }
    } else {
        if (sn_rt_cache_clear(c, err, sizeof err) != SN_OK) {
            fprintf(stderr, "sinter cache: error: %s\n", err);
            rc = 1;
        } else {
            printf("cleared %s\n", sn_rt_cache_dir(c));
        }
    }
    sn_rt_cache_close(c);
    return rc;
}
