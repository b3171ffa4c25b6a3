/* shim.c: an LD_PRELOAD library for the CLI suite.  It changes a file while ward reads it, at
 * a point the test chooses, so that a file that shrinks, grows or fails during a scan can be
 * tested without a race.  Environment:
 *   SHIM_FILE  the file (its inode is what counts, so any path to it)
 *   SHIM_AT    act after this many read()s of it that returned data (0: before the first)
 *   SHIM_ACT   truncate: cut the file SHIM_ARG bytes after the read offset
 *              grow: append SHIM_ARG bytes of text with findings in it
 *              eio: the next read() of it fails with EIO
 *   SHIM_THREADS  when set, pthread_create() starts this many threads, then fails (EAGAIN)
 * It acts once.  Test code only: never built into ward. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long reads_done;
static int acted;

static void grow(const char *path, long n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	char line[64];
	for (long i = 0; fd >= 0 && n > 0; i++) {
		int k = snprintf(line, sizeof line, "grown later, our little secret %ld\n", i);
		if (k > n)
			k = (int)n;
		if (write(fd, line, (size_t)k) != k)
			break;
		n -= k;
	}
	if (fd >= 0)
		close(fd);
}

/* Acts when it is time; returns 1 when this read must fail. */
static int shim_act(int fd)
{
	const char *path = getenv("SHIM_FILE"), *act = getenv("SHIM_ACT");
	struct stat a, b;
	if (acted || !path || !act || fstat(fd, &a) != 0 || stat(path, &b) != 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return 0;
	if (reads_done < atol(getenv("SHIM_AT") ? getenv("SHIM_AT") : "0"))
		return 0;
	acted = 1;
	long arg = atol(getenv("SHIM_ARG") ? getenv("SHIM_ARG") : "0");
	if (strcmp(act, "truncate") == 0) {
		off_t at = lseek(fd, 0, SEEK_CUR);
		if (truncate(path, at + arg) != 0)
			abort();
	} else if (strcmp(act, "grow") == 0) {
		grow(path, arg);
	} else if (strcmp(act, "eio") == 0) {
		return 1;
	}
	return 0;
}

ssize_t read(int fd, void *buf, size_t n)
{
	static ssize_t (*real)(int, void *, size_t);
	if (!real)
		real = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	if (shim_act(fd)) {
		errno = EIO;
		return -1;
	}
	ssize_t k = real(fd, buf, n);
	if (k > 0 && getenv("SHIM_FILE")) {
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(getenv("SHIM_FILE"), &b) == 0 &&
		    a.st_ino == b.st_ino)
			reads_done++;
	}
	return k;
}

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	static long started;
	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
		                void *))dlsym(RTLD_NEXT, "pthread_create");
	const char *lim = getenv("SHIM_THREADS");
	if (lim && started >= atol(lim))
		return EAGAIN;
	started++;
	return real(t, a, fn, arg);
}
