/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_RECEIVED_H
#define MAVIS_SA_RECEIVED_H

/*
 * Received header parsing as SpamAssassin 4.0 (Message/Metadata/Received.pm)
 * and the trusted/internal split behind the X-Spam-Relays-* pseudo-headers,
 * plus RelayEval's evals on the result.
 *
 * Forms parsed: Postfix, Sendmail (with and without rDNS, IDENT, authenticated
 * bits), Exim, qmail, Microsoft Exchange, and SA's generic fallbacks ("[ip]"
 * and "(helo [ip])" anywhere). Lines SA ignores (not "from ...", "with local
 * for", "from x by y;") are skipped as SA does; a line none of the forms fits
 * and that has no [ip] and by host counts as unparseable.
 *
 * Trust as SA: walking from the top, a relay stays trusted while its IP is in
 * trusted_networks (127/8 and ::1 always are) or it authenticated; internal
 * likewise with internal_networks. When neither set has been configured
 * (both NULL), SA's inference applies: a relay is trusted (and internal)
 * while it has a private IP or authenticated. When one is NULL it takes the
 * other's value, as SA does. No global state; all output in the arena.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/error.h>

struct sa_relays;
struct sa_netset;

/* Add one network ("1.2.3.0/24", "10/8", "1.2.3.4", "[::1]", "2001:db8::/32",
   "!10.1/16" excludes) to *set, creating it on first use (heap). Returns 0,
   or MAVIS_ERR_CONFIG with err set when the text is no network. */
int sa_netset_add(struct sa_netset **set, const char *cidr, struct mavis_error *err);
/* 1 when ip (text) is in the set (first matching entry decides), else 0. */
int sa_netset_contains(const struct sa_netset *set, const char *ip);
/* Free a set; sets *set to NULL. NULL-safe. */
void sa_netset_free(struct sa_netset **set);

/* Parse the Received values (top first, unfolded or not) and own_received
   (mavisd's own hop, placed on top; may be NULL) into relays from arena a.
   Always succeeds on any input: returns 0 and sets *out. At most 1000 lines
   are read (SA has no limit; later lines are counted unparseable). */
int sa_relays_build(const char *const *received_values, size_t n, const char *own_received,
		    const struct sa_netset *trusted, const struct sa_netset *internal,
		    struct mavis_arena *a, struct sa_relays **out);

/* "X-Spam-Relays-Trusted", "-Untrusted", "-Internal", "-External": SA's
   string ("[ ip=... ] [ ... ]", "" when empty); NULL for another name. */
const char *sa_relays_pseudo(const struct sa_relays *r, const char *name);

/* One parsed line as SA's as_string, for tests: the relay of the i-th
   parseable line from the top, NULL past the end. */
const char *sa_relays_line(const struct sa_relays *r, size_t i);

/* Lines counted unparseable (SA's num_relays_unparseable). */
size_t sa_relays_unparseable(const struct sa_relays *r);

/* One relay as Received.pm's hash has it (strings "" when empty; they
   live as long as the relays). */
struct sa_relay_info {
	const char *ip, *rdns, *helo, *by;
	bool ip_private;
	bool no_rdns;		/* no_reverse_dns: the MTA looked and found none */
	const char *envfrom;	/* NULL when the line named none */
};

/* The trusted (untrusted = 0) or untrusted relays: how many, and relay i
   top first (false past the end). */
size_t sa_relays_count(const struct sa_relays *r, int untrusted);
/* Received.pm's last_trusted_relay_index (internal = 0) or
   last_internal_relay_index: the index, among the message's Received
   fields from the top, of the last one added by a trusted (internal) hop;
   -1 when none. For ALL-TRUSTED, ALL-EXTERNAL, ... */
long sa_relays_last_index(const struct sa_relays *r, int internal);
bool sa_relays_get(const struct sa_relays *r, int untrusted, size_t i, struct sa_relay_info *out);

/* RelayEval: check_all_trusted, check_no_relays, check_relays_unparseable,
   helo_ip_mismatch, check_for_numeric_helo (on the untrusted relays).
   Returns 1 hit, 0 no hit, -1 unknown. */
int sa_relay_eval(const struct sa_relays *r, const char *fn, const char *const *args, size_t nargs);

#endif
