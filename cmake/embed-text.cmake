# Turn a text file into a C array, at build time: cmake -DIN=file -DOUT=file.c
# -DSYMBOL=name -P embed-text.cmake. The array gets a NUL after the text;
# NAME_len is the text's length. Both symbols are hidden in the library.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(src "${IN}" NAME)
file(WRITE "${OUT}.tmp"
  "/* Generated from ${src} by cmake/embed-text.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "__attribute__((visibility(\"hidden\"))) extern const unsigned char ${SYMBOL}[];\n"
  "__attribute__((visibility(\"hidden\"))) extern const size_t ${SYMBOL}_len;\n"
  "const unsigned char ${SYMBOL}[] = {${bytes}0x00};\n"
  "const size_t ${SYMBOL}_len = sizeof(${SYMBOL}) - 1;\n")
file(RENAME "${OUT}.tmp" "${OUT}")
