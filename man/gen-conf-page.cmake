# Build mavisd.conf(5): the hand-written page with "@KEYS@" replaced by the
# key list that mavisctl prints from the key table.
# cmake -DMAVISCTL=... -DIN=... -DOUT=... -P gen-conf-page.cmake
execute_process(COMMAND ${MAVISCTL} config -m OUTPUT_VARIABLE keys RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mavisctl config -m failed: ${rc}")
endif()
file(READ ${IN} page)
string(REPLACE "@KEYS@\n" "${keys}" page "${page}")
file(WRITE ${OUT}.tmp "${page}")
file(RENAME ${OUT}.tmp ${OUT})
