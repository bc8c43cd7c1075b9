# Per-domain policy for recipients @example.com (copy and rename to your
# domain, then set policy_directory in mavisd.conf). Only per-recipient
# parameters (the *_maps) are allowed here; they are consulted before the
# values of mavisd.conf.
spam_kill_level_maps = 10
spam_lovers_maps = postmaster@example.com, abuse@example.com
bypass_banned_checks_maps = archive@example.com
