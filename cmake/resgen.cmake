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
  if(ARG_NETWORK MATCHES "\\.(cpp|cc|cxx)$")
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
  set(_deps ${_generator})
  if(ARG_WEIGHTS)
    get_filename_component(_weights "${ARG_WEIGHTS}" ABSOLUTE)
    list(APPEND _args --weights "${_weights}")
    list(APPEND _deps "${_weights}")
    if(ARG_EMBED)
      list(APPEND _args --embed-weights)
    endif()
  endif()

  set(_lib "${_out}/lib${_net}.a")
  add_custom_command(
    OUTPUT "${_lib}" "${_out}/${_net}.h" "${_out}/${_net}.hpp"
    COMMAND $<TARGET_FILE:${_generator}> ${_args}
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
