function(asyncfs_set_warnings target)
  # -Wno-restrict: g++ 12 reports false positives at -O2/-O3 inside libstdc++'s string code
  # (GCC bug 105329). -Wno-missing-field-initializers: option structs rely on default member
  # initialisers and are meant to be brace-initialised partially.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers -Wno-restrict -Werror)
endfunction()
