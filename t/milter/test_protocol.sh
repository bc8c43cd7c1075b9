#!/bin/sh
# mavisd over the milter protocol, driven by miltertest: replies, header and
# recipient edits, RSET/abort, several messages and connections.
set -eu
. "$MAVIS_SOURCE_DIR/t/lib/mavisd.sh"
mavisd_start "$MAVIS_SOURCE_DIR/t/milter/mavisd-test.conf"
miltertest -D socket="$MAVISD_SOCKET" -s "$MAVIS_SOURCE_DIR/t/milter/protocol.lua"
mavisd_stop
mavisd_check_log
