function(asyncfs_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                                           -Wnon-virtual-dtor -Wno-missing-field-initializers -Werror)
endfunction()
