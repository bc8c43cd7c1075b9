-- t/milter/example.lua - template for miltertest(8) scripts that drive mavisd.
-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- Not a registered test (only t/milter/test_*.sh are): copy it, then run the
-- copy from a test_*.sh through t/lib/milter.sh (which wraps it in
-- t/lib/mt_driver.lua; plain "miltertest -s" hides every error message):
--
--   MT_SOCKET="inet:$port@127.0.0.1"; mt_wait_socket "$MT_SOCKET" 10
--   mt_run "$MAVIS_SOURCE_DIR/t/milter/example.lua" expect=accept want_header=X-Virus-Scanned
--
-- Globals set with miltertest -D (always strings):
--   socket       libmilter socket spec, inet:PORT@HOST or unix:PATH (required)
--   expect       verdict expected at end of message: accept (default), reject,
--                tempfail, discard, quarantine
--   want_header  a header field name mavisd must add at EOM (optional)
--
-- Macros are sent the way Postfix 3.7 sends them by default (see
-- the Postfix milter notes): no {client_addr} at CONNECT, the
-- queue id "i" only from DATA on. mt.helo() comes before any MAIL-stage
-- macro because HELO clears the macros of every later stage.

if socket == nil then
	error("no socket: run with -D socket=inet:PORT@127.0.0.1 (t/lib/milter.sh mt_run sets it)")
end
expect = expect or "accept"

mt.set_timeout(10)

-- Fail with the step name and what came back; miltertest exits non-zero.
local function must(step, err)
	if err ~= nil then
		error(step .. " failed: " .. tostring(err))
	end
end

-- miltertest exports SMFIC_* only for CONNECT, HELO, MAIL and RCPT; the
-- macro stages Postfix also uses are DATA ('T'), EOH ('N') and EOM ('E').
local MACRO_DATA = SMFIC_DATA or string.byte("T")
local MACRO_EOM = SMFIC_BODYEOB or string.byte("E")

-- Protocol steps the filter may switch off in negotiation (SMFIP_NO*), in
-- which case miltertest refuses to send them. A filter that asked for "no
-- reply" (SMFIP_NR_*) is not waited for; getreply() then says CONTINUE.
local step_off = {
	conninfo = SMFIP_NOCONNECT, helo = SMFIP_NOHELO, mailfrom = SMFIP_NOMAIL,
	rcptto = SMFIP_NORCPT, data = SMFIP_NODATA, header = SMFIP_NOHDRS,
	eoh = SMFIP_NOEOH, bodystring = SMFIP_NOBODY,
}

local step_off_told = {}

-- step("helo", mt.helo, "name") sends one protocol step unless the filter
-- switched it off; returns true when it was sent.
local function step(name, fn, ...)
	local off = step_off[name]
	if off ~= nil and mt.test_option(conn, off) then
		if not step_off_told[name] then
			mt.echo("example.lua: the filter switched off " .. name .. "; not sent")
			step_off_told[name] = true
		end
		return false
	end
	must(name, fn(conn, ...))
	return true
end

local function reply_is(what, ...)
	local got = mt.getreply(conn)
	for _, want in ipairs({...}) do
		if got == want then
			return
		end
	end
	error(what .. ": unexpected milter reply '" .. (type(got) == "number" and string.char(got) or tostring(got)) .. "'")
end

-- Three tries, 0.5 s apart: the milter may still be binding its socket.
-- mt.connect raises "mt.connect(): SOCKET: connect(): ..." when all fail.
conn = mt.connect(socket, 3, 0.5)
if conn == nil then
	error("mt.connect(" .. socket .. ") failed")
end

-- Option negotiation with libmilter's defaults (protocol version 6, all
-- actions and steps offered), as Postfix does with milter_protocol = 6.
-- Careful: when the filter answers something other than OPTNEG, negotiate
-- still returns nil and only the next step fails.
must("negotiate", mt.negotiate(conn, nil, nil, nil))

