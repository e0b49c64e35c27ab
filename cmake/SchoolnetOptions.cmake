# One INTERFACE target carries the language standard, warnings and sanitizer flags; every
# project target links it so that the whole tree is built the same way.
add_library(schoolnet_options INTERFACE)
target_compile_features(schoolnet_options INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(schoolnet_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  $<$<BOOL:${SCHOOLNET_WERROR}>:-Werror>
  # g++ 12 reports Asio's coroutine frame allocator as mismatched new/delete where it is not
  # (GCC bug 109224, fixed in GCC 13); the warning would otherwise fail every coroutine.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)
# Asio and Beast are header-only here; keep them from pulling in deprecated interfaces.
target_compile_definitions(schoolnet_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

if(SCHOOLNET_SANITIZE)
  target_compile_options(schoolnet_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(schoolnet_options INTERFACE -fsanitize=address,undefined)
endif()

# libFuzzer needs coverage instrumentation in the code it explores, not only in the fuzz target's
# own file: instrument every target; the fuzz targets add -fsanitize=fuzzer to link libFuzzer.
# The instrumentation's callbacks come from libFuzzer or from the sanitizer runtime, so other
# programs of a fuzzing build link only with SCHOOLNET_SANITIZE=ON.
if(SCHOOLNET_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SCHOOLNET_FUZZ=ON needs clang: configure with CC=clang CXX=clang++")
  endif()
  target_compile_options(schoolnet_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

if(SCHOOLNET_CLANG_TIDY)
  find_program(CLANG_TIDY_EXE NAMES clang-tidy clang-tidy-14 REQUIRED)
  set(CMAKE_CXX_CLANG_TIDY ${CLANG_TIDY_EXE})
endif()
