/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats-cost.c - what the counters and the session registry cost one milter
 * session of one message: the calls libmavis makes for it (claim a slot,
 * banks, helo, message start, queue id, rcpt, 20 headers, 3 body chunks, 5
 * checks, a scanner call, quarantine, message end, release), in a loop on
 * N threads.
 *
 *   cc -O2 -pthread -Ilib/include -o stats-cost bench/stats-cost.c \
 *      -Lbuild-rel/lib -lmavis -Wl,-rpath,$PWD/build-rel/lib
 *   ./stats-cost [THREADS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <mavis/stats.h>
static int N = 1000000, sc;
static void *run(void *a) {
	(void)a;
	for (int i = 0; i < N; i++) {
		int s = mavis_stats_slot_claim("192.0.2.1", "mx.example.net");
		mavis_stats_slot_bank_path(s, "MYNETS");
		mavis_stats_slot_stage(s, "helo");
		mavis_stats_slot_message(s, true);
		mavis_stats_slot_bank_path(s, "MYNETS");
		mavis_stats_slot_queue_id(s, "4XyZ12abc");
		mavis_stats_slot_stage(s, "rcpt");
		for (int h = 0; h < 20; h++) mavis_stats_slot_stage(s, "header");
		for (int b = 0; b < 3; b++) mavis_stats_slot_stage(s, "body");
		for (int c = 0; c < 5; c++) mavis_stats_slot_stage(s, "virus");
		mavis_stats_scanner_call(sc, true, 1200);
		mavis_stats_slot_stage(s, "quarantine");
		mavis_stats_count(MAVIS_STATS_QUARANTINE_WRITE);
		mavis_stats_slot_message(s, false);
		mavis_stats_slot_release(&s);
	}
	return NULL;
}
int main(int argc, char **argv) {
	int t = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t th[16];
	struct timespec a, b;
	sc = mavis_stats_scanner_slot("virus", "clamav");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < t; i++) pthread_create(&th[i], NULL, run, NULL);
	for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("threads %d: %.0f ns per session+message (wall/msgs per thread)\n", t, s * 1e9 / N);
	return 0;
}
