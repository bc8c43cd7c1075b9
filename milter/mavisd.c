/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mavisd.c - placeholder until the milter lands */
int main(void);
int main(void) { return 0; }
