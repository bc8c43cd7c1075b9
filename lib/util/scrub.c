/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scrub.c - the byte rule of the sanitiser, with no dependencies: log.c uses it too */

#include <mavis/text.h>

void
mavis_text_scrub(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}
