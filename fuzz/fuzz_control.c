/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_control.c - libFuzzer target: control socket requests (mavis_control_parse) */

// The input is what a client sent, read in two pieces as the server may read
// it: the first byte says where the first read ends. The parser must give
// the same answer for the whole input whether it saw the prefix first or
// not, accept only the four request lines, and never read past len.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/control.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mavis_control_cmd cmd = MAVIS_CONTROL_STATUS, cmd2 = MAVIS_CONTROL_STATUS;
	struct mavis_error err = { 0 };
	size_t cut;
	char *buf;
	int rc, rc2;

	if (size < 1 || size > 4 * MAVIS_CONTROL_REQUEST_MAX)
		return 0;
	cut = data[0] % size;
	size--;
	/* An exact-size copy, so that ASan sees a read past the end. */
	buf = malloc(size ? size : 1);
	memcpy(buf, data + 1, size);
	rc = mavis_control_parse(buf, size, &cmd, &err);
	if (rc == 1) {
		/* Only a whole line of at most the maximum is a request. */
		if (size > MAVIS_CONTROL_REQUEST_MAX || buf[size - 1] != '\n')
			abort();
		/* A prefix without the LF is "more, please" (or a bad byte). */
		rc2 = mavis_control_parse(buf, cut < size ? cut : 0, &cmd2, &err);
		if (rc2 == 1)
			abort();
		if (rc2 < 0)
			abort();	/* the whole line was good: no prefix of it is bad */
	} else if (rc != 0 && rc != MAVIS_ERR_PARSE && rc != MAVIS_ERR_LIMIT) {
		abort();
	}
	free(buf);
	return 0;
}
