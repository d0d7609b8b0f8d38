function(asyncfs_set_warnings target)
  # -Wno-restrict: g++ 12 reports false positives at -O2/-O3 inside libstdc++'s string code
  # (GCC bug 105329). -Wno-missing-field-initializers: option structs rely on default member
  # initialisers and are meant to be brace-initialised partially.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers -Wno-restrict)
  if(ASYNCFS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 at -O2 (the default RelWithDebInfo) flags the exception_ptr alternative of
    # std::variant as maybe-uninitialized when a variant is moved (GCC bugs 105593/107138):
    # a false positive that would fail a plain `cmake -B build && cmake --build build`.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
