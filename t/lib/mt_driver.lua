-- t/lib/mt_driver.lua - runs a miltertest script so that its errors are seen.
-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- Debian 12's miltertest (OpenDKIM 2.11, Lua 5.3) exits 1 WITHOUT printing
-- anything when a script has a syntax error or calls error(): it only prints
-- the message when it is alone on the Lua stack, and it is not. t/lib/milter.sh
-- therefore runs this driver (miltertest -s mt_driver.lua -D mt_script=PATH),
-- which loads the real script itself and prints what went wrong:
--   exit 3  the script does not compile (message: "mt_driver: LOAD ...")
--   exit 1  the script raised an error (message + traceback: "mt_driver: FAIL ...")
--   exit 0  the script ran to its end
-- With -D mt_syntax_only=1 the script is compiled, not run.

if mt_script == nil then
	mt.echo("mt_driver: FAIL no -D mt_script=PATH given")
	os.exit(2)
end

local chunk, err = loadfile(mt_script)
if chunk == nil then
	mt.echo("mt_driver: LOAD " .. tostring(err))
	os.exit(3)
end
if mt_syntax_only ~= nil then
	mt.echo("mt_driver: syntax ok: " .. mt_script)
	return
end

local ok, e = xpcall(chunk, debug.traceback)
if not ok then
	mt.echo("mt_driver: FAIL " .. tostring(e))
	-- error() rather than os.exit(): miltertest still stops a filter the
	-- script started with mt.startfilter().
	error(e, 0)
end
