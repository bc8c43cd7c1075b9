/* SPDX-License-Identifier: GPL-2.0-or-later */
/* av-engine-vs-clamd.c - in-process libclamav vs clamd INSTREAM on the same buffers */

/*
 * Not built by default. From the top of a checkout, after a cmake build in build/:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Ilib/include bench/av-engine-vs-clamd.c \
 *      -o build/av-bench -Lbuild/lib -lmavis -Wl,-rpath,$PWD/build/lib -lpthread
 *   build/av-bench [-d DBDIR] [-n MESSAGES] [-t THREADS] [-r ROUNDS] [-s CLAMD_SOCKET]
 *
 * DBDIR defaults to t/data/clamav. Without -s a private clamd is started on
 * a copy of DBDIR (clamav-daemon package) and stopped at the end. Each
 * "message" is two buffers, as mavisd scans them: a decoded part and the raw
 * message; sizes 2 KiB..256 KiB, one message in 50 carries clam.zip.
 * Runs ROUNDS (3) alternating rounds of each and prints messages/s, MB/s,
 * RSS and the medians, then an in-process run with a forced signature
 * reload every 250 ms (reload time, throughput while reloading).
 */

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mavis/av.h>

struct msg {
	struct mavis_av_buf b[2];
};

static struct msg *msgs;
static size_t nmsgs = 2000;
static int nthreads = 4;
static atomic_size_t next_msg;
static atomic_size_t infected;
static atomic_size_t failed;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *p = NULL;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && fstat(fd, &st) == 0 && (p = malloc((size_t)st.st_size)) != NULL &&
	    read(fd, p, (size_t)st.st_size) == st.st_size)
		*len = (size_t)st.st_size;
	else {
		free(p);
		p = NULL;
	}
	if (fd >= 0)
		close(fd);
	return p;
}

/* Mail-like text: words and base64-ish lines, deterministic. */
static void
make_msgs(void)
{
	static const char *words[] = { "the", "meeting", "invoice", "attached", "please",
				       "regards", "schedule", "report", "quarterly", "data" };
	size_t ziplen = 0;
	char *zip = slurp("/usr/share/clamav-testfiles/clam.zip", &ziplen);
	unsigned seed = 12345;
	size_t total = 0;

	msgs = calloc(nmsgs, sizeof(*msgs));
	for (size_t i = 0; i < nmsgs; i++) {
		size_t size = 2048u << (rand_r(&seed) % 8);	/* 2K .. 256K */
		char *part = malloc(size), *raw = malloc(size + 512);
		size_t off = 0, rl;

		while (off < size) {
			const char *w = words[rand_r(&seed) % 10];
			size_t wl = strlen(w);

			if (off + wl + 1 >= size)
				break;
			memcpy(part + off, w, wl);
			off += wl;
			part[off++] = rand_r(&seed) % 12 ? ' ' : '\n';
		}
		memset(part + off, '\n', size - off);
		if (zip != NULL && i % 50 == 49 && ziplen < size)
			memcpy(part + size / 2, zip, ziplen);
		rl = (size_t)snprintf(raw, 512, "From: a@example.com\r\nTo: b@example.org\r\n"
				      "Subject: message %zu\r\n\r\n", i);
		memcpy(raw + rl, part, size);
		msgs[i].b[0] = (struct mavis_av_buf){ part, size, "p001", false };
		msgs[i].b[1] = (struct mavis_av_buf){ raw, rl + size, "raw", false };
		total += size + rl + size;
	}
	free(zip);
	printf("corpus: %zu messages, %.1f MB in 2 buffers each\n", nmsgs, (double)total / 1e6);
}

static void *
worker(void *arg)
{
	struct mavis_av *av = arg;
	size_t i;

	while ((i = atomic_fetch_add(&next_msg, 1)) < nmsgs) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_av_result r;

		mavis_av_scan(av, msgs[i].b, 2, a, &r);
		if (r.status == MAVIS_AV_INFECTED)
			atomic_fetch_add(&infected, 1);
		else if (r.status == MAVIS_AV_FAILED) {
			if (atomic_fetch_add(&failed, 1) == 0)
				for (size_t k = 0; k < r.n_log; k++)
					fprintf(stderr, "  %s\n", r.log[k].text);
		}
		mavis_arena_free(&a);
	}
	return NULL;
}

