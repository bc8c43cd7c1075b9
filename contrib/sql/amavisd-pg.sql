-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- The PostgreSQL database of amavisd-new 2.13, as mavisd reads and writes it.
-- Table and column names, types and keys are those amavisd-new uses (its
-- README.sql-pg), so that a database made for amavisd - or by iRedMail, whose
-- variant `mavisctl sql check` accepts too - serves mavisd unchanged, and the
-- panels that read it (iRedAdmin, MailZu) show mavisd's mail.
--
--   psql -d amavisd -f contrib/sql/amavisd-pg.sql
--   mavisctl sql check          (what the database of sql_dsn lacks)
--
-- Lookups (read only): policy, users, mailaddr, wblist.
-- Log and quarantine (read and write): maddr, msgs, msgrcpt, quarantine.

-- ---- lookups ----

-- One row per set of settings. Every column but id may be NULL, which means
-- "not set here": the lookup falls through to the next table of the *_maps
-- key (the static defaults of mavisd.conf). Flags are Y/N.
CREATE TABLE policy (
  id                           serial PRIMARY KEY,
  policy_name                  varchar(32),     -- a label for people
  virus_lover                  char(1) DEFAULT NULL,
  spam_lover                   char(1) DEFAULT NULL,
  unchecked_lover              char(1) DEFAULT NULL,
  banned_files_lover           char(1) DEFAULT NULL,
  bad_header_lover             char(1) DEFAULT NULL,
  bypass_virus_checks          char(1) DEFAULT NULL,
  bypass_spam_checks           char(1) DEFAULT NULL,
  bypass_banned_checks         char(1) DEFAULT NULL,
  bypass_header_checks         char(1) DEFAULT NULL,
  virus_quarantine_to          varchar(64) DEFAULT NULL,
  spam_quarantine_to           varchar(64) DEFAULT NULL,
  banned_quarantine_to         varchar(64) DEFAULT NULL,
  unchecked_quarantine_to      varchar(64) DEFAULT NULL,
  bad_header_quarantine_to     varchar(64) DEFAULT NULL,
  clean_quarantine_to          varchar(64) DEFAULT NULL,
  archive_quarantine_to        varchar(64) DEFAULT NULL,
  spam_tag_level               real DEFAULT NULL,  -- spam headers from here on
  spam_tag2_level              real DEFAULT NULL,  -- spammy: subject tag
  spam_tag3_level              real DEFAULT NULL,
  spam_kill_level              real DEFAULT NULL,  -- spam: final_spam_destiny
  spam_dsn_cutoff_level        real DEFAULT NULL,
  spam_quarantine_cutoff_level real DEFAULT NULL,
  addr_extension_virus         varchar(64) DEFAULT NULL,
  addr_extension_spam          varchar(64) DEFAULT NULL,
  addr_extension_banned        varchar(64) DEFAULT NULL,
  addr_extension_bad_header    varchar(64) DEFAULT NULL,
  warnvirusrecip               char(1) DEFAULT NULL,
  warnbannedrecip              char(1) DEFAULT NULL,
  warnbadhrecip                char(1) DEFAULT NULL,
  newvirus_admin               varchar(64) DEFAULT NULL,
  virus_admin                  varchar(64) DEFAULT NULL,
  banned_admin                 varchar(64) DEFAULT NULL,
  bad_header_admin             varchar(64) DEFAULT NULL,
  spam_admin                   varchar(64) DEFAULT NULL,
  spam_subject_tag             varchar(64) DEFAULT NULL,
  spam_subject_tag2            varchar(64) DEFAULT NULL,
  spam_subject_tag3            varchar(64) DEFAULT NULL,
  message_size_limit           integer DEFAULT NULL,  -- bytes; 0 = none
  banned_rulenames             varchar(64) DEFAULT NULL,
  disclaimer_options           varchar(64) DEFAULT NULL,
  forward_method               varchar(64) DEFAULT NULL,
  sa_userconf                  varchar(64) DEFAULT NULL,
  sa_username                  varchar(64) DEFAULT NULL
);

-- Recipients with settings. email is a lookup key in amavisd's order
-- (user+ext@dom, user@dom, @dom, @.dom, @.parent, ..., @.); of several
-- matching rows the highest priority wins, field by field.
CREATE TABLE users (
  id         serial  PRIMARY KEY,
  priority   integer NOT NULL DEFAULT 7,     -- higher wins
  policy_id  integer NOT NULL DEFAULT 1 CHECK (policy_id >= 0) REFERENCES policy(id),
  email      bytea   NOT NULL UNIQUE,        -- not RFC 5322 quoted
  fullname   varchar(255) DEFAULT NULL
  -- local   char(1)  optional: Y/N for local_domains_maps; without the
  --                  column a matching row (but "@.") makes the address local
);

