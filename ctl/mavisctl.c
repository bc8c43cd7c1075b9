/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mavisctl.c - placeholder main until the admin tool lands */

int main(void);

int
main(void)
{
	return 0;
}
