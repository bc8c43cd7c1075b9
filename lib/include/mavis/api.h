/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_API_H
#define MAVIS_API_H

/* libmavis is built with hidden visibility: what its installed headers
   declare is marked MAVIS_API and is the whole of its dynamic symbol table.
   Everything else stays inside the library. */
#define MAVIS_API __attribute__((visibility("default")))

#endif