-- Senders named in white/blacklists, keys as for users.email.
CREATE TABLE mailaddr (
  id         serial  PRIMARY KEY,
  priority   integer NOT NULL DEFAULT 9,     -- higher wins
  email      bytea   NOT NULL UNIQUE
);

-- Per recipient (rid = users.id), per sender (sid = mailaddr.id):
-- W (or Y, T) whitelisted, B (or N, F) blacklisted, a number = a score
-- added to the spam level, a space = neutral.
CREATE TABLE wblist (
  rid        integer NOT NULL CHECK (rid >= 0) REFERENCES users(id),
  sid        integer NOT NULL CHECK (sid >= 0) REFERENCES mailaddr(id),
  wb         varchar(10) NOT NULL,
  PRIMARY KEY (rid, sid)
);

-- ---- log and quarantine ----

-- Every address seen, once per partition. domain holds the labels in
-- reverse order ("com.example.mail") for grouping by domain.
CREATE TABLE maddr (
  id            serial       PRIMARY KEY,
  partition_tag integer      DEFAULT 0,
  email         bytea        NOT NULL,
  domain        varchar(255) NOT NULL,
  CONSTRAINT part_email UNIQUE (partition_tag, email)
);

-- One row per message. content is NULL while the message is in progress
-- (written when its mail_id is made, completed at the end).
CREATE TABLE msgs (
  partition_tag integer      DEFAULT 0,
  mail_id       bytea        NOT NULL,       -- 12 characters by default
  secret_id     bytea        DEFAULT '',     -- authorizes a release
  am_id         varchar(20)  NOT NULL,       -- the id in the log lines
  time_num      integer      NOT NULL CHECK (time_num >= 0),  -- Unix time
  time_iso      timestamp WITH TIME ZONE NOT NULL,
  sid           integer      NOT NULL CHECK (sid >= 0),       -- maddr.id
  policy        varchar(255) DEFAULT '',     -- policy banks loaded
  client_addr   varchar(255) DEFAULT '',
  size          integer      NOT NULL CHECK (size >= 0),
  originating   char(1)      DEFAULT ' ' NOT NULL,
  content       char(1),     -- V B U S Y M H O T C, NULL = in progress
  quar_type     char(1),     -- Q sql, F file, Z gzip file, B bsmtp, M mailbox, ' ' none
  quar_loc      varchar(255) DEFAULT '',
  dsn_sent      char(1),     -- Y N q(uenched)
  spam_level    real,
  message_id    varchar(255) DEFAULT '',
  from_addr     varchar(255) DEFAULT '',     -- From:, decoded, UTF-8
  subject       varchar(255) DEFAULT '',     -- Subject:, decoded, UTF-8
  host          varchar(255) NOT NULL,       -- the filter host (release service)
  CONSTRAINT msgs_partition_mail UNIQUE (partition_tag, mail_id),
  PRIMARY KEY (partition_tag, mail_id)
);
CREATE INDEX msgs_idx_sid      ON msgs (sid);
CREATE INDEX msgs_idx_mess_id  ON msgs (message_id);
CREATE INDEX msgs_idx_time_iso ON msgs (time_iso);
CREATE INDEX msgs_idx_time_num ON msgs (time_num);

-- One row per recipient of a message.
CREATE TABLE msgrcpt (
  partition_tag integer      DEFAULT 0,
  mail_id       bytea        NOT NULL,
  rseqnum       integer      DEFAULT 0   NOT NULL,  -- 1.. within the message
  rid           integer      NOT NULL,              -- maddr.id
  is_local      char(1)      DEFAULT ' ' NOT NULL,  -- Y N
  content       char(1)      DEFAULT ' ' NOT NULL,  -- as msgs.content
  ds            char(1)      NOT NULL,  -- P pass, R reject, B bounce, D discard, T tempfail
  rs            char(1)      NOT NULL,  -- ' '; panels: V viewed, R released, p, D
  bl            char(1)      DEFAULT ' ',  -- sender blacklisted by this recipient
  wl            char(1)      DEFAULT ' ',  -- sender whitelisted by this recipient
  bspam_level   real,
  smtp_resp     varchar(255) DEFAULT '',
  CONSTRAINT msgrcpt_partition_mail_rseq UNIQUE (partition_tag, mail_id, rseqnum),
  PRIMARY KEY (partition_tag, mail_id, rseqnum)
);
CREATE INDEX msgrcpt_idx_mail_id ON msgrcpt (mail_id);
CREATE INDEX msgrcpt_idx_rid     ON msgrcpt (rid);

-- Quarantined messages (*_quarantine_method = sql:): the text a file copy
-- would hold, in chunks of at most 16384 bytes, chunk_ind 1, 2, ...
CREATE TABLE quarantine (
  partition_tag integer DEFAULT 0,
  mail_id       bytea   NOT NULL,
  chunk_ind     integer NOT NULL CHECK (chunk_ind >= 0),
  mail_text     bytea   NOT NULL,
  PRIMARY KEY (partition_tag, mail_id, chunk_ind)
);
