/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_date.c - dates as Util::parse_rfc822_date reads them */

/*
 * SpamAssassin's date parser is lenient in its own way: the day, month
 * and year are found anywhere in the string (three forms, tried in turn),
 * two- and three-digit years are widened, out-of-range fields are forced
 * into range (years to 1970..2037), unknown time zones count as -0000.
 * HeaderEval's date rules compare such times, so the same leniency is
 * needed to hit where SpamAssassin hits. The patterns are compiled once
 * per process.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sa_int.h"

#define MON "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"

enum { D_DMY4, D_MDTY, D_DMY2, D_TIME, D_TZNUM, D_TZNAME, D_N };

static const struct {
	const char *pat;
	uint32_t opt;
} dpat[D_N] = {
	[D_DMY4] = { " (\\d+) " MON " (\\d{4}) ", PCRE2_CASELESS },
	[D_MDTY] = { " " MON " +(\\d+) \\d+:\\d+:\\d+ (\\d{4}) ", PCRE2_CASELESS },
	[D_DMY2] = { " (\\d+) " MON " (\\d{2,3}) ", PCRE2_CASELESS },
	[D_TIME] = { " (\\d?\\d):(\\d\\d)(:(\\d\\d))? ", 0 },
	[D_TZNUM] = { " ([-+]\\d{4}) ", 0 },
	[D_TZNAME] = { "\\b([A-Z]{2,4}(?:-DST)?)\\b", 0 },
};

static struct {
	pthread_once_t once;
	pcre2_code *re[D_N];
} dc = { .once = PTHREAD_ONCE_INIT };

static void
date_init(void)
{
	for (int i = 0; i < D_N; i++) {
		int ec;
		PCRE2_SIZE eo;

		dc.re[i] = pcre2_compile((PCRE2_SPTR)dpat[i].pat, PCRE2_ZERO_TERMINATED, dpat[i].opt, &ec,
					 &eo, NULL);
		if (dc.re[i] != NULL)
			(void)pcre2_jit_compile(dc.re[i], PCRE2_JIT_COMPLETE);
	}
}

/* Util.pm %TZ */
static const struct {
	const char *name, *off;
} tzs[] = {
	{ "UT", "+0000" }, { "UTC", "+0000" }, { "NDT", "-0230" }, { "AST", "-0400" },
	{ "ADT", "-0300" }, { "NST", "-0330" }, { "EST", "-0500" }, { "EDT", "-0400" },
	{ "CST", "-0600" }, { "CDT", "-0500" }, { "MST", "-0700" }, { "MDT", "-0600" },
	{ "PST", "-0800" }, { "PDT", "-0700" }, { "HST", "-1000" }, { "AKST", "-0900" },
	{ "AKDT", "-0800" }, { "HADT", "-0900" }, { "HAST", "-1000" }, { "GMT", "+0000" },
	{ "BST", "+0100" }, { "IST", "+0100" }, { "WET", "+0000" }, { "WEST", "+0100" },
	{ "CET", "+0100" }, { "CEST", "+0200" }, { "EET", "+0200" }, { "EEST", "+0300" },
	{ "MSK", "+0300" }, { "MSD", "+0400" }, { "MET", "+0100" }, { "MEZ", "+0100" },
	{ "MEST", "+0200" }, { "MESZ", "+0200" }, { "BRST", "-0200" }, { "BRT", "-0300" },
	{ "AEST", "+1000" }, { "AEDT", "+1100" }, { "ACST", "+0930" }, { "ACDT", "+1030" },
	{ "AWST", "+0800" }, { "NZST", "+1200" }, { "NZDT", "+1300" }, { "JST", "+0900" },
	{ "KST", "+0900" }, { "HKT", "+0800" }, { "SGT", "+0800" }, { "PHT", "+0800" },
	{ "IDT", "+0300" },
};

/* digits of group g as a number, capped */
static long
grp_num(const char *s, const PCRE2_SIZE *ov, int g, size_t *len)
{
	long v = 0;

	if (ov[2 * g] == PCRE2_UNSET) {
		if (len)
			*len = 0;
		return 0;
	}
	for (PCRE2_SIZE i = ov[2 * g]; i < ov[2 * g + 1]; i++)
		if (v < 100000000)
			v = v * 10 + (s[i] - '0');
	if (len)
		*len = ov[2 * g + 1] - ov[2 * g];
	return v;
}

/* s/RE/ / once: the first match replaced by one space */
static bool
take(char *s, size_t *n, int which, pcre2_match_data *md, PCRE2_SIZE *ov_out, char *copy)
{
	if (dc.re[which] == NULL ||
	    pcre2_match(dc.re[which], (PCRE2_SPTR)s, *n, 0, 0, md, NULL) < 0)
		return false;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	int ng = (int)pcre2_get_ovector_count(md);

	memcpy(copy, s, *n + 1);	/* the groups read from the string before */
	for (int i = 0; i < 2 * ng && i < 12; i++)
		ov_out[i] = ov[i];
	size_t e = ov[1];

	s[ov[0]] = ' ';
	memmove(s + ov[0] + 1, s + e, *n - e + 1);
	*n = *n - (e - ov[0]) + 1;
	return true;
}