static double
run(struct mavis_av *av, const char *label)
{
	pthread_t th[64];
	double t0, dt;
	size_t bytes = 0;

	atomic_store(&next_msg, 0);
	atomic_store(&infected, 0);
	atomic_store(&failed, 0);
	for (size_t i = 0; i < nmsgs; i++)
		bytes += msgs[i].b[0].len + msgs[i].b[1].len;
	t0 = now_s();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, av);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	dt = now_s() - t0;
	printf("%-22s %5zu msgs in %6.2f s: %7.0f msgs/s, %6.1f MB/s, infected %zu, failed %zu\n",
	       label, nmsgs, dt, (double)nmsgs / dt, (double)bytes / 1e6 / dt,
	       atomic_load(&infected), atomic_load(&failed));
	return (double)nmsgs / dt;
}

static atomic_bool reload_stop;
static unsigned reload_count, reload_ms_max, reload_ms_sum;

static void *
reloader(void *arg)
{
	struct mavis_av *av = arg;

	while (!atomic_load(&reload_stop)) {
		struct mavis_av_reload_report rep;
		struct mavis_error err;

		usleep(250000);
		if (mavis_av_reload(av, true, &rep, &err) < 0) {
			fprintf(stderr, "reload: %s\n", err.text);
			continue;
		}
		reload_count++;
		reload_ms_sum += rep.load_ms;
		if (rep.load_ms > reload_ms_max)
			reload_ms_max = rep.load_ms;
	}
	return NULL;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static pid_t
clamd_start(const char *db, char *sock, size_t socksz, char *tmp)
{
	char conf[600], cmd[1400], arg[700];
	FILE *f;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "mkdir -p %s/db && cp %s/*.?db %s/*.cvd %s/*.cld %s/db/ 2>/dev/null",
		 tmp, db, db, db, tmp);
	if (system(cmd) != 0) {
		/* cp fails when one glob is empty; what matters is a DB arrived. */
	}
	snprintf(sock, socksz, "%s/clamd.sock", tmp);
	snprintf(conf, sizeof(conf), "%s/clamd.conf", tmp);
	f = fopen(conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "Foreground yes\nLocalSocket %s\nDatabaseDirectory %s/db\n"
		"TemporaryDirectory %s\nLogFile %s/clamd.log\nStreamMaxLength 50M\n"
		"MaxThreads %d\nMaxQueue 200\n%s", sock, tmp, tmp, tmp, nthreads * 2,
		geteuid() == 0 ? "User root\n" : "");
	fclose(f);
	pid = fork();
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(out, 1);
		dup2(out, 2);
		snprintf(arg, sizeof(arg), "--config-file=%s", conf);
		execl("/usr/sbin/clamd", "clamd", "--foreground", arg, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1200 && pid > 0; i++) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		memcpy(sun.sun_path, sock, strlen(sock) + 1);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			return pid;
		}
		close(fd);
		usleep(50000);
	}
	return -1;
}

