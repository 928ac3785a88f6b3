/*
 * Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput on every
 * file named on the command line and on every regular file of every
 * directory named there (not recursively), without libFuzzer, so that
 * the seed corpus and the inputs of past bugs run in `make check` with
 * any C compiler.
 *
 * If a run aborts or a sanitizer reports an error, the path of the input
 * is written to stderr before the process dies. On success one line
 * says how many inputs ran.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_SANITIZER 1
#endif
#endif

#ifdef REPLAY_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

static const char *current = "(none)";

static void say_current(void)
{
    static const char pre[] = "replay: failing input: ";
    ssize_t rc;

    rc = write(2, pre, sizeof pre - 1);
    rc = write(2, current, strlen(current));
    rc = write(2, "\n", 1);
    (void)rc;
}

static void on_abort(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;

    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 4096;
            uint8_t *nbuf = realloc(buf, ncap);

            if (!nbuf) {
                free(buf);
                fclose(f);
                fprintf(stderr, "replay: out of memory on %s\n", path);
                return -1;
            }
            buf = nbuf;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);

    current = path;
    LLVMFuzzerTestOneInput(buf, len);
    current = "(none)";
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of dir, in name order so runs are repeatable. */
static int run_dir(const char *dir, long *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len;
        char *path;
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        len = strlen(dir) + strlen(e->d_name) + 2;
        path = malloc(len);
        if (!path) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **nn = realloc(names, ncap * sizeof *nn);

            if (!nn) {
                free(path);
                rc = -1;
                break;
            }
            names = nn;
            cap = ncap;
        }
        names[n++] = path;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && run_file(names[i]) == 0)
            (*count)++;
        else
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;
    int rc = 0;

    signal(SIGABRT, on_abort);
#ifdef REPLAY_SANITIZER
    __sanitizer_set_death_callback(say_current);
#endif
    for (int a = 1; a < argc; a++) {
        struct stat st;

        if (stat(argv[a], &st) != 0) {
            /* A target with no regressions yet has no directory. */
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[a], &count) != 0)
                rc = 1;
        } else if (run_file(argv[a]) == 0) {
            count++;
        } else {
            rc = 1;
        }
    }
    printf("%s: %ld inputs replayed\n", argc > 0 ? argv[0] : "replay",
           count);
    return rc;
}
