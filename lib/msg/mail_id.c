/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mail_id.c - amavisd-style mail_id and secret_id */

#include <glib.h>
#include <string.h>
#include <sys/random.h>

#include "mail_id.h"

static void
b64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 4 < outlen; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

static void mail_id_once(char mail_id[MAVIS_MAIL_ID_LEN + 1],
			 char secret_id[MAVIS_MAIL_ID_LEN + 1]);

void
mavis_mail_id_new(char mail_id[MAVIS_MAIL_ID_LEN + 1], char secret_id[MAVIS_MAIL_ID_LEN + 1])
{
	/* As amavisd: an id must start and end with a letter or digit (draw
	   again, 1 in 16), keeping the md5(secret) relation. A leading '-'
	   reads as an option to mavisctl release and amavisd-release;
	   amavisd's AM.PDP refuses a leading '-' or '_', and amavisd-release
	   cuts "spam-ID" apart only when ID ends in one. */
	do
		mail_id_once(mail_id, secret_id);
	while (!g_ascii_isalnum(mail_id[0]) || !g_ascii_isalnum(mail_id[MAVIS_MAIL_ID_LEN - 1]));
}

static void
mail_id_once(char mail_id[MAVIS_MAIL_ID_LEN + 1], char secret_id[MAVIS_MAIL_ID_LEN + 1])
{
	unsigned char secret[9];
	guint8 digest[16];
	gsize dlen = sizeof(digest);
	char full[32];
	GChecksum *ck;

	/* getrandom never fails for 9 bytes once the pool is initialised;
	   fall back to GLib's PRNG rather than leave the id constant. */
	if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret))
		for (size_t i = 0; i < sizeof(secret); i++)
			secret[i] = (unsigned char)g_random_int();
	b64url(secret, sizeof(secret), secret_id, MAVIS_MAIL_ID_LEN + 1);
	/* amavisd: mail_id = b64url(md5(secret_bin)) truncated to 12 chars. */
	ck = g_checksum_new(G_CHECKSUM_MD5);
	g_checksum_update(ck, secret, sizeof(secret));
	g_checksum_get_digest(ck, digest, &dlen);
	g_checksum_free(ck);
	b64url(digest, dlen, full, sizeof(full));
	memcpy(mail_id, full, MAVIS_MAIL_ID_LEN);
	mail_id[MAVIS_MAIL_ID_LEN] = '\0';
}
