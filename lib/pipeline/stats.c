/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats.c - process-wide counters, latency histograms and the session registry */

#include <stdio.h>
#include <string.h>

#include <mavis/stats.h>

#include "pipeline_int.h"

/* Relaxed everywhere: each counter is exact on its own, and no reader
   draws conclusions from the order of two counters. */
#define BUMP(c) atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)
#define LOAD(c) atomic_load_explicit(&(c), memory_order_relaxed)

const double mavis_stats_bucket_le[MAVIS_STATS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

struct histogram {
	atomic_ulong bucket[MAVIS_STATS_BUCKETS + 1];	/* last: above every bound */
	atomic_ulong sum_usec;
};

static void
histogram_add(struct histogram *h, unsigned long usec)
{
	size_t i = 0;

	/* Bounds compared in microseconds, so that no float is on the path. */
	static const unsigned long le_usec[MAVIS_STATS_BUCKETS] = {
		1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
		1000000, 2500000, 5000000, 10000000, 30000000,
	};
	while (i < MAVIS_STATS_BUCKETS && usec > le_usec[i])
		i++;
	BUMP(h->bucket[i]);
	atomic_fetch_add_explicit(&h->sum_usec, usec, memory_order_relaxed);
}

struct scanner_stats {
	_Atomic(const char *) name;	/* interned, never freed; NULL = free */
	const char *kind;
	atomic_ulong calls, failures;
	struct histogram latency;
};

/* The labels of the counters, in enum order. */
static const char *const action_names[] = { "accept", "reject", "tempfail", "discard", "hold" };
#define NACTIONS (sizeof(action_names) / sizeof(action_names[0]))
static const char *const ccat_names[MAVIS_CC_COUNT] = {
	"catchall", "clean", "mta", "oversized", "badh", "spammy", "spam", "unchecked", "banned", "virus",
};
/* Destinies by index: pass, discard, bounce, reject, tempfail. */
static const char *const destiny_names[] = { "pass", "discard", "bounce", "reject", "tempfail" };
#define NDESTINIES (sizeof(destiny_names) / sizeof(destiny_names[0]))
static const char *const event_names[MAVIS_STATS_EVENT_COUNT] = {
	"reloads_ok", "reloads_failed", "decode_limits", "header_limits",
	"quarantine_writes", "quarantine_failures", "sql_errors", "sql_lookups_passed",
};

static struct {
	atomic_ulong sessions, unlisted;
	atomic_long in_flight;
	atomic_ulong messages[MAVIS_CC_COUNT][NACTIONS];
	atomic_ulong recipients[MAVIS_CC_COUNT][NDESTINIES];
	atomic_ulong events[MAVIS_STATS_EVENT_COUNT];
	struct histogram eom;
	struct scanner_stats scanners[MAVIS_STATS_SCANNERS_MAX];
	atomic_llong signature_time, config_time;
} S;

static pthread_mutex_t scanner_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t start_time;

__attribute__((constructor)) static void
stats_start(void)
{
	start_time = time(NULL);
}

/* ---- counting ---- */

int
mavis_stats_scanner_slot(const char *kind, const char *name)
{
	int slot = -1;

	/* Scanners are built at start and reload only: a lock is fine here;
	   the message path reads the slot number it was given. */
	pthread_mutex_lock(&scanner_lock);
	for (int i = 0; i < MAVIS_STATS_SCANNERS_MAX; i++) {
		const char *n = atomic_load(&S.scanners[i].name);

		if (n == NULL) {
			char *dup = strdup(name);

			if (dup == NULL)
				break;
			S.scanners[i].kind = kind;
			atomic_store(&S.scanners[i].name, dup);
			slot = i;
			break;
		}
		if (strcmp(n, name) == 0 && strcmp(S.scanners[i].kind, kind) == 0) {
			slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&scanner_lock);
	return slot;
}

void
mavis_stats_scanner_call(int slot, bool ok, unsigned long usec)
{
	if (slot < 0 || slot >= MAVIS_STATS_SCANNERS_MAX)
		return;
	BUMP(S.scanners[slot].calls);
	if (!ok)
		BUMP(S.scanners[slot].failures);
	histogram_add(&S.scanners[slot].latency, usec);
}

void
mavis_stats_count(enum mavis_stats_event ev)
{
	if ((unsigned)ev < MAVIS_STATS_EVENT_COUNT)
		BUMP(S.events[ev]);
}

void
mavis_stats_set_signature_time(time_t t)
{
	atomic_store(&S.signature_time, (long long)t);
}

void
mavis_stats_set_config_time(time_t t)
{
	atomic_store(&S.config_time, (long long)t);
}

static size_t
destiny_index(int d)
{
	switch (d) {
	case MAVIS_D_DISCARD: return 1;
	case MAVIS_D_BOUNCE: return 2;
	case MAVIS_D_REJECT: return 3;
	case MAVIS_D_TEMPFAIL: return 4;
	}
	return 0;
}

void
stats_count_session(void)
{
	BUMP(S.sessions);
}

void
stats_count_verdict(const struct mavis_verdict *v, unsigned long usec)
{
	int ccat = MAVIS_CC_CLEAN;

	/* The message's category is its recipients' highest (amavisd's
	   Content*Msgs count the main category too). */
	for (size_t i = 0; i < v->nrcpts; i++) {
		int c = v->rcpts[i].ccat.major;

		if (c >= 0 && c < MAVIS_CC_COUNT) {
			if (c > ccat || i == 0)
				ccat = c;
			BUMP(S.recipients[c][destiny_index(v->rcpts[i].destiny)]);
		}
	}
	if ((unsigned)v->action < NACTIONS)
		BUMP(S.messages[ccat][v->action]);
	histogram_add(&S.eom, usec);
}

void
mavis_stats_get(struct mavis_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->sessions = LOAD(S.sessions);
	for (int c = 0; c < MAVIS_CC_COUNT; c++) {
		out->accepted += LOAD(S.messages[c][MAVIS_ACTION_ACCEPT]) +
				 LOAD(S.messages[c][MAVIS_ACTION_HOLD]);
		out->rejected += LOAD(S.messages[c][MAVIS_ACTION_REJECT]);
		out->tempfailed += LOAD(S.messages[c][MAVIS_ACTION_TEMPFAIL]);
		out->discarded += LOAD(S.messages[c][MAVIS_ACTION_DISCARD]);
	}
	out->messages = out->accepted + out->rejected + out->tempfailed + out->discarded;
}

/* ---- the session registry ---- */

#define SLOT_ADDR 48
#define SLOT_NAME 96
#define SLOT_QID 32
#define SLOT_BANKS 96

/* The texts are atomic bytes: the owner writes them while the control
   thread may read, and relaxed byte stores cost what plain ones do. The
   sequence number makes a reader's copy whole. */
struct slot {
	atomic_int used;
	atomic_uint seq;
	_Atomic(const char *) stage;
	atomic_llong conn_ms, msg_ms;	/* CLOCK_MONOTONIC ms; msg 0 = none */
	_Atomic char addr[SLOT_ADDR], name[SLOT_NAME], qid[SLOT_QID], banks[SLOT_BANKS];
};

static struct slot slots[MAVIS_STATS_SLOTS];
static atomic_uint slot_hint;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
text_store(_Atomic char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < size; i++)
		atomic_store_explicit(&dst[i], src[i], memory_order_relaxed);
	atomic_store_explicit(&dst[i], '\0', memory_order_relaxed);
}

static void
text_load(char *dst, _Atomic char *src, size_t size)
{
	for (size_t i = 0; i < size; i++)
		dst[i] = atomic_load_explicit(&src[i], memory_order_relaxed);
	dst[size - 1] = '\0';
}

static void
slot_write_begin(struct slot *sl)
{
	atomic_fetch_add_explicit(&sl->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void
slot_write_end(struct slot *sl)
{
	atomic_fetch_add_explicit(&sl->seq, 1, memory_order_release);
}

int
mavis_stats_slot_claim(const char *client_addr, const char *client_name)
{
	unsigned start = atomic_fetch_add_explicit(&slot_hint, 1, memory_order_relaxed);

	atomic_fetch_add_explicit(&S.in_flight, 1, memory_order_relaxed);
	for (unsigned k = 0; k < MAVIS_STATS_SLOTS; k++) {
		unsigned i = (start + k) % MAVIS_STATS_SLOTS;
		int expect = 0;
		struct slot *sl = &slots[i];

		if (atomic_load_explicit(&sl->used, memory_order_relaxed) != 0 ||
		    !atomic_compare_exchange_strong(&sl->used, &expect, 1))
			continue;
		slot_write_begin(sl);
		atomic_store_explicit(&sl->stage, "connect", memory_order_relaxed);
		atomic_store_explicit(&sl->conn_ms, now_ms(), memory_order_relaxed);
		atomic_store_explicit(&sl->msg_ms, 0, memory_order_relaxed);
		text_store(sl->addr, SLOT_ADDR, client_addr);
		text_store(sl->name, SLOT_NAME, client_name);
		text_store(sl->qid, SLOT_QID, "");
		text_store(sl->banks, SLOT_BANKS, "");
		slot_write_end(sl);
		return (int)i;
	}
	BUMP(S.unlisted);
	return -1;
}

void
mavis_stats_slot_release(int *slot)
{
	int i = *slot;

	atomic_fetch_sub_explicit(&S.in_flight, 1, memory_order_relaxed);
	*slot = -1;
	if (i < 0 || i >= MAVIS_STATS_SLOTS) {
		atomic_fetch_sub_explicit(&S.unlisted, 1, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&slots[i].used, 0, memory_order_release);
}

void
mavis_stats_slot_stage(int slot, const char *stage)
{
	if (slot >= 0 && slot < MAVIS_STATS_SLOTS)
		atomic_store_explicit(&slots[slot].stage, stage, memory_order_relaxed);
}

void
mavis_stats_slot_message(int slot, bool started)
{
	if (slot < 0 || slot >= MAVIS_STATS_SLOTS)
		return;
	struct slot *sl = &slots[slot];

	slot_write_begin(sl);
	atomic_store_explicit(&sl->msg_ms, started ? now_ms() : 0, memory_order_relaxed);
	atomic_store_explicit(&sl->stage, started ? "mail" : "idle", memory_order_relaxed);
	if (!started)
		text_store(sl->qid, SLOT_QID, "");
	slot_write_end(sl);
}

void
mavis_stats_slot_queue_id(int slot, const char *queue_id)
{
	if (slot < 0 || slot >= MAVIS_STATS_SLOTS)
		return;
	slot_write_begin(&slots[slot]);
	text_store(slots[slot].qid, SLOT_QID, queue_id);
	slot_write_end(&slots[slot]);
}

void
mavis_stats_slot_bank_path(int slot, const char *path)
{
	if (slot < 0 || slot >= MAVIS_STATS_SLOTS)
		return;
	slot_write_begin(&slots[slot]);
	text_store(slots[slot].banks, SLOT_BANKS, path);
	slot_write_end(&slots[slot]);
}

struct slot_copy {
	const char *stage;
	long long conn_ms, msg_ms;
	char addr[SLOT_ADDR], name[SLOT_NAME], qid[SLOT_QID], banks[SLOT_BANKS];
};

/* A whole copy of slot i, or false when it is free or kept changing. */
static bool
slot_read(unsigned i, struct slot_copy *c)
{
	struct slot *sl = &slots[i];

	for (int tries = 0; tries < 8; tries++) {
		if (atomic_load_explicit(&sl->used, memory_order_acquire) == 0)
			return false;
		unsigned s1 = atomic_load_explicit(&sl->seq, memory_order_acquire);

		if (s1 & 1)
			continue;
		c->stage = atomic_load_explicit(&sl->stage, memory_order_relaxed);
		c->conn_ms = atomic_load_explicit(&sl->conn_ms, memory_order_relaxed);
		c->msg_ms = atomic_load_explicit(&sl->msg_ms, memory_order_relaxed);
		text_load(c->addr, sl->addr, SLOT_ADDR);
		text_load(c->name, sl->name, SLOT_NAME);
		text_load(c->qid, sl->qid, SLOT_QID);
		text_load(c->banks, sl->banks, SLOT_BANKS);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&sl->seq, memory_order_relaxed) == s1)
			return true;
	}
	return false;
}

unsigned long
mavis_stats_sessions_in_flight(void)
{
	long n = LOAD(S.in_flight);

	return n > 0 ? (unsigned long)n : 0;
}

/* ---- reading ---- */

/* Texts from mail or DNS shown on a terminal: printable ASCII only. */
static void
put_safe(struct mavis_buf *b, const char *s)
{
	if (*s == '\0') {
		mavis_buf_putc(b, '-');
		return;
	}
	for (; *s; s++)
		mavis_buf_putc(b, (*s > ' ' && *s < 127) ? *s : '?');
}

void
mavis_stats_format_status(struct mavis_buf *out)
{
	long long now = now_ms();
	unsigned listed = 0;

	mavis_buf_printf(out, "%-5s %8s %8s %-12s %-14s %-40s %s\n", "SLOT", "AGE", "MSG-AGE",
			 "STAGE", "QUEUE-ID", "CLIENT", "BANKS");
	for (unsigned i = 0; i < MAVIS_STATS_SLOTS; i++) {
		struct slot_copy c;
		struct mavis_buf client = { 0 };

		if (!slot_read(i, &c))
			continue;
		listed++;
		put_safe(&client, c.name);
		mavis_buf_puts(&client, " [");
		put_safe(&client, c.addr);
		mavis_buf_putc(&client, ']');
		mavis_buf_printf(out, "%-5u %7.1fs ", i, (double)(now - c.conn_ms) / 1000.0);
		if (c.msg_ms)
			mavis_buf_printf(out, "%7.1fs ", (double)(now - c.msg_ms) / 1000.0);
		else
			mavis_buf_printf(out, "%8s ", "-");
		mavis_buf_printf(out, "%-12s ", c.stage ? c.stage : "?");
		struct mavis_buf q = { 0 };
		put_safe(&q, c.qid);
		mavis_buf_printf(out, "%-14s %-40s ", mavis_buf_str(&q), mavis_buf_str(&client));
		put_safe(out, c.banks);
		mavis_buf_putc(out, '\n');
		mavis_buf_free(&q);
		mavis_buf_free(&client);
	}
	mavis_buf_printf(out, "%lu session(s) in flight, %u listed, %lu unlisted\n",
			 mavis_stats_sessions_in_flight(), listed, (unsigned long)LOAD(S.unlisted));
}

/* Prometheus label value: backslash, double quote and newline escaped. */
static void
prom_label(struct mavis_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			mavis_buf_puts(b, "\\\\");
		else if (*s == '"')
			mavis_buf_puts(b, "\\\"");
		else if (*s == '\n')
			mavis_buf_puts(b, "\\n");
		else
			mavis_buf_putc(b, *s);
	}
}

static void
prom_head(struct mavis_buf *b, const char *name, const char *type, const char *help)
{
	mavis_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The bucket, _sum and _count lines of one histogram; labels is "" or
   'a="x",' (with the trailing comma). */
static void
prom_histogram(struct mavis_buf *b, const char *name, const char *labels, struct histogram *h)
{
	unsigned long cum = 0;
	unsigned long sum = LOAD(h->sum_usec);

	for (size_t i = 0; i <= MAVIS_STATS_BUCKETS; i++) {
		cum += LOAD(h->bucket[i]);
		if (i < MAVIS_STATS_BUCKETS)
			mavis_buf_printf(b, "%s_bucket{%sle=\"%g\"} %lu\n", name, labels,
					 mavis_stats_bucket_le[i], cum);
		else
			mavis_buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %lu\n", name, labels, cum);
	}
	/* Without labels the braces go: "name_sum 1.5". */
	size_t ll = strlen(labels);
	if (ll) {
		mavis_buf_printf(b, "%s_sum{%.*s} %.6f\n", name, (int)(ll - 1), labels, sum / 1e6);
		mavis_buf_printf(b, "%s_count{%.*s} %lu\n", name, (int)(ll - 1), labels, cum);
	} else {
		mavis_buf_printf(b, "%s_sum %.6f\n%s_count %lu\n", name, sum / 1e6, name, cum);
	}
}

static int
scanner_count(void)
{
	int n = 0;

	while (n < MAVIS_STATS_SCANNERS_MAX && atomic_load(&S.scanners[n].name) != NULL)
		n++;
	return n;
}

void
mavis_stats_format_prometheus(struct mavis_buf *b, const char *version)
{
	time_t now = time(NULL);
	long long sig = atomic_load(&S.signature_time), cfg = atomic_load(&S.config_time);
	int nsc = scanner_count();

	prom_head(b, "mavis_build_info", "gauge", "Version of mavisd (always 1).");
	mavis_buf_puts(b, "mavis_build_info{version=\"");
	prom_label(b, version ? version : "");
	mavis_buf_puts(b, "\"} 1\n");
	prom_head(b, "mavis_start_time_seconds", "gauge", "When mavisd started, seconds since the epoch.");
	mavis_buf_printf(b, "mavis_start_time_seconds %lld\n", (long long)start_time);
	prom_head(b, "mavis_sessions_total", "counter", "SMTP sessions (milter connections) started.");
	mavis_buf_printf(b, "mavis_sessions_total %lu\n", (unsigned long)LOAD(S.sessions));
	prom_head(b, "mavis_sessions_in_flight", "gauge", "SMTP sessions open now.");
	mavis_buf_printf(b, "mavis_sessions_in_flight %lu\n", mavis_stats_sessions_in_flight());

	prom_head(b, "mavis_messages_total", "counter",
		  "Messages checked, by content category (the highest of its recipients) and action.");
	for (int c = 1; c < MAVIS_CC_COUNT; c++)
		for (size_t a = 0; a < NACTIONS; a++)
			mavis_buf_printf(b, "mavis_messages_total{ccat=\"%s\",action=\"%s\"} %lu\n",
					 ccat_names[c], action_names[a],
					 (unsigned long)LOAD(S.messages[c][a]));
	prom_head(b, "mavis_recipients_total", "counter",
		  "Recipients of checked messages, by content category and destiny.");
	for (int c = 1; c < MAVIS_CC_COUNT; c++)
		for (size_t d = 0; d < NDESTINIES; d++)
			mavis_buf_printf(b, "mavis_recipients_total{ccat=\"%s\",destiny=\"%s\"} %lu\n",
					 ccat_names[c], destiny_names[d],
					 (unsigned long)LOAD(S.recipients[c][d]));
	prom_head(b, "mavis_message_duration_seconds", "histogram",
		  "Time of the end-of-message work (checks, verdict, quarantine).");
	prom_histogram(b, "mavis_message_duration_seconds", "", &S.eom);

	if (nsc > 0) {
		prom_head(b, "mavis_scanner_calls_total", "counter", "Calls of a virus or spam scanner.");
		for (int i = 0; i < nsc; i++) {
			mavis_buf_printf(b, "mavis_scanner_calls_total{kind=\"%s\",scanner=\"", S.scanners[i].kind);
			prom_label(b, atomic_load(&S.scanners[i].name));
			mavis_buf_printf(b, "\"} %lu\n", (unsigned long)LOAD(S.scanners[i].calls));
		}
		prom_head(b, "mavis_scanner_failures_total", "counter",
			  "Calls of a scanner that gave no answer (error, timeout).");
		for (int i = 0; i < nsc; i++) {
			mavis_buf_printf(b, "mavis_scanner_failures_total{kind=\"%s\",scanner=\"", S.scanners[i].kind);
			prom_label(b, atomic_load(&S.scanners[i].name));
			mavis_buf_printf(b, "\"} %lu\n", (unsigned long)LOAD(S.scanners[i].failures));
		}
		prom_head(b, "mavis_scanner_duration_seconds", "histogram", "Time of one scanner call.");
		for (int i = 0; i < nsc; i++) {
			struct mavis_buf l = { 0 };

			mavis_buf_printf(&l, "kind=\"%s\",scanner=\"", S.scanners[i].kind);
			prom_label(&l, atomic_load(&S.scanners[i].name));
			mavis_buf_puts(&l, "\",");
			prom_histogram(b, "mavis_scanner_duration_seconds", mavis_buf_str(&l),
				       &S.scanners[i].latency);
			mavis_buf_free(&l);
		}
	}
	prom_head(b, "mavis_reloads_total", "counter", "Configuration reloads, by result.");
	mavis_buf_printf(b, "mavis_reloads_total{result=\"ok\"} %lu\n",
			 (unsigned long)LOAD(S.events[MAVIS_STATS_RELOAD_OK]));
	mavis_buf_printf(b, "mavis_reloads_total{result=\"failed\"} %lu\n",
			 (unsigned long)LOAD(S.events[MAVIS_STATS_RELOAD_FAILED]));
	static const struct {
		enum mavis_stats_event ev;
		const char *name, *help;
	} simple[] = {
		{ MAVIS_STATS_DECODE_LIMIT, "mavis_decode_limits_total",
		  "Messages whose decoding stopped at a bound (UNCHECKED, over limits)." },
		{ MAVIS_STATS_HEADER_LIMIT, "mavis_header_limits_total",
		  "Messages whose header section was over max_header_count or max_header_size." },
		{ MAVIS_STATS_QUARANTINE_WRITE, "mavis_quarantine_writes_total", "Quarantine copies stored." },
		{ MAVIS_STATS_QUARANTINE_FAILED, "mavis_quarantine_failures_total",
		  "Quarantine copies that could not be stored." },
		{ MAVIS_STATS_SQL_ERROR, "mavis_sql_errors_total", "Failed SQL connections or queries." },
		{ MAVIS_STATS_SQL_PASSED, "mavis_sql_lookups_passed_total",
		  "Failed SQL lookups taken as not found (on_sql_failure = pass)." },
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		prom_head(b, simple[i].name, "counter", simple[i].help);
		mavis_buf_printf(b, "%s %lu\n", simple[i].name, (unsigned long)LOAD(S.events[simple[i].ev]));
	}
	if (cfg > 0) {
		prom_head(b, "mavis_config_age_seconds", "gauge", "Seconds since the running configuration was loaded.");
		mavis_buf_printf(b, "mavis_config_age_seconds %lld\n", (long long)now - cfg);
	}
	if (sig > 0) {
		prom_head(b, "mavis_signature_age_seconds", "gauge",
			  "Seconds since the virus signatures in use were built.");
		mavis_buf_printf(b, "mavis_signature_age_seconds %lld\n", (long long)now - sig);
	}
}

static void
json_histogram(struct mavis_buf *b, struct histogram *h)
{
	unsigned long cum = 0;

	mavis_buf_puts(b, "{\"buckets\":{");
	for (size_t i = 0; i <= MAVIS_STATS_BUCKETS; i++) {
		cum += LOAD(h->bucket[i]);
		if (i < MAVIS_STATS_BUCKETS)
			mavis_buf_printf(b, "\"%g\":%lu,", mavis_stats_bucket_le[i], cum);
		else
			mavis_buf_printf(b, "\"+Inf\":%lu", cum);
	}
	mavis_buf_printf(b, "},\"count\":%lu,\"sum\":%.6f}", cum, LOAD(h->sum_usec) / 1e6);
}

/* "name":{"x":n,...} of one row of a two-dimensional counter, only the
   non-zero cells; returns the row's sum. */
static unsigned long
json_row(struct mavis_buf *b, atomic_ulong *row, const char *const *names, size_t n,
	 unsigned long *total)
{
	unsigned long sum = 0;
	bool first = true;

	mavis_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		unsigned long v = LOAD(row[i]);

		if (v == 0)
			continue;
		mavis_buf_printf(b, "%s\"%s\":%lu", first ? "" : ",", names[i], v);
		first = false;
		sum += v;
	}
	mavis_buf_putc(b, '}');
	*total += sum;
	return sum;
}

void
mavis_stats_format_json(struct mavis_buf *b)
{
	unsigned long msgs = 0, rcpts = 0;
	int nsc = scanner_count();
	bool first = true;

	mavis_buf_printf(b, "{\"uptime_seconds\":%lld,\"sessions\":{\"started\":%lu,\"in_flight\":%lu,"
			    "\"unlisted\":%lu},\"messages\":{\"by_ccat\":{",
			 (long long)(time(NULL) - start_time), (unsigned long)LOAD(S.sessions),
			 mavis_stats_sessions_in_flight(), (unsigned long)LOAD(S.unlisted));
	for (int c = 1; c < MAVIS_CC_COUNT; c++) {
		mavis_buf_printf(b, "%s\"%s\":", c > 1 ? "," : "", ccat_names[c]);
		json_row(b, S.messages[c], action_names, NACTIONS, &msgs);
	}
	mavis_buf_puts(b, "},\"by_action\":{");
	for (size_t a = 0; a < NACTIONS; a++) {
		unsigned long v = 0;

		for (int c = 0; c < MAVIS_CC_COUNT; c++)
			v += LOAD(S.messages[c][a]);
		mavis_buf_printf(b, "%s\"%s\":%lu", a ? "," : "", action_names[a], v);
	}
	mavis_buf_printf(b, "},\"total\":%lu,\"seconds\":", msgs);
	json_histogram(b, &S.eom);
	mavis_buf_puts(b, "},\"recipients\":{\"by_ccat\":{");
	for (int c = 1; c < MAVIS_CC_COUNT; c++) {
		mavis_buf_printf(b, "%s\"%s\":", c > 1 ? "," : "", ccat_names[c]);
		json_row(b, S.recipients[c], destiny_names, NDESTINIES, &rcpts);
	}
	mavis_buf_printf(b, "},\"total\":%lu},\"scanners\":[", rcpts);
	for (int i = 0; i < nsc; i++) {
		mavis_buf_printf(b, "%s{\"kind\":\"%s\",\"name\":", first ? "" : ",", S.scanners[i].kind);
		mavis_buf_json_str(b, atomic_load(&S.scanners[i].name));
		mavis_buf_printf(b, ",\"calls\":%lu,\"failures\":%lu,\"seconds\":",
				 (unsigned long)LOAD(S.scanners[i].calls),
				 (unsigned long)LOAD(S.scanners[i].failures));
		json_histogram(b, &S.scanners[i].latency);
		mavis_buf_putc(b, '}');
		first = false;
	}
	mavis_buf_puts(b, "]");
	for (int e = 0; e < MAVIS_STATS_EVENT_COUNT; e++)
		mavis_buf_printf(b, ",\"%s\":%lu", event_names[e], (unsigned long)LOAD(S.events[e]));
	mavis_buf_puts(b, "}\n");
}

void
mavis_stats_format_text(struct mavis_buf *b)
{
	unsigned long msgs = 0, rcpts = 0;
	int nsc = scanner_count();

	mavis_buf_printf(b, "%-40s %lld\n", "uptime_seconds", (long long)(time(NULL) - start_time));
	mavis_buf_printf(b, "%-40s %lu\n", "sessions.started", (unsigned long)LOAD(S.sessions));
	mavis_buf_printf(b, "%-40s %lu\n", "sessions.in_flight", mavis_stats_sessions_in_flight());
	for (int c = 1; c < MAVIS_CC_COUNT; c++)
		for (size_t a = 0; a < NACTIONS; a++) {
			unsigned long v = LOAD(S.messages[c][a]);

			msgs += v;
			if (v) {
				char name[64];

				snprintf(name, sizeof(name), "messages.%s.%s", ccat_names[c], action_names[a]);
				mavis_buf_printf(b, "%-40s %lu\n", name, v);
			}
		}
	mavis_buf_printf(b, "%-40s %lu\n", "messages", msgs);
	for (int c = 1; c < MAVIS_CC_COUNT; c++)
		for (size_t d = 0; d < NDESTINIES; d++) {
			unsigned long v = LOAD(S.recipients[c][d]);

			rcpts += v;
			if (v) {
				char name[64];

				snprintf(name, sizeof(name), "recipients.%s.%s", ccat_names[c], destiny_names[d]);
				mavis_buf_printf(b, "%-40s %lu\n", name, v);
			}
		}
	mavis_buf_printf(b, "%-40s %lu\n", "recipients", rcpts);
	unsigned long n = 0;
	for (size_t i = 0; i <= MAVIS_STATS_BUCKETS; i++)
		n += LOAD(S.eom.bucket[i]);
	mavis_buf_printf(b, "%-40s %.1f\n", "messages.avg_ms", n ? LOAD(S.eom.sum_usec) / 1e3 / (double)n : 0.0);
	for (int i = 0; i < nsc; i++) {
		unsigned long calls = LOAD(S.scanners[i].calls);

		mavis_buf_printf(b, "scanner %s %s: calls %lu, failures %lu, avg %.1f ms\n",
				 S.scanners[i].kind, atomic_load(&S.scanners[i].name), calls,
				 (unsigned long)LOAD(S.scanners[i].failures),
				 calls ? LOAD(S.scanners[i].latency.sum_usec) / 1e3 / (double)calls : 0.0);
	}
	for (int e = 0; e < MAVIS_STATS_EVENT_COUNT; e++)
		mavis_buf_printf(b, "%-40s %lu\n", event_names[e], (unsigned long)LOAD(S.events[e]));
}

void
mavis_stats_reset_for_tests(void)
{
	/* Scanner names stay (they are interned); their counts go. */
	for (int i = 0; i < MAVIS_STATS_SCANNERS_MAX; i++) {
		atomic_store(&S.scanners[i].calls, 0);
		atomic_store(&S.scanners[i].failures, 0);
		memset(&S.scanners[i].latency, 0, sizeof(S.scanners[i].latency));
	}
	atomic_store(&S.sessions, 0);
	memset(S.messages, 0, sizeof(S.messages));
	memset(S.recipients, 0, sizeof(S.recipients));
	memset(S.events, 0, sizeof(S.events));
	memset(&S.eom, 0, sizeof(S.eom));
}