-- CONNECT
mt.macro(conn, SMFIC_CONNECT,
	"j", "mta.mavis.test",
	"{daemon_name}", "mta.mavis.test",
	"{daemon_addr}", "127.0.0.1",
	"v", "Postfix 3.7.11",
	"_", "client.example.net [192.0.2.10]")
if step("conninfo", mt.conninfo, "client.example.net", "192.0.2.10") then
	reply_is("conninfo", SMFIR_CONTINUE)
end

-- HELO (always first: it wipes MAIL/RCPT macros sent before it)
if step("helo", mt.helo, "client.example.net") then
	reply_is("helo", SMFIR_CONTINUE)
end

-- MAIL FROM
mt.macro(conn, SMFIC_MAIL,
	"{mail_addr}", "sender@example.org",
	"{mail_host}", "127.0.0.1",
	"{mail_mailer}", "smtp")
if step("mailfrom", mt.mailfrom, "<sender@example.org>", "SIZE=512", "BODY=7BIT") then
	reply_is("mailfrom", SMFIR_CONTINUE)
end

-- RCPT TO (one call per recipient; the macros describe that recipient)
mt.macro(conn, SMFIC_RCPT,
	"{rcpt_addr}", "rcpt@example.com",
	"{rcpt_host}", "127.0.0.1",
	"{rcpt_mailer}", "smtp")
if step("rcptto", mt.rcptto, "<rcpt@example.com>") then
	reply_is("rcptto", SMFIR_CONTINUE)
end

-- DATA: the queue id is known from here on.
mt.macro(conn, MACRO_DATA, "i", "4AbCdE1234")
if step("data", mt.data) then
	reply_is("data", SMFIR_CONTINUE)
end

-- Header fields, in message order.
local headers = {
	{"From", "Sender <sender@example.org>"},
	{"To", "<rcpt@example.com>"},
	{"Subject", "miltertest example"},
	{"Date", "Tue, 22 Dec 2009 13:04:12 -0800"},
	{"Message-ID", "<example.1@example.org>"},
	{"MIME-Version", "1.0"},
	{"Content-Type", "text/plain; charset=us-ascii"},
}
for _, h in ipairs(headers) do
	if step("header", mt.header, h[1], h[2]) then
		reply_is("header " .. h[1], SMFIR_CONTINUE)
	end
end

if step("eoh", mt.eoh) then
	reply_is("eoh", SMFIR_CONTINUE)
end

-- Body: CRLF line ends, as an MTA sends it; may come in several chunks.
if step("bodystring", mt.bodystring, "Hello,\r\n\r\nthis is a clean test message.\r\n") then
	reply_is("body", SMFIR_CONTINUE, SMFIR_SKIP)
end

-- End of message: the verdict, plus any modifications captured by miltertest.
mt.macro(conn, MACRO_EOM, "i", "4AbCdE1234")
must("eom", mt.eom(conn))
local verdicts = {
	accept = {SMFIR_ACCEPT, SMFIR_CONTINUE},
	reject = {SMFIR_REJECT, SMFIR_REPLYCODE},
	tempfail = {SMFIR_TEMPFAIL, SMFIR_REPLYCODE},
	discard = {SMFIR_DISCARD},
	quarantine = {SMFIR_ACCEPT, SMFIR_CONTINUE},
}
local want = verdicts[expect]
if want == nil then
	error("unknown expect=" .. expect)
end
reply_is("eom (expect " .. expect .. ")", table.unpack(want))
if expect == "quarantine" and not mt.eom_check(conn, MT_QUARANTINE) then
	error("eom: expected a quarantine request")
end
if want_header ~= nil then
	if not (mt.eom_check(conn, MT_HDRADD, want_header) or mt.eom_check(conn, MT_HDRINSERT, want_header)) then
		error("eom: header " .. want_header .. " was not added")
	end
	mt.echo(want_header .. ": " .. tostring(mt.getheader(conn, want_header, 0)))
end

mt.disconnect(conn)
mt.echo("example.lua: ok (" .. expect .. ")")
