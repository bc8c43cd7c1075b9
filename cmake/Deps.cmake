# Every external library, found once, with the Debian package to install when missing.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

function(mavis_require_pkg var module debpkg)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "mavis needs ${module}: install the Debian package ${debpkg} "
                        "(contrib/install-deps does it)")
  endif()
endfunction()

mavis_require_pkg(GMIME gmime-3.0 libgmime-3.0-dev)
mavis_require_pkg(PCRE2 libpcre2-8 libpcre2-dev)
mavis_require_pkg(PQ libpq libpq-dev)
# SQL lookup keys: IDN domains in their A-label form, as amavisd looks them up
mavis_require_pkg(IDN2 libidn2 libidn2-dev)
mavis_require_pkg(CLAMAV libclamav libclamav-dev)
mavis_require_pkg(OPENDKIM opendkim libopendkim-dev)
# DKIM keys (mavisctl dkim genkey, key checks at load)
mavis_require_pkg(LIBCRYPTO libcrypto libssl-dev)
mavis_require_pkg(ARCHIVE libarchive libarchive-dev)
mavis_require_pkg(ZLIB zlib zlib1g-dev)
# rspamd client: HTTP/1.1 with keep-alive and timeouts, and its JSON reply
mavis_require_pkg(CURL libcurl libcurl4-openssl-dev)
mavis_require_pkg(JSONC json-c libjson-c-dev)
# mavisd: sd_notify (Type=notify readiness, reload, status, watchdog)
mavis_require_pkg(SYSTEMD libsystemd libsystemd-dev)
# mavisd: the metrics endpoint (GET /metrics), HTTP off the milter threads
mavis_require_pkg(MICROHTTPD libmicrohttpd libmicrohttpd-dev)

find_library(MILTER_LIBRARY milter)
find_path(MILTER_INCLUDE_DIR libmilter/mfapi.h)
if(NOT MILTER_LIBRARY OR NOT MILTER_INCLUDE_DIR)
  message(FATAL_ERROR "mavis needs libmilter: install the Debian package libmilter-dev "
                      "(contrib/install-deps does it)")
endif()

find_library(MAGIC_LIBRARY magic)
find_path(MAGIC_INCLUDE_DIR magic.h)
if(NOT MAGIC_LIBRARY OR NOT MAGIC_INCLUDE_DIR)
  message(FATAL_ERROR "mavis needs libmagic: install the Debian package libmagic-dev "
                      "(contrib/install-deps does it)")
endif()

# DMARC: organisational domains by the public suffix list
mavis_require_pkg(PSL libpsl libpsl-dev)
# SPF and DMARC (lib/auth): neither ships a pkg-config file
find_library(SPF2_LIBRARY spf2)
find_path(SPF2_INCLUDE_DIR spf2/spf.h)
if(NOT SPF2_LIBRARY OR NOT SPF2_INCLUDE_DIR)
  message(FATAL_ERROR "mavis needs libspf2: install the Debian package libspf2-dev "
                      "(contrib/install-deps does it)")
endif()
find_library(OPENDMARC_LIBRARY opendmarc)
find_path(OPENDMARC_INCLUDE_DIR opendmarc/dmarc.h)
if(NOT OPENDMARC_LIBRARY OR NOT OPENDMARC_INCLUDE_DIR)
  message(FATAL_ERROR "mavis needs libopendmarc: install the Debian package libopendmarc-dev "
                      "(contrib/install-deps does it)")
endif()
