# Strict warnings for every target of the project (STYLE.md §5.19).
add_compile_options(
  -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
  -Wmissing-declarations -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare
  -Wno-unused-parameter -fno-common -fstack-protector-strong)
add_compile_definitions(_GNU_SOURCE)
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug" AND NOT CMAKE_BUILD_TYPE STREQUAL "Sanitize")
  add_compile_definitions(_FORTIFY_SOURCE=2)
endif()
add_link_options(-Wl,-z,relro,-z,now)
if(MAVIS_WERROR)
  add_compile_options(-Werror)
endif()
