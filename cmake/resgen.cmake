# resgen_add_network(<target> NETWORK <zoo name | spec source>
#                    [NAME <network>] [TARGETS <halide target>] [SCHEDULE <schedule>]
#                    [INPUT CxHxW] [CLASSES K] [WEIGHTS <file> [EMBED]])
#
# Generates lib<NET>.a + <NET>.h + <NET>.hpp at build time and makes <target> a library to
# link: it brings the archive, its include folder and -lpthread -ldl.
#   NETWORK  a zoo name (resgen list), or a C++ source that declares networks with
#            RESGEN_NETWORK (see dsl/resgen/register.hpp); NAME picks one (default: <target>).
#   TARGETS  named Halide targets (default: this machine's features); several make one library
#            that picks the first the running machine supports (list the baseline last).
#   WEIGHTS  a safetensors file checked against the network; EMBED packs it into the library.
#
# The generator runs on the build machine. Inside resgen's own tree (add_subdirectory) it is the
# `resgen` target; otherwise, and always when cross-compiling, it is RESGEN_EXECUTABLE, a resgen
# built for this machine (find_package(resgen) sets it). When cross-compiling, the generated glue
# is compiled with this project's C++ compiler (CMAKE_CXX_COMPILER), so one resgen serves every
# target: e.g. a project configured with an aarch64 toolchain and TARGETS arm-64-linux.
set(RESGEN_EXECUTABLE "" CACHE FILEPATH "resgen built for the build machine (used when cross-compiling)")
find_package(Threads REQUIRED)

function(resgen_add_network target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "EMBED" "NETWORK;NAME;SCHEDULE;INPUT;CLASSES;WEIGHTS" "TARGETS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "resgen_add_network(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NETWORK)
    message(FATAL_ERROR "resgen_add_network(${target}): NETWORK <zoo name or spec source> is required")
  endif()
  if(ARG_EMBED AND NOT ARG_WEIGHTS)
    message(FATAL_ERROR "resgen_add_network(${target}): EMBED needs WEIGHTS <file>")
  endif()

  # The generator: resgen itself for zoo names, else the spec linked with resgen's command line.
  set(_host_resgen "")
  if(CMAKE_CROSSCOMPILING OR NOT TARGET resgen)
    if(NOT RESGEN_EXECUTABLE)
      message(FATAL_ERROR "resgen_add_network(${target}): set RESGEN_EXECUTABLE to a resgen built for this machine "
                          "(or use find_package(resgen) / add_subdirectory in a native build)")
    endif()
    set(_host_resgen "${RESGEN_EXECUTABLE}")
  endif()
  if(ARG_NETWORK MATCHES "\\.(cpp|cc|cxx)$")
    if(_host_resgen)
      message(FATAL_ERROR "resgen_add_network(${target}): a spec source is compiled into a generator, which needs "
                          "resgen's sources and a native build (add_subdirectory); when cross-compiling, generate "
                          "the library in a native build of the spec and import it")
    endif()
    get_filename_component(_spec "${ARG_NETWORK}" ABSOLUTE)
    if(NOT EXISTS "${_spec}")
      message(FATAL_ERROR "resgen_add_network(${target}): spec source ${ARG_NETWORK} does not exist")
    endif()
    set(_generator ${target}_generator)
    add_executable(${_generator} "${_spec}" "${resgen_SOURCE_DIR}/generator/cli/resgen_main.cpp")
    target_link_libraries(${_generator} PRIVATE resgen_cli)
    set(_net "${target}")
    if(ARG_NAME)
      set(_net "${ARG_NAME}")
    endif()
  elseif(_host_resgen)
    set(_generator "")
    set(_net "${ARG_NETWORK}")
  else()
    set(_generator resgen)
    set(_net "${ARG_NETWORK}")
  endif()

  set(_out "${CMAKE_CURRENT_BINARY_DIR}/${target}.resgen")
  set(_args generate "${_net}" --out "${_out}")
  if(ARG_TARGETS)
    list(JOIN ARG_TARGETS "," _targets)
    list(APPEND _args --target "${_targets}")
  endif()
  foreach(opt SCHEDULE INPUT CLASSES)
    if(ARG_${opt})
      string(TOLOWER "${opt}" _flag)
      list(APPEND _args "--${_flag}" "${ARG_${opt}}")
    endif()
  endforeach()
  set(_deps ${_generator} ${_host_resgen})
  if(ARG_WEIGHTS)
    get_filename_component(_weights "${ARG_WEIGHTS}" ABSOLUTE)
    list(APPEND _args --weights "${_weights}")
    list(APPEND _deps "${_weights}")
    if(ARG_EMBED)
      list(APPEND _args --embed-weights)
    endif()
  endif()

  set(_lib "${_out}/lib${_net}.a")
  if(_host_resgen)
    set(_command "${_host_resgen}")
  else()
    set(_command "$<TARGET_FILE:${_generator}>")
  endif()
  if(CMAKE_CROSSCOMPILING)
    set(_command ${CMAKE_COMMAND} -E env "RESGEN_CXX=${CMAKE_CXX_COMPILER}" ${_command})
  endif()
  add_custom_command(
    OUTPUT "${_lib}" "${_out}/${_net}.h" "${_out}/${_net}.hpp"
    COMMAND ${_command} ${_args}
    DEPENDS ${_deps}
    COMMENT "resgen: generating ${_net}"
    VERBATIM)
  add_custom_target(${target}_generate DEPENDS "${_lib}")
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_generate)
  target_include_directories(${target} INTERFACE "${_out}")
  # C programs also need the C++ runtime and libm (the glue is C++, the kernels call libm).
  target_link_libraries(${target} INTERFACE "${_lib}" Threads::Threads ${CMAKE_DL_LIBS}
                        "$<$<LINK_LANGUAGE:C>:stdc++;m>")
endfunction()