int
main(int argc, char **argv)
{
	const char *db = "t/data/clamav", *sock_arg = NULL;
	char sock[700], spec[720], tmp[] = "/tmp/mavis-bench-XXXXXX";
	const char *clamav[] = { "clamav", NULL }, *clamd[] = { spec, NULL };
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_av_engine *e;
	struct mavis_error err;
	pthread_t rt;
	pid_t clamd_pid = 0;
	long rss0, rss1;
	double in_proc[16], via_clamd[16];
	int opt, rounds = 3;

	while ((opt = getopt(argc, argv, "d:n:t:s:r:")) != -1) {
		switch (opt) {
		case 'd': db = optarg; break;
		case 'r': rounds = atoi(optarg); break;
		case 'n': nmsgs = strtoul(optarg, NULL, 10); break;
		case 't': nthreads = atoi(optarg); break;
		case 's': sock_arg = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-d DBDIR] [-n MESSAGES] [-t THREADS] "
				"[-r ROUNDS] [-s CLAMD_SOCKET]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64)
		nthreads = 4;
	if (rounds < 1 || rounds > 16)
		rounds = 3;
	make_msgs();

	/* clamd: given, or our own on a copy of the same database. */
	if (sock_arg != NULL) {
		snprintf(sock, sizeof(sock), "%s", sock_arg);
	} else {
		double t0 = now_s();

		if (mkdtemp(tmp) == NULL ||
		    (clamd_pid = clamd_start(db, sock, sizeof(sock), tmp)) <= 0) {
			fprintf(stderr, "could not start clamd\n");
			return 1;
		}
		printf("clamd: pid %d up in %.2f s, RSS %ld kB\n", (int)clamd_pid,
		       now_s() - t0, rss_kb(clamd_pid));
	}
	snprintf(spec, sizeof(spec), "clamd:%s", sock);
	printf("threads: %d, rounds: %d (alternating; each in-process round loads a "
	       "fresh engine, so no scan cache carries over)\n", nthreads, rounds);

	mavis_av_settings_init(&s);
	s.database_dir = db;
	for (int round = 0; round < rounds; round++) {
		/* In-process engine. */
		rss0 = rss_kb(getpid());
		s.scanners = clamav;
		if (mavis_av_new(&s, NULL, &av, &err) < 0) {
			fprintf(stderr, "%s\n", err.text);
			return 1;
		}
		rss1 = rss_kb(getpid());
		e = mavis_av_engine_get(av);
		printf("engine: %u signatures from %s, load+compile %u ms, RSS +%ld kB "
		       "(%ld -> %ld kB)\n", mavis_av_engine_signatures(e), db,
		       mavis_av_engine_load_ms(e), rss1 - rss0, rss0, rss1);
		mavis_av_engine_unref(&e);
		in_proc[round] = run(av, "in-process libclamav");
		printf("  our RSS after run: %ld kB\n", rss_kb(getpid()));
		mavis_av_free(&av);

		/* clamd over INSTREAM. */
		s.scanners = clamd;
		if (mavis_av_new(&s, NULL, &av, &err) < 0) {
			fprintf(stderr, "%s\n", err.text);
			return 1;
		}
		via_clamd[round] = run(av, "clamd INSTREAM");
		if (clamd_pid > 0)
			printf("  clamd RSS after run: %ld kB\n", rss_kb(clamd_pid));
		mavis_av_free(&av);
	}
	qsort(in_proc, (size_t)rounds, sizeof(double), dbl_cmp);
	qsort(via_clamd, (size_t)rounds, sizeof(double), dbl_cmp);
	printf("median msgs/s: in-process %.0f, clamd %.0f, ratio %.2f\n",
	       in_proc[rounds / 2], via_clamd[rounds / 2],
	       in_proc[rounds / 2] / via_clamd[rounds / 2]);

	/* Forced reload every 250 ms while scanning in-process. */
	s.scanners = clamav;
	if (mavis_av_new(&s, NULL, &av, &err) < 0) {
		fprintf(stderr, "%s\n", err.text);
		return 1;
	}
	atomic_store(&reload_stop, false);
	pthread_create(&rt, NULL, reloader, av);
	run(av, "in-process + reloads");
	atomic_store(&reload_stop, true);
	pthread_join(rt, NULL);
	printf("  %u concurrent reloads during the run: load avg %u ms, max %u ms\n",
	       reload_count, reload_count ? reload_ms_sum / reload_count : 0, reload_ms_max);
	mavis_av_free(&av);

	if (clamd_pid > 0) {
		char cmd[700];
		int st;

		kill(clamd_pid, SIGTERM);
		waitpid(clamd_pid, &st, 0);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp);
	}
	return 0;
}
