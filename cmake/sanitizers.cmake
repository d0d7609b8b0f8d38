# ASYNCFS_SANITIZE="address;undefined" or "thread" instruments every target of the build.
if(ASYNCFS_SANITIZE)
  list(JOIN ASYNCFS_SANITIZE "," _asyncfs_san)
  add_compile_options(-fsanitize=${_asyncfs_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_asyncfs_san})
endif()