static int
mon_num(const char *m)
{
	static const char *const names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					     "jul", "aug", "sep", "oct", "nov", "dec" };

	for (int i = 0; i < 12; i++)
		if (strncasecmp(m, names[i], 3) == 0)
			return i + 1;
	return 0;
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static long
days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

bool
sa_parse_rfc822_date(const char *date, double *out)
{
	pthread_once(&dc.once, date_init);
	if (date == NULL)
		return false;
	size_t dl = strlen(date);

	if (dl > 4096)
		dl = 4096;
	/* " date ", then a comma and the spaces after it, and each run of white space, as one space */
	char *s = malloc(dl + 3), *copy = malloc(dl + 3);
	size_t n = 0;

	if (s == NULL || copy == NULL) {
		free(s);
		free(copy);
		return false;
	}
	s[n++] = ' ';
	for (size_t i = 0; i < dl; i++) {
		char c = date[i];

		if (c == ',') {
			c = ' ';
			while (i + 1 < dl && date[i + 1] == ' ')
				i++;
		}
		if (sa_isspace((unsigned char)c)) {
			if (s[n - 1] != ' ')
				s[n++] = ' ';
			continue;
		}
		s[n++] = c;
	}
	if (s[n - 1] != ' ')
		s[n++] = ' ';
	s[n] = '\0';

	pcre2_match_data *md = pcre2_match_data_create(8, NULL);
	PCRE2_SIZE ov[12];
	long yyyy = 0, mmm = 0, dd = 0, hh = 0, mi = 0, ss = 0;
	size_t ylen = 0;
	bool ok = false;

	if (md == NULL)
		goto done;
	/* in SpamAssassin's order: d Mon yyyy, Mon d hh:mm:ss yyyy, d Mon yy(y) */
	if (take(s, &n, D_DMY4, md, ov, copy)) {
		dd = grp_num(copy, ov, 1, NULL);
		mmm = mon_num(copy + ov[4]);
		yyyy = grp_num(copy, ov, 3, &ylen);
	} else if (take(s, &n, D_MDTY, md, ov, copy)) {
		mmm = mon_num(copy + ov[2]);
		dd = grp_num(copy, ov, 2, NULL);
		yyyy = grp_num(copy, ov, 3, &ylen);
	} else if (take(s, &n, D_DMY2, md, ov, copy)) {
		dd = grp_num(copy, ov, 1, NULL);
		mmm = mon_num(copy + ov[4]);
		yyyy = grp_num(copy, ov, 3, &ylen);
	} else {
		goto done;
	}
	if (ylen == 2 && yyyy < 50)
		yyyy += 2000;
	else if (ylen != 4)
		yyyy += 1900;
	if (take(s, &n, D_TIME, md, ov, copy)) {
		hh = grp_num(copy, ov, 1, NULL);
		mi = grp_num(copy, ov, 2, NULL);
		ss = grp_num(copy, ov, 4, NULL);
	}
	const char *tz = NULL;

	if (take(s, &n, D_TZNUM, md, ov, copy)) {
		tz = copy + ov[2];
	} else if (take(s, &n, D_TZNAME, md, ov, copy)) {
		size_t tl = ov[3] - ov[2];

		for (size_t i = 0; i < sizeof(tzs) / sizeof(tzs[0]); i++)
			if (strlen(tzs[i].name) == tl && strncmp(tzs[i].name, copy + ov[2], tl) == 0)
				tz = tzs[i].off;
	}
	/* fudge invalid times into range */
	if (ss > 59)
		ss = 59;
	if (mi > 59)
		mi = 59;
	if (hh > 23)
		hh = 23;
	long max_dd = 31;

	if (mmm == 4 || mmm == 6 || mmm == 9 || mmm == 11)
		max_dd = 30;
	else if (mmm == 2)
		max_dd = (!(yyyy % 4) && ((yyyy % 100) || !(yyyy % 400))) ? 29 : 28;
	if (dd > max_dd) {
		dd = 1;
		if (++mmm > 12)
			mmm = 1, yyyy++;
	}
	if (yyyy > 2037)
		yyyy = 2037;
	else if (yyyy < 1970)
		yyyy = 1970;
	if (dd < 1 || mmm < 1)
		goto done;	/* Time::Local croaks */
	double t = (double)days_from_civil(yyyy, mmm, dd) * 86400 + hh * 3600 + mi * 60 + ss;

	if (tz != NULL && (tz[0] == '+' || tz[0] == '-') && sa_isdigit((unsigned char)tz[1])) {
		double off = (double)(((tz[1] - '0') * 10 + (tz[2] - '0')) * 60 +
				      (tz[3] - '0') * 10 + (tz[4] - '0')) * 60;

		if (tz[0] == '-')
			t += off;
		else if (t < off)
			t = 0;
		else
			t -= off;
	}
	*out = t;
	ok = true;
done:
	pcre2_match_data_free(md);
	free(s);
	free(copy);
	return ok;
}
