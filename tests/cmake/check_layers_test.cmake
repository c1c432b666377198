# cmake -DCHECK=<cmake/check_layers.cmake> -DRULES=<build>/nnlab_layers.txt -DWORK=<scratch dir> -P check_layers_test.cmake
#
# The include check (cmake/check_layers.cmake) against a scratch tree shaped like nnlab's, with the
# real rules: it must pass on includes that point down the layers, and fail, naming the file, the
# header and the rule, on each include that points the wrong way.
file(REMOVE_RECURSE ${WORK})
function(tree files)
  file(REMOVE_RECURSE ${WORK})
  foreach(dir core core/io core/gradcheck core/run layers activations optim optim/schedules datasets bench
              apps/sweep apps/report apps/cli)
    file(MAKE_DIRECTORY ${WORK}/${dir})
  endforeach()
  foreach(pair ${files})
    string(REPLACE "|" ";" parts "${pair}")
    list(GET parts 0 path)
    list(GET parts 1 include)
    file(WRITE ${WORK}/${path} "// test file\n#include \"${include}\"\n#include <vector>\n")
  endforeach()
endfunction()

function(expect_ok what)
  execute_process(COMMAND ${CMAKE_COMMAND} -DRULES=${RULES} -DROOT=${WORK} -P ${CHECK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_layers rejected ${what}:\n${out}${err}")
  endif()
endfunction()

function(expect_fail what needle)
  execute_process(COMMAND ${CMAKE_COMMAND} -DRULES=${RULES} -DROOT=${WORK} -P ${CHECK}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "check_layers accepted ${what}")
  endif()
  string(FIND "${out}${err}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "check_layers rejected ${what} without saying '${needle}':\n${out}${err}")
  endif()
endfunction()

# Includes that point down: every part may include core/, the run may include io, the command line anything.
tree("core/model.hpp|core/layer.hpp;core/io/safetensors.cpp|core/state.hpp;core/run/run.cpp|core/io/fileio.hpp;layers/dense.cpp|core/registry.hpp;optim/schedules/step.cpp|core/schedule.hpp;apps/report/html.cpp|apps/sweep/runner.hpp;apps/cli/main.cpp|datasets/idx.hpp")
expect_ok("includes that point down the layers")

tree("core/rng.hpp|core/run/loop.hpp")
expect_fail("core/ including core/run/" "core/rng.hpp includes \"core/run/loop.hpp\" (nnlab_run): files in core/ (nnlab_core) may include only core")
tree("core/model.cpp|apps/report/svg.hpp")
expect_fail("core/ including apps/" "core/model.cpp includes \"apps/report/svg.hpp\"")
tree("core/run/spec.cpp|activations/elementwise.hpp")
expect_fail("the run including a plugin (it must use the registries)" "core/run/spec.cpp includes \"activations/elementwise.hpp\"")
tree("layers/dense.cpp|datasets/idx.hpp")
expect_fail("a plugin including another plugin" "layers/dense.cpp includes \"datasets/idx.hpp\"")
tree("core/io/fileio.cpp|core/gradcheck/gradcheck.hpp")
expect_fail("two sub-parts of core including each other" "core/io/fileio.cpp includes \"core/gradcheck/gradcheck.hpp\"")
tree("apps/sweep/runner.cpp|apps/report/html.hpp")
expect_fail("the sweep engine including the report writers" "apps/sweep/runner.cpp includes \"apps/report/html.hpp\"")
file(REMOVE_RECURSE ${WORK})
message(STATUS "check_layers: accepts includes down the layers, rejects 6 kinds pointing the wrong way")
