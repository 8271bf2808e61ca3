# cmake -DINPUT=<file> -DOUTPUT=<header> -DNAME=<identifier> -P embed_text.cmake
#
# Writes a header holding INPUT's text as `inline constexpr std::string_view NAME`, a raw string
# literal: the server's web page (server/http/page.html) is compiled into the binary, so it
# needs no file at run time. The header is rewritten only when its text changes.
file(READ "${INPUT}" text)
string(FIND "${text}" ")scales_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter ')scales_embed\"'")
endif()
set(header "// Generated from ${INPUT} by cmake/embed_text.cmake: do not edit.
#pragma once
#include <string_view>
namespace scales::server::http {
inline constexpr std::string_view ${NAME} = R\"scales_embed(${text})scales_embed\";
}  // namespace scales::server::http
")
file(WRITE "${OUTPUT}.tmp" "${header}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
