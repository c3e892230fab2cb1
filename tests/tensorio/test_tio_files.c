/* Whole-file reads and atomic writes: errors name the path; a failed write (no directory, the
 * path is a directory, the disk "fills" mid-write via RLIMIT_FSIZE) leaves an existing file
 * byte-for-byte as it was and no temp file behind; modes are kept or follow the umask.
 * Limits: FIFOs and devices are refused as inputs at once (never a blocking open, never an
 * endless read); an output that is one of the inputs is refused; a character device or FIFO
 * as output is written in place; names up to NAME_MAX work; stale temps are cleaned up. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <utime.h>

static char err[1024];

static int file_is(const char *path, const char *content) {
    size_t n;
    unsigned char *b = slurp(path, &n);
    int ok = n == strlen(content) && memcmp(b, content, n) == 0;
    free(b);
    return ok;
}

static void reads(const char *dir) {
    char path[600];
    char *data = (char *)1;
    size_t len = 99;
    snprintf(path, sizeof path, "%s/missing.bin", dir);
    CHECK(sn_read_file(path, &data, &len, err, sizeof err) == SN_ERR_IO);
    CHECK(data == NULL);
    CHECK_HAS(err, path);
    CHECK_HAS(err, strerror(ENOENT));
    CHECK(sn_read_file(dir, &data, &len, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, dir);
    CHECK_HAS(err, "is a directory");
    snprintf(path, sizeof path, "%s/empty.bin", dir);
    put_file(path, "", 0);
    CHECK(sn_read_file(path, &data, &len, err, sizeof err) == SN_OK);
    CHECK(data && len == 0 && data[0] == '\0');
    free(data);
    /* binary content with NULs, larger than any internal chunk */
    size_t big = 3 * 65536 + 17;
    unsigned char *b = malloc(big);
    for (size_t i = 0; i < big; i++)
        b[i] = (unsigned char)(i * 7);
    snprintf(path, sizeof path, "%s/big.bin", dir);
    put_file(path, b, big);
    CHECK(sn_read_file(path, &data, &len, err, sizeof err) == SN_OK);
    CHECK(len == big && memcmp(data, b, big) == 0 && data[big] == '\0');
    free(data);
    free(b);
    unlink(path);
    snprintf(path, sizeof path, "%s/empty.bin", dir);
    unlink(path);
}

