# Writes a C++ source that holds the text of IN as `const char* const NAMESPACE::SYMBOL`.
# Usage: cmake -DIN=file -DOUT=file.cpp -DNAMESPACE=ns -DSYMBOL=name -P EmbedText.cmake
file(READ ${IN} text)
string(FIND "${text}" ")embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )embedded\"")
endif()
file(WRITE ${OUT} "// Generated from ${IN} by cmake/EmbedText.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\n"
  "extern const char* const ${SYMBOL};\n"
  "const char* const ${SYMBOL} = R\"embedded(${text})embedded\";\n"
  "}  // namespace ${NAMESPACE}\n")
