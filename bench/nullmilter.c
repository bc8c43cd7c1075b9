/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nullmilter.c - the cheapest possible libmilter filter, as a yardstick for
 * bench/run: it negotiates what mavisd negotiates (no reply at connect, helo,
 * mail, header, eoh, body; a reply at rcpt, data and eom) and accepts every
 * message without looking at it. Whatever Postfix + libmilter cost with it
 * is the floor of any libmilter-based filter on this machine.
 *
 *   nullmilter inet:PORT@127.0.0.1 | unix:/path
 * Build: cc -O2 -pthread -o nullmilter nullmilter.c -lmilter
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
	     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH |
			     SMFIP_NR_BODY | SMFIP_NR_UNKN | SMFIP_HDR_LEADSPC | SMFIP_RCPT_REJ | SMFIP_NOUNKNOWN;

	(void)ctx;
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_QUARANTINE);
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_noreply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat nm_connect(SMFICTX *c, char *h, _SOCK_ADDR *a) { (void)h; (void)a; return nm_noreply(c); }
static sfsistat nm_helo(SMFICTX *c, char *h) { (void)h; return nm_noreply(c); }
static sfsistat nm_mail(SMFICTX *c, char **a) { (void)a; return nm_noreply(c); }
static sfsistat nm_rcpt(SMFICTX *c, char **a) { (void)c; (void)a; return SMFIS_CONTINUE; }
static sfsistat nm_data(SMFICTX *c) { (void)c; return SMFIS_CONTINUE; }
static sfsistat nm_header(SMFICTX *c, char *n, char *v) { (void)n; (void)v; return nm_noreply(c); }
static sfsistat nm_eoh(SMFICTX *c) { return nm_noreply(c); }
static sfsistat nm_body(SMFICTX *c, unsigned char *b, size_t l) { (void)b; (void)l; return nm_noreply(c); }
static sfsistat nm_eom(SMFICTX *c) { (void)c; return SMFIS_CONTINUE; }
static sfsistat nm_cont(SMFICTX *c) { (void)c; return SMFIS_CONTINUE; }

static struct smfiDesc desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_NONE,
	.xxfi_connect = nm_connect,
	.xxfi_helo = nm_helo,
	.xxfi_envfrom = nm_mail,
	.xxfi_envrcpt = nm_rcpt,
	.xxfi_header = nm_header,
	.xxfi_eoh = nm_eoh,
	.xxfi_body = nm_body,
	.xxfi_eom = nm_eom,
	.xxfi_abort = nm_cont,
	.xxfi_close = nm_cont,
	.xxfi_data = nm_data,
	.xxfi_negotiate = nm_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter SOCKET\n");
		return 2;
	}
	if (smfi_register(desc) == MI_FAILURE || smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
