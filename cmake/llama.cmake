# Imports the static libraries built by scripts/build-llama.sh as targets `llama::llama` and the
# ggml ones under it (`llama::ggml`, `llama::ggml-cpu`, `llama::ggml-base`). Built outside this
# project so that several build trees of Parley share one llama.cpp build.
set(_lb ${PARLEY_LLAMA_BUILD_DIR})
set(_ls ${PARLEY_LLAMA_SOURCE_DIR})
if(NOT EXISTS ${_lb}/src/libllama.a)
  message(FATAL_ERROR "llama.cpp is not built: run scripts/build-llama.sh (make does it)")
endif()

add_library(llama::ggml-base STATIC IMPORTED)
set_target_properties(llama::ggml-base PROPERTIES
  IMPORTED_LOCATION ${_lb}/ggml/src/libggml-base.a
  INTERFACE_INCLUDE_DIRECTORIES ${_ls}/ggml/include)
add_library(llama::ggml-cpu STATIC IMPORTED)
set_target_properties(llama::ggml-cpu PROPERTIES
  IMPORTED_LOCATION ${_lb}/ggml/src/libggml-cpu.a
  INTERFACE_LINK_LIBRARIES "llama::ggml-base")
add_library(llama::ggml STATIC IMPORTED)
set_target_properties(llama::ggml PROPERTIES
  IMPORTED_LOCATION ${_lb}/ggml/src/libggml.a
  INTERFACE_LINK_LIBRARIES "llama::ggml-cpu;llama::ggml-base;Threads::Threads;dl;m")
add_library(llama::llama STATIC IMPORTED)
set_target_properties(llama::llama PROPERTIES
  IMPORTED_LOCATION ${_lb}/src/libllama.a
  INTERFACE_INCLUDE_DIRECTORIES "${_ls}/include;${_ls}/ggml/include"
  INTERFACE_LINK_LIBRARIES "llama::ggml;llama::ggml-cpu;llama::ggml-base")
