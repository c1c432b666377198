# The parts of nnlab and which way their includes may point.
#
# nnlab_part(<target> DIR <folder> [SUBDIRS <sub-folders>...] [SOURCES <files>...] [EXECUTABLE]
#            [DEPS <part targets>...] [USES <part targets>...] [LIBS <libraries>...] [PRIVATE_LIBS <...>])
#   builds the .cpp files of <folder> (and of the listed SUBDIRS, which belong to the same part;
#   or exactly SOURCES) into the static library (or EXECUTABLE) <target>, linked PUBLIC to DEPS and
#   LIBS, and records that the files of <folder> and SUBDIRS may include headers of <folder> and of
#   the folders of DEPS and USES (and of theirs, transitively), and nothing else of nnlab's. USES
#   allows includes without linking (the command line links the plugins whole, through nnlab::nnlab).
#
# nnlab_layer_check() adds the target nnlab_layer_check, on which every part depends: it runs
# cmake/check_layers.cmake over the sources before anything compiles, so an include that points the
# wrong way (core/ including core/run/, a plugin including another plugin, anything including apps/)
# fails the build with the file, the line and the rule. docs/architecture.md draws the same graph.

set_property(GLOBAL PROPERTY NNLAB_PARTS "")
add_custom_target(nnlab_layer_check)

function(nnlab_part target)
  cmake_parse_arguments(P "EXECUTABLE" "DIR" "SUBDIRS;DEPS;USES;LIBS;PRIVATE_LIBS;SOURCES" ${ARGN})
  set(sources "")
  set(all_files "")
  foreach(d ${P_DIR} ${P_SUBDIRS})
    file(GLOB d_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${d}/*.cpp)
    file(GLOB d_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${d}/*.hpp)
    list(APPEND sources ${d_sources})
    list(APPEND all_files ${d_sources} ${d_headers})
  endforeach()
  if(P_SOURCES)
    set(sources ${P_SOURCES})
  endif()
  if(P_EXECUTABLE)
    add_executable(${target} ${sources})
    target_link_libraries(${target} PRIVATE ${P_DEPS} ${P_LIBS} ${P_PRIVATE_LIBS} nnlab_warnings)
  else()
    add_library(${target} STATIC ${sources})
    # nnlab_warnings is for nnlab's own sources only: a static library's PRIVATE links still appear
    # in its exported interface (as $<LINK_ONLY:...>), so it is wrapped to stay out of the install.
    target_link_libraries(${target} PUBLIC ${P_DEPS} ${P_LIBS} PRIVATE ${P_PRIVATE_LIBS} $<BUILD_INTERFACE:nnlab_warnings>)
    target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                                $<INSTALL_INTERFACE:include/nnlab>)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  add_dependencies(${target} nnlab_layer_check)
  # Allowed include folders: its own, and its dependencies' (transitively).
  set(allowed ${P_DIR} ${P_SUBDIRS})
  foreach(dep ${P_DEPS} ${P_USES})
    get_property(dep_allowed GLOBAL PROPERTY NNLAB_PART_ALLOWED_${dep})
    list(APPEND allowed ${dep_allowed})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_property(GLOBAL PROPERTY NNLAB_PART_DIR_${target} ${P_DIR})
  set_property(GLOBAL PROPERTY NNLAB_PART_SUBDIRS_${target} ${P_SUBDIRS})
  set_property(GLOBAL PROPERTY NNLAB_PART_ALLOWED_${target} ${allowed})
  set_property(GLOBAL PROPERTY NNLAB_PART_FILES_${target} ${all_files})
  set_property(GLOBAL APPEND PROPERTY NNLAB_PARTS ${target})
endfunction()

# Writes the rules as "dir=allowed1,allowed2;..." and checks every part's files before the build.
function(nnlab_layer_check)
  get_property(parts GLOBAL PROPERTY NNLAB_PARTS)
  set(rules "")
  set(files "")
  foreach(p ${parts})
    get_property(dir GLOBAL PROPERTY NNLAB_PART_DIR_${p})
    get_property(allowed GLOBAL PROPERTY NNLAB_PART_ALLOWED_${p})
    get_property(part_files GLOBAL PROPERTY NNLAB_PART_FILES_${p})
    get_property(subdirs GLOBAL PROPERTY NNLAB_PART_SUBDIRS_${p})
    string(REPLACE ";" "," allowed_csv "${allowed}")
    foreach(d ${dir} ${subdirs})
      list(APPEND rules "${d}=${p}=${allowed_csv}")
    endforeach()
    list(APPEND files ${part_files})
  endforeach()
  set(rules_file ${PROJECT_BINARY_DIR}/nnlab_layers.txt)
  string(REPLACE ";" "\n" rules_text "${rules}")
  file(WRITE ${rules_file} "${rules_text}\n")
  set(stamp ${PROJECT_BINARY_DIR}/nnlab_layer_check.stamp)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DRULES=${rules_file} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${files} ${rules_file} ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
    COMMENT "Checking that every include points down the layers (docs/architecture.md)"
    VERBATIM)
  add_custom_target(nnlab_layer_check_run DEPENDS ${stamp})
  add_dependencies(nnlab_layer_check nnlab_layer_check_run)
endfunction()
