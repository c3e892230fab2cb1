/* engine/progress.c — the progress bar of the image commands (val's batches, detect's images),
 * drawn on a log stream as tqdm draws Ultralytics' bars: "DESC: 45% |#########           |
 * 9/20 [1.2s]". On a terminal it is redrawn in place on one line; elsewhere (a file, a pipe) a
 * bar redrawn with carriage returns is noise, so only its final state is written, once. */
#include "engine/engine.h"

#include <stdio.h>
#include <unistd.h>

int sn_progress_tty(FILE *log) { return log && isatty(fileno(log)); }

void sn_progress_draw(FILE *log, const char *desc, int done, int total, double t0) {
    int tty = sn_progress_tty(log);
    if (!log || (done < total && !tty))
        return;
    int w = 20, k = total > 0 ? done * w / total : w;
    char bar[64];
    for (int i = 0; i < w; i++)
        bar[i] = i < k ? '#' : ' ';
    bar[w] = 0;
    fprintf(log, "%s%s: %3d%% |%s| %d/%d [%.1fs]", tty ? "\r" : "", desc,
            total > 0 ? 100 * done / total : 100, bar, done, total, sn_rt_now() - t0);
    if (done == total)
        fputc('\n', log);
    fflush(log);
}

void sn_progress_clear(FILE *log) {
    if (sn_progress_tty(log))
        fputs("\r\033[K", log);
}
