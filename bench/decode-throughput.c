/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decode-throughput.c - MB/s of mavis_decode_message on a 10 MB zip attachment */

/*
 * Not built by default. From the top of the tree, after a release build:
 *
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build-rel
 *   cc -O2 -Ilib/include -It/unit bench/decode-throughput.c -Lbuild-rel/lib -lmavis \
 *      -larchive -Wl,-rpath,$PWD/build-rel/lib -o build-rel/decode-throughput
 *   build-rel/decode-throughput [iterations]
 *
 * Two messages, each one base64 attachment of a ~10 MB zip of 1 MiB members:
 * "random" members do not compress (10 members, 10 MB come out), "text"
 * members are English-like words (the same zip size holds about 3.5 times
 * as much). Reported: the best of N runs, as MB/s of message bytes, of zip
 * bytes and of all decoded bytes (the zip itself plus its members).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/arena.h>
#include <mavis/parts.h>

#include "testmsg.h"

#define MB (1000.0 * 1000.0)

static uint64_t rng = 88172645463325252ull;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill(int text, unsigned char *buf, size_t len)
{
	static const char *words[] = { "invoice ", "payment ", "the ", "quarterly ",
				       "report ", "attached ", "please ", "review\n" };

	for (size_t i = 0; i < len;) {
		if (text) {
			const char *w = words[next() % 8];
			size_t l = strlen(w);

			if (i + l > len)
				l = len - i;
			memcpy(buf + i, w, l);
			i += l;
		} else {
			buf[i++] = (unsigned char)next();
		}
	}
}

/* 1 MiB members, as many as make a zip of about target bytes (the
   compression ratio is measured on one member first). */
static void
make_zip(int text, size_t target, struct mavis_buf *zip)
{
	enum { MEMBER = 1024 * 1024, MAXM = 128 };
	struct test_entry e[MAXM];
	char names[MAXM][16];
	struct mavis_buf one;
	size_t n;

	for (size_t i = 0; i < MAXM; i++) {
		unsigned char *b = malloc(MEMBER);

		fill(text, b, MEMBER);
		snprintf(names[i], sizeof(names[i]), "m%03zu.%s", i, text ? "txt" : "bin");
		e[i] = (struct test_entry){ names[i], b, MEMBER, 0, 0 };
	}
	if (test_archive("zip", NULL, NULL, NULL, e, 1, &one) != 0)
		exit(1);
	n = (target + one.len - 1) / one.len;
	if (n < 1)
		n = 1;
	if (n > MAXM)
		n = MAXM;
	mavis_buf_free(&one);
	if (test_archive("zip", NULL, NULL, NULL, e, n, zip) != 0) {
		fprintf(stderr, "zip writer failed\n");
		exit(1);
	}
	for (size_t i = 0; i < MAXM; i++)
		free((void *)e[i].data);
}

static double
now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
run(const char *label, int text, int iterations)
{
	struct mavis_buf zip, msg;
	struct mavis_arena *a = mavis_arena_new(1024 * 1024);
	double best = 1e9, best_cpu = 1e9;
	uint64_t out = 0;
	size_t nparts = 0;

	make_zip(text, 10 * 1000 * 1000, &zip);
	test_mail_attachment(&msg, "application/zip", "big.zip", zip.data, zip.len);
	for (int i = 0; i < iterations; i++) {
		struct mavis_decoded *d;
		struct mavis_error err;
		double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID), t, c;

		if (mavis_decode_message(msg.data, msg.len, NULL, a, &d, &err) != 0) {
			fprintf(stderr, "decode: %s\n", err.text);
			exit(1);
		}
		t = now(CLOCK_MONOTONIC) - t0;
		c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (t < best)
			best = t;
		if (c < best_cpu)
			best_cpu = c;
		out = d->total_bytes;
		nparts = d->nparts;
		if (d->hold)
			fprintf(stderr, "hold: %s\n", d->hold);
		mavis_arena_reset(a);
	}
	printf("%-6s zip %.1f MB, message %.1f MB, %zu parts, %.1f MB decoded\n"
	       "       wall %.3f s: %.0f MB/s of message, %.0f MB/s of zip, %.0f MB/s decoded\n"
	       "       cpu  %.3f s: %.0f MB/s of message, %.0f MB/s of zip, %.0f MB/s decoded\n",
	       label, zip.len / MB, msg.len / MB, nparts, out / MB,
	       best, msg.len / MB / best, zip.len / MB / best, out / MB / best,
	       best_cpu, msg.len / MB / best_cpu, zip.len / MB / best_cpu, out / MB / best_cpu);
	mavis_buf_free(&zip);
	mavis_buf_free(&msg);
	mavis_arena_free(&a);
}

int
main(int argc, char **argv)
{
	int iterations = argc > 1 ? atoi(argv[1]) : 5;

	run("random", 0, iterations);
	run("text", 1, iterations);
	mavis_decode_thread_done();
	return 0;
}
