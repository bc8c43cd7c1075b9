-- Protocol tests for mavisd, driven by miltertest.
-- Variables: socket (libmilter spelling of mavisd's socket).

local function check(cond, what)
	if not cond then
		mt.echo("FAILED: " .. what)
		error("FAILED: " .. what)
	end
end

local function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		local msg = string.format("FAILED: %s: reply %s, want %s", what, tostring(got), tostring(want))
		mt.echo(msg)
		error(msg)
	end
end

local function open()
	local conn = mt.connect(socket, 40, 0.25)
	check(conn ~= nil, "connect to " .. socket)
	check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
	check(mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "mx.test.example",
		"{client_addr}", "203.0.113.5") == nil, "connect macros")
	check(mt.conninfo(conn, "client.example.net", "203.0.113.5") == nil, "conninfo")
	check(mt.helo(conn, "client.example.net") == nil, "helo")
	return conn
end

-- Postfix's smtpd sends {rcpt_mailer}; without it mavisd treats the mail
-- as non-SMTP and never refuses a recipient.
local function rcpt(conn, addr)
	check(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_addr}", addr) == nil, "rcpt macros")
	return mt.rcptto(conn, "<" .. addr .. ">")
end

local function headers(conn, subject)
	check(mt.header(conn, "From", " alice@example.net") == nil, "From")
	check(mt.header(conn, "To", " bob@test.example") == nil, "To")
	check(mt.header(conn, "Subject", " " .. subject) == nil, "Subject")
	check(mt.header(conn, "Date", " Mon, 1 Jan 2024 00:00:00 +0000") == nil, "Date")
	check(mt.header(conn, "Message-ID", " <" .. subject .. "@example.net>") == nil, "Message-ID")
	check(mt.eoh(conn) == nil, "eoh")
end

-- 1. A clean message: accepted, nothing edited.
local conn = open()
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail")
check(rcpt(conn, "bob@test.example") == nil, "rcpt")
expect(conn, SMFIR_CONTINUE, "rcpt bob")
headers(conn, "clean")
check(mt.bodystring(conn, "Hello Bob.\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "clean accepted")
check(not mt.eom_check(conn, MT_HDRADD, "X-Mavis-Alert"), "no alert on clean mail")
check(not mt.eom_check(conn, MT_HDRINSERT, "X-Mavis-Alert"), "no alert on clean mail (insert)")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<bob@test.example>"), "bob kept")

-- 2. Second message on the same connection (after RSET = abort).
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 2")
check(rcpt(conn, "carol@test.example") == nil, "rcpt 2")
headers(conn, "aborted")
check(mt.bodystring(conn, "half a body") == nil, "body 2")
check(mt.abort(conn) == nil, "abort mid-body")
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 3")
check(rcpt(conn, "carol@test.example") == nil, "rcpt 3")
headers(conn, "third")
check(mt.bodystring(conn, "Third message.\r\n") == nil, "body 3")
check(mt.eom(conn) == nil, "eom 3")
check(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "third accepted")

-- 3. Mixed recipients: small@ has a 200-byte limit, bob has none:
--    accept, delete small@ only.
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 4")
check(rcpt(conn, "bob@test.example") == nil, "rcpt 4a")
check(rcpt(conn, "small@test.example") == nil, "rcpt 4b")
headers(conn, "mixed")
check(mt.bodystring(conn, string.rep("x", 70) .. "\r\n" .. string.rep("y", 300) .. "\r\n") == nil, "body 4")
check(mt.eom(conn) == nil, "eom 4")
check(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "mixed accepted")
check(mt.eom_check(conn, MT_RCPTDELETE, "<small@test.example>"), "small@ deleted")
check(not mt.eom_check(conn, MT_RCPTDELETE, "<bob@test.example>"), "bob kept in mixed")

-- 4. All recipients over their limit: rejected with 552 5.3.4.
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 5")
check(rcpt(conn, "small@test.example") == nil, "rcpt 5")
headers(conn, "oversized")
check(mt.bodystring(conn, string.rep("z", 500) .. "\r\n") == nil, "body 5")
check(mt.eom(conn) == nil, "eom 5")
expect(conn, SMFIR_REPLYCODE, "oversized rejected with a reply code")

-- 5. Too many recipients: the fourth gets 452 4.5.3.
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 6")
for i = 1, 3 do
	check(rcpt(conn, "r" .. i .. "@test.example") == nil, "rcpt 6." .. i)
	expect(conn, SMFIR_CONTINUE, "rcpt 6." .. i)
end
check(rcpt(conn, "r4@test.example") == nil, "rcpt 6.4")
expect(conn, SMFIR_REPLYCODE, "fourth recipient refused")
check(mt.abort(conn) == nil, "abort 6")

-- 5b. A bad header section (no Date, duplicate Subject) passes by default
--     with an X-Mavis-Alert field inserted at the top.
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 6b")
check(rcpt(conn, "bob@test.example") == nil, "rcpt 6b")
check(mt.header(conn, "From", " alice@example.net") == nil, "From 6b")
check(mt.header(conn, "Subject", " one") == nil, "Subject 6b")
check(mt.header(conn, "Subject", " two") == nil, "Subject 6b 2")
check(mt.eoh(conn) == nil, "eoh 6b")
check(mt.bodystring(conn, "body\r\n") == nil, "body 6b")
check(mt.eom(conn) == nil, "eom 6b")
check(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "bad header passed")
check(mt.eom_check(conn, MT_HDRINSERT, "X-Mavis-Alert"), "X-Mavis-Alert inserted")

mt.disconnect(conn)

-- 6. A connection that closes in the middle of a message frees it.
conn = open()
check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail 7")
check(rcpt(conn, "bob@test.example") == nil, "rcpt 7")
headers(conn, "dropped")
check(mt.bodystring(conn, "and then the client vanished") == nil, "body 7")
mt.disconnect(conn, false)

-- 7. Several connections in a row keep working.
for i = 1, 5 do
	conn = open()
	check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail loop")
	check(rcpt(conn, "bob@test.example") == nil, "rcpt loop")
	headers(conn, "loop" .. i)
	check(mt.bodystring(conn, "loop\r\n") == nil, "body loop")
	check(mt.eom(conn) == nil, "eom loop")
	check(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "loop accepted")
	mt.disconnect(conn)
end
mt.echo("protocol.lua: all checks passed")
