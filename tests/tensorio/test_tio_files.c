/* Whole-file reads and atomic writes: errors name the path; a failed write (no directory, the
 * path is a directory, the disk "fills" mid-write via RLIMIT_FSIZE) leaves an existing file
 * byte-for-byte as it was and no temp file behind; modes are kept or follow the umask. */
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>

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
    CHECK(sn_fe_read_file(path, &data, &len, err, sizeof err) == SN_ERR_IO);
    CHECK(data == NULL);
    CHECK_HAS(err, path);
    CHECK_HAS(err, strerror(ENOENT));
    CHECK(sn_fe_read_file(dir, &data, &len, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, dir);
    CHECK_HAS(err, "is a directory");
    snprintf(path, sizeof path, "%s/empty.bin", dir);
    put_file(path, "", 0);
    CHECK(sn_fe_read_file(path, &data, &len, err, sizeof err) == SN_OK);
    CHECK(data && len == 0 && data[0] == '\0');
    free(data);
    /* binary content with NULs, larger than any internal chunk */
    size_t big = 3 * 65536 + 17;
    unsigned char *b = malloc(big);
    for (size_t i = 0; i < big; i++)
        b[i] = (unsigned char)(i * 7);
    snprintf(path, sizeof path, "%s/big.bin", dir);
    put_file(path, b, big);
    CHECK(sn_fe_read_file(path, &data, &len, err, sizeof err) == SN_OK);
    CHECK(len == big && memcmp(data, b, big) == 0 && data[big] == '\0');
    free(data);
    /* a non-regular file (size unknown up front) */
    CHECK(sn_fe_read_file("/dev/null", &data, &len, err, sizeof err) == SN_OK && len == 0);
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
    CHECK(sn_fe_write_atomic(path, "hello", 5, err, sizeof err) == SN_OK);
    umask(old);
    CHECK(file_is(path, "hello"));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    /* replacing keeps the file's mode */
    chmod(path, 0600);
    CHECK(sn_fe_write_atomic(path, "world!", 6, err, sizeof err) == SN_OK);
    CHECK(file_is(path, "world!"));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(count_entries(dir) == 1);

    /* a missing directory */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/nodir/out.bin", dir);
    CHECK(sn_fe_write_atomic(bad, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, bad);
    CHECK_HAS(err, strerror(ENOENT));
    /* the path is a (non-empty) directory: nothing changes in it or next to it */
    snprintf(bad, sizeof bad, "%s/sub", dir);
    mkdir(bad, 0755);
    char inner[800];
    snprintf(inner, sizeof inner, "%s/inside", bad);
    put_file(inner, "in", 2);
    CHECK(sn_fe_write_atomic(bad, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, bad);
    CHECK(file_is(inner, "in") && count_entries(bad) == 1 && count_entries(dir) == 2);
    /* a path ending in '/' */
    snprintf(bad, sizeof bad, "%s/sub/", dir);
    CHECK(sn_fe_write_atomic(bad, "x", 1, err, sizeof err) == SN_ERR_IO);
    CHECK_HAS(err, bad);
    rm_tree(inner);
    snprintf(bad, sizeof bad, "%s/sub", dir);
    rmdir(bad);
    /* empty path */
    CHECK(sn_fe_write_atomic("", "x", 1, err, sizeof err) == SN_ERR_INVALID);

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
    sn_status s = sn_fe_write_atomic(path, blob, big, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &rl);
    CHECK(s == SN_ERR_IO);
    CHECK_HAS(err, path);
    CHECK_HAS(err, strerror(EFBIG));
    CHECK(file_is(path, "world!"));
    CHECK(count_entries(dir) == 1);
    /* the same through the safetensors and npy writers */
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    sn_fe_tensor t = {"w", SN_DTYPE_F32, {1, {25000}}, blob};
    sn_fe_tensors ts = {&t, 1};
    s = sn_fe_safetensors_write(path, &ts, err, sizeof err);
    sn_shape sh = {1, {25000}};
    sn_status s2 = sn_fe_npy_write(path, &sh, (const float *)blob, SN_DTYPE_F32, err, sizeof err);
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
    CHECK(sn_fe_write_atomic("rel.bin", "r", 1, err, sizeof err) == SN_OK);
    CHECK(file_is("rel.bin", "r"));
    CHECK(chdir(cwd) == 0);
    CHECK(count_entries(dir) == 2);
}

int main(void) {
    char *dir = make_temp_dir("tio");
    reads(dir);
    writes(dir);
    rm_tree(dir);
    free(dir);
    return check_report("tio_files");
}
