/* mkcpio: writes an uncompressed newc cpio archive (the initramfs format)
 * from a list on stdin, in the spirit of the kernel's usr/gen_init_cpio:
 *
 *   dir   NAME MODE
 *   file  NAME SOURCE MODE
 *   nod   NAME MODE c|b MAJOR MINOR
 *   slink NAME TARGET MODE
 *
 * MODE is octal; NAME is the path inside the archive (a leading '/' is
 * dropped); blank lines and lines starting with '#' are ignored.  Owner is
 * root, mtime 0: the archive depends only on its contents.
 *
 * usage: mkcpio OUTPUT < LIST
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *out;
static unsigned long offset, ino = 721;
static const char *outname;

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "mkcpio: %s%s%s%s%s\n", what, arg ? " " : "", arg ? arg : "", errno ? ": " : "",
            errno ? strerror(errno) : "");
    exit(1);
}

static void put(const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, out) != n)
        die("write", outname);
    offset += n;
}

static void pad4(void)
{
    static const char zero[4];
    put(zero, (4 - offset % 4) % 4);
}

static void header(const char *name, unsigned mode, unsigned long size, unsigned rmaj, unsigned rmin)
{
    while (*name == '/')
        name++;
    if (!*name)
        name = ".";
    if (size > 0xffffffffUL)
        die("file too large for newc:", name);
    char h[160];
    snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", (unsigned)ino++,
             mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)size, 0u, 0u, rmaj, rmin,
             (unsigned)strlen(name) + 1, 0u);
    put(h, 110);
    put(name, strlen(name) + 1);
    pad4();
}

static unsigned parse_mode(const char *s)
{
    char *end;
    errno = 0;
    unsigned long m = s ? strtoul(s, &end, 8) : 0;
    if (!s || *end || m > 07777)
        die("bad mode", s ? s : "(missing)");
    return (unsigned)m;
}

static void add_file(const char *name, const char *src, unsigned mode)
{
    int fd = open(src, O_RDONLY);
    if (fd < 0)
        die("open", src);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        die("not a regular file:", src);
    header(name, S_IFREG | mode, (unsigned long)st.st_size, 0, 0);
    char buf[1 << 16];
    unsigned long left = (unsigned long)st.st_size;
    while (left) {
        ssize_t n = read(fd, buf, left < sizeof buf ? left : sizeof buf);
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            die("read (file changed size?)", src);
        }
        put(buf, (size_t)n);
        left -= (unsigned long)n;
    }
    close(fd);
    pad4();
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkcpio OUTPUT < LIST\n");
        return 2;
    }
    outname = argv[1];
    out = fopen(outname, "wb");
    if (!out)
        die("cannot create", outname);
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        char *f[7] = {0};
        int n = 0;
        for (char *s = strtok(line, " \t"); s && n < 7; s = strtok(NULL, " \t"))
            f[n++] = s;
        if (n == 0 || f[0][0] == '#')
            continue;
        errno = 0;
        if (!strcmp(f[0], "dir") && n == 3) {
            header(f[1], S_IFDIR | parse_mode(f[2]), 0, 0, 0);
        } else if (!strcmp(f[0], "file") && n == 4) {
            add_file(f[1], f[2], parse_mode(f[3]));
        } else if (!strcmp(f[0], "nod") && n == 6 && (!strcmp(f[3], "c") || !strcmp(f[3], "b"))) {
            unsigned type = f[3][0] == 'c' ? S_IFCHR : S_IFBLK;
            header(f[1], type | parse_mode(f[2]), 0, (unsigned)atoi(f[4]), (unsigned)atoi(f[5]));
        } else if (!strcmp(f[0], "slink") && n == 4) {
            header(f[1], S_IFLNK | parse_mode(f[3]), strlen(f[2]), 0, 0);
            put(f[2], strlen(f[2]));
            pad4();
        } else {
            fprintf(stderr, "mkcpio: line %d: cannot parse\n", lineno);
            return 1;
        }
    }
    ino = 0;
    header("TRAILER!!!", 0, 0, 0, 0);
    /* whole 512-byte blocks, as cpio(1) writes them */
    static const char zero[512];
    put(zero, (512 - offset % 512) % 512);
    if (fclose(out) != 0)
        die("close", outname);
    return 0;
}
