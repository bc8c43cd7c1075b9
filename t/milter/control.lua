-- Messages for test_control.sh, driven by miltertest.
-- Variables: socket; mode = "hold" (one clean message that stops after its
-- body for hold_secs seconds, with queue id HOLDQID1, from
-- hold.example.net [203.0.113.77]) or "send" (three clean messages and one
-- OVERSIZED that is rejected, on one connection).

local function check(cond, what)
	if not cond then
		mt.echo("FAILED: " .. what)
		error("FAILED: " .. what)
	end
end

local function open(name, addr)
	local conn = mt.connect(socket, 40, 0.25)
	check(conn ~= nil, "connect to " .. socket)
	check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
	check(mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "mx.test.example",
		"{client_addr}", addr) == nil, "connect macros")
	check(mt.conninfo(conn, name, addr) == nil, "conninfo")
	check(mt.helo(conn, name) == nil, "helo")
	return conn
end

local function message(conn, qid, rcpt, subject, body)
	check(mt.macro(conn, SMFIC_MAIL, "i", qid) == nil, "mail macros")
	check(mt.mailfrom(conn, "<alice@example.net>") == nil, "mail")
	check(mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_addr}", rcpt, "i", qid) == nil,
		"rcpt macros")
	check(mt.rcptto(conn, "<" .. rcpt .. ">") == nil, "rcpt")
	check(mt.header(conn, "From", " alice@example.net") == nil, "From")
	check(mt.header(conn, "To", " " .. rcpt) == nil, "To")
	check(mt.header(conn, "Subject", " " .. subject) == nil, "Subject")
	check(mt.header(conn, "Date", " Mon, 1 Jan 2024 00:00:00 +0000") == nil, "Date")
	check(mt.header(conn, "Message-ID", " <" .. qid .. "@example.net>") == nil, "Message-ID")
	check(mt.eoh(conn) == nil, "eoh")
	check(mt.bodystring(conn, body) == nil, "body")
end

local function eom(conn, want, what)
	check(mt.eom(conn) == nil, "eom " .. what)
	local got = mt.getreply(conn)
	check(got == want or (want == SMFIR_CONTINUE and got == SMFIR_ACCEPT),
		what .. ": reply " .. tostring(got) .. ", want " .. tostring(want))
end

if mode == "hold" then
	local conn = open("hold.example.net", "203.0.113.77")
	message(conn, "HOLDQID1", "bob@test.example", "held", "Held mid-message.\r\n")
	-- The session stays in flight, after its body, until the test looked.
	mt.sleep(tonumber(hold_secs))
	eom(conn, SMFIR_CONTINUE, "held message")
	mt.disconnect(conn)
else
	local conn = open("send.example.net", "198.51.100.20")
	for i = 1, 3 do
		message(conn, "SENDQID" .. i, "bob@test.example", "clean " .. i, "Hello Bob.\r\n")
		eom(conn, SMFIR_CONTINUE, "clean " .. i)
	end
	-- small@ has a 200-byte limit and final_oversized_destiny = reject.
	message(conn, "SENDQID4", "small@test.example", "big", string.rep("y", 300) .. "\r\n")
	eom(conn, SMFIR_REPLYCODE, "oversized")
	mt.disconnect(conn)
end
