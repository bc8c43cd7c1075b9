/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mavisd.c - placeholder main until the milter adapter lands */

int main(void);

int
main(void)
{
	return 0;
}
