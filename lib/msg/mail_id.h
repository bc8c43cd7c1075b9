/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mail_id.h - amavisd-style mail_id and secret_id */
#ifndef MAVIS_MAIL_ID_H
#define MAVIS_MAIL_ID_H

#define MAVIS_MAIL_ID_LEN 12

/* mail_id = first 12 base64url chars of md5(secret), secret_id = the 9
   random bytes in base64url (12 chars), as amavisd 2.7+ makes them. */
void mavis_mail_id_new(char mail_id[MAVIS_MAIL_ID_LEN + 1],
		       char secret_id[MAVIS_MAIL_ID_LEN + 1]);

#endif