static void writes(const char *dir) {
    char path[600];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    /* a new file: content, and mode 0666 & ~umask */
    mode_t old = umask(027);
    CHECK(sn_write_atomic(path, "hello", 5, err, sizeof err) == SN_OK);
    umask(old);
    CHECK(file_is(path, "hello"));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    /* replacing keeps the file's mode */
    chmod(path, 0600);
    CHECK(sn_write_atomic(path, "world!", 6, err, sizeof err) == SN_OK);
    CHECK(file_is(path, "world!"));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(count_entries(dir) == 1);

    /* a missing directory */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/nodir/out.bin", dir);
    CHECK(sn_write_atomic(bad, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, bad);
    CHECK_HAS(err, strerror(ENOENT));
    /* the path is a (non-empty) directory: nothing changes in it or next to it */
    snprintf(bad, sizeof bad, "%s/sub", dir);
    mkdir(bad, 0755);
    char inner[800];
    snprintf(inner, sizeof inner, "%s/inside", bad);
    put_file(inner, "in", 2);
    CHECK(sn_write_atomic(bad, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, bad);
    CHECK(file_is(inner, "in") && count_entries(bad) == 1 && count_entries(dir) == 2);
    /* a path ending in '/' */
    snprintf(bad, sizeof bad, "%s/sub/", dir);
    CHECK(sn_write_atomic(bad, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, bad);
    rm_tree(inner);
    snprintf(bad, sizeof bad, "%s/sub", dir);
    rmdir(bad);
    /* empty path */
    CHECK(sn_write_atomic("", "x", 1, err, sizeof err) == SN_ERR_INVALID);

    /* the write itself fails part-way (file size limit, as a full disk would): the existing
     * file is untouched and the temp file is gone */
    struct rlimit rl, lim;
    getrlimit(RLIMIT_FSIZE, &rl);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = rl;
    lim.rlim_cur = 4096;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    size_t big = 100000;
    char *blob = malloc(big);
    memset(blob, 'z', big);
    sn_status s = sn_write_atomic(path, blob, big, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &rl);
    CHECK(s == SN_ERR_IO);
    CHECK_HAS(err, path);
    CHECK_HAS(err, strerror(EFBIG));
    CHECK(file_is(path, "world!"));
    CHECK(count_entries(dir) == 1);
    /* the same through the safetensors and npy writers */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    sn_io_tensor t = {"w", SN_DTYPE_F32, {1, {25000}}, blob};
    sn_io_tensors ts = {&t, 1};
    s = sn_io_safetensors_write(path, &ts, err, sizeof err);
    sn_shape sh = {1, {25000}};
    sn_status s2 = sn_io_npy_write(path, &sh, (const float *)blob, SN_DTYPE_F32, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &rl);
    signal(SIGXFSZ, prev);
    CHECK(s == SN_ERR_IO && s2 == SN_ERR_IO);
    CHECK_HAS(err, path);
    CHECK(file_is(path, "world!"));
    CHECK(count_entries(dir) == 1);
    free(blob);

    /* a relative path: the temp file goes to the current directory */
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    CHECK(sn_write_atomic("rel.bin", "r", 1, err, sizeof err) == SN_OK);
    CHECK(file_is("rel.bin", "r"));
    CHECK(chdir(cwd) == 0);
    CHECK(count_entries(dir) == 2);
}

/* Non-regular inputs are refused before reading, without blocking: a FIFO with no writer,
 * endless /dev/zero, /dev/null; through every reader. */
static void read_limits(const char *dir) {
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    const char *paths[] = {fifo, "/dev/zero", "/dev/null"};
    for (int i = 0; i < 3; i++) {
        char *data = (char *)1;
        size_t len;
        time_t t0 = time(NULL);
        CHECK(sn_read_file(paths[i], &data, &len, err, sizeof err) == SN_ERR_IO);
        CHECK(data == NULL);
        CHECK_HAS(err, paths[i]);
        CHECK_HAS(err, "not a regular file");
        sn_shape sh;
        float *x = NULL;
        CHECK(sn_io_npy_read(paths[i], &sh, &x, err, sizeof err) == SN_ERR_IO && !x);
        CHECK_HAS(err, "not a regular file");
        sn_io_tensors ts;
        CHECK(sn_io_safetensors_read(paths[i], &ts, err, sizeof err) == SN_ERR_IO && ts.n == 0);
        CHECK_HAS(err, "not a regular file");
        CHECK(time(NULL) - t0 <= 2);
    }
    unlink(fifo);
}

/* The FNV-1a prefix of a destination's temps, as files.c names them. */
static void temp_prefix(const char *base, char out[16]) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)base; *p; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(out, 16, ".sn.%08x.", (unsigned)h);
}

static void write_limits(const char *dir) {
    char in[600], hard[600], sym[600], other[600], path[900];
    snprintf(in, sizeof in, "%s/in.npy", dir);
    snprintf(hard, sizeof hard, "%s/hard.npy", dir);
    snprintf(sym, sizeof sym, "%s/sym.npy", dir);
    snprintf(other, sizeof other, "%s/other.npy", dir);
    put_file(in, "input", 5);
    CHECK(link(in, hard) == 0 && symlink("in.npy", sym) == 0);
    /* output = input, by name, hard link or symlink: refused; inputs that are not files are
     * skipped */
    const char *ins[3] = {"random:0", NULL, in};
    const char *outs[3] = {in, hard, sym};
    for (int i = 0; i < 3; i++) {
        CHECK(sn_output_check(outs[i], ins, 3, err, sizeof err) == SN_ERR_INVALID);
        CHECK_HAS(err, outs[i]);
        CHECK_HAS(err, "same file as the input");
    }
    CHECK(file_is(in, "input"));
    CHECK(sn_output_check(other, ins, 3, err, sizeof err) == SN_OK);
    put_file(other, "x", 1);
    CHECK(sn_output_check(other, ins, 3, err, sizeof err) == SN_OK);
    CHECK(sn_output_check(dir, ins, 3, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, "is a directory");
    CHECK(sn_output_check("", ins, 3, err, sizeof err) == SN_ERR_INVALID);
    unlink(hard);
    unlink(sym);
    unlink(other);
    unlink(in);

    /* a FIFO as output: written in place (with a reader), refused at once without one */
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/out.fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(sn_write_atomic(fifo, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, "no reader");
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
    CHECK(rfd >= 0);
    CHECK(sn_write_atomic(fifo, "piped", 5, err, sizeof err) == SN_OK);
    char got[16] = "";
    CHECK(read(rfd, got, sizeof got) == 5 && memcmp(got, "piped", 5) == 0);
    close(rfd);
    struct stat st;
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(count_entries(dir) == 1);
    unlink(fifo);
    /* a character device: written in place, still a device afterwards. A private node first
     * (root only), so broken code cannot replace the real /dev/null, which root could. */
    char dev[600];
    snprintf(dev, sizeof dev, "%s/null", dir);
    int safe = geteuid() != 0;
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK(sn_write_atomic(dev, "gone", 4, err, sizeof err) == SN_OK);
        safe = lstat(dev, &st) == 0 && S_ISCHR(st.st_mode);
        CHECK(safe);
        unlink(dev);
    }
    if (!safe)
        return;
    CHECK(sn_write_atomic("/dev/null", "gone", 4, err, sizeof err) == SN_OK);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    sn_shape sh = {1, {4}};
    float four[4] = {1, 2, 3, 4};
    CHECK(sn_io_npy_write("/dev/null", &sh, four, SN_DTYPE_F32, err, sizeof err) == SN_OK);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));

    /* names of 250 and NAME_MAX characters: the temp name still fits */
    for (int len = 250; len <= NAME_MAX; len += NAME_MAX - 250) {
        char name[NAME_MAX + 1];
        memset(name, 'n', (size_t)len);
        name[len] = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, name);
        CHECK(sn_write_atomic(path, "long", 4, err, sizeof err) == SN_OK);
        CHECK(file_is(path, "long"));
        CHECK(sn_write_atomic(path, "longer", 6, err, sizeof err) == SN_OK);
        CHECK(file_is(path, "longer"));
        unlink(path);
    }
    CHECK(count_entries(dir) == 0);

    /* stale temps of the destination (a dead writer's, an hour-old one, an old-style one over
     * an hour old) are removed; a live writer's fresh temp and other files are kept */
    char pre[16], t1[900], t2[900], t3[900], live[900], keep[900], fresh_old[900];
    temp_prefix("dest.npy", pre);
    snprintf(path, sizeof path, "%s/dest.npy", dir);
    snprintf(t1, sizeof t1, "%s/%s%d.abcdef", dir, pre, 999999999);
    snprintf(t2, sizeof t2, "%s/%s%d.ghijkl", dir, pre, (int)getpid());
    snprintf(t3, sizeof t3, "%s/.dest.npy.tmp.mnopqr", dir);
    snprintf(live, sizeof live, "%s/%s%d.stuvwx", dir, pre, (int)getpid());
    snprintf(fresh_old, sizeof fresh_old, "%s/.dest.npy.tmp.yzabcd", dir);
    snprintf(keep, sizeof keep, "%s/.sn.keep", dir);
    const char *all[6] = {t1, t2, t3, live, fresh_old, keep};
    for (int i = 0; i < 6; i++)
        put_file(all[i], "t", 1);
    struct utimbuf old = {time(NULL) - 7200, time(NULL) - 7200};
    CHECK(utime(t2, &old) == 0 && utime(t3, &old) == 0);
    CHECK(sn_write_atomic(path, "new", 3, err, sizeof err) == SN_OK);
    CHECK(access(t1, F_OK) != 0 && access(t2, F_OK) != 0 && access(t3, F_OK) != 0);
    CHECK(access(live, F_OK) == 0 && access(fresh_old, F_OK) == 0 && access(keep, F_OK) == 0);
    CHECK(count_entries(dir) == 4);
    unlink(live);
    unlink(fresh_old);
    unlink(keep);
    unlink(path);
}

int main(void) {
    char *dir = make_temp_dir("tio");
    reads(dir);
    read_limits(dir);
    write_limits(dir);
    writes(dir);
    rm_tree(dir);
    free(dir);
    return check_report("tio_files");
}
