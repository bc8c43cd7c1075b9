/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_scan.c - mavisctl scan: run the message pipeline on a file */

#include <stdio.h>

#include "ctl.h"

int
ctl_cmd_scan(int argc, char **argv)
{
	fprintf(stderr, "mavisctl scan: not built yet\n");
	return 2;
}
